package tests

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/router"
	"github.com/solti-wasm/solti-wasm/runtime"
)

// The complete runner printed in abi/ABI.md must assemble, load and work, so the spec's own
// example never rots.
func TestABIDocumentRunnerSketchWorks(t *testing.T) {
	wat2wasm := requireTool(t, "wat2wasm")
	doc, err := os.ReadFile("../abi/ABI.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "## 10. A complete runner in WAT\n\n```wat\n")
	src, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("abi/ABI.md: section 10 has no ```wat block")
	}
	dir := t.TempDir()
	watPath, wasmPath := filepath.Join(dir, "sketch.wat"), filepath.Join(dir, "sketch.wasm")
	if err := os.WriteFile(watPath, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(wat2wasm, watPath, "-o", wasmPath).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm: %v\n%s", err, out)
	}
	ctx := context.Background()
	rt, err := runtime.New(ctx, runtime.Config{Limits: runtime.Limits{CompileTimeout: raceCompileTimeout}})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	m, err := rt.Load(ctx, wasmPath)
	if err != nil {
		t.Fatal(err)
	}
	r := router.New(router.BuildContext{})
	if err := r.Register(m); err != nil {
		t.Fatal(err)
	}
	req, err := router.ParseRequest([]byte(`{"slot":"doc","kind":{"extension":{"type":"anything"}},"timeout":100}`))
	if err != nil {
		t.Fatal(err)
	}
	built, err := r.Build(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if built.Runner.Name() != "hello" || built.Plan.Type() != abi.PlanGuest || string(built.Plan.Guest.Payload) != `"hi"` {
		t.Fatalf("built %s with plan %+v", built.Runner.Name(), built.Plan.Guest)
	}
	out, err := m.Run(ctx, &abi.RunInput{RunID: built.RunID.ID, Attempt: 1, Payload: built.Plan.Guest.Payload})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `"payload":"hi"`) {
		t.Fatalf("run output %s does not echo the payload", out)
	}
}
