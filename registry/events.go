package registry

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// EventType says what happened to a runners directory's file.
type EventType string

// Event types.
const (
	// EventLoaded: a file's first version serves.
	EventLoaded EventType = "loaded"
	// EventSwapped: a new version of a file serves in place of the previous one.
	EventSwapped EventType = "swapped"
	// EventRejected: a version was refused (invalid, incompatible, a duplicate name,
	// quarantined); the file's previous version, if any, keeps serving.
	EventRejected EventType = "rejected"
	// EventRolledBack: a version that kept faulting was replaced by the file's previous
	// version, or unregistered when it had none (Digest empty).
	EventRolledBack EventType = "rolled-back"
	// EventRemoved: the file was deleted or renamed away; its runner is unregistered.
	EventRemoved EventType = "removed"
	// EventCooledDown: a version's supports kept faulting; it is out of routing for
	// CooldownMs (Config.CooldownFaults).
	EventCooledDown EventType = "cooled-down"
)

// Event is one change, as Subscribe delivers it and solti-wasm watch prints it.
type Event struct {
	// Seq numbers the registry's events from 1.
	Seq  uint64    `json:"seq"`
	Time time.Time `json:"time"`
	Type EventType `json:"type"`
	// Path is the module file.
	Path string `json:"path"`
	// Runner and Digest (sha256 of the bytes, hex) are the version the event is about: the
	// one now serving (loaded, swapped, rolled-back), refused (rejected) or removed.
	Runner string `json:"runner,omitempty"`
	Digest string `json:"digest,omitempty"`
	// PrevRunner and PrevDigest are the version that stopped serving (swapped, rolled-back).
	PrevRunner string `json:"prevRunner,omitempty"`
	PrevDigest string `json:"prevDigest,omitempty"`
	// Stage is where a rejected version failed: read, compile, abi, instantiate,
	// _initialize, name, describe, smoke, compat, register, quarantine.
	Stage string `json:"stage,omitempty"`
	// Reason explains a rejection, a rollback, a removal or a cool-down.
	Reason string `json:"reason,omitempty"`
	// CooldownMs is how long a cooled-down version is out of routing, from Time.
	CooldownMs int64 `json:"cooldownMs,omitempty"`
}

// String is the event on one line: time, type, file, then the fields that are set.
func (e Event) String() string {
	var b strings.Builder
	b.WriteString(e.Time.UTC().Format("2006-01-02T15:04:05.000Z"))
	b.WriteString(" " + string(e.Type))
	b.WriteString(" " + filepath.Base(e.Path))
	kv := func(k, v string) {
		if v != "" {
			b.WriteString(" " + k + "=" + v)
		}
	}
	kv("runner", e.Runner)
	kv("digest", short(e.Digest))
	if e.PrevRunner != e.Runner {
		kv("prev-runner", e.PrevRunner)
	}
	kv("prev-digest", short(e.PrevDigest))
	kv("stage", e.Stage)
	if e.CooldownMs > 0 {
		kv("cooldown", (time.Duration(e.CooldownMs) * time.Millisecond).String())
	}
	if e.Reason != "" {
		kv("reason", strconv.Quote(oneLine(e.Reason)))
	}
	return b.String()
}

// short is a digest's first 12 hex digits, enough for a person to tell versions apart.
func short(d string) string { return d[:min(len(d), 12)] }

func oneLine(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(strings.TrimSpace(s), "\r\n", " | "), "\n", " | ")
}

// subscriber is one Subscribe channel.
type subscriber struct {
	ch chan Event
}

// Subscribe returns a channel of the registry's events from now on, and a function that
// ends the subscription and closes the channel (Close closes it too). Delivery never blocks
// the registry: when the channel's buffer (at least 1) is full, the event is dropped for this
// subscriber and counted in Stats.EventsDropped. Subscribe before Start to see the initial
// load's events.
func (r *Registry) Subscribe(buffer int) (<-chan Event, func()) {
	s := &subscriber{ch: make(chan Event, max(buffer, 1))}
	r.mu.Lock()
	if r.closed {
		close(s.ch)
	} else {
		r.subs[s] = struct{}{}
	}
	r.mu.Unlock()
	return s.ch, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if _, ok := r.subs[s]; ok {
			delete(r.subs, s)
			close(s.ch)
		}
	}
}

// emit logs e, counts it and delivers it. r.mu must be held.
func (r *Registry) emit(e Event) {
	r.seq++
	e.Seq, e.Time = r.seq, time.Now()
	switch e.Type {
	case EventLoaded:
		r.stats.Loaded++
	case EventSwapped:
		r.stats.Swapped++
	case EventRejected:
		r.stats.Rejected++
	case EventRolledBack:
		r.stats.RolledBack++
	case EventRemoved:
		r.stats.Removed++
	case EventCooledDown:
		r.stats.CooledDown++
	}
	attrs := []any{"path", e.Path, "runner", e.Runner, "digest", short(e.Digest)}
	if e.PrevDigest != "" {
		attrs = append(attrs, "prevRunner", e.PrevRunner, "prevDigest", short(e.PrevDigest))
	}
	if e.Stage != "" {
		attrs = append(attrs, "stage", e.Stage)
	}
	if e.Reason != "" {
		attrs = append(attrs, "reason", e.Reason)
	}
	switch e.Type {
	case EventRejected, EventRolledBack, EventCooledDown:
		r.log.Warn("runner module "+string(e.Type), attrs...)
	default:
		r.log.Info("runner module "+string(e.Type), attrs...)
	}
	for s := range r.subs {
		select {
		case s.ch <- e:
		default:
			r.stats.EventsDropped++
		}
	}
}

// Stats counts what the registry did since it was made.
type Stats struct {
	// Compiles counts versions compiled (each a runtime load: compile, check, instantiate).
	Compiles uint64
	// Loaded, Swapped, Rejected, RolledBack, Removed and CooledDown count the events of each
	// type.
	Loaded, Swapped, Rejected, RolledBack, Removed, CooledDown uint64
	// Forwarded counts calls on a drained version that its successor served.
	Forwarded uint64
	// Draining is the number of replaced versions not yet closed.
	Draining int
	// EventsDropped counts events a full subscriber channel did not take.
	EventsDropped uint64
}

// Stats returns the counters.
func (r *Registry) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stats
	s.Forwarded = r.forwarded.Load()
	s.Draining = int(r.draining.Load())
	return s
}

func (e Event) GoString() string { return fmt.Sprintf("registry.Event{%s}", e.String()) }
