package runtime

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/solti-wasm/solti-wasm/abi"
)

// ErrMemoryBudget is an instantiation refused because the memory budget it draws on
// (Config.MemoryBudget) has no room for the instance's memory cap, within the budget's wait.
var ErrMemoryBudget = errors.New("memory budget exhausted")

// MemoryBudget bounds the total linear memory of every instance of the runtimes that share
// it: a multi-tenant host gives each tenant one, so that a tenant's instances together never
// hold more than its share, however many modules and runs it has. Each instantiation
// (supports and build pools, guest runs, wasi commands) reserves its instance's memory cap
// (Limits.MaxMemoryPages, tables' share taken out, in whole pages) before the engine
// allocates anything, and gives it back when the instance is closed. Reserving the cap, not
// the current size, is what makes the bound hold: an instance may grow to its cap at any
// time, and a grow cannot wait.
//
// An instantiation that finds no room waits for one up to the budget's wait (bounded also by
// its context), then fails with ErrMemoryBudget; one whose cap alone exceeds the budget
// fails at once. It is safe for concurrent use.
type MemoryBudget struct {
	total uint64 // pages
	wait  time.Duration

	mu    sync.Mutex
	used  uint64
	freed chan struct{} // closed and replaced on every release
}

// NewMemoryBudget returns a budget of pages 64 KiB pages; an instantiation waits up to wait
// for room (0: not at all).
func NewMemoryBudget(pages uint32, wait time.Duration) *MemoryBudget {
	return &MemoryBudget{total: uint64(pages), wait: max(wait, 0), freed: make(chan struct{})}
}

// Total is the budget's size in pages.
func (b *MemoryBudget) Total() uint32 { return uint32(b.total) }

// InUse is the pages reserved now.
func (b *MemoryBudget) InUse() uint32 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return uint32(b.used)
}

// reserve takes pages out of the budget, waiting for room as the budget allows.
func (b *MemoryBudget) reserve(ctx context.Context, pages uint64) error {
	if pages > b.total {
		return fmt.Errorf("%w: an instance's memory cap of %d pages exceeds the whole budget of %d pages", ErrMemoryBudget, pages, b.total)
	}
	var deadline <-chan time.Time
	for {
		b.mu.Lock()
		if b.used+pages <= b.total {
			b.used += pages
			b.mu.Unlock()
			return nil
		}
		used, freed := b.used, b.freed
		b.mu.Unlock()
		if b.wait == 0 {
			return b.full(pages, used)
		}
		if deadline == nil {
			t := time.NewTimer(b.wait)
			defer t.Stop()
			deadline = t.C
		}
		select {
		case <-freed:
		case <-deadline:
			return b.full(pages, used)
		case <-ctx.Done():
			return fmt.Errorf("%w: waiting for %d pages: %v", ErrMemoryBudget, pages, context.Cause(ctx))
		}
	}
}

func (b *MemoryBudget) full(pages, used uint64) error {
	return fmt.Errorf("%w: an instance needs %d pages, %d of the %d-page budget are in use", ErrMemoryBudget, pages, used, b.total)
}

// release gives pages back and wakes the waiters.
func (b *MemoryBudget) release(pages uint64) {
	if pages == 0 {
		return
	}
	b.mu.Lock()
	b.used -= min(pages, b.used)
	close(b.freed)
	b.freed = make(chan struct{})
	b.mu.Unlock()
}

// capPages is a memory cap in bytes as whole pages, what an instance reserves.
func capPages(memCap uint64) uint64 {
	return (memCap + abi.PageSize - 1) / abi.PageSize
}
