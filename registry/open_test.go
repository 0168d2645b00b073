package registry_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/solti-wasm/solti-wasm/registry"
	"github.com/solti-wasm/solti-wasm/router"
	"github.com/solti-wasm/solti-wasm/runtime"
)

// The runners directory must be a directory: a file is refused by name, before anything loads.
func TestOpenRefusesAFile(t *testing.T) {
	ctx := context.Background()
	rt, err := runtime.New(ctx, runtime.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	file := filepath.Join(fixtures, "ok.wasm")
	r, err := registry.Open(ctx, registry.Config{Dir: file, Runtime: rt, Router: router.New(router.BuildContext{})})
	if err == nil {
		r.Close(ctx)
		t.Fatal("Open(file) succeeded")
	}
	if !strings.Contains(err.Error(), file) || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("Open(file) = %v, want it to name the file and say it is not a directory", err)
	}
}
