package store

import "maps"

// Clone returns a deep copy of t: backends hand out copies so that a caller may keep and
// modify what it got. A nil t gives nil.
func (t *Task) Clone() *Task {
	if t == nil {
		return nil
	}
	c := *t
	c.Labels = maps.Clone(t.Labels)
	c.Annotations = maps.Clone(t.Annotations)
	c.Spec = cloneBytes(t.Spec)
	c.Status.ExitCode = cloneInt(t.Status.ExitCode)
	if t.Plan != nil {
		p := *t.Plan
		p.Plan = cloneBytes(t.Plan.Plan)
		p.Env = cloneBytes(t.Plan.Env)
		c.Plan = &p
	}
	return &c
}

// Clone returns a deep copy of r. A nil r gives nil.
func (r *Run) Clone() *Run {
	if r == nil {
		return nil
	}
	c := *r
	if r.FinishedAt != nil {
		f := *r.FinishedAt
		c.FinishedAt = &f
	}
	c.ExitCode = cloneInt(r.ExitCode)
	c.OutputTail = cloneBytes(r.OutputTail)
	return &c
}

// Clone returns a copy of e whose task is a deep copy.
func (e Event) Clone() Event {
	e.Task = e.Task.Clone()
	return e
}

func cloneBytes[T ~[]byte](b T) T {
	if b == nil {
		return nil
	}
	return append(T(nil), b...)
}

func cloneInt(p *int) *int {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
