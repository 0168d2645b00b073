package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/solti-wasm/solti-wasm/store"
)

// MaxWatchTimeout bounds timeoutSeconds of a watch.
const MaxWatchTimeout = 24 * time.Hour

// watchTasks streams the tenant's task events as NDJSON, one WatchEvent a line, flushed per
// event. Without resourceVersion (or with "0") it begins, as Kubernetes does, with an ADDED
// event for each task that exists, then follows the changes after the revision it listed at;
// with resourceVersion=N it sends the changes after N. An expired N is an ERROR event with a
// 410 Expired Status, then the end. The filters (slot, phase, labelSelector) apply to each
// event's object. An idle stream writes an empty line every WatchKeepalive (NDJSON readers
// skip whitespace between values). The stream ends when the client goes, after
// timeoutSeconds, or when the backend ends the feed (a watcher too slow to keep up): a
// client watches again from the last resourceVersion it saw.
func (a *api) watchTasks(w http.ResponseWriter, r *http.Request, c *call, f *taskFilter) error {
	from, err := parseRevision("resourceVersion", c.query.Get("resourceVersion"))
	if err != nil {
		return err
	}
	ctx := r.Context()
	if v := c.query.Get("timeoutSeconds"); v != "" {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || n == 0 || time.Duration(n)*time.Second > MaxWatchTimeout {
			return badRequest("timeoutSeconds %q: want a whole number of seconds from 1 to %d", v, int(MaxWatchTimeout.Seconds()))
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(n)*time.Second)
		defer cancel()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the backend's feed when the stream ends, whatever ended it

	var initial []*store.Task
	if from == 0 {
		// Kubernetes' "current state, then changes": list every page at one revision.
		opt := store.ListOptions{Slot: f.slot, Phases: f.phases, Limit: MaxListLimit}
		if f.sel != nil {
			opt.Match = f.sel.Matches
		}
		for {
			page, err := a.b.ListTasks(ctx, c.tenant, opt)
			if err != nil {
				return err
			}
			initial = append(initial, page.Tasks...)
			if opt.AtRevision == 0 {
				opt.AtRevision = page.Revision
			}
			if page.Next == "" {
				break
			}
			opt.After = page.Next
		}
		from = opt.AtRevision
	}
	events, werr := a.b.WatchTasks(ctx, c.tenant, from)
	if werr != nil && !errors.Is(werr, store.ErrExpired) {
		return werr
	}
	s, err := a.startStream(w, "application/x-ndjson")
	if err != nil {
		return err
	}
	line := func(ev WatchEvent) error {
		b, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		return s.write(append(b, '\n'))
	}
	if werr != nil {
		return line(WatchEvent{Type: "ERROR", Object: StatusOf(werr).body()})
	}
	for _, t := range initial {
		if err := line(WatchEvent{Type: string(store.EventAdded), Object: taskOf(t)}); err != nil {
			return err
		}
	}
	return pump(ctx, s, a.opt.WatchKeepalive, "\n", events, func(ev store.Event) error {
		if ev.Task == nil || !f.matches(ev.Task) {
			return nil
		}
		return line(WatchEvent{Type: string(ev.Type), Object: taskOf(ev.Task)})
	})
}
