package boltstore

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/solti-wasm/solti-wasm/store"
)

// Buckets and meta keys (schema versions 1 and 2 differ only in the task records).
var (
	bucketMeta   = []byte("meta")
	bucketTasks  = []byte("tasks")  // taskKey -> task record (record.go)
	bucketRuns   = []byte("runs")   // runKey -> run record (record.go)
	bucketEvents = []byte("events") // be64(revision) -> eventRecord

	keySchema = []byte("schema") // be64 schema version
	keyRev    = []byte("rev")    // be64 latest committed revision
	keyRunSeq = []byte("runseq") // be64 highest reserved run-id number
	keyLogID  = []byte("logid")  // the file's random id, which its log's header carries
	// keyLogApplied is the last log record the file holds (be64 LSN), written by each
	// checkpoint: Open applies the records after it.
	keyLogApplied = []byte("logapplied")
)

// prefixed appends uvarint(len(s)) and s: a prefix that sorts a tenant's (or a task's)
// records together whatever bytes s holds.
func prefixed(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// taskKey is the tasks bucket key of k: a tenant's tasks are contiguous, in name order.
func taskKey(k store.Key) []byte { return appendTaskKey(make([]byte, 0, taskKeyLen(k)), k) }

func appendTaskKey(dst []byte, k store.Key) []byte { return append(prefixed(dst, k.Tenant), k.Name...) }

// taskKeyLen bounds the length of k's taskKey.
func taskKeyLen(k store.Key) int { return binary.MaxVarintLen64 + len(k.Tenant) + len(k.Name) }

// tenantPrefix is the prefix of every task key of tenant.
func tenantPrefix(tenant string) []byte { return prefixed(nil, tenant) }

// runPrefix is the prefix of every run key of the task with uid.
func runPrefix(uid string) []byte { return prefixed(nil, uid) }

// runKey is the runs bucket key of a run: its task uid's prefix, then its Seq big-endian,
// so that a task's runs are contiguous in Seq order.
func runKey(uid string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(prefixed(make([]byte, 0, binary.MaxVarintLen64+len(uid)+8), uid), seq)
}

func be64(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

// An event record is its type (one byte: 'A', 'M', 'D'), its commit time (be64 Unix
// nanoseconds, for FeedAge) and the task record: eventHead bytes, then the record.
const eventHead = 9

var eventTypes = map[store.EventType]byte{store.EventAdded: 'A', store.EventModified: 'M', store.EventDeleted: 'D'}

// appendEventHead appends an event record's type and commit time.
func appendEventHead(dst []byte, typ store.EventType, at time.Time) []byte {
	return binary.BigEndian.AppendUint64(append(dst, eventTypes[typ]), uint64(at.UnixNano()))
}

// eventTime is an event record's commit time.
func eventTime(b []byte) time.Time {
	if len(b) < eventHead {
		return time.Time{}
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(b[1:9])))
}

func decodeEvent(rev store.Revision, b []byte) (*store.Event, error) {
	if len(b) < eventHead {
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
	t, err := decodeTask(b[eventHead:])
	if err != nil {
		return nil, corrupt(fmt.Sprintf("event %d", rev), err)
	}
	return &store.Event{Type: typ, Revision: rev, Task: t}, nil
}
