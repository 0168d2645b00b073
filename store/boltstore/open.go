package boltstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/solti-wasm/solti-wasm/store"
	"github.com/solti-wasm/solti-wasm/store/internal/feed"
)

// ErrLocked: another process holds the file open.
var ErrLocked = errors.New("store file is locked by another process")

// Store is the bbolt store.Store. Open makes one.
type Store struct {
	path string
	opt  Options

	// gate is held shared by every use of db, exclusively to close or compact it.
	gate   sync.RWMutex
	db     *bolt.DB
	closed bool

	group *committer
	feed  *feed.Feed
	pub   *publisher
	// floor is the newest revision whose event is no longer on disk.
	floor atomic.Uint64

	seqMu    sync.Mutex
	seqNext  uint64 // next run-id number to hand out
	seqLimit uint64 // highest number reserved on disk
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the store file at path: it takes the file's lock (waiting
// up to Options.LockTimeout, then ErrLocked), migrates an older schema (a newer one is a
// *SchemaError), and compacts the file when its free space passes the threshold.
func Open(path string, opt Options) (*Store, error) { return open(path, opt, current) }

// open is Open with the schema to bring the file to (tests migrate to a test-only one).
func open(path string, opt Options, sc schema) (*Store, error) {
	opt = opt.withDefaults()
	s := &Store{path: path, opt: opt}
	db, err := s.openDB(path)
	if err != nil {
		return nil, err
	}
	if err := migrate(db, path, sc); err != nil {
		_ = db.Close()
		return nil, err
	}
	s.db = db
	if err := s.compactIfWorth(); err != nil {
		_ = s.db.Close()
		return nil, err
	}
	var rev store.Revision
	err = s.db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		rev = store.Revision(u64(meta.Get(keyRev)))
		s.seqLimit = u64(meta.Get(keyRunSeq))
		s.floor.Store(uint64(diskFloor(tx, rev)))
		return nil
	})
	if err != nil {
		_ = s.db.Close()
		return nil, fmt.Errorf("boltstore: %s: %w", path, err)
	}
	s.seqNext = s.seqLimit + 1
	s.feed = feed.New(opt.MemEvents, rev, s.older, func() store.Revision { return store.Revision(s.floor.Load()) })
	s.pub = newPublisher(s.feed, rev)
	s.pub.floor = func(f store.Revision) {
		for {
			cur := s.floor.Load()
			if uint64(f) <= cur || s.floor.CompareAndSwap(cur, uint64(f)) {
				return
			}
		}
	}
	s.group = newCommitter(s, opt.MaxBatchSize, opt.Linger, opt.GatherDelay)
	return s, nil
}

// openDB opens the bbolt file with the store's settings.
func (s *Store) openDB(path string) (*bolt.DB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("boltstore: %w", err)
		}
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout: s.opt.LockTimeout,
		NoSync:  s.opt.NoSync,
		// The freelist is rebuilt by a scan at open instead of written at every commit:
		// fewer pages per commit, as etcd runs bbolt.
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType, // fast allocation in a fragmented file
	})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("boltstore: open %s: %w (waited %v)", path, ErrLocked, s.opt.LockTimeout)
	}
	if err != nil {
		return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
	}
	return db, nil
}

// diskFloor is the newest revision whose event the events bucket no longer holds.
func diskFloor(tx *bolt.Tx, rev store.Revision) store.Revision {
	k, _ := tx.Bucket(bucketEvents).Cursor().First()
	if k == nil {
		return rev
	}
	return store.Revision(binary.BigEndian.Uint64(k) - 1)
}

// u64 reads a be64 value; absent is 0.
func u64(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

// Path is the store's file.
func (s *Store) Path() string { return s.path }

// Close ends every watch, commits the writes already queued, waits for those in flight and
// closes the file; later writes are store.ErrClosed.
func (s *Store) Close() error {
	s.group.stop()
	s.gate.Lock()
	if s.closed {
		s.gate.Unlock()
		return nil
	}
	s.closed = true
	err := s.db.Close()
	s.gate.Unlock()
	s.pub.close()
	s.feed.Close()
	if err != nil {
		return fmt.Errorf("boltstore: close %s: %w", s.path, err)
	}
	return nil
}

// use runs fn with the db held open (shared), or is store.ErrClosed.
func (s *Store) use(fn func(db *bolt.DB) error) error {
	s.gate.RLock()
	defer s.gate.RUnlock()
	if s.closed {
		return store.ErrClosed
	}
	return fn(s.db)
}
