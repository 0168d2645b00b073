package store

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// ErrInvalid: a record a caller passed lacks what every backend needs (a tenant, a name, a
// run's Seq...). The wrapping error names the record and the field.
var ErrInvalid = errors.New("invalid record")

// CheckKey reports an empty tenant or name, wrapping ErrInvalid.
func CheckKey(k Key) error {
	switch {
	case k.Tenant == "":
		return fmt.Errorf("task %q: %w: empty tenant", k.Name, ErrInvalid)
	case k.Name == "":
		return fmt.Errorf("task of tenant %q: %w: empty name", k.Tenant, ErrInvalid)
	}
	return nil
}

// CheckTask reports what makes t unstorable, wrapping ErrInvalid: a nil task, an empty key,
// a Spec that is present but not JSON.
func CheckTask(t *Task) error {
	if t == nil {
		return fmt.Errorf("%w: nil task", ErrInvalid)
	}
	if err := CheckKey(t.Key); err != nil {
		return err
	}
	if len(t.Spec) > 0 && !json.Valid(t.Spec) {
		return fmt.Errorf("task %s/%s: %w: spec is not valid JSON", t.Tenant, t.Name, ErrInvalid)
	}
	return nil
}

// CheckRun reports what makes r unstorable, wrapping ErrInvalid: a nil run, an empty tenant,
// task or task uid, a zero Seq.
func CheckRun(r *Run) error {
	switch {
	case r == nil:
		return fmt.Errorf("%w: nil run", ErrInvalid)
	case r.Tenant == "" || r.Task == "":
		return fmt.Errorf("run of task %s/%s: %w: empty tenant or task", r.Tenant, r.Task, ErrInvalid)
	case r.TaskUID == "":
		return fmt.Errorf("run of task %s/%s: %w: empty task uid", r.Tenant, r.Task, ErrInvalid)
	case r.Seq == 0:
		return fmt.Errorf("run of task %s/%s: %w: Seq is 0 (runs number from 1)", r.Tenant, r.Task, ErrInvalid)
	}
	return nil
}

// NewUID returns a random RFC 4122 version 4 UUID, what a backend gives a task created
// without a UID.
func NewUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (it panics on a broken kernel RNG)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// SpecSlot returns the "slot" field of a task spec, what ListOptions.Slot filters on; ""
// when the spec has none or is not an object.
func SpecSlot(spec json.RawMessage) string {
	var s struct {
		Slot string `json:"slot"`
	}
	if json.Unmarshal(spec, &s) != nil {
		return ""
	}
	return s.Slot
}

// Matches reports whether t passes opt's filters (Slot, Phases, Match); paging is the
// caller's. slot is t's spec slot (SpecSlot), which a backend may have cached.
func (opt *ListOptions) Matches(t *Task, slot string) bool {
	if opt.Slot != "" && slot != opt.Slot {
		return false
	}
	if len(opt.Phases) > 0 {
		ok := false
		for _, p := range opt.Phases {
			if t.Status.Phase == p {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return opt.Match == nil || opt.Match(t.Labels)
}

// SortOldestFirst orders tasks as Unfinished returns them: by CreatedAt, then tenant, then
// name.
func SortOldestFirst(ts []*Task) {
	slices.SortFunc(ts, func(a, b *Task) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.Tenant, b.Tenant), cmp.Compare(a.Name, b.Name))
	})
}
