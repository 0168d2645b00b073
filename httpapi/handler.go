package httpapi

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/solti-wasm/solti-wasm/runtime"
)

// The API's roots.
const (
	// TasksPath is solti's task collection (G3).
	TasksPath = "/apis/solti.io/v1/tasks"
	// RunnersGroupPath is the root of this project's own API group: runners, routes, events.
	RunnersGroupPath = "/apis/wasm.solti.dev/v1alpha1"
)

// api is the handler New returns.
type api struct {
	b           Backend
	auth        Authenticator
	opt         Options
	log         *slog.Logger
	continueKey []byte
	routes      []route
}

// call is what a handler gets beside the request: the authenticated tenant, the {name}
// path segment and the query, already checked against the operation's parameters.
type call struct {
	tenant string
	name   string
	query  url.Values
}

// op is one method of a route: its handler and the query parameters it accepts.
type op struct {
	method string
	params []string
	h      func(w http.ResponseWriter, r *http.Request, c *call) error
}

// route is a path pattern ("{name}" matches one segment) and its operations.
type route struct {
	segs   []string
	public bool // no token needed
	ops    []op
}

// New returns the API handler over b, authenticating /apis requests with a (see the package
// doc for the routes). Options' zero fields take the defaults.
func New(b Backend, a Authenticator, opt Options) http.Handler {
	if opt.MaxBodyBytes <= 0 {
		opt.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opt.MaxModuleBytes <= 0 {
		opt.MaxModuleBytes = runtime.DefaultMaxModuleBytes
	}
	if opt.WatchKeepalive <= 0 {
		opt.WatchKeepalive = DefaultWatchKeepalive
	}
	if opt.WriteTimeout <= 0 {
		opt.WriteTimeout = DefaultWriteTimeout
	}
	h := &api{b: b, auth: a, opt: opt, log: opt.Logger, continueKey: opt.ContinueKey}
	if len(h.continueKey) == 0 {
		h.continueKey = make([]byte, 32)
		_, _ = rand.Read(h.continueKey) // never fails (crypto/rand's contract since Go 1.24)
	}
	h.routes = h.table()
	return h
}

func (a *api) table() []route {
	r := func(path string, public bool, ops ...op) route {
		return route{segs: strings.Split(strings.Trim(path, "/"), "/"), public: public, ops: ops}
	}
	listParams := []string{"slot", "phase", "labelSelector", "limit", "continue", "watch", "resourceVersion", "timeoutSeconds"}
	metrics := r("/metrics", a.opt.PublicMetrics, op{http.MethodGet, nil, a.metrics})
	return []route{
		r(TasksPath, false,
			op{http.MethodGet, listParams, a.listTasks},
			op{http.MethodPost, nil, a.createTask}),
		r(TasksPath+"/{name}", false,
			op{http.MethodGet, nil, a.getTask},
			op{http.MethodPut, nil, a.applyTask},
			op{http.MethodDelete, []string{"uid", "resourceVersion"}, a.deleteTask}),
		r(TasksPath+"/{name}/runs", false, op{http.MethodGet, nil, a.taskRuns}),
		r(TasksPath+"/{name}/logs", false, op{http.MethodGet, nil, a.taskLogs}),
		r(RunnersGroupPath+"/runners", false,
			op{http.MethodGet, nil, a.listRunners},
			op{http.MethodPost, []string{"file"}, a.pushRunner}),
		r(RunnersGroupPath+"/runners/{name}", false,
			op{http.MethodGet, nil, a.getRunner},
			op{http.MethodDelete, nil, a.deleteRunner}),
		r(RunnersGroupPath+"/routes", false, op{http.MethodPost, nil, a.route}),
		r(RunnersGroupPath+"/events", false, op{http.MethodGet, nil, a.runnerEvents}),
		r("/healthz", true, op{http.MethodGet, nil, a.healthz}),
		r("/readyz", true, op{http.MethodGet, nil, a.readyz}),
		r("/openapi.json", true, op{http.MethodGet, nil, a.openapi}),
		metrics,
	}
}

// match finds the route of path, and its {name} segment.
func (a *api) match(path string) (*route, string) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	if strings.HasSuffix(path, "/") && path != "/" {
		return nil, "" // one spelling per resource: no trailing slash
	}
	for i := range a.routes {
		rt := &a.routes[i]
		if len(rt.segs) != len(segs) {
			continue
		}
		name, ok := "", true
		for j, s := range rt.segs {
			if s == "{name}" {
				if segs[j] == "" {
					ok = false
					break
				}
				name = segs[j]
			} else if s != segs[j] {
				ok = false
				break
			}
		}
		if ok {
			return rt, name
		}
	}
	return nil, ""
}

// ServeHTTP routes, authenticates, checks the method and the query, and runs the handler; an
// error it returns before writing becomes a Status.
func (a *api) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	w := &recorder{ResponseWriter: rw, timeout: a.opt.WriteTimeout}
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			if a.log != nil {
				a.log.Error("handler panic", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(p))
			}
			if !w.wrote {
				a.writeError(w, r, apiError(http.StatusInternalServerError, ReasonInternalError, "internal error"), objectRef{})
			}
		}
	}()
	rt, name := a.match(r.URL.Path)
	if rt == nil {
		a.writeError(w, r, apiError(http.StatusNotFound, ReasonNotFound, "no resource at %s", r.URL.Path), objectRef{})
		return
	}
	c := &call{name: name}
	if !rt.public {
		tenant, err := a.authenticate(r)
		if err != nil {
			a.writeError(w, r, err, objectRef{})
			return
		}
		c.tenant = tenant
	}
	var o *op
	allow := make([]string, 0, len(rt.ops))
	for i := range rt.ops {
		allow = append(allow, rt.ops[i].method)
		if rt.ops[i].method == r.Method {
			o = &rt.ops[i]
		}
	}
	if o == nil {
		e := apiError(http.StatusMethodNotAllowed, ReasonMethodNotAllowed, "method %s is not allowed on %s (allowed: %s)", r.Method, r.URL.Path, strings.Join(allow, ", "))
		e.Allow = strings.Join(allow, ", ")
		a.writeError(w, r, e, objectRef{})
		return
	}
	q, err := checkQuery(r.URL.RawQuery, o.params)
	if err != nil {
		a.writeError(w, r, err, objectRef{})
		return
	}
	c.query = q
	if err := o.h(w, r, c); err != nil {
		if w.wrote {
			// A stream that already began cannot change its status: the error ends it.
			if a.log != nil && r.Context().Err() == nil {
				a.log.Warn("stream ended by error", "path", r.URL.Path, "error", err.Error())
			}
			return
		}
		a.writeError(w, r, err, a.refOf(r.URL.Path, name))
	}
}

// refOf names the object of a request path, for error details.
func (a *api) refOf(path, name string) objectRef {
	if name == "" {
		return objectRef{}
	}
	if strings.HasPrefix(path, TasksPath+"/") {
		return objectRef{group: taskGroup, kind: "tasks", name: name}
	}
	return objectRef{group: runnerGroup, kind: "runners", name: name}
}

// checkQuery parses the query and refuses parameters the operation does not take, naming
// them, and malformed or repeated ones (only phase repeats).
func checkQuery(raw string, allowed []string) (url.Values, error) {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return nil, badRequest("malformed query string: %v", err)
	}
	var unknown []string
	for k, vs := range q {
		if !slices.Contains(allowed, k) {
			unknown = append(unknown, k)
			continue
		}
		if len(vs) > 1 && k != "phase" {
			return nil, badRequest("query parameter %q given %d times; it takes one value", k, len(vs))
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		want := "none"
		if len(allowed) > 0 {
			want = strings.Join(allowed, ", ")
		}
		return nil, badRequest("unknown query parameter(s) %s (this operation takes: %s)", strings.Join(unknown, ", "), want)
	}
	return q, nil
}

// recorder remembers whether the response began, and starts the write deadline when it
// does: reading a large upload and validating it may take longer than writing the answer
// should. Unwrap keeps http.ResponseController working through it.
type recorder struct {
	http.ResponseWriter
	timeout time.Duration
	wrote   bool
}

func (w *recorder) begin() {
	if !w.wrote {
		w.wrote = true
		_ = http.NewResponseController(w.ResponseWriter).SetWriteDeadline(time.Now().Add(w.timeout))
	}
}

func (w *recorder) WriteHeader(code int) {
	w.begin()
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(p []byte) (int, error) {
	w.begin()
	return w.ResponseWriter.Write(p)
}

func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// writeJSON sends v as the JSON body of a code response.
func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only a type this package defines is marshalled here: a failure is a bug.
		code = http.StatusInternalServerError
		b, _ = json.Marshal((&Error{Code: code, Reason: ReasonInternalError, Message: "encoding the response: " + err.Error()}).body())
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}
