package router

import (
	"context"
	"strconv"
	"testing"

	"github.com/solti-wasm/solti-wasm/abi"
)

// benchRunner is a native runner as cheap as a real one can be: Supports compares the kind's
// name, Build returns a prepared plan.
type benchRunner struct {
	name, kind string
	plan       *abi.Plan
}

func (b *benchRunner) Name() string { return b.name }

func (b *benchRunner) Supports(_ context.Context, req *Request) (bool, error) {
	return req.Spec.Kind.Name() == b.kind, nil
}

func (b *benchRunner) Build(context.Context, *Request, BuildArgs) (*abi.Plan, error) {
	return b.plan, nil
}

type describedBenchRunner struct{ *benchRunner }

func (d describedBenchRunner) Describe() abi.Description {
	return abi.Description{Kinds: []string{d.kind}}
}

const benchRunners = 8

// benchRouter registers 8 runners of which only the last builds wasm tasks. The first 7 are
// rejected by: "supports" their Supports call, "kinds" the kind pre-filter (they declare
// container), "selector" their labels.
func benchRouter(b *testing.B, how string) (*Router, *Request) {
	b.Helper()
	r := New(BuildContext{Env: env("HOST", "bench")})
	plan := &abi.Plan{Wasi: &abi.WasiPlan{Module: "m.wasm"}}
	var sel *abi.RunnerSelector
	for i := range benchRunners {
		last := i == benchRunners-1
		rn := &benchRunner{name: "runner-" + strconv.Itoa(i), kind: abi.KindWasm, plan: plan}
		var err error
		switch how {
		case "supports":
			if !last {
				rn.kind = abi.KindContainer
			}
			err = r.Register(rn)
		case "kinds":
			if !last {
				rn.kind = abi.KindContainer
			}
			err = r.Register(describedBenchRunner{rn})
		case "selector":
			sel = &abi.RunnerSelector{MatchLabels: map[string]string{"pool": "gpu"}}
			labels := map[string]string{"pool": "cpu"}
			if last {
				labels["pool"] = "gpu"
			}
			err = r.RegisterWithLabels(rn, labels)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	spec := newSpec(abi.TaskKind{Wasm: &abi.WasmSpec{Module: "m.wasm", Env: env("TASK", "1")}}, sel)
	req, err := NewRequest(spec)
	if err != nil {
		b.Fatal(err)
	}
	return r, req
}

var sinkBuilt *Built

// BenchmarkRouterBuild: 8 native runners, the last one matches.
func BenchmarkRouterBuild(b *testing.B) {
	for _, how := range []string{"supports", "kinds", "selector"} {
		b.Run(how, func(b *testing.B) {
			r, req := benchRouter(b, how)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				built, err := r.Build(ctx, req)
				if err != nil {
					b.Fatal(err)
				}
				sinkBuilt = built
			}
		})
	}
}

func BenchmarkRouterBuildParallel(b *testing.B) {
	r, req := benchRouter(b, "supports")
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := r.Build(ctx, req); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

var sinkRunner Runner

func BenchmarkRouterRoute(b *testing.B) {
	r, req := benchRouter(b, "supports")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		rn, err := r.Route(ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		sinkRunner = rn
	}
}

var sinkID RunID

func BenchmarkMakeRunID(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		sinkID = MakeRunID("runner-7", "jobs")
	}
}
