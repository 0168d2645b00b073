package solti

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// The constant words of scan's fast path are the keys they stand for.
func TestScanWords(t *testing.T) {
	for w, key := range map[uint64]string{
		wSlot: `{"slot":`, wKind: `,"kind":`, wExt0: `{"extens`, wExt1: `ion":{"t`, wExt2: `"type":"`, wSpecK: `,"spec":`,
	} {
		if lit8(key) != w {
			t.Errorf("word for %s is %#x, want %#x", key, w, lit8(key))
		}
	}
	const key = `{"extension":{"type":"` // 22 bytes: words at 0, 8 and 14
	if len(key) != 22 || lit8(key[0:8]) != wExt0 || lit8(key[8:16]) != wExt1 || lit8(key[14:22]) != wExt2 {
		t.Error("wExt0, wExt1 and wExt2 do not cover the extension key")
	}
}

// plainEnd against a byte loop, on strings of every length up to 40 with quotes and
// backslashes anywhere.
func TestPlainEnd(t *testing.T) {
	ref := func(b []byte, i int) int {
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				return i
			case '\\':
				return -1
			}
		}
		return -1
	}
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte(`ab"\` + "\x00\x80\xff\x21\x23\x5b\x5d")
	for n := range 41 {
		for range 200 {
			b := make([]byte, n)
			for i := range b {
				b[i] = alphabet[r.IntN(len(alphabet))]
				if r.IntN(3) > 0 {
					b[i] = 'a' + byte(r.IntN(26))
				}
			}
			for i := 0; i <= n; i++ {
				if got, want := plainEnd(b, i), ref(b, i); got != want {
					t.Fatalf("plainEnd(%q, %d) = %d, want %d", b, i, got, want)
				}
			}
		}
	}
}

// scan's fast path reads what scanKind reads, whatever the slot and kind lengths (around the
// 8- and 16-byte words), with and without a spec, escapes, and kinds that change from call to
// call (the in-place comparison with the last kind seen).
func TestScanFastPathMatchesScanKind(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = "abcxyz-./"[r.IntN(9)]
		}
		return string(b)
	}
	var inputs []string // all for the fast path
	for slot := range 20 {
		for name := 1; name < 21; name++ {
			for _, tail := range []string{`}}`, `,"spec":{"x":1}}}`, `,"spec":"s"}}`} {
				s, k := word(slot), word(name)
				inputs = append(inputs, fmt.Sprintf(`{"slot":"%s","kind":{"extension":{"type":"%s"%s,"timeout":1}`, s, k, tail))
				// The same kind with one byte changed: must not match the cached one.
				k2 := k[:name-1] + "q"
				inputs = append(inputs, fmt.Sprintf(`{"slot":"%s","kind":{"extension":{"type":"%s"%s}`, s, k2, tail))
			}
		}
	}
	n := len(inputs)
	inputs = append(inputs, // the general path's, and edge cases
		`{"slot":"a\"b","kind":{"extension":{"type":"t"}},"timeout":1}`,
		`{"slot":"a\\","kind":{"extension":{"type":"t"}},"timeout":1}`,
		`{"slot":"a","kind":{"extension":{"type":"t\u0041"}},"timeout":1}`,
		`{"slot":"a","kind":{"extension":{"type":"t"}}}`,
		`{"slot":"a","kind":{"extension":{"type":"t"}`,
		`{"slot":"a","kind":{"extension":{"type":"tttttttttttttttttttttttt"}},"timeout":1}`,
		`{"slot":"a","kind":{"wasm":{"module":"m.wasm"}},"timeout":1}`,
		`{"slot":"a","kind":"embedded","timeout":1}`,
		`{"slot":"","kind":{"extension":{"type":"t"}},"timeout":1}`,
		`{"slot":"abcdefghijklmnop","kind":{"extension":{"type":"abcdefghijklmno"}},"timeout":1}`,
		`{"slot":"abcdefghijklmnop","kind":{"extension":{"type":"abcdefghijklmnop"}},"timeout":1}`,
		`{"slot":"a","kind":{"extension":{"type":"t","spec`,
	)
	fast := map[string]bool{}
	for _, in := range inputs[:n] {
		fast[in] = true
	}
	r.Shuffle(len(inputs), func(i, j int) { inputs[i], inputs[j] = inputs[j], inputs[i] })
	for _, in := range append(inputs, inputs...) {
		general := generalScans
		var s Spec
		s.reset([]byte(in))
		kind := s.Kind()
		if fast[in] && generalScans != general {
			t.Errorf("%s: not read by the fast path", in)
		}
		name, extAt, isExt, ok := scanKind([]byte(in))
		if !ok {
			continue // the decoder's case (TestSpecSlowPath)
		}
		if kind != string(name) || s.isExt != isExt || s.extAt != extAt || s.kindAt != kindValueAt([]byte(in)) {
			t.Errorf("%s: scan = %q, ext %v at %d, kind at %d; scanKind = %q, %v at %d, kind at %d",
				in, kind, s.isExt, s.extAt, s.kindAt, name, isExt, extAt, kindValueAt([]byte(in)))
		}
	}
}

// A reused Spec forgets what its lazy readers found for the previous input.
func TestSpecResetAfterLazyReads(t *testing.T) {
	a := canonical(t, `{"slot":"a","kind":{"extension":{"type":"t","spec":{"x":1}}},"timeout":1,"labels":{"app":"one"}}`)
	b := canonical(t, `{"slot":"b","kind":{"extension":{"type":"u"}},"timeout":1}`)
	var s Spec
	s.reset(a)
	if v, _ := s.Label("app"); v != "one" || string(s.ExtensionSpec()) != `{"x":1}` || s.Kind() != "t" {
		t.Fatalf("first spec: label %q, ext %s, kind %q", v, s.ExtensionSpec(), s.Kind())
	}
	if _, err := s.Decode(); err != nil {
		t.Fatal(err)
	}
	s.reset(b)
	if _, ok := s.Label("app"); ok || s.ExtensionSpec() != nil || s.Kind() != "u" || len(s.Labels()) != 0 {
		t.Errorf("second spec: labels %v, ext %s, kind %q", s.Labels(), s.ExtensionSpec(), s.Kind())
	}
	if d, err := s.Decode(); err != nil || d.Kind.Name() != "u" {
		t.Errorf("second spec decodes to %v, %v", d, err)
	}
	if !strings.Contains(string(s.JSON()), `"slot":"b"`) {
		t.Errorf("JSON() = %s", s.JSON())
	}
}
