package solti

import (
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/solti-wasm/solti-wasm/abi"
)

// Natively, emitted lines go to the process's stdout and stderr, one line each.
func TestEmitNative(t *testing.T) {
	capture := func(f **os.File, emit func()) string {
		t.Helper()
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		old := *f
		*f = w
		emit()
		*f = old
		w.Close()
		b, _ := io.ReadAll(r)
		return string(b)
	}
	if got := capture(&os.Stdout, func() { Emit("one"); fmt.Fprintf(EmitWriter(abi.StreamStdout), "two\n") }); got != "one\ntwo\n" {
		t.Errorf("stdout %q", got)
	}
	if got := capture(&os.Stderr, func() { EmitErr("oops") }); got != "oops\n" {
		t.Errorf("stderr %q", got)
	}
}
