package tests

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/internal/testcache"
	"github.com/solti-wasm/solti-wasm/router"
	"github.com/solti-wasm/solti-wasm/runtime"
)

// g3 wraps a current-generation workload into a spec with every required policy.
func g3(workload string, extra ...string) string {
	return `{"slot":"s","workload":` + workload + `,"timeout":5000,"restart":{"type":"onFailure"},` +
		`"backoff":{"jitter":"equal","firstMs":500,"maxMs":5000,"factor":2},"admission":"dropIfRunning"` + strings.Join(extra, "") + `}`
}

// manifest wraps a current-generation spec into a Task manifest with labels.
func manifest(spec string) string {
	return `{"apiVersion":"solti.io/v1","kind":"Task","metadata":{"name":"demo","labels":{"team":"docs"},"uid":"u-1"},"spec":` + spec + `,"status":{"phase":"pending"}}`
}

// TestWireFormsLookAlikeToEveryRunner feeds each accepted form of a task through supports and
// build of every example runner: the canonical JSON the runners receive is one, and so is
// every runner's answer.
func TestWireFormsLookAlikeToEveryRunner(t *testing.T) {
	t.Parallel()
	const v1Policies = `"timeout":5000,"restart":{"type":"onFailure"},"backoff":{"jitter":"equal","firstMs":500,"maxMs":5000,"factor":2}`
	body := "ZWNobyAic2NyaXB0ICQwIHNheXM6ICRHUkVFVElORyAkMSIK" // echo "script $0 says: $GREETING $1"
	groups := map[string][]string{
		"subprocess command": {
			`{"slot":"s","kind":{"subprocess":{"mode":{"command":{"command":"echo","args":["hi"]}},"env":{"GREETING":"hello","A":"1"}}},` + v1Policies + `,"labels":{"team":"docs"}}`,
			`{"slot":"s","kind":{"subprocess":{"mode":{"command":{"command":"echo","args":["hi"]}},"env":[{"key":"A","value":"1"},{"key":"GREETING","value":"hello"}],"failOnNonZero":true}},` + v1Policies + `,"admission":"dropIfRunning","labels":{"team":"docs"}}`,
			manifest(g3(`{"apiVersion":"solti.io/v1","kind":"Subprocess","spec":{"mode":{"command":{"command":"echo","args":["hi"]}},"env":[{"key":"GREETING","value":"x"},{"key":"A","value":"1"},{"key":"GREETING","value":"hello"}]}}`)),
		},
		"subprocess script": {
			`{"slot":"s","kind":{"subprocess":{"mode":{"script":{"runtime":"sh","body":"` + body + `","args":["world"]}},"env":{"GREETING":"hello"}}},` + v1Policies + `}`,
			`{"slot":"s","kind":{"subprocess":{"mode":{"script":{"interpreter":"sh","body":"` + body + `","args":["world"]}},"env":[{"key":"GREETING","value":"hello"}]}},` + v1Policies + `}`,
			g3(`{"apiVersion":"solti.io/v1","kind":"Subprocess","spec":{"mode":{"script":{"interpreter":"sh","body":"` + body + `","args":["world"]}},"env":[{"key":"GREETING","value":"hello"}]}}`),
		},
		"older runtime bash": {
			`{"slot":"s","kind":{"subprocess":{"mode":{"script":{"runtime":"bash","body":"` + body + `"}}}},` + v1Policies + `}`,
			g3(`{"apiVersion":"solti.io/v1","kind":"Subprocess","spec":{"mode":{"script":{"runtime":"bash","body":"` + body + `"}}}}`),
			g3(`{"apiVersion":"solti.io/v1","kind":"Subprocess","spec":{"mode":{"script":{"interpreter":"bash","body":"` + body + `"}}}}`),
		},
		"wasm kind": {
			`{"slot":"s","kind":{"wasm":{"module":"tool.wasm","args":["-l"],"env":{"K":"v"}}},` + v1Policies + `,"maxRetries":3}`,
			g3(`{"apiVersion":"solti.io/v1","kind":"Wasm","spec":{"module":"tool.wasm","args":["-l"],"env":[{"key":"K","value":"v"}]}}`, `,"maxRetries":3`),
		},
		"extension transform": {
			`{"slot":"s","kind":{"extension":{"type":"transform","spec":{"text":"hi","ops":["upper"]}}},` + v1Policies + `}`,
			"{\n  \"slot\": \"s\",\n  \"kind\": {\"extension\": {\"type\": \"transform\", \"spec\": {\"text\": \"hi\", \"ops\": [\"upper\"]}}},\n  " + v1Policies + ",\n  \"admission\": \"dropIfRunning\", \"labels\": {}\n}",
		},
		// go-transform claims the GVK in describe.kinds, by its extension type.
		"extension by GVK": {
			`{"slot":"s","kind":{"extension":{"type":"transform.example.com/v1/Transform","spec":{"text":"hi","ops":["upper"]}}},` + v1Policies + `,"labels":{"team":"docs"}}`,
			manifest(g3(`{"apiVersion":"transform.example.com/v1","kind":"Transform","spec":{"text":"hi","ops":["upper"]}}`)),
		},
		"older custom runtime": {
			`{"slot":"s","kind":{"subprocess":{"mode":{"script":{"runtime":{"custom":{"command":"zsh","flag":"-fc"}},"body":"` + body + `"}}}},` + v1Policies + `}`,
			`{"slot":"s","kind":{"subprocess":{"mode":{"script":{"runtime":"zsh","body":"` + body + `","flag":"-fc"}}}},` + v1Policies + `}`,
			g3(`{"apiVersion":"solti.io/v1","kind":"Subprocess","spec":{"mode":{"script":{"runtime":{"custom":{"command":"zsh","flag":"-fc"}},"body":"` + body + `"}}}}`),
		},
	}
	ctx := context.Background()
	// The shared test cache, warmed by TestMain (the CLI's entries are another wazero version's).
	rt, err := runtime.New(ctx, runtime.Config{CacheDir: testcache.Dir(), Limits: runtime.Limits{CompileTimeout: raceCompileTimeout}})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	paths, err := filepath.Glob(filepath.Join(repoRoot(t), "examples", "runners", "*.wasm"))
	if err != nil || len(paths) < 6 {
		t.Fatalf("example runners: %v %v", paths, err)
	}
	var mods []*runtime.Module
	for _, p := range paths {
		m, err := rt.Load(ctx, p)
		if err != nil {
			t.Fatalf("loading %s: %v", p, err)
		}
		mods = append(mods, m)
	}
	// Groups must reach a runner that says yes, or the comparison proves little.
	supported := map[string]bool{}
	for group, forms := range groups {
		t.Run(group, func(t *testing.T) {
			var canon, answers []string
			for _, form := range forms {
				req, err := router.ParseRequest([]byte(form))
				if err != nil {
					t.Fatalf("form refused: %v\n%s", err, form)
				}
				js, err := req.JSON()
				if err != nil {
					t.Fatal(err)
				}
				canon = append(canon, string(js))
				var b strings.Builder
				for _, m := range mods {
					ok, err := m.Supports(ctx, req)
					fmt.Fprintf(&b, "%s supports=%v err=%v", m.Name(), ok, err)
					if ok {
						supported[group] = true
						plan, err := m.Build(ctx, req, router.BuildArgs{
							RunID:   router.RunID{ID: m.Name() + "-s-1"},
							Env:     (&router.BuildContext{}).MergedEnv(router.TaskEnv(req.Spec)),
							Metrics: router.NoopMetrics{},
						})
						fmt.Fprintf(&b, " plan=%s err=%v", planJSON(plan), err)
					}
					b.WriteString("\n")
				}
				answers = append(answers, b.String())
			}
			for i := 1; i < len(forms); i++ {
				if canon[i] != canon[0] {
					t.Errorf("form %d gives another canonical spec\n got: %s\nwant: %s", i, canon[i], canon[0])
				}
				if answers[i] != answers[0] {
					t.Errorf("form %d gets other answers from the runners\n got: %s\nwant: %s", i, answers[i], answers[0])
				}
			}
		})
	}
	for _, g := range []string{"subprocess command", "subprocess script", "extension transform", "extension by GVK", "older custom runtime"} {
		if !supported[g] {
			t.Errorf("no example runner supports %q: the comparison is vacuous", g)
		}
	}
}

func planJSON(p *abi.Plan) string {
	if p == nil {
		return "-"
	}
	b, err := p.MarshalJSON()
	if err != nil {
		return err.Error()
	}
	return string(b)
}
