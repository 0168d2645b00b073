package router

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/solti-wasm/solti-wasm/abi"
)

func TestBuildPicksFirstSupportingRunnerInRegistrationOrder(t *testing.T) {
	type rn struct {
		name     string
		supports bool
	}
	tests := []struct {
		name    string
		runners []rn
		want    string  // "" means NoRunner
		calls   []int64 // Supports calls per runner
	}{
		{"first of two that support", []rn{{"a", true}, {"b", true}}, "a", []int64{1, 0}},
		{"supports false is skipped", []rn{{"a", false}, {"b", true}, {"c", true}}, "b", []int64{1, 1, 0}},
		{"only the last supports", []rn{{"a", false}, {"b", false}, {"c", true}}, "c", []int64{1, 1, 1}},
		{"registration order, not name order", []rn{{"zeta", true}, {"alpha", true}}, "zeta", []int64{1, 0}},
		{"none supports", []rn{{"a", false}, {"b", false}}, "", []int64{1, 1}},
		{"no runners", nil, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New(BuildContext{})
			var fakes []*fakeRunner
			for _, c := range tt.runners {
				f := newFake(c.name, c.supports)
				fakes = append(fakes, f)
				mustRegister(t, r, f)
			}
			built, err := r.Build(context.Background(), newReq(t, kindWasm, nil))
			if tt.want == "" {
				if !errors.Is(err, ErrNoRunner) || built != nil {
					t.Fatalf("Build = %v, %v; want NoRunner", built, err)
				}
			} else {
				if err != nil {
					t.Fatalf("Build: %v", err)
				}
				if got := built.Runner.Name(); got != tt.want {
					t.Errorf("chosen runner = %q, want %q", got, tt.want)
				}
			}
			for i, f := range fakes {
				if got := f.supportsCalls.Load(); got != tt.calls[i] {
					t.Errorf("runner %s: Supports called %d times, want %d", f.name, got, tt.calls[i])
				}
				wantBuilds := int64(0)
				if f.name == tt.want {
					wantBuilds = 1
				}
				if got := f.buildCalls.Load(); got != wantBuilds {
					t.Errorf("runner %s: Build called %d times, want %d", f.name, got, wantBuilds)
				}
			}
		})
	}
}

func TestBuildFiltersBySelector(t *testing.T) {
	type rn struct {
		name     string
		labels   map[string]string
		describe bool // labels come from Describe instead of RegisterWithLabels
	}
	eu := map[string]string{"zone": "eu"}
	us := map[string]string{"zone": "us"}
	gpu := map[string]string{"zone": "eu", "example.com/gpu": "a100"}
	tests := []struct {
		name    string
		runners []rn
		sel     *abi.RunnerSelector
		want    string
		asked   []string // runners whose Supports must be called
	}{
		{"no selector: first runner", []rn{{"us", us, false}, {"eu", eu, false}}, nil, "us", []string{"us"}},
		{"empty selector matches everything", []rn{{"bare", nil, false}}, &abi.RunnerSelector{}, "bare", []string{"bare"}},
		{"matchLabels skips the other zone", []rn{{"us", us, false}, {"eu", eu, false}}, &abi.RunnerSelector{MatchLabels: eu}, "eu", []string{"eu"}},
		{"labels from Describe", []rn{{"us", us, true}, {"eu", eu, true}}, &abi.RunnerSelector{MatchLabels: eu}, "eu", []string{"eu"}},
		{"prefixed key with In", []rn{{"eu", eu, false}, {"gpu", gpu, true}},
			&abi.RunnerSelector{MatchExpressions: []abi.LabelRequirement{{Key: "example.com/gpu", Operator: abi.OpIn, Values: []string{"a100", "h100"}}}}, "gpu", []string{"gpu"}},
		{"NotIn matches a runner without the key", []rn{{"gpu", gpu, false}, {"bare", nil, false}},
			&abi.RunnerSelector{MatchExpressions: []abi.LabelRequirement{{Key: "example.com/gpu", Operator: abi.OpNotIn, Values: []string{"a100"}}}}, "bare", []string{"bare"}},
		{"DoesNotExist", []rn{{"gpu", gpu, false}, {"eu", eu, false}},
			&abi.RunnerSelector{MatchExpressions: []abi.LabelRequirement{{Key: "example.com/gpu", Operator: abi.OpDoesNotExist}}}, "eu", []string{"eu"}},
		{"matchLabels and expressions ANDed", []rn{{"eu", eu, false}, {"gpu", gpu, false}},
			&abi.RunnerSelector{MatchLabels: eu, MatchExpressions: []abi.LabelRequirement{{Key: "example.com/gpu", Operator: abi.OpExists}}}, "gpu", []string{"gpu"}},
		{"no runner matches", []rn{{"us", us, false}, {"bare", nil, true}}, &abi.RunnerSelector{MatchLabels: eu}, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New(BuildContext{})
			fakes := map[string]*fakeRunner{}
			for _, c := range tt.runners {
				f := newFake(c.name, true)
				fakes[c.name] = f
				var err error
				if c.describe {
					err = r.Register(described(f, nil, c.labels))
				} else {
					err = r.RegisterWithLabels(f, c.labels)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			built, err := r.Build(context.Background(), newReq(t, kindWasm, tt.sel))
			if tt.want == "" {
				var nr *NoRunnerError
				if !errors.As(err, &nr) || nr.Kind != "wasm" {
					t.Fatalf("Build = %v, %v; want NoRunner(wasm)", built, err)
				}
			} else if err != nil || built.Runner.Name() != tt.want {
				t.Fatalf("Build = %v, %v; want runner %s", built, err, tt.want)
			}
			for name, f := range fakes {
				asked := f.supportsCalls.Load() > 0
				if want := contains(tt.asked, name); asked != want {
					t.Errorf("runner %s: asked Supports = %v, want %v", name, asked, want)
				}
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestRegisterWithLabelsOverridesDescribedLabels(t *testing.T) {
	r := New(BuildContext{})
	f := newFake("r", true)
	if err := r.RegisterWithLabels(described(f, nil, map[string]string{"zone": "us"}), map[string]string{"zone": "eu"}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Build(context.Background(), newReq(t, kindWasm, &abi.RunnerSelector{MatchLabels: map[string]string{"zone": "eu"}})); err != nil {
		t.Errorf("explicit labels not used: %v", err)
	}
	if _, err := r.Build(context.Background(), newReq(t, kindWasm, &abi.RunnerSelector{MatchLabels: map[string]string{"zone": "us"}})); !errors.Is(err, ErrNoRunner) {
		t.Errorf("described labels used despite explicit ones: %v", err)
	}
}

func TestRegisterCopiesLabels(t *testing.T) {
	r := New(BuildContext{})
	labels := map[string]string{"zone": "eu"}
	if err := r.RegisterWithLabels(newFake("r", true), labels); err != nil {
		t.Fatal(err)
	}
	labels["zone"] = "us" // must not change the registered labels
	if _, err := r.Build(context.Background(), newReq(t, kindWasm, &abi.RunnerSelector{MatchLabels: map[string]string{"zone": "eu"}})); err != nil {
		t.Errorf("registered labels changed with the caller's map: %v", err)
	}
}

func TestKindPreFilter(t *testing.T) {
	tests := []struct {
		name  string
		kinds []string // the first runner's declared kinds
		task  abi.TaskKind
		asked bool // whether the first runner's Supports is called (and it is chosen)
	}{
		{"other kind is filtered", []string{"subprocess"}, kindWasm, false},
		{"declared kind is asked", []string{"subprocess", "wasm"}, kindWasm, true},
		{"nil kinds: asked for every kind", nil, kindContainer, true},
		{"empty kinds: asked for every kind", []string{}, kindContainer, true},
		{"extension kind by its type", []string{"example.com/cron"}, kindCron, true},
		{"other extension type is filtered", []string{"example.com/other"}, kindCron, false},
		{"the tag name 'extension' does not match an extension kind", []string{"extension"}, kindCron, false},
		{"solti kind does not match an extension", []string{"wasm"}, kindCron, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New(BuildContext{})
			first, fallback := newFake("first", true), newFake("fallback", true)
			mustRegister(t, r, described(first, tt.kinds, nil), fallback)
			built, err := r.Build(context.Background(), newReq(t, tt.task, nil))
			if err != nil {
				t.Fatal(err)
			}
			if asked := first.supportsCalls.Load() > 0; asked != tt.asked {
				t.Errorf("first runner asked = %v, want %v", asked, tt.asked)
			}
			want := "fallback"
			if tt.asked {
				want = "first"
			}
			if built.Runner.Name() != want {
				t.Errorf("chosen %s, want %s", built.Runner.Name(), want)
			}
		})
	}
}

func TestEmbeddedIsNeverRoutable(t *testing.T) {
	r := New(BuildContext{})
	any1 := newFake("any", true)
	decl := newFake("declares-embedded", true)
	mustRegister(t, r, any1, described(decl, []string{"embedded"}, nil))
	req := newReq(t, kindEmbedded, nil)

	for name, call := range map[string]func() error{
		"Build": func() error { _, err := r.Build(context.Background(), req); return err },
		"Route": func() error { _, err := r.Route(context.Background(), req); return err },
	} {
		err := call()
		if err == nil || err.Error() != "no suitable runner for task kind: embedded" {
			t.Errorf("%s error = %v, want NoRunner(embedded)", name, err)
		}
		var nr *NoRunnerError
		if !errors.As(err, &nr) || nr.Kind != "embedded" || !errors.Is(err, ErrNoRunner) {
			t.Errorf("%s error = %#v, want *NoRunnerError{embedded}", name, err)
		}
	}
	for _, f := range []*fakeRunner{any1, decl} {
		if n := f.supportsCalls.Load() + f.buildCalls.Load(); n != 0 {
			t.Errorf("runner %s was called %d times for an embedded task", f.name, n)
		}
	}
}

func TestNoRunnerError(t *testing.T) {
	r := New(BuildContext{})
	mustRegister(t, r, newFake("no", false))
	tests := []struct {
		kind abi.TaskKind
		msg  string
	}{
		{kindWasm, "no suitable runner for task kind: wasm"},
		{kindSubprocess, "no suitable runner for task kind: subprocess"},
		{kindContainer, "no suitable runner for task kind: container"},
		{kindCron, "no suitable runner for task kind: example.com/cron"},
	}
	for _, tt := range tests {
		_, err := r.Build(context.Background(), newReq(t, tt.kind, nil))
		if err == nil || err.Error() != tt.msg {
			t.Errorf("error = %v, want %q", err, tt.msg)
		}
		if !errors.Is(err, ErrNoRunner) {
			t.Errorf("errors.Is(%v, ErrNoRunner) = false", err)
		}
		var nr *NoRunnerError
		if !errors.As(err, &nr) || nr.Kind != tt.kind.Name() {
			t.Errorf("errors.As(*NoRunnerError) failed or wrong kind: %#v", err)
		}
		var be *BuildError
		if errors.As(err, &be) {
			t.Errorf("NoRunner must not be wrapped in a BuildError: %v", err)
		}
		for _, other := range []error{ErrUnsupportedKind, ErrInvalidSpec, ErrInternal, ErrMissingField, ErrIO} {
			if errors.Is(err, other) {
				t.Errorf("NoRunner error is also %v", other)
			}
		}
	}
}

func TestSupportsErrorCountsAsNo(t *testing.T) {
	r := New(BuildContext{})
	broken := newFake("broken", true)
	broken.supportsErr = errors.New("guest trapped")
	ok := newFake("ok", true)
	mustRegister(t, r, broken, ok)
	built, err := r.Build(context.Background(), newReq(t, kindWasm, nil))
	if err != nil || built.Runner.Name() != "ok" {
		t.Fatalf("Build = %v, %v; want runner ok", built, err)
	}
	if broken.buildCalls.Load() != 0 {
		t.Error("a runner whose Supports failed was asked to build")
	}

	r.Unregister("ok")
	if _, err := r.Build(context.Background(), newReq(t, kindWasm, nil)); !errors.Is(err, ErrNoRunner) {
		t.Errorf("Build with only a failing Supports = %v, want NoRunner", err)
	}
	// Supports returning (true, err) is still a "no".
	if rn, err := r.Route(context.Background(), newReq(t, kindWasm, nil)); !errors.Is(err, ErrNoRunner) {
		t.Errorf("Route = %v, %v; want NoRunner", rn, err)
	}
}

func TestBuildErrorWrapsRunnerError(t *testing.T) {
	cause := errors.New("disk full")
	tests := []struct {
		name     string
		err      error
		msg      string
		sentinel error // nil: none of the package's variants
	}{
		{"unsupported kind", &UnsupportedKindError{Runner: "x", Kind: "wasm"}, "unsupported task kind for runner 'x': wasm", ErrUnsupportedKind},
		{"invalid spec", &InvalidSpecError{Msg: "module not found"}, "invalid specification: module not found", ErrInvalidSpec},
		{"internal", &InternalError{Msg: "boom"}, "internal error: boom", ErrInternal},
		{"missing field", &MissingFieldError{Field: "module"}, "missing field: module", ErrMissingField},
		{"io", &IOError{Msg: "read m.wasm", Err: cause}, "io error: read m.wasm", ErrIO},
		{"sentinel wrapped with fmt", errors.Join(ErrMissingField), "missing field", ErrMissingField},
		{"plain error", cause, "disk full", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New(BuildContext{})
			f := newFake("x", true)
			f.buildErr = tt.err
			mustRegister(t, r, f)
			built, err := r.Build(context.Background(), newReq(t, kindWasm, nil))
			if built != nil {
				t.Errorf("Build returned %v with an error", built)
			}
			if want := "runner 'x' failed to build task: " + tt.msg; err == nil || err.Error() != want {
				t.Fatalf("error = %v, want %q", err, want)
			}
			var be *BuildError
			if !errors.As(err, &be) || be.Runner != "x" || be.Err != tt.err {
				t.Fatalf("errors.As(*BuildError) = %#v", be)
			}
			if !errors.Is(err, tt.err) {
				t.Error("the runner's error is not in the chain")
			}
			for _, s := range []error{ErrNoRunner, ErrUnsupportedKind, ErrInvalidSpec, ErrInternal, ErrMissingField, ErrIO} {
				if got, want := errors.Is(err, s), s == tt.sentinel; got != want {
					t.Errorf("errors.Is(err, %v) = %v, want %v", s, got, want)
				}
			}
		})
	}
}

func TestBuildErrorKeepsConcreteVariant(t *testing.T) {
	r := New(BuildContext{})
	f := newFake("x", true)
	f.buildErr = &MissingFieldError{Field: "image"}
	mustRegister(t, r, f)
	_, err := r.Build(context.Background(), newReq(t, kindWasm, nil))
	var mf *MissingFieldError
	if !errors.As(err, &mf) || mf.Field != "image" {
		t.Errorf("errors.As(*MissingFieldError) through BuildError failed: %v", err)
	}
}

func TestInvalidPlanIsInternalBuildError(t *testing.T) {
	tests := []struct {
		name    string
		plan    *abi.Plan
		nilPlan bool
		field   string
	}{
		{"no plan type", &abi.Plan{}, false, "plan"},
		{"two plan types", &abi.Plan{Guest: &abi.GuestPlan{}, Wasi: &abi.WasiPlan{Module: "m"}}, false, "plan"},
		{"exec without command", &abi.Plan{Exec: &abi.ExecPlan{Command: " "}}, false, "exec.command"},
		{"wasi without module", &abi.Plan{Wasi: &abi.WasiPlan{}}, false, "wasi.module"},
		{"nil plan and nil error", nil, true, "plan"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New(BuildContext{})
			f := newFake("x", true)
			f.plan, f.nilPlan = tt.plan, tt.nilPlan
			mustRegister(t, r, f)
			built, err := r.Build(context.Background(), newReq(t, kindWasm, nil))
			if built != nil {
				t.Errorf("Build returned %v for an invalid plan", built)
			}
			if want := "runner 'x' failed to build task: internal error: invalid plan: " + tt.field + ": "; err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Fatalf("error = %v, want prefix %q", err, want)
			}
			var be *BuildError
			var ie *InternalError
			var ve *abi.ValidationError
			if !errors.As(err, &be) || be.Runner != "x" {
				t.Error("not a *BuildError for runner x")
			}
			if !errors.Is(err, ErrInternal) || !errors.As(err, &ie) {
				t.Error("not an internal error")
			}
			if !errors.As(err, &ve) || ve.Field != tt.field {
				t.Errorf("validation error not in the chain, or on the wrong field: %v", ve)
			}
		})
	}
}

func TestValidPlansPassThrough(t *testing.T) {
	for _, plan := range []*abi.Plan{
		{Guest: &abi.GuestPlan{Payload: []byte(`{"a":1}`)}},
		{Exec: &abi.ExecPlan{Command: "ls", FailOnNonZero: true}},
		{Wasi: &abi.WasiPlan{Module: "tool.wasm"}},
	} {
		r := New(BuildContext{})
		f := newFake("x", true)
		f.plan = plan
		mustRegister(t, r, f)
		built, err := r.Build(context.Background(), newReq(t, kindWasm, nil))
		if err != nil {
			t.Fatalf("Build: %v", err)
		}
		if built.Plan != plan || built.Runner != Runner(f) {
			t.Errorf("Built = %+v, want the runner's plan %+v", built, plan)
		}
	}
}

func TestRegistrationErrors(t *testing.T) {
	tests := []struct {
		name     string
		register func(r *Router) error
		sentinel error
		msg      string
	}{
		{"duplicate name", func(r *Router) error { return r.Register(newFake("a", true)) }, ErrDuplicateRunner, `duplicate runner name: "a" is already registered`},
		{"duplicate name with labels", func(r *Router) error {
			return r.RegisterWithLabels(newFake("a", true), map[string]string{"zone": "eu"})
		}, ErrDuplicateRunner, ""},
		{"invalid label key", func(r *Router) error {
			return r.RegisterWithLabels(newFake("b", true), map[string]string{"bad key": "v"})
		}, ErrInvalidLabels, `invalid runner labels: runner "b": labels: invalid label key "bad key"`},
		{"invalid label value", func(r *Router) error {
			return r.RegisterWithLabels(newFake("b", true), map[string]string{"zone": "eu west"})
		}, ErrInvalidLabels, `invalid runner labels: runner "b": labels.zone: invalid label value "eu west"`},
		{"invalid label prefix", func(r *Router) error {
			return r.RegisterWithLabels(newFake("b", true), map[string]string{"Example.com/tier": "gold"})
		}, ErrInvalidLabels, ""},
		{"invalid described labels", func(r *Router) error {
			return r.Register(described(newFake("b", true), nil, map[string]string{"-x": "y"}))
		}, ErrInvalidLabels, ""},
		{"empty name", func(r *Router) error { return r.Register(newFake("", true)) }, ErrInvalidRunner, ""},
		{"nil runner", func(r *Router) error { return r.Register(nil) }, ErrInvalidRunner, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New(BuildContext{})
			mustRegister(t, r, newFake("a", true))
			err := tt.register(r)
			if !errors.Is(err, tt.sentinel) {
				t.Fatalf("error = %v, want %v", err, tt.sentinel)
			}
			if tt.msg != "" && err.Error() != tt.msg {
				t.Errorf("message = %q, want %q", err, tt.msg)
			}
			if got := runnerNames(r); !reflect.DeepEqual(got, []string{"a"}) {
				t.Errorf("runners after a failed registration = %v", got)
			}
		})
	}
}

func TestReplace(t *testing.T) {
	eu := map[string]string{"zone": "eu"}
	setup := func(t *testing.T) (*Router, *fakeRunner) {
		r := New(BuildContext{})
		b := newFake("b", true)
		mustRegister(t, r, newFake("a", false))
		if err := r.RegisterWithLabels(b, eu); err != nil {
			t.Fatal(err)
		}
		mustRegister(t, r, newFake("c", true))
		return r, b
	}
	build := func(t *testing.T, r *Router, sel *abi.RunnerSelector) string {
		t.Helper()
		built, err := r.Build(context.Background(), newReq(t, kindWasm, sel))
		if err != nil {
			return err.Error()
		}
		return built.Runner.Name()
	}

	t.Run("keeps the position and the labels", func(t *testing.T) {
		r, _ := setup(t)
		b2 := newFake("b", true)
		ok, err := r.Replace("b", b2)
		if !ok || err != nil {
			t.Fatalf("Replace = %v, %v", ok, err)
		}
		if got := runnerNames(r); !reflect.DeepEqual(got, []string{"a", "b", "c"}) {
			t.Errorf("order = %v", got)
		}
		if r.Runners()[1] != Runner(b2) {
			t.Error("the new runner is not in place")
		}
		if got := build(t, r, &abi.RunnerSelector{MatchLabels: eu}); got != "b" {
			t.Errorf("labels lost: built by %s", got)
		}
		if b2.buildCalls.Load() != 1 {
			t.Error("the new runner did not build")
		}
	})
	t.Run("described labels and kinds replace the old ones", func(t *testing.T) {
		r, _ := setup(t)
		ok, err := r.Replace("b", described(newFake("b", true), []string{"subprocess"}, map[string]string{"zone": "us"}))
		if !ok || err != nil {
			t.Fatalf("Replace = %v, %v", ok, err)
		}
		if got := build(t, r, &abi.RunnerSelector{MatchLabels: eu}); !strings.HasPrefix(got, "no suitable runner") {
			t.Errorf("old labels still match: %s", got)
		}
		if got := build(t, r, nil); got != "c" {
			t.Errorf("kind pre-filter of the new runner not applied: built by %s", got)
		}
	})
	t.Run("a new name at the same position", func(t *testing.T) {
		r, _ := setup(t)
		if ok, err := r.Replace("b", newFake("b2", true)); !ok || err != nil {
			t.Fatalf("Replace = %v, %v", ok, err)
		}
		if got := runnerNames(r); !reflect.DeepEqual(got, []string{"a", "b2", "c"}) {
			t.Errorf("order = %v", got)
		}
	})
	t.Run("unknown name", func(t *testing.T) {
		r, _ := setup(t)
		if ok, err := r.Replace("zzz", newFake("zzz", true)); ok || err != nil {
			t.Errorf("Replace = %v, %v; want false, nil", ok, err)
		}
		if got := runnerNames(r); !reflect.DeepEqual(got, []string{"a", "b", "c"}) {
			t.Errorf("order = %v", got)
		}
	})
	t.Run("name of another runner", func(t *testing.T) {
		r, b := setup(t)
		ok, err := r.Replace("b", newFake("c", true))
		if !ok || !errors.Is(err, ErrDuplicateRunner) {
			t.Errorf("Replace = %v, %v; want true, ErrDuplicateRunner", ok, err)
		}
		if r.Runners()[1] != Runner(b) {
			t.Error("a failed Replace changed the router")
		}
	})
	t.Run("invalid described labels", func(t *testing.T) {
		r, b := setup(t)
		ok, err := r.Replace("b", described(newFake("b", true), nil, map[string]string{"zone": "!"}))
		if !ok || !errors.Is(err, ErrInvalidLabels) {
			t.Errorf("Replace = %v, %v; want true, ErrInvalidLabels", ok, err)
		}
		if r.Runners()[1] != Runner(b) {
			t.Error("a failed Replace changed the router")
		}
	})
}

func TestUnregister(t *testing.T) {
	r := New(BuildContext{})
	mustRegister(t, r, newFake("a", true), newFake("b", true), newFake("c", true))
	if !r.Unregister("a") {
		t.Fatal("Unregister(a) = false")
	}
	if r.Unregister("a") {
		t.Error("second Unregister(a) = true")
	}
	if r.Unregister("nope") {
		t.Error("Unregister(nope) = true")
	}
	if got := runnerNames(r); !reflect.DeepEqual(got, []string{"b", "c"}) {
		t.Errorf("runners = %v", got)
	}
	built, err := r.Build(context.Background(), newReq(t, kindWasm, nil))
	if err != nil || built.Runner.Name() != "b" {
		t.Errorf("Build = %v, %v; want b", built, err)
	}
	// The name is free again, and a new registration goes to the end.
	mustRegister(t, r, newFake("a", true))
	if got := runnerNames(r); !reflect.DeepEqual(got, []string{"b", "c", "a"}) {
		t.Errorf("runners = %v", got)
	}
	r.Unregister("b")
	r.Unregister("c")
	r.Unregister("a")
	if got := r.Runners(); len(got) != 0 {
		t.Errorf("runners = %v", got)
	}
}

func TestRunnersReturnsACopy(t *testing.T) {
	r := New(BuildContext{})
	a := newFake("a", true)
	mustRegister(t, r, a, newFake("b", true))
	got := r.Runners()
	got[0] = newFake("intruder", true)
	if r.Runners()[0] != Runner(a) {
		t.Error("Runners() exposed the router's state")
	}
}

func TestRouteDoesNotBuild(t *testing.T) {
	r := New(BuildContext{})
	f := newFake("a", true)
	mustRegister(t, r, f)
	before := MakeRunID("probe", "s").Seq
	rn, err := r.Route(context.Background(), newReq(t, kindWasm, nil))
	if err != nil || rn != Runner(f) {
		t.Fatalf("Route = %v, %v", rn, err)
	}
	if after := MakeRunID("probe", "s").Seq; after != before+1 {
		t.Errorf("Route allocated %d run ids", after-before-1)
	}
	if f.buildCalls.Load() != 0 {
		t.Error("Route called Build")
	}
}

type ctxKey struct{}

func TestBuildPassesContextAndRequest(t *testing.T) {
	var seen []any
	rn := &funcRunner{
		name: "f",
		supports: func(ctx context.Context, req *Request) (bool, error) {
			seen = append(seen, ctx.Value(ctxKey{}))
			return true, nil
		},
		build: func(ctx context.Context, req *Request, args BuildArgs) (*abi.Plan, error) {
			seen = append(seen, ctx.Value(ctxKey{}), req.Spec.Slot)
			return &abi.Plan{Guest: &abi.GuestPlan{}}, nil
		},
	}
	r := New(BuildContext{})
	mustRegister(t, r, rn)
	ctx := context.WithValue(context.Background(), ctxKey{}, "v")
	if _, err := r.Build(ctx, newReq(t, kindWasm, nil)); err != nil {
		t.Fatal(err)
	}
	if want := []any{"v", "v", "jobs"}; !reflect.DeepEqual(seen, want) {
		t.Errorf("seen = %v, want %v", seen, want)
	}
}

// funcRunner is a Runner made of functions.
type funcRunner struct {
	name     string
	supports func(context.Context, *Request) (bool, error)
	build    func(context.Context, *Request, BuildArgs) (*abi.Plan, error)
}

func (f *funcRunner) Name() string { return f.name }
func (f *funcRunner) Supports(ctx context.Context, req *Request) (bool, error) {
	return f.supports(ctx, req)
}
func (f *funcRunner) Build(ctx context.Context, req *Request, args BuildArgs) (*abi.Plan, error) {
	return f.build(ctx, req, args)
}

func TestNewRequest(t *testing.T) {
	spec := newSpec(kindWasm, nil)
	req, err := NewRequest(spec)
	if err != nil || req.Spec != spec {
		t.Fatalf("NewRequest = %v, %v", req, err)
	}

	bad := newSpec(kindWasm, nil)
	bad.Slot = ".."
	req, err = NewRequest(bad)
	if req != nil {
		t.Error("NewRequest returned a request for an invalid spec")
	}
	var ise *InvalidSpecError
	var ve *abi.ValidationError
	if !errors.Is(err, ErrInvalidSpec) || !errors.As(err, &ise) || !errors.As(err, &ve) || ve.Field != "slot" {
		t.Fatalf("NewRequest error = %#v", err)
	}
	if want := `invalid specification: slot: ".." must be 1-64 chars of [A-Za-z0-9._-] and not "." or ".."`; err.Error() != want {
		t.Errorf("message = %q, want %q", err, want)
	}
}

func TestParseRequest(t *testing.T) {
	req, err := ParseRequest([]byte(`{"slot":"s","kind":{"wasm":{"module":"m"}},"timeout":5}`))
	if err != nil {
		t.Fatal(err)
	}
	if req.Spec.Kind.Name() != "wasm" || req.Spec.Backoff != abi.DefaultBackoff() {
		t.Errorf("spec = %#v", req.Spec)
	}
	tests := []struct{ in, msg string }{
		{`{"slot":"s","kind":{"wasm":{"module":"m"}},"timeout":0}`, "invalid specification: timeout: must be > 0 (milliseconds)"},
		{"{\"slot\":\n\"s\",,}", "invalid specification: task spec: line 2, column 5: unexpected character ',', want a key (a string)"},
		{`{"slot":"s","kind":"embedded","timeout":1,"x":1}`, `invalid specification: x: unknown field (known: slot, kind, timeout, restart, backoff, admission, maxRetries, runnerSelector, labels)`},
	}
	for _, tt := range tests {
		req, err := ParseRequest([]byte(tt.in))
		if req != nil || !errors.Is(err, ErrInvalidSpec) || err.Error() != tt.msg {
			t.Errorf("ParseRequest(%s) = %v, %v; want %q", tt.in, req, err, tt.msg)
		}
	}
}

func TestRequestJSONIsCanonicalAndCached(t *testing.T) {
	req, err := ParseRequest([]byte(`{ "timeout": 5, "kind": {"wasm": {"module": "m"}}, "slot": "s" }`))
	if err != nil {
		t.Fatal(err)
	}
	b1, err := req.JSON()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"slot":"s","kind":{"wasm":{"module":"m"}},"timeout":5,"restart":{"type":"never"},"backoff":{"jitter":"full","firstMs":1000,"maxMs":30000,"factor":2},"admission":"dropIfRunning"}`
	if string(b1) != want {
		t.Errorf("JSON = %s, want %s", b1, want)
	}
	b2, _ := req.JSON()
	if &b1[0] != &b2[0] {
		t.Error("JSON encoded the spec twice")
	}
}

// A caller that gives up mid-routing gets its context's error, not "no suitable runner".
func TestRouteReportsCancellation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := New(BuildContext{})
	canceler := &ctxFake{name: "cancels", cancel: cancel}
	if err := r.Register(canceler); err != nil {
		t.Fatal(err)
	}
	req, err := ParseRequest([]byte(`{"slot":"s","kind":{"wasm":{"module":"m"}},"timeout":1}`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Build(ctx, req)
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrNoRunner) {
		t.Fatalf("Build after cancel = %v, want context.Canceled and not ErrNoRunner", err)
	}
}

// ctxFake cancels the routing context from inside Supports and fails like a guest would.
type ctxFake struct {
	name   string
	cancel context.CancelFunc
}

func (f *ctxFake) Name() string { return f.name }
func (f *ctxFake) Supports(ctx context.Context, _ *Request) (bool, error) {
	f.cancel()
	return false, ctx.Err()
}
func (f *ctxFake) Build(context.Context, *Request, BuildArgs) (*abi.Plan, error) { return nil, nil }
