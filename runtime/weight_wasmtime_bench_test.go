//go:build wasmtime

package runtime

import (
	"context"

	"github.com/bytecodealliance/wasmtime-go/v39"

	"github.com/solti-wasm/solti-wasm/internal/wasmtimefloor"
)

// The wasmtime floor of the weight and fleet benchmarks (weight_bench_test.go).
func init() {
	floors = append(floors, floorEngine{"wasmtime", func(context.Context, bool) (floorHost, error) {
		h, err := wasmtimefloor.New()
		return wasmtimeFloor{h}, err
	}})
}

type wasmtimeFloor struct{ h *wasmtimefloor.Host }

func (f wasmtimeFloor) compile(_ context.Context, wasm []byte) (any, error) {
	return f.h.Compile(wasm)
}

func (f wasmtimeFloor) instantiate(_ context.Context, c any) (floorInstance, error) {
	in, err := f.h.Instantiate(c.(*wasmtime.Module))
	return wasmtimeFloorInstance{in}, err
}

// close has nothing to free: the engine and its modules are collected with the Host.
func (wasmtimeFloor) close(context.Context) {}

type wasmtimeFloorInstance struct{ in *wasmtimefloor.Instance }

func (i wasmtimeFloorInstance) call(export string, input []byte) (int32, error) {
	return i.in.Call(export, input)
}

func (i wasmtimeFloorInstance) close(context.Context) { i.in.Close() }
