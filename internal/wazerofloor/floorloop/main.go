// Command floorloop calls one runner's supports export N times on the raw wazero floor
// (internal/wazerofloor), with nothing else in the process: the driver for instruction counts
// under valgrind's callgrind (BENCHMARKS.md, "Supports per SDK"). Two runs with different N,
// the difference of their totals divided by the difference of N, give the instructions of
// one call, engine and guest:
//
//	go build -o /tmp/floorloop ./internal/wazerofloor/floorloop
//	FLOORLOOP_CACHE=/tmp/floorloop-cache /tmp/floorloop runner.wasm spec.json 1   # compile once, natively
//	FLOORLOOP_CACHE=/tmp/floorloop-cache GODEBUG=asyncpreemptoff=1 GOGC=off \
//	  valgrind --tool=callgrind /tmp/floorloop runner.wasm spec.json N
//
// (asyncpreemptoff: callgrind asserts on the Go runtime's preemption signals.)
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/tetratelabs/wazero"

	"github.com/solti-wasm/solti-wasm/internal/wazerofloor"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "floorloop:", err)
		os.Exit(1)
	}
}

func run() error {
	if len(os.Args) != 4 {
		return fmt.Errorf("usage: floorloop runner.wasm spec.json N")
	}
	wasm, err := os.ReadFile(os.Args[1])
	if err != nil {
		return err
	}
	spec, err := os.ReadFile(os.Args[2])
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(os.Args[3])
	if err != nil {
		return err
	}
	ctx := context.Background()
	var cache wazero.CompilationCache
	if dir := os.Getenv("FLOORLOOP_CACHE"); dir != "" {
		if cache, err = wazero.NewCompilationCacheWithDir(dir); err != nil {
			return err
		}
	}
	h, err := wazerofloor.NewCached(ctx, false, cache)
	if err != nil {
		return err
	}
	defer h.Close(ctx)
	c, err := h.Compile(ctx, wasm)
	if err != nil {
		return err
	}
	in, err := h.Instantiate(ctx, c)
	if err != nil {
		return err
	}
	if dir := os.Getenv("FLOORLOOP_DUMP"); dir != "" {
		if err := dumpCode(dir); err != nil {
			return err
		}
	}
	for range n {
		rc, err := in.Call("supports", spec)
		if err != nil {
			return err
		}
		if rc != 1 {
			return fmt.Errorf("supports = %d, want 1", rc)
		}
	}
	return nil
}

// dumpCode writes every anonymous executable mapping of the process (wazero's compiled code)
// to dir/<start address in hex>.bin, for a disassembler: callgrind names that code only by
// address.
func dumpCode(dir string) error {
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return err
	}
	mem, err := os.Open("/proc/self/mem")
	if err != nil {
		return err
	}
	defer mem.Close()
	for _, line := range strings.Split(string(maps), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 || len(f) > 5 || !strings.Contains(f[1], "x") {
			continue
		}
		var lo, hi int64
		if _, err := fmt.Sscanf(f[0], "%x-%x", &lo, &hi); err != nil {
			return err
		}
		b := make([]byte, hi-lo)
		if _, err := mem.ReadAt(b, lo); err != nil {
			return err
		}
		if err := os.WriteFile(fmt.Sprintf("%s/%x.bin", dir, lo), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
