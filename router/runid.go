package router

import (
	"strconv"
	"sync/atomic"
)

// runSeq is solti's one process-wide run counter, shared by every router and runner.
var runSeq atomic.Uint64

// RunID names one build of a task: "{runner}-{slot}-{seq}".
type RunID struct {
	// ID is the text form.
	ID string
	// Seq is the raw sequence number, from one process-wide counter starting at 1.
	Seq uint64
}

func (r RunID) String() string { return r.ID }

// MakeRunID allocates the next sequence number and returns the run id for runner and slot.
func MakeRunID(runner, slot string) RunID {
	return FormatRunID(runner, slot, runSeq.Add(1))
}

// FormatRunID is the run id of runner and slot with sequence number seq, allocated
// elsewhere (BuildContext.NextSeq).
func FormatRunID(runner, slot string, seq uint64) RunID {
	return RunID{ID: runner + "-" + slot + "-" + strconv.FormatUint(seq, 10), Seq: seq}
}
