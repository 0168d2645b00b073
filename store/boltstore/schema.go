package boltstore

import (
	"encoding/binary"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// SchemaVersion is the version of the file layout this build writes: 1 stored task
// records as JSON, 2 as a binary head and body (record.go).
const SchemaVersion = 2

// ErrSchema: the file's schema version is newer than this build's, or unreadable.
var ErrSchema = errors.New("unsupported schema version")

// SchemaError is a file this build cannot use as it is: written by a newer build, or with
// no schema version at all.
type SchemaError struct {
	Path  string
	Found uint64 // the file's version
	Want  uint64 // this build's
}

func (e *SchemaError) Error() string {
	if e.Found > e.Want {
		return fmt.Sprintf("boltstore: %s has schema version %d, newer than this build's %d: use a newer solti-wasm", e.Path, e.Found, e.Want)
	}
	return fmt.Sprintf("boltstore: %s has no schema version this build knows (found %d, want %d)", e.Path, e.Found, e.Want)
}

func (e *SchemaError) Unwrap() error { return ErrSchema }

// schema is a layout version and the steps that bring an older file to it: steps[v]
// migrates a file of version v to v+1, inside the one transaction that also records the
// new version (a crash mid-migration leaves the old version intact).
type schema struct {
	version uint64
	steps   map[uint64]func(tx *bolt.Tx) error
}

// current is this build's schema: version 1 is the first, each later one adds the step
// from the one before.
var current = schema{version: SchemaVersion, steps: map[uint64]func(*bolt.Tx) error{
	1: migrateV1toV2,
}}

// createV1 lays out a new file.
func createV1(tx *bolt.Tx) error {
	for _, b := range [][]byte{bucketMeta, bucketTasks, bucketRuns, bucketEvents} {
		if _, err := tx.CreateBucketIfNotExists(b); err != nil {
			return err
		}
	}
	return nil
}

// migrate brings the file in db to sc.version: a new (empty) file is laid out, an older one
// migrated step by step, a newer one refused.
func migrate(db *bolt.DB, path string, sc schema) error {
	return db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			if !empty(tx) {
				return &SchemaError{Path: path, Found: 0, Want: sc.version}
			}
			// A new file is laid out at version 1, then migrated like any v1 file.
			if err := createV1(tx); err != nil {
				return err
			}
			meta = tx.Bucket(bucketMeta)
			if err := meta.Put(keySchema, be64(1)); err != nil {
				return err
			}
		}
		raw := meta.Get(keySchema)
		if len(raw) != 8 {
			return &SchemaError{Path: path, Found: 0, Want: sc.version}
		}
		v := binary.BigEndian.Uint64(raw)
		if v > sc.version {
			return &SchemaError{Path: path, Found: v, Want: sc.version}
		}
		for ; v < sc.version; v++ {
			step := sc.steps[v]
			if step == nil {
				return fmt.Errorf("boltstore: %s: no migration from schema version %d to %d", path, v, v+1)
			}
			if err := step(tx); err != nil {
				return fmt.Errorf("boltstore: %s: migrating schema version %d to %d: %w", path, v, v+1, err)
			}
		}
		return tx.Bucket(bucketMeta).Put(keySchema, be64(sc.version))
	})
}

// empty reports whether tx's file holds no bucket.
func empty(tx *bolt.Tx) bool {
	none := true
	_ = tx.ForEach(func([]byte, *bolt.Bucket) error { none = false; return errors.New("stop") })
	return none
}
