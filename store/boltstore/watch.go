package boltstore

import (
	"context"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/solti-wasm/solti-wasm/store"
)

// Watch streams tenant's events after from (0: from now), replaying from disk what the
// memory ring no longer holds (after a restart too). store.ErrExpired when the file no
// longer holds the events after from (Options.FeedEvents, FeedAge); a watcher that falls
// that far behind is ended.
func (s *Store) Watch(ctx context.Context, tenant string, from store.Revision) (<-chan store.Event, error) {
	if err := s.group.closed(); err != nil {
		return nil, err
	}
	return s.feed.Watch(ctx, tenant, from)
}

// older reads the feed's events after rev from disk (feed.Older).
func (s *Store) older(dst []*store.Event, after store.Revision, max int) ([]*store.Event, error) {
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketEvents).Cursor()
		want := uint64(after) + 1
		k, v := c.Seek(be64(want))
		if k == nil || binary.BigEndian.Uint64(k) != want {
			return fmt.Errorf("watch from revision %d: %w", after, store.ErrExpired)
		}
		for ; k != nil && len(dst) < max; k, v = c.Next() {
			e, err := decodeEvent(store.Revision(binary.BigEndian.Uint64(k)), v)
			if err != nil {
				return err
			}
			dst = append(dst, e)
		}
		return nil
	})
	return dst, err
}
