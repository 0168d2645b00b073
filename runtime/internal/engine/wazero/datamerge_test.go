package wazero

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// wasmModule is a module with one memory of `pages` pages and the given data section payload
// (nil: none); dataCount adds a data count section.
func wasmModule(pages byte, data []byte, dataCount int) []byte {
	b := []byte("\x00asm\x01\x00\x00\x00")
	b = append(b, 5, 3, 1, 0, pages) // memory section: one memory, min pages
	if dataCount >= 0 {
		b = append(b, sectionDataCount, 1, byte(dataCount))
	}
	if data != nil {
		b = append(b, sectionData)
		b = binary.AppendUvarint(b, uint64(len(data)))
		b = append(b, data...)
	}
	return b
}

func active(segs ...segment) []byte { return encodeData(segs) }

func seg(off uint64, s string) segment { return segment{offset: off, init: []byte(s)} }

// memoryAfterInstantiation instantiates wasm on wazero and returns its memory's bytes.
func memoryAfterInstantiation(t *testing.T, wasm []byte) []byte {
	t.Helper()
	ctx := context.Background()
	// The interpreter: it compiles a Go guest some 10x faster, and memory is the same.
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer rt.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt) // go-raw imports WASI and two solti functions
	noop := api.GoFunc(func(context.Context, []uint64) {})
	i32 := api.ValueTypeI32
	if _, err := rt.NewHostModuleBuilder("solti").
		NewFunctionBuilder().WithGoFunction(noop, []api.ValueType{i32}, nil).Export("input").
		NewFunctionBuilder().WithGoFunction(noop, []api.ValueType{i32, i32}, nil).Export("output").
		Instantiate(ctx); err != nil {
		t.Fatal(err)
	}
	mod, err := rt.InstantiateWithConfig(ctx, wasm, wazero.NewModuleConfig().WithName("").WithStartFunctions())
	if err != nil {
		t.Fatal(err)
	}
	mem, ok := mod.Memory().Read(0, mod.Memory().Size())
	if !ok {
		t.Fatal("memory unreadable")
	}
	return bytes.Clone(mem)
}

func countSegments(t *testing.T, wasm []byte) int {
	t.Helper()
	for i := 8; i < len(wasm); {
		size, n := binary.Uvarint(wasm[i+1:])
		if wasm[i] == sectionData {
			segs, ok := parseData(wasm[i+1+n : i+1+n+int(size)])
			if !ok {
				t.Fatal("merged data section does not parse")
			}
			return len(segs)
		}
		i += 1 + n + int(size)
	}
	return 0
}

func TestMergeDataSegments(t *testing.T) {
	for _, tc := range []struct {
		name string
		segs []segment
		want int // segments after merging
	}{
		{"adjacent", []segment{seg(0, "ab"), seg(2, "cd"), seg(4, "ef")}, 1},
		{"small gaps", []segment{seg(16, "ab"), seg(100, "cd"), seg(100+2+mergeGap, "ef")}, 1},
		{"a gap too long", []segment{seg(16, "ab"), seg(18+mergeGap+1, "cd")}, 2},
		{"out of order", []segment{seg(1000, "late"), seg(10, "early"), seg(20, "x")}, 2},
		// The second run starts below what the first wrote: its gap would zero "MIDDLE".
		{"gap over earlier data", []segment{seg(40, "MIDDLE"), seg(0, "lo"), seg(60, "hi")}, 3},
		{"overlap", []segment{seg(0, "aaaa"), seg(2, "bb")}, 2},
		// The second run lies in the first one's gap: its own gaps hold no earlier byte.
		{"run in a gap", []segment{seg(0, "a"), seg(5000, "b"), seg(100, "c"), seg(110, "d")}, 3},
		{"high offset", []segment{seg(65000, "z"), seg(65100, "y")}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			orig := wasmModule(1, active(tc.segs...), -1)
			merged := mergeDataSegments(orig)
			if got := countSegments(t, merged); got != tc.want {
				t.Errorf("%d segments after merging, want %d", got, tc.want)
			}
			if !bytes.Equal(memoryAfterInstantiation(t, orig), memoryAfterInstantiation(t, merged)) {
				t.Error("the merged module's memory differs from the original's")
			}
		})
	}
}

func TestMergeDataSegmentsLeavesAlone(t *testing.T) {
	passive := append(active(seg(0, "a"), seg(1, "b")), 1, 1, 'p') // one more, passive
	passive[0] = 3                                                 // three segments
	for name, wasm := range map[string][]byte{
		"data count section": wasmModule(1, active(seg(0, "a"), seg(1, "b")), 2),
		"passive segment":    wasmModule(1, passive, -1),
		"global offset":      wasmModule(1, []byte{2, 0, 0x23, 0, opEnd, 1, 'a', 0, opI32Const, 1, opEnd, 1, 'b'}, -1),
		"one segment":        wasmModule(1, active(seg(0, "a")), -1),
		"no data":            wasmModule(1, nil, -1),
		"truncated":          wasmModule(1, active(seg(0, "a"), seg(1, "b")), -1)[:20],
		"bad section size":   append(wasmModule(1, nil, -1), sectionData, 0xff, 0xff, 0xff, 0x0f),
		"not wasm":           []byte("abc"),
	} {
		if got := mergeDataSegments(wasm); !bytes.Equal(got, wasm) {
			t.Errorf("%s: rewritten", name)
		}
	}
}

// TestMergeGoGuest merges a Go guest's data section (about 20,000 segments) and checks that
// an instance's memory is byte for byte what the original gives.
func TestMergeGoGuest(t *testing.T) {
	wasm, err := os.ReadFile("../../../../tests/sdkbench/runners/go-raw.wasm")
	if err != nil {
		t.Fatal(err)
	}
	merged := mergeDataSegments(wasm)
	before, after := countSegments(t, wasm), countSegments(t, merged)
	if before < 1000 || after > 16 {
		t.Errorf("%d data segments merged into %d; want a Go guest's thousands in at most 16", before, after)
	}
	if !bytes.Equal(memoryAfterInstantiation(t, wasm), memoryAfterInstantiation(t, merged)) {
		t.Error("the merged Go guest's memory differs from the original's")
	}
	t.Logf("%d data segments -> %d; module %d -> %d bytes", before, after, len(wasm), len(merged))
}

func TestReadSLEB32(t *testing.T) {
	for _, v := range []int32{0, 1, -1, 63, 64, -64, -65, 1 << 20, -1 << 31, 1<<31 - 1} {
		b := appendSLEB(nil, int64(v))
		if got, n := readSLEB32(b); got != v || n != len(b) {
			t.Errorf("%d: encoded % x, read back %d (%d bytes)", v, b, got, n)
		}
	}
	if _, n := readSLEB32([]byte{0x80, 0x80}); n > 0 {
		t.Error("read an unterminated value")
	}
	if _, n := readSLEB32([]byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x01}); n > 0 {
		t.Error("read a value longer than 5 bytes")
	}
}
