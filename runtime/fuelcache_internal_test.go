package runtime

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// The fuel cache gives the pass's own output, reads it back instead of instrumenting again,
// and treats a damaged or foreign entry as a miss.
func TestFuelCache(t *testing.T) {
	t.Parallel()
	wasm, err := os.ReadFile(filepath.Join("..", "examples", "runners", "c-script.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := InstrumentFuel(wasm)
	if err != nil {
		t.Fatal(err)
	}
	c := newFuelCache(t.TempDir())
	entry := func() string {
		t.Helper()
		m, _ := filepath.Glob(filepath.Join(c.dir, "*.wasm"))
		if len(m) != 1 {
			t.Fatalf("%d cache entries, want 1: %v", len(m), m)
		}
		return m[0]
	}
	got, err := c.instrument(wasm)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("a miss: %d bytes, err %v; want the pass's %d bytes", len(got), err, len(want))
	}
	path := entry()

	// A hit is the entry's bytes: mark the entry (with a valid checksum) and see it come back.
	marked := append(append([]byte(nil), want...), 0) // another entry, its checksum valid
	c.store(path, marked)
	if got, err := c.instrument(wasm); err != nil || !bytes.Equal(got, marked) {
		t.Fatalf("a hit did not read the entry (%d bytes, err %v)", len(got), err)
	}

	// Damaged entries are misses, and are replaced by the pass's output.
	for name, damage := range map[string]func([]byte) []byte{
		"a flipped byte":        func(b []byte) []byte { b[len(b)/2] ^= 1; return b },
		"torn":                  func(b []byte) []byte { return b[:len(b)/2] },
		"shorter than its hash": func(b []byte) []byte { return b[:10] },
		"empty":                 func(b []byte) []byte { return nil },
	} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, damage(b), 0o644); err != nil {
			t.Fatal(err)
		}
		if got, err := c.instrument(wasm); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s entry: %d bytes, err %v; want the pass's output", name, len(got), err)
		}
		if b, _ := os.ReadFile(entry()); !bytes.Equal(b[:len(b)-32], want) {
			t.Fatalf("%s entry was not replaced", name)
		}
	}

	// Another module is another entry; no cache directory is no cache.
	if _, err := c.instrument(tableModule(1)); err != nil {
		t.Fatal(err)
	}
	if m, _ := filepath.Glob(filepath.Join(c.dir, "*.wasm")); len(m) != 2 {
		t.Fatalf("%d entries for two modules", len(m))
	}
	if got, err := newFuelCache("").instrument(wasm); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("no cache: err %v", err)
	}
	// A cache that cannot be written still instruments.
	ro := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(ro, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := newFuelCache(ro).instrument(wasm); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("an unwritable cache: err %v", err)
	}
}
