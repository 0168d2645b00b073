package runtime

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"

	"github.com/solti-wasm/solti-wasm/runtime/internal/fuel"
)

// fuelCache keeps the fuel pass's output beside the compiled code (Config.CacheDir). The
// engine's cache is keyed by the bytes it compiles, which for a metered module are the
// pass's output, so without this every load paid the pass again before its compiled code
// could be found: ~130 ms for a 3.8 MB Go guest, on every CLI run and daemon start.
//
// An entry is named by the SHA-256 of the module and the pass's section (pass version and
// cost table), so a change of either misses; it holds the instrumented bytes and their own
// SHA-256, checked on every read, so a torn or altered entry is a miss, not a module. The
// cache directory is trusted as the engine's is: it holds compiled machine code already.
type fuelCache struct{ dir string } // "": no cache

// fuelCacheDir is the subdirectory of Config.CacheDir the entries live in.
const fuelCacheDir = "solti-fuel"

func newFuelCache(cacheDir string) fuelCache {
	if cacheDir == "" {
		return fuelCache{}
	}
	return fuelCache{dir: filepath.Join(cacheDir, fuelCacheDir)}
}

// instrument returns wasm instrumented with the runtime's cost table, from the cache when
// it holds a good entry; a new result is stored (best effort: a cache that cannot be
// written only costs the next load the pass).
func (c fuelCache) instrument(wasm []byte) ([]byte, error) {
	if c.dir == "" {
		return InstrumentFuel(wasm)
	}
	key := sha256.New()
	key.Write(wasm)
	key.Write([]byte(fuel.Section(costs)))
	path := filepath.Join(c.dir, hex.EncodeToString(key.Sum(nil))+".wasm")
	if b, err := os.ReadFile(path); err == nil && len(b) > sha256.Size {
		out, sum := b[:len(b)-sha256.Size], b[len(b)-sha256.Size:]
		if got := sha256.Sum256(out); bytes.Equal(got[:], sum) {
			return out, nil
		}
	}
	out, err := InstrumentFuel(wasm)
	if err != nil {
		return nil, err
	}
	c.store(path, out)
	return out, nil
}

// store writes an entry atomically: a reader sees the whole entry or none.
func (c fuelCache) store(path string, out []byte) {
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return
	}
	f, err := os.CreateTemp(c.dir, ".tmp-*")
	if err != nil {
		return
	}
	sum := sha256.Sum256(out)
	_, werr := f.Write(append(out[:len(out):len(out)], sum[:]...))
	if cerr := f.Close(); werr != nil || cerr != nil || os.Rename(f.Name(), path) != nil {
		_ = os.Remove(f.Name())
	}
}
