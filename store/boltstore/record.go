package boltstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/solti-wasm/solti-wasm/store"
)

// A task record (schema version 2) is a fixed binary head, then the body:
//
//	head: 0x02 | be64 resourceVersion | uvarint len, uid | byte len, createdAt (time.AppendBinary)
//	body: tenant | name | uvarint generation | labels | annotations | spec | status | plan | deletionRequested
//
// The head holds what the store itself sets or keeps across writes (the revision, the uid
// and creation time a replace keeps): a conditional write reads it with no parsing beyond
// a few lengths, and puts the new head before a body its caller encoded before the write
// was queued, so that the serial committer does no encoding. The body is the rest of the
// task in a plain binary form: strings and byte fields as uvarint length and bytes (a byte
// field's length is stored plus one, 0 for nil, so that nil and empty survive), maps as a
// count then sorted pairs, times as a length byte then time.AppendBinary (which keeps the
// zone offset, as the JSON of schema 1 did). Spec, plan and env, JSON documents, are kept
// verbatim and unescaped.
const recordV2 = 0x02

// errShort is a record that ends before its fields do.
var errShort = errors.New("record ends early")

// encodeBody encodes what of t a write's caller can encode before the write is queued:
// everything but the head (ResourceVersion, UID, CreatedAt).
func encodeBody(t *store.Task) []byte {
	n := 64 + len(t.Tenant) + len(t.Name) + len(t.Spec) + len(t.Status.Error) + len(t.Status.Reason)
	for k, v := range t.Labels {
		n += len(k) + len(v) + 4
	}
	for k, v := range t.Annotations {
		n += len(k) + len(v) + 4
	}
	if p := t.Plan; p != nil {
		n += 48 + len(p.RunID) + len(p.Runner) + len(p.Module) + len(p.Plan) + len(p.Env)
	}
	b := make([]byte, 0, n)
	b = appendString(b, t.Tenant)
	b = appendString(b, t.Name)
	b = binary.AppendUvarint(b, t.Generation)
	b = appendMap(b, t.Labels)
	b = appendMap(b, t.Annotations)
	b = appendBytes(b, t.Spec)
	st := &t.Status
	b = binary.AppendUvarint(b, st.ObservedGeneration)
	b = appendString(b, string(st.Phase))
	b = binary.AppendVarint(b, int64(st.Attempt))
	if st.ExitCode != nil {
		b = binary.AppendVarint(append(b, 1), int64(*st.ExitCode))
	} else {
		b = append(b, 0)
	}
	b = appendString(b, st.Error)
	b = appendString(b, st.Reason)
	b = appendTime(b, st.UpdatedAt)
	b = appendTime(b, st.FinishedAt)
	if p := t.Plan; p != nil {
		b = append(b, 1)
		b = binary.AppendUvarint(b, p.Generation)
		b = appendString(b, p.RunID)
		b = appendString(b, p.Runner)
		b = appendString(b, p.Module)
		b = appendBytes(b, p.Plan)
		b = appendBytes(b, p.Env)
	} else {
		b = append(b, 0)
	}
	if t.DeletionRequested {
		return append(b, 1)
	}
	return append(b, 0)
}

// appendHead appends a record's head: the format byte, rev, uid and createdAt.
func appendHead(dst []byte, rev store.Revision, uid string, createdAt time.Time) []byte {
	dst = append(dst, recordV2)
	dst = binary.BigEndian.AppendUint64(dst, uint64(rev))
	dst = appendString(dst, uid)
	return appendTime(dst, createdAt)
}

// headMax bounds a head's size but for its uid.
const headMax = 1 + 8 + binary.MaxVarintLen64 + 1 + 16

// encodeTask is t's whole record.
func encodeTask(t *store.Task) []byte {
	body := encodeBody(t)
	b := make([]byte, 0, headMax+len(t.UID)+len(body))
	return append(appendHead(b, t.ResourceVersion, t.UID, t.CreatedAt), body...)
}

// head is what a conditional write checks of a stored task.
type head struct {
	rev       store.Revision
	uid       []byte // into the record: valid while it is
	createdAt time.Time
	size      int // of the head in the record: the body follows
}

// readHead reads a record's head.
func readHead(b []byte) (head, error) {
	if len(b) < 9 {
		return head{}, errShort
	}
	if b[0] != recordV2 {
		return head{}, fmt.Errorf("record format %#x, want %#x", b[0], recordV2)
	}
	r := reader{b: b, off: 9}
	h := head{rev: store.Revision(binary.BigEndian.Uint64(b[1:9]))}
	h.uid = r.raw()
	h.createdAt = r.time()
	h.size = r.off
	return h, r.err
}

// corrupt is the error of a record that does not decode; what names it.
func corrupt(what string, err error) error {
	return fmt.Errorf("boltstore: %s: corrupt task record: %w", what, err)
}

// task is the head as a store.Task of key k (for store.CheckPrecondition's error).
func (h head) task(k store.Key) *store.Task {
	return &store.Task{Key: k, UID: string(h.uid), ResourceVersion: h.rev, CreatedAt: h.createdAt}
}

// decodeTask decodes a task record (the error is to wrap with corrupt).
func decodeTask(b []byte) (*store.Task, error) {
	h, err := readHead(b)
	if err != nil {
		return nil, err
	}
	t := &store.Task{UID: string(h.uid), ResourceVersion: h.rev, CreatedAt: h.createdAt}
	r := reader{b: b, off: h.size}
	t.Tenant = r.string()
	t.Name = r.string()
	t.Generation = r.uvarint()
	t.Labels = r.stringMap()
	t.Annotations = r.stringMap()
	t.Spec = r.bytes()
	st := &t.Status
	st.ObservedGeneration = r.uvarint()
	st.Phase = store.Phase(r.string())
	st.Attempt = int(r.varint())
	if r.byte() == 1 {
		c := int(r.varint())
		st.ExitCode = &c
	}
	st.Error = r.string()
	st.Reason = r.string()
	st.UpdatedAt = r.time()
	st.FinishedAt = r.time()
	if r.byte() == 1 {
		p := &store.PlanRecord{Generation: r.uvarint()}
		p.RunID = r.string()
		p.Runner = r.string()
		p.Module = r.string()
		p.Plan = r.bytes()
		p.Env = r.bytes()
		t.Plan = p
	}
	t.DeletionRequested = r.byte() == 1
	if r.err == nil && r.off != len(b) {
		r.err = fmt.Errorf("%d bytes after the record", len(b)-r.off)
	}
	if r.err != nil {
		return nil, r.err
	}
	return t, nil
}

// A run record (schema version 2) is the format byte, then store.Run's fields in order, in
// the task record's forms; a nil FinishedAt or ExitCode is a 0 byte, else a 1 byte and the
// value.
const runV2 = 0x12

// encodeRun is r's record.
func encodeRun(r *store.Run) []byte {
	b := make([]byte, 0, 96+len(r.Tenant)+len(r.Task)+len(r.TaskUID)+len(r.RunID)+len(r.WorkloadAPIVersion)+
		len(r.WorkloadKind)+len(r.Phase)+len(r.Error)+len(r.OutputTail))
	b = append(b, runV2)
	b = appendString(b, r.Tenant)
	b = appendString(b, r.Task)
	b = appendString(b, r.TaskUID)
	b = binary.AppendUvarint(b, r.Seq)
	b = binary.AppendUvarint(b, r.Generation)
	b = binary.AppendVarint(b, int64(r.Attempt))
	b = appendString(b, r.RunID)
	b = appendString(b, r.WorkloadAPIVersion)
	b = appendString(b, r.WorkloadKind)
	b = appendString(b, string(r.Phase))
	b = appendTime(b, r.StartedAt)
	if r.FinishedAt != nil {
		b = appendTime(append(b, 1), *r.FinishedAt)
	} else {
		b = append(b, 0)
	}
	if r.ExitCode != nil {
		b = binary.AppendVarint(append(b, 1), int64(*r.ExitCode))
	} else {
		b = append(b, 0)
	}
	b = appendString(b, r.Error)
	b = appendBytes(b, r.OutputTail)
	return binary.AppendVarint(b, r.FuelUsed)
}

// decodeRun decodes a run record.
func decodeRun(b []byte) (*store.Run, error) {
	if len(b) == 0 || b[0] != runV2 {
		return nil, fmt.Errorf("not a run record of schema 2")
	}
	rd := reader{b: b, off: 1}
	r := &store.Run{Tenant: rd.string(), Task: rd.string(), TaskUID: rd.string()}
	r.Seq = rd.uvarint()
	r.Generation = rd.uvarint()
	r.Attempt = int(rd.varint())
	r.RunID = rd.string()
	r.WorkloadAPIVersion = rd.string()
	r.WorkloadKind = rd.string()
	r.Phase = store.Phase(rd.string())
	r.StartedAt = rd.time()
	if rd.byte() == 1 {
		f := rd.time()
		r.FinishedAt = &f
	}
	if rd.byte() == 1 {
		c := int(rd.varint())
		r.ExitCode = &c
	}
	r.Error = rd.string()
	r.OutputTail = rd.bytes()
	r.FuelUsed = rd.varint()
	if rd.err == nil && rd.off != len(b) {
		rd.err = fmt.Errorf("%d bytes after the record", len(b)-rd.off)
	}
	if rd.err != nil {
		return nil, rd.err
	}
	return r, nil
}

func appendString(dst []byte, s string) []byte {
	return append(binary.AppendUvarint(dst, uint64(len(s))), s...)
}

// appendBytes appends b's length plus one (0: nil) and b.
func appendBytes(dst, b []byte) []byte {
	if b == nil {
		return append(dst, 0)
	}
	return append(binary.AppendUvarint(dst, uint64(len(b))+1), b...)
}

// appendMap appends m's size and its pairs in key order (a record's bytes do not depend on
// map order). An empty map is stored as none, as schema 1's omitempty did.
func appendMap(dst []byte, m map[string]string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(m)))
	var small [8]string // a task's few labels are sorted without an allocation
	keys := small[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		dst = appendString(appendString(dst, k), m[k])
	}
	return dst
}

// appendTime appends t's binary form (time.AppendBinary: seconds, nanoseconds and zone
// offset) after its length. A time whose zone offset AppendBinary cannot store (not a
// whole minute before Go's version 2 form, or out of range) is stored in UTC.
func appendTime(dst []byte, t time.Time) []byte {
	at := len(dst)
	dst = append(dst, 0)
	out, err := t.AppendBinary(dst)
	if err != nil {
		out, _ = t.UTC().AppendBinary(dst)
	}
	out[at] = byte(len(out) - at - 1)
	return out
}

// reader decodes a record's fields in order; the first error sticks and later reads return
// zero values.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
	r.off = len(r.b)
}

func (r *reader) byte() byte {
	if r.off >= len(r.b) {
		r.fail(errShort)
		return 0
	}
	c := r.b[r.off]
	r.off++
	return c
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		r.fail(errShort)
		return 0
	}
	r.off += n
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b[r.off:])
	if n <= 0 {
		r.fail(errShort)
		return 0
	}
	r.off += n
	return v
}

// take returns the next n bytes, in the record.
func (r *reader) take(n uint64) []byte {
	if n > uint64(len(r.b)-r.off) {
		r.fail(errShort)
		return nil
	}
	p := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return p
}

// raw is a length-prefixed field, in the record.
func (r *reader) raw() []byte { return r.take(r.uvarint()) }

func (r *reader) string() string {
	p := r.raw()
	if len(p) == 0 {
		return ""
	}
	return string(p)
}

// bytes is a copy of an appendBytes field (nil stays nil).
func (r *reader) bytes() []byte {
	n := r.uvarint()
	if n == 0 || r.err != nil {
		return nil
	}
	return append([]byte{}, r.take(n-1)...)
}

func (r *reader) stringMap() map[string]string {
	n := r.uvarint()
	if n == 0 || r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)-r.off)/2 { // each pair takes two bytes at least
		r.fail(errShort)
		return nil
	}
	m := make(map[string]string, n)
	for range n {
		k := r.string()
		m[k] = r.string()
	}
	return m
}

func (r *reader) time() time.Time {
	p := r.take(uint64(r.byte()))
	var t time.Time
	if r.err == nil {
		if err := t.UnmarshalBinary(p); err != nil {
			r.fail(err)
		}
	}
	return t
}
