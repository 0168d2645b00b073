package boltstore

import (
	"bytes"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/solti-wasm/solti-wasm/store"
)

// Schema version 1 stored a task record as JSON, with the raw JSON fields as bytes
// (base64) so that they came back verbatim, and a run as store.Run's JSON. Version 2
// (record.go) replaces the task record with a binary head and body and the run record with
// a binary one: migrateV1toV2 rewrites every task record, every event's and every run.

// taskRecordV1 is a task as schema version 1 stored it.
type taskRecordV1 struct {
	store.Task
	Spec []byte        `json:"spec"`
	Plan *planRecordV1 `json:"plan,omitempty"`
}

type planRecordV1 struct {
	store.PlanRecord
	Plan []byte `json:"plan"`
	Env  []byte `json:"env,omitempty"`
}

// decodeTaskV1 decodes a schema version 1 task record.
func decodeTaskV1(b []byte) (*store.Task, error) {
	var rec taskRecordV1
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, err
	}
	t := rec.Task
	t.Spec = rec.Spec
	if rec.Plan != nil {
		p := rec.Plan.PlanRecord
		p.Plan, p.Env = rec.Plan.Plan, rec.Plan.Env
		t.Plan = &p
	}
	return &t, nil
}

// migrateV1toV2 re-encodes the records of the tasks, events and runs buckets; keys and meta
// are unchanged.
func migrateV1toV2(tx *bolt.Tx) error {
	err := rewrite(tx.Bucket(bucketRuns), func(k, v []byte) ([]byte, error) {
		var r store.Run
		if err := json.Unmarshal(v, &r); err != nil {
			return nil, fmt.Errorf("run key %q: %w", k, err)
		}
		return encodeRun(&r), nil
	})
	if err != nil {
		return err
	}
	err = rewrite(tx.Bucket(bucketTasks), func(k, v []byte) ([]byte, error) {
		t, err := decodeTaskV1(v)
		if err != nil {
			return nil, fmt.Errorf("task key %q: %w", k, err)
		}
		return encodeTask(t), nil
	})
	if err != nil {
		return err
	}
	events := tx.Bucket(bucketEvents)
	events.FillPercent = 1
	return rewrite(events, func(k, v []byte) ([]byte, error) {
		if len(v) < eventHead {
			return nil, fmt.Errorf("event key %x: %d bytes", k, len(v))
		}
		t, err := decodeTaskV1(v[eventHead:])
		if err != nil {
			return nil, fmt.Errorf("event key %x: %w", k, err)
		}
		return append(append([]byte(nil), v[:eventHead]...), encodeTask(t)...), nil
	})
}

// rewrite replaces every value of b with fn's, a chunk at a time (a bbolt cursor is not
// to be moved across a Put).
func rewrite(b *bolt.Bucket, fn func(k, v []byte) ([]byte, error)) error {
	const chunk = 1024
	type kv struct{ k, v []byte }
	var from []byte
	for {
		var batch []kv
		c := b.Cursor()
		var k, v []byte
		if from == nil {
			k, v = c.First()
		} else if k, v = c.Seek(from); k != nil && bytes.Equal(k, from) {
			k, v = c.Next()
		}
		for ; k != nil && len(batch) < chunk; k, v = c.Next() {
			nv, err := fn(k, v)
			if err != nil {
				return err
			}
			batch = append(batch, kv{append([]byte(nil), k...), nv})
		}
		for _, e := range batch {
			if err := b.Put(e.k, e.v); err != nil {
				return err
			}
		}
		if len(batch) < chunk {
			return nil
		}
		from = batch[len(batch)-1].k
	}
}
