package testcache

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// Variant is one way the suites compile a module; each compiles other bytes, or with other
// flags, so each is its own cache entry.
type Variant uint8

const (
	// Product is what runtime.New with default limits compiles: the fuel-metered bytes.
	Product Variant = 1 << iota
	// Unmetered is what a runtime with runtime.NoCallTimeout compiles for name, describe,
	// supports and build.
	Unmetered
	// Plain is the module's bytes as they are, on wazero without interruption checks (the
	// conformance harness).
	Plain
	// Fueled is runtime.InstrumentFuel's bytes on the same plain wazero.
	Fueled
	// Command is what runtime.LoadCommand compiles for a WASI command (its fuel-metered bytes).
	Command

	allVariants = Product | Unmetered | Plain | Fueled | Command
)

// WarmEnv carries a warm request to the helper: the variants, then one module path a line.
const WarmEnv = "SOLTI_TEST_WARM"

// helperPkg is the command that compiles for Warm, relative to the module root.
const helperPkg = "./internal/testcache/warm/helper"

// DevVersionFlag is the linker flag that makes a binary's wazero file its cache entries
// where a test binary's wazero looks for them: under version "dev" (test binaries carry no
// module build information, any other binary carries wazero's release). The helper of Warm
// is built with it, and so is a CLI that tests run against the shared cache.
const DevVersionFlag = "-ldflags=-X=github.com/tetratelabs/wazero/internal/version.version=dev"

// ErrNoCache is returned by Warm when there is no shared directory to warm.
var ErrNoCache = errors.New("testcache: no shared cache directory")

// Warm compiles each module at paths in the given variants into Dir, unless already there, in
// a helper process (`go run`, so the go command caches its executable) built without the
// race detector and with DevVersionFlag: wazero compiles a Go guest about ten
// times faster there, and the machine code is the same (wazero's compiler is deterministic
// and the race detector instruments only the compiler's own Go code). Concurrent callers (test
// binaries of one `go test ./...`) take turns; the later ones find the entries present.
// A failure is not fatal to a suite: its tests then compile what they need themselves.
func Warm(v Variant, paths ...string) error {
	d := Dir()
	if d == "" {
		if err := Err(); err != nil {
			return err
		}
		return ErrNoCache
	}
	if v == 0 || v&^allVariants != 0 {
		return fmt.Errorf("testcache: variants %#x: want a non-empty set of Product, Unmetered, Plain, Fueled, Command", uint8(v))
	}
	if len(paths) == 0 {
		return nil
	}
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	var req strings.Builder
	req.WriteString(strconv.Itoa(int(v)))
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return fmt.Errorf("testcache: %w", err)
		}
		if strings.ContainsRune(abs, '\n') {
			return fmt.Errorf("testcache: module path %q holds a newline", abs)
		}
		req.WriteString("\n" + abs)
	}
	unlock, err := lock(filepath.Join(d, ".warm.lock"))
	if err != nil {
		return err
	}
	defer unlock()
	// -race=false overrides a -race in GOFLAGS.
	cmd := exec.Command("go", "run", "-race=false", DevVersionFlag, helperPkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), WarmEnv+"="+req.String(), Env+"="+d)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("testcache: warming %d modules (go run %s): %w\n%s", len(paths), helperPkg, err, out.Bytes())
	}
	return nil
}

// ParseWarm reads a warm request written by Warm.
func ParseWarm(s string) (Variant, []string, error) {
	lines := strings.Split(s, "\n")
	n, err := strconv.Atoi(lines[0])
	if err != nil || n <= 0 || Variant(n)&^allVariants != 0 {
		return 0, nil, fmt.Errorf("testcache: %s: first line %q: want the variants as a number", WarmEnv, lines[0])
	}
	paths := lines[1:]
	for i, p := range paths {
		if !filepath.IsAbs(p) {
			return 0, nil, fmt.Errorf("testcache: %s: line %d: %q is not an absolute path", WarmEnv, i+2, p)
		}
	}
	return Variant(n), paths, nil
}

// moduleRoot is the directory of the go.mod above the working directory.
func moduleRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("testcache: %w", err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", ErrNoModule
		}
	}
}
