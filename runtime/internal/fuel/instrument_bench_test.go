package fuel

import (
	"os"
	"testing"
)

// BenchmarkInstrumentGoGuest instruments go-transform.wasm (3.8 MB), what every load of a Go
// runner pays before its compiled code is looked up in a cache.
func BenchmarkInstrumentGoGuest(b *testing.B) {
	wasm, err := os.ReadFile("../../../examples/runners/go-transform.wasm")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(wasm)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Instrument(wasm, DefaultCosts()); err != nil {
			b.Fatal(err)
		}
	}
}
