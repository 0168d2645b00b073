package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/solti-wasm/solti-wasm/router"
	"github.com/solti-wasm/solti-wasm/runtime"
)

// Defaults of Config's zero fields.
const (
	DefaultDebounce  = 100 * time.Millisecond
	DefaultSettle    = 2 * time.Second
	DefaultTrapLimit = 5
	DefaultProbation = 30 * time.Second
	DefaultRescan    = 30 * time.Second
)

// history is how many previous good versions of a file are kept (as bytes) for rollback.
const history = 2

// Config configures a Registry.
type Config struct {
	// Dir is the runners directory (required).
	Dir string
	// Runtime loads the modules (required). The registry closes the modules it loaded.
	Runtime *runtime.Runtime
	// Router receives the runners. Nil: a new router with an empty BuildContext. The
	// registry keeps the router's order sorted by file (runners it did not register sort
	// first, in their order).
	Router *router.Router
	// Watch keeps the registry in step with the directory after Start, until Close.
	// Without it, Start loads the directory once (what run and route do).
	Watch bool
	// Debounce is how long a file must stay unwritten before it is loaded. Zero means
	// DefaultDebounce; negative means none.
	Debounce time.Duration
	// Settle is how long a file may stay an incomplete wasm binary (a writer pausing
	// mid-file) before it is rejected as truncated. Zero or negative means DefaultSettle.
	Settle time.Duration
	// TrapLimit is the number of consecutive faulting calls after which a version is
	// rolled back. Zero means DefaultTrapLimit; negative disables rollback.
	TrapLimit int
	// Order lists module file names to route first, in this order, instead of the
	// directory's order file (OrderFileName). Nil: the order file, if any.
	Order []string
	// Probation is how long a replaced version stays loaded (drained and idle: compiled code
	// and warm instances, no calls) after a swap, so that rolling the new version back is a
	// pointer swap rather than a reload. Zero means DefaultProbation; negative disables it
	// (a rollback then loads the previous version again, usually from the compilation cache).
	Probation time.Duration
	// CooldownFaults is the number of consecutive faulting supports calls (traps, deadlines)
	// after which a version is taken out of routing for Cooldown, doubling on each repeat up
	// to CooldownMax (cooldown.go). Zero means DefaultCooldownFaults; negative disables it.
	// Zero Cooldown and CooldownMax mean DefaultCooldown and DefaultCooldownMax.
	CooldownFaults        int
	Cooldown, CooldownMax time.Duration
	// Rescan is the interval of the watch's safety net: every module file is read again and
	// compared with its version, for changes no event reported. Zero means DefaultRescan;
	// negative disables it.
	Rescan time.Duration
	// AllowIncompatible lets a new version replace a running one with another runner
	// name, without run when the old one had it, or with fewer kinds.
	AllowIncompatible bool
	// Logger receives the registry's logs. Nil discards them.
	Logger *slog.Logger
}

// Registry keeps a router's runners in step with a directory of modules. It is safe for
// concurrent use.
type Registry struct {
	cfg Config
	rt  *runtime.Runtime
	rtr *router.Router
	log *slog.Logger

	mu      sync.Mutex // guards everything below
	files   map[string]*file
	rank    map[string]int
	subs    map[*subscriber]struct{}
	stats   Stats
	seq     uint64
	trips   []trip
	requeue []string // files to look at again: a runner name they wanted is free
	started bool
	closed  bool

	forwarded atomic.Uint64
	draining  atomic.Int64
	drains    sync.WaitGroup

	watcher *fsnotify.Watcher
	links   links         // module symlinks and their watched targets (links.go)
	wake    chan struct{} // a trip is pending
	stop    chan struct{}
	done    chan struct{}
}

// file is one module file's state.
type file struct {
	path    string
	cur     *Version // serving, or nil
	prev    []good   // previous good versions, newest last
	seen    []byte   // the content last processed
	err     *runtime.LoadError
	lost    string            // the runner name this file declared and another file owns
	quarant map[string]string // digest -> why it was rolled back
	standby *standby          // the replaced version, kept loaded during the probation
}

// standby is a drained version kept loaded for an instant rollback.
type standby struct {
	v     *Version
	timer *time.Timer
}

type good struct {
	digest string
	wasm   []byte
}

type trip struct {
	v      *Version
	reason string
}

// New checks cfg and returns a registry that has loaded nothing yet: Subscribe, then Start.
func New(cfg Config) (*Registry, error) {
	if cfg.Dir == "" {
		return nil, errors.New("registry: Config.Dir is required")
	}
	cfg.Dir = filepath.Clean(cfg.Dir)
	if cfg.Runtime == nil {
		return nil, errors.New("registry: Config.Runtime is required")
	}
	switch {
	case cfg.Debounce == 0:
		cfg.Debounce = DefaultDebounce
	case cfg.Debounce < 0:
		cfg.Debounce = 0
	}
	if cfg.Settle <= 0 {
		cfg.Settle = DefaultSettle
	}
	if cfg.TrapLimit == 0 {
		cfg.TrapLimit = DefaultTrapLimit
	}
	if cfg.Probation == 0 {
		cfg.Probation = DefaultProbation
	}
	if cfg.Rescan == 0 {
		cfg.Rescan = DefaultRescan
	}
	if cfg.CooldownFaults == 0 {
		cfg.CooldownFaults = DefaultCooldownFaults
	}
	if cfg.Cooldown <= 0 {
		cfg.Cooldown = DefaultCooldown
	}
	if cfg.CooldownMax <= 0 {
		cfg.CooldownMax = DefaultCooldownMax
	}
	cfg.CooldownMax = max(cfg.CooldownMax, cfg.Cooldown)
	if cfg.Router == nil {
		cfg.Router = router.New(router.BuildContext{})
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Registry{
		cfg: cfg, rt: cfg.Runtime, rtr: cfg.Router, log: cfg.Logger,
		files: map[string]*file{}, subs: map[*subscriber]struct{}{},
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}, nil
}

// Open is New then Start.
func Open(ctx context.Context, cfg Config) (*Registry, error) {
	r, err := New(cfg)
	if err != nil {
		return nil, err
	}
	if err := r.Start(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// Router is the router the registry keeps in step.
func (r *Registry) Router() *router.Router { return r.rtr }

// Start loads the directory (modules compile concurrently; they register in routing order)
// and, with Config.Watch, starts watching it. It fails only when the directory cannot be
// read or watched; a module that fails to load is reported by an event and Failed.
func (r *Registry) Start(ctx context.Context) (err error) {
	r.mu.Lock()
	if r.started || r.closed {
		r.mu.Unlock()
		return fmt.Errorf("registry %s: Start after Start or Close", r.cfg.Dir)
	}
	r.started = true
	r.loadOrder()
	r.mu.Unlock()
	defer func() {
		if err != nil {
			close(r.done)
		}
	}()
	if fi, err := os.Stat(r.cfg.Dir); err != nil {
		return err
	} else if !fi.IsDir() {
		return fmt.Errorf("%s: not a directory", r.cfg.Dir)
	}
	if r.cfg.Watch {
		// Watch before the first scan, so no change falls between the two.
		w, err := fsnotify.NewWatcher()
		if err != nil {
			return fmt.Errorf("watching %s: %w", r.cfg.Dir, err)
		}
		if err := w.Add(r.cfg.Dir); err != nil {
			_ = w.Close()
			return fmt.Errorf("watching %s: %w", r.cfg.Dir, err)
		}
		r.watcher = w
	}
	paths, err := r.scan()
	if err != nil {
		if r.watcher != nil {
			_ = r.watcher.Close()
			r.watcher = nil
		}
		return err
	}
	cands := make([]*candidate, len(paths))
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(1, r.rt.Limits().MaxInstances))
	for i, p := range paths {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			c := readCandidate(p, r.rt.Limits().MaxModuleBytes)
			if c.err == nil && c.incomplete == "" {
				r.load(ctx, c)
			}
			cands[i] = c
		})
	}
	wg.Wait()
	retry := map[string]time.Time{}
	for _, c := range cands {
		r.track(c.path)
		if c.incomplete != "" && r.cfg.Watch && time.Since(c.mtime) < r.cfg.Settle {
			retry[c.path] = time.Now().Add(r.cfg.Debounce)
			continue
		}
		r.commit(ctx, c)
	}
	if r.watcher == nil {
		close(r.done)
		return nil
	}
	go r.loop(retry)
	return nil
}

// scan lists the directory's modules in routing order.
func (r *Registry) scan() ([]string, error) {
	paths, err := filepath.Glob(filepath.Join(r.cfg.Dir, "*.wasm"))
	if err != nil {
		return nil, err
	}
	if _, err := os.ReadDir(r.cfg.Dir); err != nil {
		return nil, err
	}
	r.mu.Lock()
	slices.SortFunc(paths, r.comparePaths)
	r.mu.Unlock()
	return paths, nil
}

// Close stops watching, unregisters the registry's runners, waits for their calls in flight
// (bounded by ctx) and closes their modules. Subscriber channels are closed.
func (r *Registry) Close(ctx context.Context) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	started := r.started
	r.mu.Unlock()
	if started {
		close(r.stop)
		<-r.done
		if r.watcher != nil {
			_ = r.watcher.Close()
		}
	}
	r.mu.Lock()
	for _, f := range r.files {
		if f.cur != nil {
			r.rtr.Unregister(f.cur.Name())
			r.retire(f.cur, false)
			f.cur = nil
		}
		r.dropStandby(f)
	}
	for s := range r.subs {
		close(s.ch)
	}
	clear(r.subs)
	r.mu.Unlock()
	finished := make(chan struct{})
	go func() { r.drains.Wait(); close(finished) }()
	select {
	case <-finished:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("registry: %d versions still draining: %w", r.draining.Load(), context.Cause(ctx))
	}
}

// Compare orders two module files as routing does: those the order lists first, in its
// order, then the others in lexical order of file name.
func (r *Registry) Compare(a, b string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.comparePaths(a, b)
}

// Current returns the registry's runners in routing order.
func (r *Registry) Current() []*Version {
	var out []*Version
	for _, rn := range r.rtr.Runners() {
		if v, ok := rn.(*Version); ok && v.reg == r {
			out = append(out, v)
		}
	}
	return out
}

// Failed returns, in routing order, the files whose content last seen is not serving: what
// failed to load, was refused, lost its runner name to an earlier file or was quarantined.
func (r *Registry) Failed() []*runtime.LoadError {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*runtime.LoadError
	for _, f := range r.files {
		if f.err != nil {
			out = append(out, f.err)
		}
	}
	slices.SortFunc(out, func(a, b *runtime.LoadError) int { return r.comparePaths(a.Path, b.Path) })
	return out
}

func (r *Registry) current(path string) *Version {
	r.mu.Lock()
	defer r.mu.Unlock()
	if f := r.files[path]; f != nil {
		return f.cur
	}
	return nil
}

// candidate is one file's content on its way in.
type candidate struct {
	path       string
	wasm       []byte
	digest     string
	mtime      time.Time
	gone       bool
	incomplete string // why the bytes are not a whole wasm binary yet
	mod        *runtime.Module
	err        *runtime.LoadError
}

// readCandidate reads path as the runtime reads modules (regular files only, maxBytes at
// most, never blocking on a FIFO).
func readCandidate(path string, maxBytes int64) *candidate {
	c := &candidate{path: path}
	var before fs.FileInfo
	var err error
	c.wasm, before, err = runtime.ReadModuleFile(path, maxBytes)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		c.gone = true
		return c
	case err != nil:
		c.err = &runtime.LoadError{Path: path, Stage: "read", Err: err}
		return c
	}
	// No hash here: a large module's hash costs milliseconds, and the runtime hashes in
	// parallel with the compilation. Unchanged content is found by comparing bytes.
	c.mtime = before.ModTime()
	if after, err := os.Stat(path); err != nil || after.Size() != before.Size() || !after.ModTime().Equal(before.ModTime()) || int64(len(c.wasm)) != after.Size() {
		c.incomplete = "the file changed while it was read"
		return c
	}
	c.incomplete = wasmIncomplete(c.wasm)
	return c
}

// load compiles, checks and smoke-tests c (the runtime's load does all three).
func (r *Registry) load(ctx context.Context, c *candidate) {
	r.mu.Lock()
	r.stats.Compiles++
	r.mu.Unlock()
	m, err := r.rt.LoadBytes(ctx, c.path, c.wasm)
	if m != nil {
		c.digest = m.Digest()
	}
	if err != nil {
		if !errors.As(err, &c.err) {
			c.err = &runtime.LoadError{Path: c.path, Stage: "load", Err: err}
		}
		return
	}
	c.mod = m // the runtime smoke-tested it as part of the load
}

// compatible checks that next can replace cur without breaking its users.
func compatible(cur *Version, next *runtime.Module) error {
	if next.Name() != cur.Name() {
		return fmt.Errorf("declares runner %q, the running version %q (to rename a runner, remove its file and add a new one, or allow incompatible swaps)", next.Name(), cur.Name())
	}
	if cur.mod.HasRun() && !next.HasRun() {
		return errors.New("has no run export, the running version has: guest plans it built would fail")
	}
	if old := cur.mod.Describe().Kinds; len(old) > 0 {
		if kinds := next.Describe().Kinds; len(kinds) > 0 {
			var lost []string
			for _, k := range old {
				if !slices.Contains(kinds, k) {
					lost = append(lost, k)
				}
			}
			if len(lost) > 0 {
				return fmt.Errorf("no longer declares kinds %s, which the running version handles", strings.Join(lost, ", "))
			}
		}
	}
	return nil
}

func (r *Registry) file(path string) *file {
	f := r.files[path]
	if f == nil {
		f = &file{path: path, quarant: map[string]string{}}
		r.files[path] = f
	}
	return f
}

// reject records that c's content does not serve. r.mu must be held.
func (r *Registry) reject(f *file, c *candidate, err *runtime.LoadError) {
	if c.digest == "" && c.wasm != nil {
		c.digest = sha(c.wasm)
	}
	if c.mod != nil {
		_ = c.mod.Close(context.Background())
	}
	f.err = err
	ev := Event{Type: EventRejected, Path: f.path, Digest: c.digest, Stage: err.Stage, Reason: err.Err.Error()}
	if c.mod != nil {
		ev.Runner = c.mod.Name()
	}
	r.emit(ev)
}

// commit makes c's module serve, or rejects it.
func (r *Registry) commit(ctx context.Context, c *candidate) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c.gone {
		r.remove(c.path, "the file is gone")
		return
	}
	f := r.file(c.path)
	if c.wasm != nil || c.err == nil {
		f.seen = c.wasm // a read error keeps what was last read, to tell a change from a return
	}
	if c.err == nil && c.incomplete != "" {
		c.err = &runtime.LoadError{Path: c.path, Stage: "read", Err: fmt.Errorf("%w: truncated: %s", runtime.ErrInvalidModule, c.incomplete)}
	}
	if c.err != nil {
		r.reject(f, c, c.err)
		return
	}
	old := f.cur
	if old != nil && !r.cfg.AllowIncompatible {
		if err := compatible(old, c.mod); err != nil {
			r.reject(f, c, &runtime.LoadError{Path: c.path, Stage: "compat", Err: err})
			return
		}
	}
	name := c.mod.Name()
	f.lost = ""
	var evicted *file
	for _, g := range r.files {
		if g == f || g.cur == nil || g.cur.Name() != name {
			continue
		}
		if r.comparePaths(g.path, f.path) < 0 {
			f.lost = name
			r.reject(f, c, duplicate(f.path, name, g.path))
			return
		}
		evicted = g
	}
	v := newVersion(r, c.path, c.mod, c.wasm, c.digest)
	var err error
	switch {
	case evicted != nil:
		// f sorts first: it takes the name over, atomically for routing.
		_, err = r.rtr.Replace(name, v)
		if err == nil {
			ev := evicted.cur
			evicted.cur, evicted.lost, evicted.err = nil, name, duplicate(evicted.path, name, f.path)
			r.emit(Event{Type: EventRejected, Path: evicted.path, Runner: name, Digest: ev.digest, Stage: "register", Reason: evicted.err.Err.Error()})
			r.retire(ev, false)
			r.dropStandby(evicted)
			if old != nil {
				r.rtr.Unregister(old.Name())
			}
		}
	case old != nil:
		_, err = r.rtr.Replace(old.Name(), v)
	default:
		err = r.rtr.Register(v)
	}
	if err != nil {
		r.reject(f, c, &runtime.LoadError{Path: c.path, Stage: "register", Err: err})
		return
	}
	r.rtr.SortFunc(r.compareRunners)
	f.cur, f.err = v, nil
	if old != nil {
		f.prev = append(f.prev, good{old.digest, old.wasm})
		if len(f.prev) > history {
			f.prev = slices.Delete(f.prev, 0, len(f.prev)-history)
		}
		r.emit(Event{Type: EventSwapped, Path: f.path, Runner: name, Digest: v.digest, PrevRunner: old.Name(), PrevDigest: old.digest})
		r.retire(old, true)
	} else {
		r.emit(Event{Type: EventLoaded, Path: f.path, Runner: name, Digest: v.digest})
	}
	if old != nil && old.Name() != name {
		r.reconsider(old.Name())
	}
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func duplicate(loser, name, winner string) *runtime.LoadError {
	return &runtime.LoadError{Path: loser, Stage: "register",
		Err: fmt.Errorf("%w: runner %q is already loaded from %s, which comes first in routing order", runtime.ErrDuplicateName, name, winner)}
}

// compareRunners orders the router's runners by file; runners the registry does not own
// come first, in their order. r.mu must be held (SortFunc calls it under the router's lock).
func (r *Registry) compareRunners(a, b router.Runner) int {
	va, oka := a.(*Version)
	vb, okb := b.(*Version)
	oka, okb = oka && va.reg == r, okb && vb.reg == r
	switch {
	case oka && okb:
		return r.comparePaths(va.path, vb.path)
	case oka:
		return 1
	case okb:
		return -1
	}
	return 0
}

// remove unregisters path's runner, if any, and forgets the file. r.mu must be held.
func (r *Registry) remove(path, why string) {
	f := r.files[path]
	if f == nil {
		return
	}
	delete(r.files, path)
	if f.cur == nil {
		return
	}
	name := f.cur.Name()
	r.rtr.Unregister(name)
	r.emit(Event{Type: EventRemoved, Path: path, Runner: name, Digest: f.cur.digest, Reason: why})
	r.retire(f.cur, false)
	r.dropStandby(f)
	r.reconsider(name)
}

// reconsider schedules, for loading again, the files that lost runner name to another file.
// r.mu must be held.
func (r *Registry) reconsider(name string) {
	for _, g := range r.files {
		if g.lost == name {
			g.seen, g.lost = nil, ""
			r.requeue = append(r.requeue, g.path)
		}
	}
}

// retire drains v in the background: once no router call can reach it (Quiesce) and every
// call holding it has returned, its module is closed, or kept as its file's standby when
// keep is set (a swap). r.mu must be held.
func (r *Registry) retire(v *Version, keep bool) {
	r.draining.Add(1)
	r.drains.Go(func() {
		defer r.draining.Add(-1)
		_ = r.rtr.Quiesce(context.Background())
		v.release()
		<-v.drained
		if keep && r.park(v) {
			return
		}
		r.closeModule(v)
	})
}

func (r *Registry) closeModule(v *Version) {
	if err := v.mod.Close(context.Background()); err != nil {
		r.log.Warn("closing a drained module", "path", v.path, "digest", short(v.digest), "err", err)
	}
}

// park keeps drained v loaded as its file's standby for Config.Probation, if it is still
// the version a rollback would return to.
func (r *Registry) park(v *Version) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	f := r.files[v.path]
	if r.closed || r.cfg.Probation <= 0 || f == nil || f.cur == nil || len(f.prev) == 0 || f.prev[len(f.prev)-1].digest != v.digest {
		return false
	}
	r.dropStandby(f)
	sb := &standby{v: v}
	sb.timer = time.AfterFunc(r.cfg.Probation, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if f.standby == sb {
			r.dropStandby(f)
		}
	})
	f.standby = sb
	return true
}

// dropStandby closes f's standby, if any. r.mu must be held.
func (r *Registry) dropStandby(f *file) {
	sb := f.standby
	if sb == nil {
		return
	}
	f.standby = nil
	sb.timer.Stop()
	r.drains.Go(func() { r.closeModule(sb.v) })
}

// trip asks the loop to roll v back.
func (r *Registry) trip(v *Version, reason string) {
	r.mu.Lock()
	r.trips = append(r.trips, trip{v, reason})
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// rollback replaces a crash-looping version by the file's previous one.
func (r *Registry) rollback(ctx context.Context, t trip) {
	r.mu.Lock()
	f := r.files[t.v.path]
	if f == nil || f.cur != t.v {
		r.mu.Unlock()
		return // already replaced or removed
	}
	f.quarant[t.v.digest] = t.reason
	var prev *good
	if n := len(f.prev); n > 0 {
		p := f.prev[n-1]
		prev, f.prev = &p, f.prev[:n-1]
	}
	var c *candidate
	if sb := f.standby; sb != nil && prev != nil && sb.v.digest == prev.digest {
		// Still in probation: the previous version is loaded and warm.
		sb.timer.Stop()
		f.standby = nil
		c = &candidate{path: f.path, wasm: sb.v.wasm, digest: sb.v.digest, mod: sb.v.mod}
		prev = nil
	}
	r.mu.Unlock()
	if prev != nil {
		c = &candidate{path: f.path, wasm: prev.wasm, digest: prev.digest}
		r.load(ctx, c)
		if c.err != nil {
			r.log.Warn("previous version no longer loads", "path", f.path, "digest", short(prev.digest), "err", c.err)
			c = nil
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if f.cur != t.v || r.closed {
		if c != nil {
			_ = c.mod.Close(ctx)
		}
		return
	}
	bad := t.v
	if c != nil {
		v := newVersion(r, f.path, c.mod, c.wasm, c.digest)
		if _, err := r.rtr.Replace(bad.Name(), v); err == nil {
			r.rtr.SortFunc(r.compareRunners)
			f.cur = v
			r.emit(Event{Type: EventRolledBack, Path: f.path, Runner: v.Name(), Digest: v.digest, PrevRunner: bad.Name(), PrevDigest: bad.digest, Reason: t.reason})
			r.retire(bad, false)
			return
		}
		_ = c.mod.Close(ctx)
	}
	r.rtr.Unregister(bad.Name())
	f.cur = nil
	f.err = &runtime.LoadError{Path: f.path, Stage: "quarantine", Err: fmt.Errorf("rolled back: %s", t.reason)}
	r.emit(Event{Type: EventRolledBack, Path: f.path, PrevRunner: bad.Name(), PrevDigest: bad.digest,
		Reason: t.reason + "; no previous version: the runner is unregistered until its file changes"})
	r.retire(bad, false)
	r.reconsider(bad.Name())
}

// loop applies the directory's changes until Close.
func (r *Registry) loop(pending map[string]time.Time) {
	defer close(r.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var rescan <-chan time.Time
	if r.cfg.Rescan > 0 {
		t := time.NewTicker(r.cfg.Rescan)
		defer t.Stop()
		rescan = t.C
	}
	orderPath := filepath.Join(r.cfg.Dir, OrderFileName)
	for {
		next := time.Now().Add(time.Hour)
		for _, due := range pending {
			if due.Before(next) {
				next = due
			}
		}
		timer.Reset(time.Until(next))
		select {
		case <-r.stop:
			return
		case ev, ok := <-r.watcher.Events:
			if !ok {
				return
			}
			for _, p := range r.affected(ev, orderPath) {
				pending[p] = time.Now().Add(r.cfg.Debounce)
			}
		case <-rescan:
			paths, _ := r.scan()
			r.mu.Lock()
			for p := range r.files {
				paths = append(paths, p)
			}
			r.mu.Unlock()
			for _, p := range paths {
				if _, ok := pending[p]; !ok {
					pending[p] = time.Now()
				}
			}
		case err, ok := <-r.watcher.Errors:
			if !ok {
				return
			}
			r.log.Warn("watching the runners directory", "dir", r.cfg.Dir, "err", err)
			if errors.Is(err, fsnotify.ErrEventOverflow) { // events were lost: look at everything
				paths, _ := r.scan()
				r.mu.Lock()
				for p := range r.files {
					paths = append(paths, p)
				}
				r.mu.Unlock()
				for _, p := range paths {
					pending[p] = time.Now().Add(r.cfg.Debounce)
				}
			}
		case <-r.wake:
			r.mu.Lock()
			trips := r.trips
			r.trips = nil
			r.mu.Unlock()
			for _, t := range trips {
				r.rollback(ctx, t)
			}
		case <-timer.C:
		}
		now := time.Now()
		var due []string
		for p, t := range pending {
			if !t.After(now) {
				due = append(due, p)
				delete(pending, p)
			}
		}
		r.mu.Lock()
		slices.SortFunc(due, r.comparePaths)
		r.mu.Unlock()
		for _, p := range due {
			if p == orderPath {
				r.mu.Lock()
				r.loadOrder()
				r.rtr.SortFunc(r.compareRunners)
				// A file that lost a runner name may sort first now: let it claim it.
				for _, g := range r.files {
					if g.lost != "" {
						g.seen, g.lost = nil, ""
						r.requeue = append(r.requeue, g.path)
					}
				}
				r.log.Info("routing order changed", "order", OrderFileName)
				r.mu.Unlock()
				continue
			}
			if retry := r.process(ctx, p); retry {
				pending[p] = time.Now().Add(max(r.cfg.Debounce, 10*time.Millisecond))
			}
		}
		r.mu.Lock()
		requeue := r.requeue
		r.requeue = nil
		r.mu.Unlock()
		for _, p := range requeue {
			pending[p] = time.Now()
		}
	}
}

// process brings path's runner in step with the file; it reports whether to look again
// later (the file is still being written).
func (r *Registry) process(ctx context.Context, path string) (retry bool) {
	r.track(path)
	c := readCandidate(path, r.rt.Limits().MaxModuleBytes)
	if c.err != nil && c.err.Stage == "read" {
		r.mu.Lock()
		f := r.files[path]
		same := f != nil && f.err != nil && f.err.Stage == "read" && f.err.Err.Error() == c.err.Err.Error()
		r.mu.Unlock()
		if same {
			return false // still unreadable, already reported
		}
	}
	if c.gone {
		r.mu.Lock()
		r.remove(path, "the file was deleted or renamed")
		r.mu.Unlock()
		return false
	}
	if c.err == nil {
		r.mu.Lock()
		f := r.files[path]
		if f != nil && f.seen != nil && bytes.Equal(f.seen, c.wasm) {
			if f.cur != nil && f.err != nil && f.err.Stage == "read" {
				f.err = nil // readable again, as it was: the version never stopped serving
				r.log.Info("runner module readable again", "path", path, "runner", f.cur.Name())
			}
			r.mu.Unlock()
			return false // same content: nothing to do
		}
		if f != nil && len(f.quarant) > 0 {
			c.digest = sha(c.wasm)
			if why, q := f.quarant[c.digest]; q {
				f.seen = c.wasm
				r.reject(f, c, &runtime.LoadError{Path: path, Stage: "quarantine", Err: fmt.Errorf("this version was rolled back: %s", why)})
				r.mu.Unlock()
				return false
			}
		}
		r.mu.Unlock()
		if c.incomplete != "" && time.Since(c.mtime) < r.cfg.Settle {
			return true
		}
		if c.incomplete == "" {
			r.load(ctx, c)
		}
	}
	r.commit(ctx, c)
	return false
}
