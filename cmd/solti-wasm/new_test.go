package main

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	soltiwasm "github.com/solti-wasm/solti-wasm"
)

// TestVendoredGoSDKIsSelfContained checks what solti-wasm new writes into a Go project
// outside a checkout: a go.mod with no requirements, and the Go SDK and abi packages, every
// non-test file of theirs, importing only the standard library and each other. A new
// dependency (or a new package the SDK imports) would break every generated project without
// a proxy to fetch it, so it must fail here first.
func TestVendoredGoSDKIsSelfContained(t *testing.T) {
	files := map[string][]byte{}
	if err := vendorGoSDK(files, "v"+Version); err != nil {
		t.Fatal(err)
	}
	gomod := string(files[vendorDir+"/go.mod"])
	if !strings.Contains(gomod, "\nmodule "+sdkModule+"\n") || !strings.Contains(gomod, "\ngo 1.") || strings.Contains(gomod, "require") {
		t.Errorf("vendored go.mod:\n%s\nwant module %s, a go line and no requirements", gomod, sdkModule)
	}
	vendored := []string{sdkModule + "/abi", sdkModule + "/guest-sdk/go/solti"}
	for _, pkg := range vendored {
		dir := strings.TrimPrefix(pkg, sdkModule+"/")
		// Every non-test Go file on disk is vendored, and nothing else.
		onDisk, err := filepath.Glob(filepath.Join("..", "..", filepath.FromSlash(dir), "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		var want, got []string
		for _, p := range onDisk {
			if !strings.HasSuffix(p, "_test.go") {
				want = append(want, filepath.Base(p))
			}
		}
		for p := range files {
			if path.Dir(p) == vendorDir+"/"+dir && strings.HasSuffix(p, ".go") {
				got = append(got, path.Base(p))
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: vendored %q, want the non-test files %q", dir, got, want)
		}
		sub, _ := os.ReadDir(filepath.Join("..", "..", filepath.FromSlash(dir)))
		for _, e := range sub {
			if !e.IsDir() || e.Name() == "testdata" {
				continue
			}
			// A subdirectory is vendored only for the files a package embeds from it
			// (abi/schema/*.json): they must all be there.
			onDisk, _ := filepath.Glob(filepath.Join("..", "..", filepath.FromSlash(dir), e.Name(), "*.json"))
			if len(onDisk) == 0 {
				t.Errorf("%s has a subdirectory %s, which the embed (sdk_sources.go) leaves out", dir, e.Name())
			}
			for _, p := range onDisk {
				if _, ok := files[vendorDir+"/"+dir+"/"+e.Name()+"/"+filepath.Base(p)]; !ok {
					t.Errorf("%s/%s/%s is not vendored, but abi embeds it", dir, e.Name(), filepath.Base(p))
				}
			}
		}
	}
	fset := token.NewFileSet()
	for p, src := range files {
		if !strings.HasSuffix(p, ".go") {
			continue
		}
		f, err := parser.ParseFile(fset, p, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			ip := strings.Trim(imp.Path.Value, `"`)
			if first, _, _ := strings.Cut(ip, "/"); strings.Contains(first, ".") && !slices.Contains(vendored, ip) {
				t.Errorf("%s imports %s: the vendored SDK may import only the standard library and %s", p, ip, strings.Join(vendored, ", "))
			}
		}
	}
	// The embedded files are the sources themselves (no copy that could drift).
	for p := range files {
		if p == vendorDir+"/go.mod" {
			continue
		}
		rel := strings.TrimPrefix(p, vendorDir+"/")
		emb, err := fs.ReadFile(soltiwasm.GoSDK, rel)
		if err != nil {
			t.Fatal(err)
		}
		disk, err := os.ReadFile(filepath.Join("..", "..", filepath.FromSlash(rel)))
		if err != nil {
			t.Fatal(err)
		}
		if string(emb) != string(disk) || string(files[p]) != string(disk) {
			t.Errorf("%s: vendored content differs from the source", rel)
		}
	}
}
