// Package testcache gives the module's test binaries one compilation cache directory on the
// machine, so that a large guest (a Go module: seconds to compile, tens of seconds under the
// race detector) compiles once per machine instead of once per test binary and run.
//
// The directory is wazero's own file cache: wazero keys every entry by the sha256 of the
// module's bytes, its interruption (close-on-context-done) and listener flags, and the CPU's
// features, and writes entries atomically (a temporary file renamed into place), so
// concurrent test binaries share it safely. What wazero does not key in a test binary is its
// own version: test binaries carry no module build information, so wazero files their entries
// under "dev". The directory is therefore named after a hash of go.mod and go.sum, which pin
// wazero's version and content: another wazero gets another directory, and a go.mod that
// replaces wazero by a local directory (whose content no file here pins), or a workspace
// (go.work), gets no shared cache.
//
// Set SOLTI_TEST_CACHE=off to compile everything in every test, or to a directory to use that
// one (a fresh directory per CI run: compile once per run). Tests of compilation itself (cold
// compiles, compile budgets, progress lines) keep their own directories.
package testcache

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Env names the variable that turns the shared cache off ("off") or moves it (a path).
const Env = "SOLTI_TEST_CACHE"

// MaxBytes bounds the shared directory: guests are rebuilt often, and each version of a Go
// guest leaves about 17 MB of machine code per variant. Past it, Dir removes the least
// recently used entries until half of it is left.
const MaxBytes = 2 << 30

// staleAge is how long the directory of another go.mod and go.sum is kept (another branch's
// checkout may still use it).
const staleAge = 72 * time.Hour

// ErrNoModule is returned when no go.mod of this module is found above the working directory.
var ErrNoModule = errors.New("testcache: no go.mod above the working directory")

// ErrWorkspace is returned in workspace mode (a go.work, or GOWORK set): a workspace can put
// a local wazero in the build without go.mod saying so.
var ErrWorkspace = errors.New("testcache: workspace mode (go.work)")

// ErrLocalWazero is returned when go.mod replaces wazero by a local directory: its content is
// pinned by no file, so code compiled from an edited copy could be served as current.
var ErrLocalWazero = errors.New("testcache: go.mod replaces wazero by a local directory")

var (
	dirOnce sync.Once
	dir     string
	dirErr  error
)

// Dir returns the shared cache directory, creating it (and pruning it) on the first call; ""
// when SOLTI_TEST_CACHE=off or the directory cannot be made, in which case Err says why.
func Dir() string {
	dirOnce.Do(func() { dir, dirErr = open() })
	return dir
}

// Err is why Dir returned "", or nil.
func Err() error {
	Dir()
	return dirErr
}

func open() (string, error) {
	switch v := os.Getenv(Env); v {
	case "off":
		return "", nil
	case "":
	default:
		if err := os.MkdirAll(v, 0o700); err != nil {
			return "", fmt.Errorf("testcache: %s=%s: %w", Env, v, err)
		}
		return v, nil
	}
	key, err := moduleKey()
	if err != nil {
		return "", err
	}
	base := filepath.Join(os.TempDir(), "solti-wasm-testcache-"+strconv.Itoa(os.Getuid()))
	d := filepath.Join(base, key)
	if err := os.MkdirAll(d, 0o700); err != nil {
		return "", fmt.Errorf("testcache: %w", err)
	}
	// Mark the directory as in use, for the pruning of other checkouts' directories.
	now := time.Now()
	_ = os.Chtimes(d, now, now)
	pruneOthers(base, key, now)
	prune(d, MaxBytes)
	return d, nil
}

// moduleKey hashes the go.mod and go.sum of the module around the working directory.
func moduleKey() (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	if workspace(root) {
		return "", ErrWorkspace
	}
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return "", fmt.Errorf("testcache: %w", err)
	}
	if localWazero(mod) {
		return "", ErrLocalWazero
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		return "", fmt.Errorf("testcache: %w", err)
	}
	h := sha256.New()
	h.Write(mod)
	h.Write([]byte{0})
	h.Write(sum)
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// workspace reports whether the go command builds in workspace mode: GOWORK names a file, or
// a go.work is in root or above it (GOWORK unset).
func workspace(root string) bool {
	switch w := os.Getenv("GOWORK"); w {
	case "off":
		return false
	case "":
	default:
		return true
	}
	for d := root; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.work")); err == nil {
			return true
		}
		if filepath.Dir(d) == d {
			return false
		}
	}
}

// localWazero reports whether go.mod replaces wazero by a directory (a path, not a version).
func localWazero(mod []byte) bool {
	for _, line := range bytes.Split(mod, []byte("\n")) {
		_, target, ok := bytes.Cut(line, []byte("=>"))
		if !ok || !bytes.Contains(line, []byte("github.com/tetratelabs/wazero")) {
			continue
		}
		t := bytes.TrimSpace(target)
		if bytes.HasPrefix(t, []byte(".")) || bytes.HasPrefix(t, []byte("/")) {
			return true
		}
	}
	return false
}

// pruneOthers removes the directories of other go.mod and go.sum versions unused for staleAge.
func pruneOthers(base, keep string, now time.Time) {
	entries, err := os.ReadDir(base)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.Name() == keep || !e.IsDir() {
			continue
		}
		if info, err := e.Info(); err == nil && now.Sub(info.ModTime()) > staleAge {
			_ = os.RemoveAll(filepath.Join(base, e.Name()))
		}
	}
}

// prune removes the least recently used files under d (lastUse) while their total exceeds
// limit, down to limit/2. A
// file removed while another process reads it stays readable to that process; one removed
// before it is opened is a cache miss, which compiles again.
func prune(d string, limit int64) {
	type file struct {
		path string
		size int64
		mod  time.Time
	}
	var files []file
	var total int64
	_ = filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return nil
		}
		if info, err := e.Info(); err == nil {
			files = append(files, file{p, info.Size(), lastUse(info)})
			total += info.Size()
		}
		return nil
	})
	if total <= limit {
		return
	}
	slices.SortFunc(files, func(a, b file) int { return a.mod.Compare(b.mod) })
	for _, f := range files {
		if total <= limit/2 {
			return
		}
		if os.Remove(f.path) == nil {
			total -= f.size
		}
	}
}
