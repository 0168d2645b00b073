package memstore

import (
	"testing"

	"github.com/solti-wasm/solti-wasm/store"
	"github.com/solti-wasm/solti-wasm/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return NewWithOptions(Options{History: 256}) })
}

func TestQueueConformance(t *testing.T) {
	storetest.RunQueue(t, func(t *testing.T, capacity int) store.Queue { return NewQueue(capacity) })
}
