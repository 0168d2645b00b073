package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/host"
	"github.com/solti-wasm/solti-wasm/store"
)

// RunnerList is the body of GET runners.
type RunnerList struct {
	Runners []host.RunnerInfo `json:"runners"`
}

// RouteResult is the body of POST routes: each runner's verdict, in routing order.
type RouteResult struct {
	Verdicts []host.RouteVerdict `json:"verdicts"`
}

func runnerRef(name string, err error) error {
	if err == nil {
		return nil
	}
	return &refErr{err: err, ref: objectRef{group: runnerGroup, kind: "runners", name: name}}
}

func (a *api) listRunners(w http.ResponseWriter, r *http.Request, c *call) error {
	rs, err := a.b.Runners(r.Context(), c.tenant)
	if err != nil {
		return err
	}
	if rs == nil {
		rs = []host.RunnerInfo{}
	}
	writeJSON(w, http.StatusOK, RunnerList{Runners: rs})
	return nil
}

func (a *api) getRunner(w http.ResponseWriter, r *http.Request, c *call) error {
	rs, err := a.b.Runners(r.Context(), c.tenant)
	if err != nil {
		return err
	}
	// The tenant's own runner of a name shadows a shared one: Runners lists its own first.
	for i := range rs {
		if rs[i].Name == c.name {
			writeJSON(w, http.StatusOK, rs[i])
			return nil
		}
	}
	return runnerRef(c.name, store.ErrNotFound)
}

// validModuleFile reports whether f can name a module file: a base name of
// [A-Za-z0-9._-] ending .wasm, not hidden, at most 255 bytes.
func validModuleFile(f string) bool {
	base, ok := strings.CutSuffix(f, ".wasm")
	if !ok || base == "" || len(f) > 255 || f[0] == '.' || f[0] == '-' {
		return false
	}
	for i := 0; i < len(base); i++ {
		c := base[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// pushRunner uploads a module: POST runners?file=NAME.wasm with Content-Type
// application/wasm and the module as the body (at most MaxModuleBytes: 413). The Backend
// validates it as hot reload would, smoke test included, before it writes the file: a
// rejection is 422 Invalid naming file, stage and cause; success is 201 with the runner.
func (a *api) pushRunner(w http.ResponseWriter, r *http.Request, c *call) error {
	file := c.query.Get("file")
	if file == "" {
		return badRequest("missing query parameter file: the module's file name, NAME.wasm")
	}
	if !validModuleFile(file) {
		return badRequest("file %q: want a base name of [A-Za-z0-9._-] ending .wasm, not starting with '.' or '-', at most 255 bytes", file)
	}
	body, err := readBody(w, r, "application/wasm", a.opt.MaxModuleBytes)
	if err != nil {
		return err
	}
	info, err := a.b.PushRunner(r.Context(), c.tenant, file, body)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, info)
	return nil
}

func (a *api) deleteRunner(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := a.b.DeleteRunner(r.Context(), c.tenant, c.name); err != nil {
		return runnerRef(c.name, err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// route is the dry-run route: the body is anything abi.ParseTaskSpec reads (a Task
// manifest, or a TaskSpec of either generation).
func (a *api) route(w http.ResponseWriter, r *http.Request, c *call) error {
	body, err := readBody(w, r, "application/json", a.opt.MaxBodyBytes)
	if err != nil {
		return err
	}
	spec, err := abi.ParseTaskSpec(body)
	if err != nil {
		return err
	}
	vs, err := a.b.Route(r.Context(), c.tenant, spec)
	if err != nil {
		return err
	}
	if vs == nil {
		vs = []host.RouteVerdict{}
	}
	writeJSON(w, http.StatusOK, RouteResult{Verdicts: vs})
	return nil
}

// runnerEvents streams the tenant's registry events as NDJSON (one host.RunnerEvent a line)
// until the client goes, with the watch's keepalive.
func (a *api) runnerEvents(w http.ResponseWriter, r *http.Request, c *call) error {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	events, err := a.b.RunnerEvents(ctx, c.tenant)
	if err != nil {
		return err
	}
	s, err := a.startStream(w, "application/x-ndjson")
	if err != nil {
		return err
	}
	return pump(ctx, s, a.opt.WatchKeepalive, "\n", events, func(ev host.RunnerEvent) error {
		b, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		return s.write(append(b, '\n'))
	})
}
