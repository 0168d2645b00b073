package store

import (
	"cmp"
	"encoding/json"
	"slices"
)

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
