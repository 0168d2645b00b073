package memstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/solti-wasm/solti-wasm/store"
	"github.com/solti-wasm/solti-wasm/store/internal/feed"
)

// DefaultHistory is how many events the feed keeps when Options.History is 0: at a few
// events per task, some seconds of a busy host's changes.
const DefaultHistory = 8192

// Options tune a Store.
type Options struct {
	// History bounds the change feed, in events (0: DefaultHistory). Watch from a revision
	// older than the feed holds is store.ErrExpired, and a watcher lagging by more is ended.
	History int
	// Now is the clock for records' default times (nil: time.Now).
	Now func() time.Time
}

// entry is one stored task with what listings filter on, cached.
type entry struct {
	task *store.Task // owned by the store, never handed out
	slot string
	runs map[uint64]*store.Run
}

// Store is an in-memory store.Store. The zero value is not usable; call New.
type Store struct {
	opt Options

	mu      sync.Mutex
	closed  bool
	rev     store.Revision
	tenants map[string]map[string]*entry // tenant -> name -> entry
	feed    *feed.Feed

	runSeq atomic.Uint64
}

var _ store.Store = (*Store)(nil)

// New returns an empty store with default options.
func New() *Store { return NewWithOptions(Options{}) }

// NewWithOptions returns an empty store tuned by opt.
func NewWithOptions(opt Options) *Store {
	if opt.History <= 0 {
		opt.History = DefaultHistory
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Store{
		opt:     opt,
		tenants: make(map[string]map[string]*entry),
		feed:    feed.New(opt.History, 0, nil, nil),
	}
}

// lookup returns the entry of k, or nil.
func (s *Store) lookup(k store.Key) *entry {
	return s.tenants[k.Tenant][k.Name]
}

// commit gives t the next revision, records the event and wakes the watchers. The caller
// holds s.mu; t is owned by the store from here on.
func (s *Store) commit(typ store.EventType, t *store.Task) {
	s.rev++
	t.ResourceVersion = s.rev
	s.feed.Publish(&store.Event{Type: typ, Revision: s.rev, Task: t})
}

// begin checks what every call checks first: the context and whether the store is open.
// The caller holds s.mu.
func (s *Store) begin(ctx context.Context) error {
	if s.closed {
		return store.ErrClosed
	}
	return ctx.Err()
}

// CreateTask stores a new task. An empty UID gets a new random one, a zero Generation 1, a
// zero CreatedAt the current time.
func (s *Store) CreateTask(ctx context.Context, t *store.Task) (*store.Task, error) {
	if err := store.CheckTask(t); err != nil {
		return nil, err
	}
	n := t.Clone()
	if n.UID == "" {
		n.UID = store.NewUID()
	}
	if n.Generation == 0 {
		n.Generation = 1
	}
	if n.CreatedAt.IsZero() {
		n.CreatedAt = s.opt.Now().UTC()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	names := s.tenants[n.Tenant]
	if names[n.Name] != nil {
		return nil, fmt.Errorf("task %s/%s: %w", n.Tenant, n.Name, store.ErrExists)
	}
	if names == nil {
		names = make(map[string]*entry)
		s.tenants[n.Tenant] = names
	}
	names[n.Name] = &entry{task: n, slot: store.SpecSlot(n.Spec)}
	s.commit(store.EventAdded, n)
	return n.Clone(), nil
}

// UpdateTask replaces a task if its revision is want (0: any). The stored UID and
// CreatedAt are kept; a non-empty t.UID that differs from the stored one is
// store.ErrConflict (the task was deleted and created again).
func (s *Store) UpdateTask(ctx context.Context, t *store.Task, want store.Revision) (*store.Task, error) {
	if err := store.CheckTask(t); err != nil {
		return nil, err
	}
	return s.update(ctx, t, want, nil)
}

// UpdateTaskWithRun is UpdateTask that also stores r, both or neither.
func (s *Store) UpdateTaskWithRun(ctx context.Context, t *store.Task, want store.Revision, r *store.Run) (*store.Task, error) {
	if err := store.CheckRunOf(t, r); err != nil {
		return nil, err
	}
	return s.update(ctx, t, want, r)
}

// update replaces t's task (checked by the caller) and, when r is set and is a run of the
// stored task's uid, puts r.
func (s *Store) update(ctx context.Context, t *store.Task, want store.Revision, r *store.Run) (*store.Task, error) {
	n := t.Clone()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	e := s.lookup(n.Key)
	if e == nil {
		return nil, fmt.Errorf("task %s/%s: %w", n.Tenant, n.Name, store.ErrNotFound)
	}
	if err := store.CheckPrecondition(e.task, n.UID, want); err != nil {
		return nil, err
	}
	n.UID = e.task.UID
	n.CreatedAt = e.task.CreatedAt
	e.task = n
	e.slot = store.SpecSlot(n.Spec)
	if r != nil {
		e.putRun(r)
	}
	s.commit(store.EventModified, n)
	return n.Clone(), nil
}

// DeleteTask removes a task and its runs. The returned task, like the Deleted event's, is
// the task as last stored with the delete's revision as its ResourceVersion (as Kubernetes
// does, so that a watch resumed from it does not see the delete again).
func (s *Store) DeleteTask(ctx context.Context, k store.Key, uid string, want store.Revision) (*store.Task, error) {
	if err := store.CheckKey(k); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	e := s.lookup(k)
	if e == nil {
		return nil, fmt.Errorf("task %s/%s: %w", k.Tenant, k.Name, store.ErrNotFound)
	}
	if err := store.CheckPrecondition(e.task, uid, want); err != nil {
		return nil, err
	}
	s.remove(e)
	return e.task.Clone(), nil
}

// remove drops e and its runs and commits the Deleted event. The caller holds s.mu.
func (s *Store) remove(e *entry) {
	names := s.tenants[e.task.Tenant]
	delete(names, e.task.Name)
	if len(names) == 0 {
		delete(s.tenants, e.task.Tenant)
	}
	gone := e.task.Clone() // the feed's record must not change under a reader
	s.commit(store.EventDeleted, gone)
	e.task = gone
	e.runs = nil
}

// GetTask returns one task.
func (s *Store) GetTask(ctx context.Context, k store.Key) (*store.Task, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	e := s.lookup(k)
	if e == nil {
		return nil, fmt.Errorf("task %s/%s: %w", k.Tenant, k.Name, store.ErrNotFound)
	}
	return e.task.Clone(), nil
}

// ListTasks returns a page of a tenant's tasks in name order. A continuation
// (opt.AtRevision set) lists the current state; it is store.ErrExpired once the feed no
// longer reaches back to opt.AtRevision, so that a client following the list with a watch
// from Page.Revision misses nothing.
func (s *Store) ListTasks(ctx context.Context, tenant string, opt store.ListOptions) (*store.Page, error) {
	if opt.Limit < 0 {
		return nil, fmt.Errorf("list tasks of tenant %q: %w: negative limit %d", tenant, store.ErrInvalid, opt.Limit)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	page := &store.Page{Revision: s.rev}
	if opt.AtRevision != 0 {
		if floor := s.feed.Floor(); opt.AtRevision < floor {
			return nil, fmt.Errorf("list tasks of tenant %q at revision %d: %w (the feed begins after %d)",
				tenant, opt.AtRevision, store.ErrExpired, floor)
		}
		page.Revision = opt.AtRevision
	}
	names := s.tenants[tenant]
	keys := make([]string, 0, len(names))
	for name := range names {
		if name > opt.After {
			keys = append(keys, name)
		}
	}
	sort.Strings(keys)
	for _, name := range keys {
		e := names[name]
		if !opt.Matches(e.task, e.slot) {
			continue
		}
		if opt.Limit > 0 && len(page.Tasks) == opt.Limit {
			page.Remaining++
			continue
		}
		page.Tasks = append(page.Tasks, e.task.Clone())
	}
	if page.Remaining > 0 {
		page.Next = page.Tasks[len(page.Tasks)-1].Name
	}
	return page, nil
}

// Unfinished returns every non-terminal task, oldest first (CreatedAt, then tenant and
// name): the order a restarted host queues them in.
func (s *Store) Unfinished(ctx context.Context) ([]*store.Task, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	var out []*store.Task
	for _, names := range s.tenants {
		for _, e := range names {
			if !e.task.Status.Phase.Terminal() {
				out = append(out, e.task.Clone())
			}
		}
	}
	store.SortOldestFirst(out)
	return out, nil
}

// PutRun stores r, replacing the run of the same task uid and Seq. A run whose task is
// gone, or is another incarnation (another uid), is dropped: nil error, nothing stored.
func (s *Store) PutRun(ctx context.Context, r *store.Run) error {
	if err := store.CheckRun(r); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.begin(ctx); err != nil {
		return err
	}
	if e := s.lookup(store.Key{Tenant: r.Tenant, Name: r.Task}); e != nil {
		e.putRun(r)
	}
	return nil
}

// putRun stores a copy of r if it is a run of e's uid (else drops it); s.mu must be held.
func (e *entry) putRun(r *store.Run) {
	if e.task.UID != r.TaskUID {
		return
	}
	if e.runs == nil {
		e.runs = make(map[uint64]*store.Run)
	}
	e.runs[r.Seq] = r.Clone()
}

// ListRuns returns a task's runs in Seq order (store.ErrNotFound when there is no task).
func (s *Store) ListRuns(ctx context.Context, k store.Key) ([]*store.Run, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	e := s.lookup(k)
	if e == nil {
		return nil, fmt.Errorf("task %s/%s: %w", k.Tenant, k.Name, store.ErrNotFound)
	}
	return sortedRuns(e.runs, true), nil
}

// sortedRuns returns runs in Seq order, copied when clone is set.
func sortedRuns(runs map[uint64]*store.Run, clone bool) []*store.Run {
	out := make([]*store.Run, 0, len(runs))
	for _, r := range runs {
		if clone {
			r = r.Clone()
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b *store.Run) int { return cmp.Compare(a.Seq, b.Seq) })
	return out
}

// NextRunSeq returns the next run-id number, from 1.
func (s *Store) NextRunSeq(ctx context.Context) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return 0, store.ErrClosed
	}
	return s.runSeq.Add(1), nil
}

// Revision is the latest committed revision (0 before the first write).
func (s *Store) Revision() store.Revision {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rev
}

// Sweep removes terminal tasks and finished runs past r (see store.Retention's TaskDue and
// RunsDue). A swept task's runs count among the records removed, and each swept task is a
// Deleted event.
func (s *Store) Sweep(ctx context.Context, now time.Time, r store.Retention) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.begin(ctx); err != nil {
		return 0, err
	}
	var gone []*entry
	n := 0
	for _, names := range s.tenants {
		for _, e := range names {
			if r.TaskDue(e.task, now) {
				gone = append(gone, e)
				continue
			}
			for _, seq := range r.RunsDue(sortedRuns(e.runs, false), now) {
				delete(e.runs, seq)
				n++
			}
		}
	}
	// Deleted events in key order, so that the feed does not depend on map order.
	slices.SortFunc(gone, func(a, b *entry) int {
		return cmp.Or(cmp.Compare(a.task.Tenant, b.task.Tenant), cmp.Compare(a.task.Name, b.task.Name))
	})
	for _, e := range gone {
		n += 1 + len(e.runs)
		s.remove(e)
	}
	return n, nil
}

// Close ends every watch (their channels close) and makes every later call
// store.ErrClosed. It waits for the watchers' goroutines to stop.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.feed.Close()
	return nil
}
