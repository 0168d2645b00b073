package boltstore

import (
	"fmt"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

// compactTxSize bounds one transaction of a compaction's copy.
const compactTxSize = 64 << 20

// compactIfWorth compacts the file when its free space passes Options.CompactFreeBytes and
// half the pages in use. The caller holds the gate exclusively (or owns s alone, in Open).
func (s *Store) compactIfWorth() error {
	if s.opt.CompactFreeBytes < 0 {
		return nil
	}
	// Free pages (released or pending release) against the pages in use up to the file's
	// high-water mark; the file itself may extend past that (bbolt grows it in steps).
	free := int64(s.db.Stats().FreeAlloc)
	var used int64
	if err := s.db.View(func(tx *bolt.Tx) error { used = tx.Size(); return nil }); err != nil {
		return fmt.Errorf("boltstore: %s: %w", s.path, err)
	}
	if free < s.opt.CompactFreeBytes || free*2 < used {
		return nil
	}
	return s.compact()
}

// compact copies the live records into a new file, fsyncs it, renames it over the old one
// and reopens it. A crash at any point leaves either the old file or the new one whole at
// path (a leftover .compact file is removed by the next compaction). The caller holds the
// gate exclusively.
func (s *Store) compact() error {
	tmp := s.path + ".compact"
	_ = os.Remove(tmp)
	dst, err := s.openDB(tmp)
	if err != nil {
		return err
	}
	if err := bolt.Compact(dst, s.db, compactTxSize); err != nil {
		_ = dst.Close()
		_ = os.Remove(tmp)
		return fmt.Errorf("boltstore: compact %s: %w", s.path, err)
	}
	if err := dst.Sync(); err != nil {
		_ = dst.Close()
		_ = os.Remove(tmp)
		return fmt.Errorf("boltstore: compact %s: %w", s.path, err)
	}
	if err := dst.Close(); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("boltstore: compact %s: %w", s.path, err)
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("boltstore: compact %s: closing the old file: %w", s.path, err)
	}
	renameErr := os.Rename(tmp, s.path)
	if renameErr == nil {
		renameErr = syncDir(filepath.Dir(s.path))
	}
	// Reopen whichever file is at path now: the store stays usable after a failed rename.
	db, err := s.openDB(s.path)
	if err != nil {
		return err
	}
	s.db = db
	if renameErr != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("boltstore: compact %s: %w", s.path, renameErr)
	}
	return nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
