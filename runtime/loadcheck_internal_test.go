package runtime

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/solti-wasm/solti-wasm/abi"
)

// tableModule is a module with one funcref table of minimum min and no maximum.
func tableModule(min byte) []byte {
	return append([]byte("\x00asm\x01\x00\x00\x00"), 4, 4, 1, 0x70, 0, min)
}

func TestTableCapAndMemoryShare(t *testing.T) {
	rt := &Runtime{limits: Limits{MaxTableElements: 100}.withDefaults()}
	wasm := tableModule(1)
	p, stage, err := rt.prepare(wasm)
	if err != nil {
		t.Fatalf("%s: %v", stage, err)
	}
	// The table got a maximum of 100: limits flags 1, min 1, max 100.
	if want := append([]byte("\x00asm\x01\x00\x00\x00"), 4, 5, 1, 0x70, 1, 1, 100); !bytes.Equal(p.wasm, want) {
		t.Fatalf("clamped module % x, want % x", p.wasm, want)
	}
	if p.tableBytes != 100*tableElementBytes {
		t.Fatalf("table bytes %d", p.tableBytes)
	}
	// 800 bytes of table take one page off the 1024-page memory budget.
	capBytes, ok := rt.memoryCap(p.tableBytes)
	if !ok || capBytes != 1023*abi.PageSize {
		t.Fatalf("memory cap %d pages", capBytes/abi.PageSize)
	}
	if err := rt.checkMemoryBudget(1023, p.tableBytes); err != nil {
		t.Fatal(err)
	}
	if err := rt.checkMemoryBudget(1024, p.tableBytes); !errors.Is(err, ErrMemoryLimit) ||
		!strings.Contains(err.Error(), "initial memory of 1024 pages plus tables of 0 KiB exceed the 1024-page memory budget") {
		t.Fatalf("memory plus tables over the budget: %v", err)
	}
	// A table whose minimum is over the cap is refused at validate.
	if _, stage, err := rt.prepare(tableModule(101)); stage != "validate" || !errors.Is(err, ErrModuleLimit) ||
		!strings.Contains(err.Error(), "table 0 declares a minimum of 101 elements, over the cap of 100") {
		t.Fatalf("min over the cap: %s: %v", stage, err)
	}
	// Tables that would take the whole budget leave no memory at all.
	small := &Runtime{limits: Limits{MaxMemoryPages: 1, MaxTableElements: 1 << 16}.withDefaults()}
	if _, ok := small.memoryCap(1 << 16 * tableElementBytes); ok {
		t.Fatal("512 KiB of table fit in a 64 KiB budget")
	}
}
