package testcache

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
)

// The package's tests use a cache of their own: SOLTI_TEST_CACHE is set before the first Dir.
var testDir string

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "testcache-test-")
	if err != nil {
		panic(err)
	}
	testDir = filepath.Join(d, "cache")
	os.Setenv(Env, testDir)
	code := m.Run()
	os.RemoveAll(d)
	os.Exit(code)
}

func TestDirFromEnv(t *testing.T) {
	if got := Dir(); got != testDir {
		t.Fatalf("Dir() = %q, want %s=%q", got, Env, testDir)
	}
	if info, err := os.Stat(testDir); err != nil || !info.IsDir() {
		t.Fatalf("Dir did not create %s: %v", testDir, err)
	}
}

func TestOpenOffAndDefault(t *testing.T) {
	t.Setenv(Env, "off")
	if d, err := open(); d != "" || err != nil {
		t.Errorf("%s=off: open() = %q, %v; want no directory", Env, d, err)
	}
	t.Setenv(Env, "")
	d, err := open()
	if root, rerr := moduleRoot(); rerr == nil && workspace(root) {
		if !errors.Is(err, ErrWorkspace) || d != "" {
			t.Errorf("in workspace mode: open() = %q, %v; want %v", d, err, ErrWorkspace)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(os.TempDir(), "solti-wasm-testcache-")
	if !strings.HasPrefix(d, want) || len(filepath.Base(d)) != 16 {
		t.Errorf("default directory %q, want %s<uid>/<16 hex digits of go.mod and go.sum>", d, want)
	}
}

func TestLocalWazero(t *testing.T) {
	for mod, want := range map[string]bool{
		"require github.com/tetratelabs/wazero v1.12.0\n":                                   false,
		"replace github.com/tetratelabs/wazero => ../wazero\n":                              true,
		"replace github.com/tetratelabs/wazero v1.12.0 => /src/wazero\n":                    true,
		"replace github.com/tetratelabs/wazero => github.com/fork/wazero v1.12.1\n":         false,
		"replace (\n\tgithub.com/tetratelabs/wazero => ./third_party/wazero\n)\n":           true,
		"replace example.com/other => ../other\nrequire github.com/tetratelabs/wazero v1\n": false,
	} {
		if got := localWazero([]byte(mod)); got != want {
			t.Errorf("localWazero(%q) = %v, want %v", mod, got, want)
		}
	}
}

func TestWorkspace(t *testing.T) {
	root := t.TempDir()
	mod := filepath.Join(root, "m")
	if err := os.Mkdir(mod, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOWORK", "")
	if workspace(mod) {
		t.Errorf("no go.work: workspace mode")
	}
	if err := os.WriteFile(filepath.Join(root, "go.work"), []byte("go 1.26\nuse ./m\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if !workspace(mod) {
		t.Errorf("a go.work above the module: not workspace mode")
	}
	t.Setenv("GOWORK", "off")
	if workspace(mod) {
		t.Errorf("GOWORK=off: workspace mode")
	}
	t.Setenv("GOWORK", filepath.Join(root, "go.work"))
	if !workspace(mod) {
		t.Errorf("GOWORK set: not workspace mode")
	}
}

func TestPruneRemovesTheOldestDownToHalf(t *testing.T) {
	d := t.TempDir()
	now := time.Now()
	for i := range 10 {
		p := filepath.Join(d, "e"+string(rune('0'+i)))
		if err := os.WriteFile(p, make([]byte, 100), 0o600); err != nil {
			t.Fatal(err)
		}
		old := now.Add(-time.Duration(10-i) * time.Hour) // e0 is the oldest
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	prune(d, 2000) // under the limit: nothing goes
	if n, _ := os.ReadDir(d); len(n) != 10 {
		t.Fatalf("%d files left under the limit, want 10", len(n))
	}
	prune(d, 800) // 1000 bytes > 800: remove the oldest until 400 are left
	left, _ := os.ReadDir(d)
	var names []string
	for _, e := range left {
		names = append(names, e.Name())
	}
	if got := strings.Join(names, ","); got != "e6,e7,e8,e9" {
		t.Errorf("left %s, want the 4 newest e6,e7,e8,e9", got)
	}
}

// On Linux an entry written long ago but read recently (its access time) is kept over
// newer ones that no one read: what every run reads must not be the first to go.
func TestPruneKeepsWhatWasRead(t *testing.T) {
	if goruntime.GOOS != "linux" {
		t.Skip("access times are read on Linux only")
	}
	d := t.TempDir()
	now := time.Now()
	for i := range 4 {
		p := filepath.Join(d, "e"+string(rune('0'+i)))
		if err := os.WriteFile(p, make([]byte, 100), 0o600); err != nil {
			t.Fatal(err)
		}
		written := now.Add(-time.Duration(10-i) * time.Hour) // e0 written first
		read := written
		if i == 0 {
			read = now.Add(-time.Minute) // and read a minute ago
		}
		if err := os.Chtimes(p, read, written); err != nil {
			t.Fatal(err)
		}
	}
	prune(d, 300) // 400 bytes: down to 150, one file
	left, _ := os.ReadDir(d)
	var names []string
	for _, e := range left {
		names = append(names, e.Name())
	}
	if got := strings.Join(names, ","); got != "e0" {
		t.Errorf("left %s, want e0 (read a minute ago) alone", got)
	}
}

func TestPruneOthers(t *testing.T) {
	base := t.TempDir()
	now := time.Now()
	for name, age := range map[string]time.Duration{"keep": 100 * time.Hour, "recent": time.Hour, "stale": staleAge + time.Hour} {
		p := filepath.Join(base, name)
		if err := os.Mkdir(p, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, now.Add(-age), now.Add(-age)); err != nil {
			t.Fatal(err)
		}
	}
	pruneOthers(base, "keep", now)
	for name, want := range map[string]bool{"keep": true, "recent": true, "stale": false} {
		if _, err := os.Stat(filepath.Join(base, name)); (err == nil) != want {
			t.Errorf("%s: present=%v, want %v", name, err == nil, want)
		}
	}
}

func TestParseWarm(t *testing.T) {
	v, paths, err := ParseWarm("5\n/a.wasm\n/b c.wasm")
	if err != nil || v != Product|Plain || strings.Join(paths, "|") != "/a.wasm|/b c.wasm" {
		t.Errorf("ParseWarm = %v, %q, %v", v, paths, err)
	}
	for _, bad := range []string{"", "x\n/a.wasm", "0\n/a.wasm", "64\n/a.wasm", "1\nrelative.wasm"} {
		if _, _, err := ParseWarm(bad); err == nil || !strings.Contains(err.Error(), WarmEnv) {
			t.Errorf("ParseWarm(%q) = %v, want an error naming %s", bad, err, WarmEnv)
		}
	}
}

func TestWarmRefusesNoVariant(t *testing.T) {
	for _, v := range []Variant{0, 64} {
		if err := Warm(v, "x.wasm"); err == nil || !strings.Contains(err.Error(), "variants") {
			t.Errorf("Warm(%#x) = %v, want an error about the variants", uint8(v), err)
		}
	}
}

// Warm through its helper process: the entries of a small module appear under Dir, and a
// module that does not exist is named in the error.
func TestWarmThroughTheHelper(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the helper test binary (-short)")
	}
	mod, err := filepath.Abs("../../examples/runners/wat-echo.wasm")
	if err != nil {
		t.Fatal(err)
	}
	if err := Warm(Plain|Product, mod); err != nil {
		t.Fatal(err)
	}
	var files int
	_ = filepath.WalkDir(Dir(), func(_ string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			files++
		}
		return nil
	})
	if files < 1 {
		t.Errorf("no cache entry under %s after warming %s", Dir(), mod)
	}

	// The helper's entries are where this test binary's wazero looks: a module no one has
	// compiled yet (a custom section of random bytes makes it new), once warmed, compiles here
	// without a new entry.
	wasm, err := os.ReadFile(mod)
	if err != nil {
		t.Fatal(err)
	}
	name, data := "warm", fmt.Sprint(time.Now().UnixNano())
	wasm = append(wasm, 0, byte(1+len(name)+len(data)), byte(len(name)))
	wasm = append(append(wasm, name...), data...)
	fresh := filepath.Join(t.TempDir(), "fresh.wasm")
	if err := os.WriteFile(fresh, wasm, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Warm(Plain, fresh); err != nil {
		t.Fatal(err)
	}
	before := cacheFiles(t, Dir())
	ctx := context.Background()
	cache, err := wazero.NewCompilationCacheWithDir(Dir())
	if err != nil {
		t.Fatal(err)
	}
	defer cache.Close(ctx)
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCompilationCache(cache))
	defer rt.Close(ctx)
	if _, err := rt.CompileModule(ctx, wasm); err != nil {
		t.Fatal(err)
	}
	for f := range cacheFiles(t, Dir()) {
		if !before[f] {
			t.Errorf("compiling the warmed %s wrote %s: the helper's entries are not where a test binary's wazero looks", fresh, f)
		}
	}
	missing := filepath.Join(t.TempDir(), "missing.wasm")
	if err := Warm(Plain, missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("warming a missing module: %v, want an error naming it", err)
	}
}

// cacheFiles is the set of files under dir.
func cacheFiles(t *testing.T, dir string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			out[p] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
