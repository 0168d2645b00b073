package warm

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/solti-wasm/solti-wasm/internal/testcache"
	"github.com/solti-wasm/solti-wasm/runtime"
)

// entries lists the files under a cache directory with their modification times.
func entries(t *testing.T, dir string) map[string]time.Time {
	t.Helper()
	out := map[string]time.Time{}
	err := filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		out[p] = info.ModTime()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameEntries(t *testing.T, what string, got, want map[string]time.Time) {
	t.Helper()
	for p, m := range got {
		w, ok := want[p]
		switch {
		case !ok:
			t.Errorf("%s wrote a new entry %s: it compiled what the warm-up should have", what, filepath.Base(p))
		case !m.Equal(w):
			t.Errorf("%s rewrote the entry %s", what, filepath.Base(p))
		}
	}
}

var small = []string{"../../../examples/runners/wat-echo.wasm", "../../../examples/runners/c-script.wasm"}

// The entries Run writes are the ones the suites look up: after a warm-up, the product
// runtime (metered and unmetered) and a plain wazero runtime configured as the conformance
// harness is compile nothing new, and a second warm-up rewrites nothing.
func TestRunWritesWhatTheSuitesRead(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	all := testcache.Product | testcache.Unmetered | testcache.Plain | testcache.Fueled
	if err := Run(ctx, dir, all, small); err != nil {
		t.Fatal(err)
	}
	warmed := entries(t, dir)
	// Per module: the metered and the unmetered product bytes, the plain and the fueled bytes
	// (the product's differ from the harness's by the merge of data segments, or not at all).
	if len(warmed) < 2*len(small) {
		t.Fatalf("%d cache entries for %d modules in 4 variants, want at least %d", len(warmed), len(small), 2*len(small))
	}
	if err := Run(ctx, dir, all, small); err != nil {
		t.Fatal(err)
	}
	sameEntries(t, "a second warm-up", entries(t, dir), warmed)

	for _, timeout := range []time.Duration{0, runtime.NoCallTimeout} {
		rt, err := runtime.New(ctx, runtime.Config{CacheDir: dir, Limits: runtime.Limits{CallTimeout: timeout}})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range small {
			if _, err := rt.Load(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		if err := rt.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	sameEntries(t, "the product runtime", entries(t, dir), warmed)

	cache, err := wazero.NewCompilationCacheWithDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithMemoryLimitPages(256).WithCompilationCache(cache))
	for _, p := range small {
		wasm, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		fueled, err := runtime.InstrumentFuel(wasm)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range [][]byte{wasm, fueled} {
			if _, err := rt.CompileModule(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
	}
	_ = rt.Close(ctx)
	_ = cache.Close(ctx)
	sameEntries(t, "a plain wazero runtime", entries(t, dir), warmed)
}

// A module that does not compile fails the warm-up, naming it.
func TestRunNamesAFailedModule(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.wasm")
	if err := os.WriteFile(bad, []byte("\x00asm\x01\x00\x00\x00\x01"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := Run(context.Background(), t.TempDir(), testcache.Plain|testcache.Product, []string{bad})
	if err == nil {
		t.Fatal("a truncated module warmed without an error")
	}
	if got := err.Error(); !strings.Contains(got, bad) {
		t.Errorf("error %q does not name %s", got, bad)
	}
}

// A warmed WASI command is what runtime.LoadCommand reads: loading it compiles nothing new.
func TestRunWarmsCommands(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cmds := []string{"../../../tests/testdata/modules/wasi-echo.wasm"}
	if err := Run(ctx, dir, testcache.Command, cmds); err != nil {
		t.Fatal(err)
	}
	warmed := entries(t, dir)
	if len(warmed) < len(cmds) {
		t.Fatalf("%d cache entries for %d commands", len(warmed), len(cmds))
	}
	rt, err := runtime.New(ctx, runtime.Config{CacheDir: dir, Limits: runtime.Limits{MaxInputBytes: 64}})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range cmds {
		c, err := rt.LoadCommand(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.Close(ctx)
	}
	_ = rt.Close(ctx)
	sameEntries(t, "runtime.LoadCommand", entries(t, dir), warmed)
	// A runner module is no command: the warm-up says which.
	if err := Run(ctx, t.TempDir(), testcache.Command, small[:1]); err == nil || !strings.Contains(err.Error(), "wat-echo") {
		t.Errorf("warming a runner as a command: %v, want an error naming it", err)
	}
}
