package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/host"
	"github.com/solti-wasm/solti-wasm/runtime"
	"github.com/solti-wasm/solti-wasm/store"
)

// fake is an in-memory Backend with the semantics the handlers rely on: tenants by key,
// preconditions, a revision-ordered feed with a compaction floor (older revisions are
// expired), paged listings, log streams, runners.
type fake struct {
	mu       sync.Mutex
	rev      store.Revision
	floor    store.Revision // watches and continuations from before this revision expire
	uid      int
	tasks    map[store.Key]*store.Task
	runs     map[store.Key][]*store.Run
	history  []store.Event
	watchers map[chan store.Event]string

	logs    map[store.Key][]host.LogEvent
	logDone map[store.Key]bool
	logWake chan struct{} // closed and replaced on every log append

	runners  map[string][]host.RunnerInfo // by tenant; "" is the shared ones
	revents  map[chan host.RunnerEvent]string
	ready    error
	failNext error // returned by the next create or apply
	// routeDelay makes Route slow, as a smoke test of a large module is.
	routeDelay time.Duration
}

func newFake() *fake {
	return &fake{
		tasks: map[store.Key]*store.Task{}, runs: map[store.Key][]*store.Run{},
		watchers: map[chan store.Event]string{}, logs: map[store.Key][]host.LogEvent{},
		logDone: map[store.Key]bool{}, logWake: make(chan struct{}), runners: map[string][]host.RunnerInfo{},
		revents: map[chan host.RunnerEvent]string{},
	}
}

var epoch = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func clone(t *store.Task) *store.Task {
	c := *t
	c.Spec = slices.Clone(t.Spec)
	return &c
}

// commit records an event at the next revision and tells the watchers; mu is held.
func (f *fake) commit(typ store.EventType, t *store.Task) {
	f.rev++
	t.ResourceVersion = f.rev
	ev := store.Event{Type: typ, Revision: f.rev, Task: clone(t)}
	f.history = append(f.history, ev)
	for ch, tenant := range f.watchers {
		if tenant != t.Tenant {
			continue
		}
		select {
		case ch <- ev:
		default: // a watcher too slow is ended, as the store contract says
			delete(f.watchers, ch)
			close(ch)
		}
	}
}

func (f *fake) CreateTask(ctx context.Context, tenant string, m *abi.Task, spec json.RawMessage) (*store.Task, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.failNext; err != nil {
		f.failNext = nil
		return nil, err
	}
	k := store.Key{Tenant: tenant, Name: m.Metadata.Name}
	if _, ok := f.tasks[k]; ok {
		return nil, store.ErrExists
	}
	return clone(f.create(k, m, spec)), nil
}

func (f *fake) create(k store.Key, m *abi.Task, spec json.RawMessage) *store.Task {
	f.uid++
	t := &store.Task{Key: k, UID: fmt.Sprintf("uid-%d", f.uid), Generation: 1, CreatedAt: epoch,
		Labels: m.Metadata.Labels, Annotations: m.Metadata.Annotations, Spec: spec,
		Status: store.TaskStatus{Phase: store.PhasePending, UpdatedAt: epoch}}
	f.tasks[k] = t
	f.commit(store.EventAdded, t)
	return t
}

func (f *fake) ApplyTask(ctx context.Context, tenant string, m *abi.Task, spec json.RawMessage, uid string, rv store.Revision) (*store.Task, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.failNext; err != nil {
		f.failNext = nil
		return nil, false, err
	}
	k := store.Key{Tenant: tenant, Name: m.Metadata.Name}
	t, ok := f.tasks[k]
	if !ok {
		if uid != "" || rv != 0 {
			return nil, false, store.ErrNotFound
		}
		return clone(f.create(k, m, spec)), true, nil
	}
	if uid != "" && uid != t.UID || rv != 0 && rv != t.ResourceVersion {
		return nil, false, fmt.Errorf("%w: want uid %q resourceVersion %d", store.ErrConflict, t.UID, t.ResourceVersion)
	}
	if !bytes.Equal(t.Spec, spec) {
		t.Generation++
		t.Spec = spec
	}
	t.Labels, t.Annotations = m.Metadata.Labels, m.Metadata.Annotations
	f.commit(store.EventModified, t)
	return clone(t), false, nil
}

func (f *fake) GetTask(ctx context.Context, k store.Key) (*store.Task, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.tasks[k]
	if !ok {
		return nil, store.ErrNotFound
	}
	return clone(t), nil
}

// setPhase moves a task to phase, as the pipeline would.
func (f *fake) setPhase(k store.Key, p store.Phase, attempt int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := f.tasks[k]
	t.Status.Phase, t.Status.Attempt, t.Status.ObservedGeneration = p, attempt, t.Generation
	f.commit(store.EventModified, t)
}

// compact expires every revision up to now.
func (f *fake) compact() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.floor = f.rev + 1
	f.history = nil
}

func (f *fake) ListTasks(ctx context.Context, tenant string, opt store.ListOptions) (*store.Page, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if opt.AtRevision != 0 && opt.AtRevision < f.floor {
		return nil, store.ErrExpired
	}
	var all []*store.Task
	for k, t := range f.tasks {
		if k.Tenant != tenant || k.Name <= opt.After {
			continue
		}
		var s struct{ Slot string }
		_ = json.Unmarshal(t.Spec, &s)
		if opt.Slot != "" && s.Slot != opt.Slot || len(opt.Phases) > 0 && !slices.Contains(opt.Phases, t.Status.Phase) ||
			opt.Match != nil && !opt.Match(t.Labels) {
			continue
		}
		all = append(all, clone(t))
	}
	slices.SortFunc(all, func(a, b *store.Task) int { return compare(a.Name, b.Name) })
	p := &store.Page{Revision: f.rev, Remaining: 0}
	if opt.Limit > 0 && len(all) > opt.Limit {
		p.Tasks, p.Next, p.Remaining = all[:opt.Limit], all[opt.Limit-1].Name, len(all)-opt.Limit
	} else {
		p.Tasks = all
	}
	return p, nil
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (f *fake) DeleteTask(ctx context.Context, k store.Key, uid string, rv store.Revision) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.tasks[k]
	if !ok {
		return store.ErrNotFound
	}
	if uid != "" && uid != t.UID || rv != 0 && rv != t.ResourceVersion {
		return store.ErrConflict
	}
	delete(f.tasks, k)
	delete(f.runs, k)
	f.commit(store.EventDeleted, t)
	return nil
}

func (f *fake) TaskRuns(ctx context.Context, k store.Key) ([]*store.Run, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.tasks[k]; !ok {
		return nil, store.ErrNotFound
	}
	return slices.Clone(f.runs[k]), nil
}

func (f *fake) WatchTasks(ctx context.Context, tenant string, from store.Revision) (<-chan store.Event, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if from != 0 && from+1 < f.floor {
		return nil, fmt.Errorf("watch from %d: %w (oldest is %d)", from, store.ErrExpired, f.floor)
	}
	ch := make(chan store.Event, 256)
	for _, ev := range f.history {
		if ev.Revision > from && ev.Task.Tenant == tenant {
			ch <- ev
		}
	}
	f.watchers[ch] = tenant
	go func() {
		<-ctx.Done()
		f.mu.Lock()
		defer f.mu.Unlock()
		if _, ok := f.watchers[ch]; ok {
			delete(f.watchers, ch)
			close(ch)
		}
	}()
	return ch, nil
}

// appendLog adds a log event to a task's stream (Seq set here); done ends the stream.
func (f *fake) appendLog(k store.Key, ev host.LogEvent, done bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ev.Type != "" {
		ev.Seq = uint64(len(f.logs[k]) + 1)
		if ev.Time.IsZero() {
			ev.Time = epoch
		}
		f.logs[k] = append(f.logs[k], ev)
	}
	f.logDone[k] = f.logDone[k] || done
	close(f.logWake)
	f.logWake = make(chan struct{})
}

func (f *fake) TaskLogs(ctx context.Context, k store.Key, after uint64) (<-chan host.LogEvent, error) {
	f.mu.Lock()
	_, ok := f.tasks[k]
	f.mu.Unlock()
	if !ok {
		return nil, store.ErrNotFound
	}
	ch := make(chan host.LogEvent)
	go func() {
		defer close(ch)
		next := after
		for {
			f.mu.Lock()
			evs, done, wake := f.logs[k], f.logDone[k], f.logWake
			f.mu.Unlock()
			for next < uint64(len(evs)) {
				select {
				case ch <- evs[next]:
					next++
				case <-ctx.Done():
					return
				}
			}
			if done {
				return
			}
			select {
			case <-wake:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch, nil
}

func (f *fake) Runners(ctx context.Context, tenant string) ([]host.RunnerInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append(slices.Clone(f.runners[tenant]), f.runners[""]...), nil
}

func (f *fake) PushRunner(ctx context.Context, tenant, file string, wasm []byte) (*host.RunnerInfo, error) {
	if !bytes.HasPrefix(wasm, []byte("\x00asm")) {
		return nil, &runtime.LoadError{Path: file, Stage: "validate", Err: runtime.ErrNotWasm}
	}
	if bytes.Contains(wasm, []byte("nosmoke")) {
		return nil, fmt.Errorf("push %s: %w", file, &runtime.LoadError{Path: file, Stage: "smoke", Err: fmt.Errorf("%w: supports trapped", runtime.ErrTrap)})
	}
	info := host.RunnerInfo{Name: file[:len(file)-len(".wasm")], Scope: "tenant", File: file, Digest: "sha256:00",
		Kinds: []string{"echo"}, LoadedAt: epoch}
	f.mu.Lock()
	f.runners[tenant] = append(f.runners[tenant], info)
	f.mu.Unlock()
	f.runnerEvent(tenant, host.RunnerEvent{Type: "loaded", Runner: info.Name, File: file, Digest: info.Digest, Time: epoch})
	return &info, nil
}

func (f *fake) DeleteRunner(ctx context.Context, tenant, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	rs := f.runners[tenant]
	i := slices.IndexFunc(rs, func(r host.RunnerInfo) bool { return r.Name == name })
	if i < 0 {
		return store.ErrNotFound
	}
	f.runners[tenant] = slices.Delete(rs, i, i+1)
	return nil
}

func (f *fake) Route(ctx context.Context, tenant string, spec *abi.TaskSpec) ([]host.RouteVerdict, error) {
	f.mu.Lock()
	d := f.routeDelay
	f.mu.Unlock()
	time.Sleep(d)
	f.mu.Lock()
	defer f.mu.Unlock()
	var vs []host.RouteVerdict
	for _, r := range append(slices.Clone(f.runners[tenant]), f.runners[""]...) {
		v := host.RouteVerdict{Runner: r.Name, Verdict: "unsupported", Detail: "handles " + r.Kinds[0]}
		if slices.Contains(r.Kinds, spec.Kind.Name()) {
			v = host.RouteVerdict{Runner: r.Name, Verdict: "selected"}
		}
		vs = append(vs, v)
	}
	return vs, nil
}

func (f *fake) runnerEvent(tenant string, ev host.RunnerEvent) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch, t := range f.revents {
		if t == tenant {
			select {
			case ch <- ev:
			default:
			}
		}
	}
}

func (f *fake) RunnerEvents(ctx context.Context, tenant string) (<-chan host.RunnerEvent, error) {
	ch := make(chan host.RunnerEvent, 16)
	f.mu.Lock()
	f.revents[ch] = tenant
	f.mu.Unlock()
	go func() {
		<-ctx.Done()
		f.mu.Lock()
		delete(f.revents, ch)
		f.mu.Unlock()
		close(ch)
	}()
	return ch, nil
}

func (f *fake) Ready() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ready
}

func (f *fake) setReady(err error) {
	f.mu.Lock()
	f.ready = err
	f.mu.Unlock()
}

func (f *fake) setRunners(tenant string, rs []host.RunnerInfo) {
	f.mu.Lock()
	f.runners[tenant] = rs
	f.mu.Unlock()
}

func (f *fake) failWith(err error) {
	f.mu.Lock()
	f.failNext = err
	f.mu.Unlock()
}

// tokens is the test's Authenticator: two tenants.
type tokens map[string]string

func (t tokens) Authenticate(token string) (string, bool) {
	tenant, ok := t[token]
	return tenant, ok
}
