package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/host"
	"github.com/solti-wasm/solti-wasm/store"
)

// refErr attaches the object a Backend error is about, for the Status's message and details.
type refErr struct {
	err error
	ref objectRef
}

func (e *refErr) Error() string { return e.err.Error() }
func (e *refErr) Unwrap() error { return e.err }

func taskRef(name string, err error) error {
	if err == nil {
		return nil
	}
	return &refErr{err: err, ref: objectRef{group: taskGroup, kind: "tasks", name: name}}
}

// parseManifest reads a Task manifest strictly (abi.ParseTask: duplicate keys, invalid UTF-8,
// nesting deeper than abi.MaxDepth and every field rule refused, naming the JSON path) and
// returns it with its spec object as sent (compacted).
func parseManifest(body []byte) (*abi.Task, json.RawMessage, error) {
	m, err := abi.ParseTask(body)
	if err != nil {
		return nil, nil, err
	}
	// abi refused duplicate and unknown keys, so "spec" is the one member of that name.
	var doc struct {
		Spec json.RawMessage `json:"spec"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, nil, badRequest("reading spec: %v", err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, doc.Spec); err != nil {
		return nil, nil, badRequest("reading spec: %v", err)
	}
	return m, buf.Bytes(), nil
}

// CreateAdmitter is a Backend that can charge a create to its tenant's limits before the
// body is read (see host.Host.AdmitCreate): a flood past them is refused at the price of its
// headers. The returned context goes to CreateTask.
type CreateAdmitter interface {
	AdmitCreate(ctx context.Context, tenant string) (context.Context, error)
}

// maxTarpit bounds how long a refused create waits before its 429 is sent.
const maxTarpit = time.Second

// tarpit holds a create refused for its tenant's rate until its Retry-After (at most
// maxTarpit) before the 429 goes out: a client that floods over its connections is then
// slowed to about the rate it was granted, instead of spending, on refusals, the CPU that
// other tenants' requests need. Waiting costs a parked goroutine; it ends with the request.
func tarpit(ctx context.Context, err error) {
	var qe *host.QuotaError
	if !errors.As(err, &qe) || qe.RetryAfter <= 0 {
		return
	}
	t := time.NewTimer(min(qe.RetryAfter, maxTarpit))
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func (a *api) createTask(w http.ResponseWriter, r *http.Request, c *call) error {
	if ad, ok := a.b.(CreateAdmitter); ok {
		ctx, err := ad.AdmitCreate(r.Context(), c.tenant)
		if err != nil {
			tarpit(r.Context(), err)
			return err
		}
		r = r.WithContext(ctx)
	}
	body, err := readBody(w, r, "application/json", a.opt.MaxBodyBytes)
	if err != nil {
		return err
	}
	m, spec, err := parseManifest(body)
	if err != nil {
		return err
	}
	if m.Metadata.ResourceVersion != "" || m.Metadata.UID != "" {
		return badRequest("metadata.uid and metadata.resourceVersion must not be set on create (the server assigns them; PUT %s/%s applies a manifest read from the server)", TasksPath, m.Metadata.Name)
	}
	t, err := a.b.CreateTask(r.Context(), c.tenant, m, spec)
	if err != nil {
		return taskRef(m.Metadata.Name, err)
	}
	writeJSON(w, http.StatusCreated, taskOf(t))
	return nil
}

func (a *api) applyTask(w http.ResponseWriter, r *http.Request, c *call) error {
	body, err := readBody(w, r, "application/json", a.opt.MaxBodyBytes)
	if err != nil {
		return err
	}
	m, spec, err := parseManifest(body)
	if err != nil {
		return err
	}
	if m.Metadata.Name != c.name {
		return badRequest("metadata.name %q does not match the name in the path, %q", m.Metadata.Name, c.name)
	}
	rv, err := parseRevision("metadata.resourceVersion", m.Metadata.ResourceVersion)
	if err != nil {
		return err
	}
	t, created, err := a.b.ApplyTask(r.Context(), c.tenant, m, spec, m.Metadata.UID, rv)
	if err != nil {
		return taskRef(c.name, err)
	}
	code := http.StatusOK
	if created {
		code = http.StatusCreated
	}
	writeJSON(w, code, taskOf(t))
	return nil
}

func (a *api) getTask(w http.ResponseWriter, r *http.Request, c *call) error {
	t, err := a.b.GetTask(r.Context(), store.Key{Tenant: c.tenant, Name: c.name})
	if err != nil {
		return taskRef(c.name, err)
	}
	writeJSON(w, http.StatusOK, taskOf(t))
	return nil
}

func (a *api) deleteTask(w http.ResponseWriter, r *http.Request, c *call) error {
	rv, err := parseRevision("resourceVersion", c.query.Get("resourceVersion"))
	if err != nil {
		return err
	}
	if err := a.b.DeleteTask(r.Context(), store.Key{Tenant: c.tenant, Name: c.name}, c.query.Get("uid"), rv); err != nil {
		return taskRef(c.name, err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) taskRuns(w http.ResponseWriter, r *http.Request, c *call) error {
	runs, err := a.b.TaskRuns(r.Context(), store.Key{Tenant: c.tenant, Name: c.name})
	if err != nil {
		return taskRef(c.name, err)
	}
	out := RunList{Runs: make([]*Run, 0, len(runs))}
	for _, run := range runs {
		out.Runs = append(out.Runs, runOf(run))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// taskPhases are the phases a task can be in: what the phase filter accepts.
var taskPhases = []store.Phase{store.PhasePending, store.PhaseRunning, store.PhaseSucceeded, store.PhaseFailed,
	store.PhaseTimeout, store.PhaseCanceled, store.PhaseExhausted}

// taskFilter is a list's or watch's selection: slot, phases, labels.
type taskFilter struct {
	slot   string
	phases []store.Phase
	sel    *abi.RunnerSelector
	// canon is the filter's canonical text, which a continue token is bound to.
	canon string
}

func (f *taskFilter) matches(t *store.Task) bool {
	if f.slot != "" && slotOf(t) != f.slot {
		return false
	}
	if len(f.phases) > 0 && !slices.Contains(f.phases, phaseOf(t.Status.Phase)) {
		return false
	}
	return f.sel == nil || f.sel.Matches(t.Labels)
}

// slotOf reads a stored task's slot from its spec, for filtering a watch (a list filters in
// the store).
func slotOf(t *store.Task) string {
	var s struct {
		Slot string `json:"slot"`
	}
	_ = json.Unmarshal(t.Spec, &s) // a stored spec was validated when written
	return s.Slot
}

func parseFilter(q map[string][]string) (*taskFilter, error) {
	f := &taskFilter{}
	if vs := q["slot"]; len(vs) > 0 {
		f.slot = vs[0]
		if !abi.ValidSlot(f.slot) {
			return nil, badRequest("slot %q: want 1-64 chars of [A-Za-z0-9._-], not \".\" or \"..\"", f.slot)
		}
	}
	for _, v := range q["phase"] {
		for _, p := range strings.Split(v, ",") {
			ph := store.Phase(strings.TrimSpace(p))
			if !slices.Contains(taskPhases, ph) {
				names := make([]string, len(taskPhases))
				for i, p := range taskPhases {
					names[i] = string(p)
				}
				return nil, badRequest("phase %q: want one of %s", ph, strings.Join(names, ", "))
			}
			if !slices.Contains(f.phases, ph) {
				f.phases = append(f.phases, ph)
			}
		}
	}
	slices.Sort(f.phases)
	var sel string
	if vs := q["labelSelector"]; len(vs) > 0 {
		sel = vs[0]
		s, err := ParseLabelSelector(sel)
		if err != nil {
			return nil, badRequest("%v", err)
		}
		if len(s.MatchExpressions) > 0 {
			f.sel = s
		}
	}
	ph := make([]string, len(f.phases))
	for i, p := range f.phases {
		ph[i] = string(p)
	}
	f.canon = f.slot + "\x00" + strings.Join(ph, ",") + "\x00" + sel
	return f, nil
}

func (a *api) listTasks(w http.ResponseWriter, r *http.Request, c *call) error {
	q := c.query
	f, err := parseFilter(q)
	if err != nil {
		return err
	}
	switch v := q.Get("watch"); v {
	case "true", "1":
		if q.Has("limit") || q.Has("continue") {
			return badRequest("limit and continue page a list; a watch (watch=true) takes neither")
		}
		return a.watchTasks(w, r, c, f)
	case "", "false", "0":
	default:
		return badRequest("watch %q: want true or false", v)
	}
	if q.Has("resourceVersion") || q.Has("timeoutSeconds") {
		return badRequest("resourceVersion and timeoutSeconds apply to a watch (watch=true); a list reads the latest state")
	}
	limit := DefaultListLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		switch {
		case err != nil || n < 0:
			return badRequest("limit %q: want a whole number from 0 to %d", v, MaxListLimit)
		case n > MaxListLimit:
			return badRequest("limit %d is over the maximum of %d", n, MaxListLimit)
		case n > 0:
			limit = n
		}
	}
	opt := store.ListOptions{Slot: f.slot, Phases: f.phases, Limit: limit}
	if f.sel != nil {
		opt.Match = f.sel.Matches
	}
	if v := q.Get("continue"); v != "" {
		tok, err := a.parseContinue(c.tenant, f.canon, v)
		if err != nil {
			return err
		}
		opt.After, opt.AtRevision = tok.After, tok.Rev
	}
	page, err := a.b.ListTasks(r.Context(), c.tenant, opt)
	if err != nil {
		return err
	}
	rev := page.Revision
	if opt.AtRevision != 0 {
		rev = opt.AtRevision // every page of one listing reports the revision it began at
	}
	out := TaskList{APIVersion: abi.BuiltinAPIVersion, Kind: "TaskList", Metadata: ListMeta{ResourceVersion: revText(rev)},
		Items: make([]*Task, 0, len(page.Tasks))}
	for _, t := range page.Tasks {
		out.Items = append(out.Items, taskOf(t))
	}
	if page.Next != "" {
		out.Metadata.Continue = a.signContinue(c.tenant, f.canon, continueToken{After: page.Next, Rev: rev})
		if page.Remaining >= 0 {
			n := int64(page.Remaining)
			out.Metadata.RemainingItemCount = &n
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
