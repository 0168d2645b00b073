package boltstore

import (
	"path/filepath"
	"testing"

	"go.uber.org/goleak"

	"github.com/solti-wasm/solti-wasm/store"
	"github.com/solti-wasm/solti-wasm/store/storetest"
)

func TestMain(m *testing.M) {
	if crashChild() {
		return
	}
	goleak.VerifyTestMain(m)
}

// small bounds the feed so that the suite's feed cases run fast.
var small = Options{FeedEvents: 100, MemEvents: 16}

// openT opens a store in a fresh directory of t.
func openT(t *testing.T, opt Options) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "tasks.db"), opt)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openT(t, small) })
}
