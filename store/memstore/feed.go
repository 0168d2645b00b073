package memstore

import (
	"context"

	"github.com/solti-wasm/solti-wasm/store"
)

// Watch streams tenant's events after from (0: from now). Each watcher reads the ring at
// its own pace from a goroutine; one that lags by more than the ring holds
// (Options.History) is ended, its channel closed, instead of holding writes back.
func (s *Store) Watch(ctx context.Context, tenant string, from store.Revision) (<-chan store.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	return s.feed.Watch(ctx, tenant, from)
}
