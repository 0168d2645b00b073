//go:build wasmtime && (linux || darwin)

package wasmtime

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/bytecodealliance/wasmtime-go/v39"

	"github.com/solti-wasm/solti-wasm/runtime/internal/engine"
)

// wasmtimeModule is the Go module whose version, with the engine's settings, keys the cache.
const wasmtimeModule = "github.com/bytecodealliance/wasmtime-go/v39"

// fallbackVersion is go.mod's version, for binaries built without module information.
const fallbackVersion = "v39.0.1"

func wasmtimeVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == wasmtimeModule {
				if d.Replace != nil {
					d = d.Replace
				}
				return d.Version
			}
		}
	}
	return fallbackVersion
}

// ErrCacheDir is returned by the engine's constructor when CacheDir holds a cache directory
// that others could write to: deserializing a file is running its machine code.
var ErrCacheDir = errors.New("wasmtime cache directory is not private")

// diskCache keeps wasmtime's serialized modules under dir (CacheDir/wasmtime-<version>,
// mode 0700). A file is named by the sha256 of the wasm bytes and the engine settings that
// change the code (epoch checks, fuel), and holds a magic line, the sha256 of the payload and
// the payload. A file that fails the checksum, or that wasmtime refuses, is compiled again
// and replaced; files are written to a temporary name and renamed, so readers never see half
// of one.
type diskCache struct {
	dir    string
	suffix string
}

var cacheMagic = []byte("solti-wasmtime-cache 1\n")

func openCache(root string, o engine.Options) (*diskCache, error) {
	dir := filepath.Join(root, "wasmtime-"+wasmtimeVersion())
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("compilation cache: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return nil, fmt.Errorf("compilation cache: %w", err)
	}
	if !fi.IsDir() || fi.Mode().Perm()&0o077 != 0 || !ownedByMe(fi) {
		return nil, fmt.Errorf("%w: %s is %v; want a directory of this user with mode 0700", ErrCacheDir, dir, fi.Mode())
	}
	suffix := ""
	if o.Interruptible {
		suffix += "-epoch"
	}
	if o.Fuel {
		suffix += "-fuel"
	}
	return &diskCache{dir: dir, suffix: suffix}, nil
}

func (c *diskCache) path(wasm []byte) string {
	sum := sha256.Sum256(wasm)
	return filepath.Join(c.dir, hex.EncodeToString(sum[:])+c.suffix+".cwasm")
}

// compile returns the module of wasm, from the cache when it holds a sound copy.
func (c *diskCache) compile(e *wasmtime.Engine, wasm []byte) (*wasmtime.Module, error) {
	p := c.path(wasm)
	if b, err := os.ReadFile(p); err == nil {
		if payload, ok := unseal(b); ok {
			if m, err := wasmtime.NewModuleDeserialize(e, payload); err == nil {
				return m, nil
			}
		}
	}
	m, err := wasmtime.NewModule(e, wasm)
	if err != nil {
		return nil, err
	}
	if b, err := m.Serialize(); err == nil {
		c.store(p, seal(b)) // best effort: a full disk costs the next process a compile
	}
	return m, nil
}

func seal(payload []byte) []byte {
	sum := sha256.Sum256(payload)
	out := make([]byte, 0, len(cacheMagic)+len(sum)+len(payload))
	return append(append(append(out, cacheMagic...), sum[:]...), payload...)
}

func unseal(b []byte) ([]byte, bool) {
	if !bytes.HasPrefix(b, cacheMagic) || len(b) < len(cacheMagic)+sha256.Size {
		return nil, false
	}
	b = b[len(cacheMagic):]
	want, payload := b[:sha256.Size], b[sha256.Size:]
	got := sha256.Sum256(payload)
	return payload, bytes.Equal(want, got[:])
}

func (c *diskCache) store(path string, b []byte) {
	f, err := os.CreateTemp(c.dir, ".tmp-*")
	if err != nil {
		return
	}
	_, werr := f.Write(b)
	cerr := f.Close()
	if werr != nil || cerr != nil || os.Rename(f.Name(), path) != nil {
		_ = os.Remove(f.Name())
	}
}
