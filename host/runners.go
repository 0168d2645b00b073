package host

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/registry"
	"github.com/solti-wasm/solti-wasm/router"
	"github.com/solti-wasm/solti-wasm/runtime"
	"github.com/solti-wasm/solti-wasm/store"
)

// ErrNoRunnersDir: a push to a tenant that has no runners directory of its own.
var ErrNoRunnersDir = errors.New("tenant has no runners directory")

// Runners lists the runners the tenant routes to, in routing order: its own, then the
// shared ones.
func (h *Host) Runners(ctx context.Context, tenant string) ([]RunnerInfo, error) {
	tr, err := h.tenant(tenant)
	if err != nil {
		return nil, err
	}
	var out []RunnerInfo
	for _, sc := range tr.scopes {
		for _, v := range sc.reg.Current() {
			out = append(out, tr.info(sc, v))
		}
	}
	return out, nil
}

func (tr *tenantRT) info(sc *scope, v *registry.Version) RunnerInfo {
	d := v.Describe()
	ri := RunnerInfo{Name: v.Name(), Scope: sc.name, File: filepath.Base(v.Path()), Digest: "sha256:" + v.Digest(),
		Kinds: slices.Clone(d.Kinds), Labels: maps.Clone(d.Labels), Meters: tr.meters.get(v.Name(), v.Digest())}
	if ri.Kinds == nil {
		ri.Kinds = []string{}
	}
	sc.mu.Lock()
	if fm := sc.meta[v.Path()]; fm != nil {
		ri.LoadedAt, ri.History = fm.loadedAt, slices.Clone(fm.history)
	}
	sc.mu.Unlock()
	return ri
}

// PushRunner validates wasm as hot reload does (the runtime's load: ABI checks, compile,
// instantiate, describe, smoke test with its sample) and refuses a runner name another of
// the tenant's files serves; only then it writes it as file into the tenant's directory,
// through a temporary file renamed over it, so that the watcher sees one complete file. It
// waits (bounded by ctx) for the registry to serve it. A rejection is a *runtime.LoadError;
// nothing is written then.
func (h *Host) PushRunner(ctx context.Context, tenant, file string, wasm []byte) (*RunnerInfo, error) {
	tr, err := h.tenant(tenant)
	if err != nil {
		return nil, err
	}
	if tr.dir == "" || len(tr.scopes) == 0 || tr.scopes[0].name != ScopeTenant {
		return nil, fmt.Errorf("tenant %q: %w", tenant, ErrNoRunnersDir)
	}
	if !isWasmBase(file) {
		return nil, &runtime.LoadError{Path: file, Stage: "read", Err: fmt.Errorf("%w: want a base file name ending .wasm", runtime.ErrNotWasm)}
	}
	sc := tr.scopes[0]
	path := filepath.Join(tr.dir, file)
	m, err := tr.rt.LoadBytes(ctx, path, wasm)
	if err != nil {
		var le *runtime.LoadError
		if !errors.As(err, &le) {
			err = &runtime.LoadError{Path: path, Stage: "load", Err: err}
		}
		return nil, err
	}
	name := m.Name()
	_ = m.Close(ctx)
	for _, v := range sc.reg.Current() {
		if v.Name() == name && v.Path() != path {
			return nil, &runtime.LoadError{Path: path, Stage: "register", Err: fmt.Errorf("%w: runner %q is served by %s", runtime.ErrDuplicateName, name, filepath.Base(v.Path()))}
		}
	}
	sum := sha256.Sum256(wasm)
	digest := hex.EncodeToString(sum[:])
	events, stop := sc.reg.Subscribe(64)
	defer stop()
	if err := writeAtomic(path, wasm); err != nil {
		return nil, fmt.Errorf("tenant %q: writing %s: %w", tenant, file, err)
	}
	for {
		for _, v := range sc.reg.Current() { // also when it was already serving these bytes
			if v.Path() == path && v.Digest() == digest {
				if ri := tr.info(sc, v); !ri.LoadedAt.IsZero() { // its event recorded too
					return &ri, nil
				}
			}
		}
		select {
		case ev, ok := <-events:
			if !ok {
				return nil, ErrDraining
			}
			if ev.Path == path && ev.Digest == digest && ev.Type == registry.EventRejected {
				return nil, &runtime.LoadError{Path: path, Stage: ev.Stage, Err: errors.New(ev.Reason)}
			}
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			return nil, fmt.Errorf("tenant %q: %s written, not yet serving: %w", tenant, file, context.Cause(ctx))
		}
	}
}

// writeAtomic writes data to a temporary file beside path (a name the registry ignores),
// syncs it and renames it over path.
func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}

// DeleteRunner removes the tenant's module file that serves runner name (store.ErrNotFound
// when none does; shared runners cannot be deleted by a tenant), and waits (bounded by ctx)
// until the registry has unregistered it.
func (h *Host) DeleteRunner(ctx context.Context, tenant, name string) error {
	tr, err := h.tenant(tenant)
	if err != nil {
		return err
	}
	if len(tr.scopes) == 0 || tr.scopes[0].name != ScopeTenant {
		return fmt.Errorf("runner %q: %w", name, store.ErrNotFound)
	}
	sc := tr.scopes[0]
	for _, v := range sc.reg.Current() {
		if v.Name() != name {
			continue
		}
		if err := os.Remove(v.Path()); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("runner %q: %w", name, err)
		}
		for {
			if !slices.ContainsFunc(sc.reg.Current(), func(c *registry.Version) bool { return c.Path() == v.Path() }) {
				return nil
			}
			select {
			case <-time.After(20 * time.Millisecond):
			case <-ctx.Done():
				return nil // removed from disk; the registry follows
			}
		}
	}
	return fmt.Errorf("runner %q: %w", name, store.ErrNotFound)
}

// Route is a dry run: each of the tenant's runners' verdict for spec, its own runners first,
// then the shared ones (asked only when none of its own was chosen), as solti-wasm route
// reports them.
func (h *Host) Route(ctx context.Context, tenant string, spec *abi.TaskSpec) ([]RouteVerdict, error) {
	tr, err := h.tenant(tenant)
	if err != nil {
		return nil, err
	}
	req, err := router.NewRequest(spec)
	if err != nil {
		return nil, err
	}
	var out []RouteVerdict
	chosen := false
	for _, sc := range tr.scopes {
		if chosen { // a runner of an earlier scope took it: these were not asked
			for _, r := range sc.reg.Router().Runners() {
				out = append(out, RouteVerdict{Runner: r.Name(), Verdict: string(router.VerdictNotAsked)})
			}
			continue
		}
		for _, d := range sc.reg.Router().Explain(ctx, req) {
			out = append(out, RouteVerdict{Runner: d.Runner, Verdict: string(d.Verdict), Detail: d.Detail})
			chosen = chosen || d.Verdict == router.VerdictChosen
		}
	}
	return out, nil
}

// RunnerEvents streams the tenant's registry events (its own and its shared registry's)
// until ctx ends or the host closes. A subscriber that does not keep up misses events.
func (h *Host) RunnerEvents(ctx context.Context, tenant string) (<-chan RunnerEvent, error) {
	tr, err := h.tenant(tenant)
	if err != nil {
		return nil, err
	}
	in := make(chan RunnerEvent, 64)
	tr.mu.Lock()
	id := tr.nextSub
	tr.nextSub++
	tr.subs[id] = in
	tr.mu.Unlock()
	out := make(chan RunnerEvent)
	h.bg.Add(1)
	go func() {
		defer h.bg.Done()
		defer close(out)
		defer func() {
			tr.mu.Lock()
			if _, ok := tr.subs[id]; ok {
				delete(tr.subs, id)
			}
			tr.mu.Unlock()
		}()
		for {
			select {
			case ev, ok := <-in:
				if !ok {
					return
				}
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				case <-h.quit:
					return
				}
			case <-ctx.Done():
				return
			case <-h.quit:
				return
			}
		}
	}()
	return out, nil
}

// LoadFailures lists the tenant's module files that failed to load and serve nothing, its
// own first, then the shared ones: each *runtime.LoadError names the file, the stage and
// the cause.
func (h *Host) LoadFailures(tenant string) ([]*runtime.LoadError, error) {
	tr, err := h.tenant(tenant)
	if err != nil {
		return nil, err
	}
	var out []*runtime.LoadError
	for _, sc := range tr.scopes {
		out = append(out, sc.reg.Failed()...)
	}
	return out, nil
}
