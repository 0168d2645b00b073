package boltstore

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/solti-wasm/solti-wasm/store"
)

// Buckets and meta keys of schema version 1.
var (
	bucketMeta   = []byte("meta")
	bucketTasks  = []byte("tasks")  // taskKey -> taskRecord JSON
	bucketRuns   = []byte("runs")   // runKey -> store.Run JSON
	bucketEvents = []byte("events") // be64(revision) -> eventRecord

	keySchema = []byte("schema") // be64 schema version
	keyRev    = []byte("rev")    // be64 latest committed revision
	keyRunSeq = []byte("runseq") // be64 highest reserved run-id number
)

// prefixed appends uvarint(len(s)) and s: a prefix that sorts a tenant's (or a task's)
// records together whatever bytes s holds.
func prefixed(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// taskKey is the tasks bucket key of k: a tenant's tasks are contiguous, in name order.
func taskKey(k store.Key) []byte { return append(prefixed(nil, k.Tenant), k.Name...) }

// tenantPrefix is the prefix of every task key of tenant.
func tenantPrefix(tenant string) []byte { return prefixed(nil, tenant) }

// runPrefix is the prefix of every run key of the task with uid.
func runPrefix(uid string) []byte { return prefixed(nil, uid) }

// runKey is the runs bucket key of a run: its task uid's prefix, then its Seq big-endian,
// so that a task's runs are contiguous in Seq order.
func runKey(uid string, seq uint64) []byte { return binary.BigEndian.AppendUint64(runPrefix(uid), seq) }

func be64(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

// taskRecord is a task as stored: JSON, with the raw JSON fields as bytes (base64) so that
// they come back verbatim (encoding/json would compact and escape a json.RawMessage).
type taskRecord struct {
	store.Task
	Spec []byte      `json:"spec"`
	Plan *planRecord `json:"plan,omitempty"`
}

type planRecord struct {
	store.PlanRecord
	Plan []byte `json:"plan"`
	Env  []byte `json:"env,omitempty"`
}

func encodeTask(t *store.Task) ([]byte, error) {
	rec := taskRecord{Task: *t, Spec: t.Spec}
	rec.Task.Spec, rec.Task.Plan = nil, nil
	if t.Plan != nil {
		rec.Plan = &planRecord{PlanRecord: *t.Plan, Plan: t.Plan.Plan, Env: t.Plan.Env}
		rec.Plan.PlanRecord.Plan, rec.Plan.PlanRecord.Env = nil, nil
	}
	return json.Marshal(&rec)
}

// decodeTask decodes a task record; what names the record in the error.
func decodeTask(b []byte, what string) (*store.Task, error) {
	var rec taskRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("boltstore: %s: corrupt task record: %w", what, err)
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

// decodeHead decodes what a conditional write checks of a stored task (key, uid, revision,
// creation time) and nothing else: the spec and the plan are skipped, not decoded.
func decodeHead(b []byte, what string) (*store.Task, error) {
	var h struct {
		store.Key
		UID             string         `json:"uid"`
		ResourceVersion store.Revision `json:"resourceVersion"`
		CreatedAt       time.Time      `json:"createdAt"`
	}
	if err := json.Unmarshal(b, &h); err != nil {
		return nil, fmt.Errorf("boltstore: %s: corrupt task record: %w", what, err)
	}
	return &store.Task{Key: h.Key, UID: h.UID, ResourceVersion: h.ResourceVersion, CreatedAt: h.CreatedAt}, nil
}

// An event record is its type (one byte: 'A', 'M', 'D'), its commit time (be64 Unix
// nanoseconds, for FeedAge) and the task record.
var eventTypes = map[store.EventType]byte{store.EventAdded: 'A', store.EventModified: 'M', store.EventDeleted: 'D'}

func encodeEvent(typ store.EventType, at time.Time, task []byte) []byte {
	b := make([]byte, 0, 9+len(task))
	b = append(b, eventTypes[typ])
	b = binary.BigEndian.AppendUint64(b, uint64(at.UnixNano()))
	return append(b, task...)
}

// eventTime is an event record's commit time.
func eventTime(b []byte) time.Time {
	if len(b) < 9 {
		return time.Time{}
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(b[1:9])))
}

func decodeEvent(rev store.Revision, b []byte) (*store.Event, error) {
	if len(b) < 9 {
		return nil, fmt.Errorf("boltstore: event %d: corrupt record (%d bytes)", rev, len(b))
	}
	var typ store.EventType
	for t, c := range eventTypes {
		if c == b[0] {
			typ = t
		}
	}
	if typ == "" {
		return nil, fmt.Errorf("boltstore: event %d: unknown type %q", rev, b[0])
	}
	t, err := decodeTask(b[9:], fmt.Sprintf("event %d", rev))
	if err != nil {
		return nil, err
	}
	return &store.Event{Type: typ, Revision: rev, Task: t}, nil
}
