package registry

import (
	"os"
	"strings"
	"testing"
)

func TestWasmIncomplete(t *testing.T) {
	whole, err := os.ReadFile("../tests/testdata/modules/hot-a.wasm")
	if err != nil {
		t.Fatal(err)
	}
	if why := wasmIncomplete(whole); why != "" {
		t.Fatalf("whole module: %s", why)
	}
	// Every cut of a module is incomplete, except at the boundaries between sections.
	boundaries := map[int]bool{8: true}
	for i := 8; i < len(whole); {
		size, w := uleb32(whole[i+1:])
		i += 1 + w + int(size)
		boundaries[i] = true
	}
	for n := 1; n < len(whole); n++ {
		why := wasmIncomplete(whole[:n])
		if boundaries[n] != (why == "") {
			t.Errorf("cut at %d of %d bytes: %q", n, len(whole), why)
		}
	}
	for _, notWasm := range []string{"", "#!/bin/sh\necho hi\n", "\x00asm\x0d\x00\x01\x00"} {
		if why := wasmIncomplete([]byte(notWasm)); why != "" && len(notWasm) >= 8 {
			t.Errorf("%q: %q; the loader should say what it is", notWasm, why)
		}
	}
	if why := wasmIncomplete(append([]byte("\x00asm\x01\x00\x00\x00\x01"), 0xff, 0xff)); !strings.Contains(why, "size is cut off") {
		t.Errorf("cut LEB: %q", why)
	}
}

func TestParseOrder(t *testing.T) {
	rank, warnings := parseOrder([]byte("# first\n\n  b.wasm \na.wasm\nb.wasm\nsub/x.wasm\nnotes.txt\n"))
	if len(rank) != 2 || rank["b.wasm"] != 0 || rank["a.wasm"] != 1 {
		t.Errorf("rank %v", rank)
	}
	if len(warnings) != 3 || !strings.Contains(warnings[0], "line 5") || !strings.Contains(warnings[1], "sub/x.wasm") {
		t.Errorf("warnings %q", warnings)
	}
	r := &Registry{rank: rank}
	for _, c := range []struct {
		a, b string
		want int
	}{{"/d/b.wasm", "/d/a.wasm", -1}, {"/d/a.wasm", "/d/0.wasm", -1}, {"/d/0.wasm", "/d/1.wasm", -1}, {"/d/z.wasm", "/d/b.wasm", 1}} {
		if got := r.comparePaths(c.a, c.b); (got < 0) != (c.want < 0) || got == 0 {
			t.Errorf("compare(%s, %s) = %d, want sign %d", c.a, c.b, got, c.want)
		}
	}
}
