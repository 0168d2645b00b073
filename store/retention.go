package store

import "time"

// TaskDue reports whether Sweep removes t under r at now: t is terminal and finished
// (FinishedAt, else its status's UpdatedAt) at least r.Tasks ago. r.Tasks <= 0 keeps
// terminal tasks for ever.
func (r Retention) TaskDue(t *Task, now time.Time) bool {
	if r.Tasks <= 0 || !t.Status.Phase.Terminal() {
		return false
	}
	done := t.Status.FinishedAt
	if done.IsZero() {
		done = t.Status.UpdatedAt
	}
	return !now.Before(done.Add(r.Tasks))
}

// RunsDue returns the Seqs of the runs Sweep removes from one task's runs (in Seq order)
// under r at now: finished runs at least r.Runs old (r.Runs <= 0: no age bound), then the
// oldest finished ones beyond r.RunsPerTask (<= 0: no count bound). Unfinished runs stay.
func (r Retention) RunsDue(runs []*Run, now time.Time) []uint64 {
	var due []uint64
	gone := make(map[uint64]bool)
	kept := 0
	for _, run := range runs {
		if run.FinishedAt != nil && r.Runs > 0 && !now.Before(run.FinishedAt.Add(r.Runs)) {
			due = append(due, run.Seq)
			gone[run.Seq] = true
			continue
		}
		kept++
	}
	for _, run := range runs {
		if r.RunsPerTask <= 0 || kept <= r.RunsPerTask {
			break
		}
		if run.FinishedAt != nil && !gone[run.Seq] {
			due = append(due, run.Seq)
			gone[run.Seq] = true
			kept--
		}
	}
	return due
}
