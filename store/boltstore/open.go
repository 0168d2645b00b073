package boltstore

import (
	"bytes"
	"crypto/rand"
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
	db   *bolt.DB // used by the committer's loop alone once Open returns

	group *committer
	feed  *feed.Feed
	// floor is the newest revision whose event is no longer on disk.
	floor atomic.Uint64

	seqMu    sync.Mutex
	seqNext  uint64 // next run-id number to hand out
	seqLimit uint64 // highest number reserved on disk

	recovered int64 // log records Open applied (Stats)

	closeOnce sync.Once
	closeErr  error
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the store file at path: it takes the file's lock (waiting
// up to Options.LockTimeout, then ErrLocked), applies what its log holds beyond the last
// checkpoint (a crash's), migrates an older schema (a newer one is a *SchemaError), and
// compacts the file when its free space passes the threshold.
func Open(path string, opt Options) (*Store, error) { return open(path, opt, current) }

// open is Open with the schema to bring the file to (tests migrate to a test-only one).
func open(path string, opt Options, sc schema) (*Store, error) {
	opt = opt.withDefaults()
	s := &Store{path: path, opt: opt}
	db, err := s.openDB(path)
	if err != nil {
		return nil, err
	}
	s.db = db
	log, err := s.recover(sc)
	if err != nil {
		_ = s.db.Close()
		return nil, err
	}
	var rev store.Revision
	tx, err := s.db.Begin(true)
	if err == nil {
		meta := tx.Bucket(bucketMeta)
		rev = store.Revision(u64(meta.Get(keyRev)))
		s.seqLimit = u64(meta.Get(keyRunSeq))
		s.floor.Store(uint64(diskFloor(tx, rev)))
	}
	if err != nil {
		_ = log.close(false)
		_ = s.db.Close()
		return nil, fmt.Errorf("boltstore: %s: %w", path, err)
	}
	s.seqNext = s.seqLimit + 1
	s.feed = feed.New(opt.MemEvents, rev, s.older, func() store.Revision { return store.Revision(s.floor.Load()) })
	s.group = newCommitter(s, log, tx)
	return s, nil
}

// recover brings the file up to date before use: the records its log holds beyond the
// last checkpoint are applied (a newer schema's file is refused first: its log is not this
// build's to apply), the schema migrated, the file given its log id, compacted if worth
// it; then the log starts afresh.
func (s *Store) recover(sc schema) (*wal, error) {
	var id []byte
	var applied uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			return nil
		}
		if v := u64(meta.Get(keySchema)); v > sc.version {
			return &SchemaError{Path: s.path, Found: v, Want: sc.version}
		}
		id = bytes.Clone(meta.Get(keyLogID))
		applied = u64(meta.Get(keyLogApplied))
		return nil
	})
	if err != nil {
		return nil, err
	}
	lp := logPath(s.path)
	payloads, last, err := readLog(lp, id, applied)
	if err != nil {
		return nil, err
	}
	s.recovered = int64(len(payloads))
	if len(payloads) > 0 {
		err := s.db.Update(func(tx *bolt.Tx) error {
			for i, p := range payloads {
				if err := replay(tx, p); err != nil {
					return fmt.Errorf("record %d: %w", applied+1+uint64(i), err)
				}
			}
			return tx.Bucket(bucketMeta).Put(keyLogApplied, be64(last))
		})
		if err != nil {
			return nil, fmt.Errorf("boltstore: %s: applying %s: %w", s.path, lp, err)
		}
	}
	if err := migrate(s.db, s.path, sc); err != nil {
		return nil, err
	}
	if id == nil {
		id = make([]byte, logIDLen)
		if _, err := rand.Read(id); err != nil {
			return nil, fmt.Errorf("boltstore: %w", err)
		}
		err := s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyLogID, id) })
		if err != nil {
			return nil, fmt.Errorf("boltstore: %s: %w", s.path, err)
		}
	}
	if err := s.compactIfWorth(); err != nil {
		return nil, err
	}
	return createLog(lp, id, last, s.opt.LogBytes, s.opt.NoSync)
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

// Close ends every watch, makes the writes already queued durable, checkpoints the log
// into the file and closes it; later calls are store.ErrClosed.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		err := s.group.stop()
		if cerr := s.db.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("boltstore: close %s: %w", s.path, cerr)
		}
		s.feed.Close()
		s.closeErr = err
	})
	return s.closeErr
}

// snapshot runs fn in a read-only transaction holding every write acknowledged before the
// call, beside the committer (committer.snapshot): for reads that may take long.
func (s *Store) snapshot(fn func(tx *bolt.Tx) error) error {
	tx, err := s.group.snapshot()
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	return fn(tx)
}

// view runs fn in the live transaction, where it sees every acknowledged write (or is
// store.ErrClosed). fn must copy what it keeps.
func (s *Store) view(fn func(tx *bolt.Tx) error) error { return s.group.view(fn) }
