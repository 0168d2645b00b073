package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

func taskPath(name string) string { return TasksPath + "/" + url.PathEscape(name) }

// Create creates the task of a manifest (JSON: {apiVersion, kind, metadata, spec}). A taken
// name is a *StatusError matching ErrAlreadyExists.
func (c *Client) Create(ctx context.Context, manifest []byte) (*Task, error) {
	var t Task
	if _, err := c.do(ctx, request{method: http.MethodPost, path: TasksPath, body: manifest, contentType: "application/json"}, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// Apply creates or replaces the task name with the manifest (whose metadata.name must be
// name); a changed spec starts a new generation. created reports a new task. A manifest's
// metadata.uid and resourceVersion, when set, are preconditions (ErrConflict).
func (c *Client) Apply(ctx context.Context, name string, manifest []byte) (t *Task, created bool, err error) {
	t = new(Task)
	code, err := c.do(ctx, request{method: http.MethodPut, path: taskPath(name), body: manifest, contentType: "application/json"}, t)
	if err != nil {
		return nil, false, err
	}
	return t, code == http.StatusCreated, nil
}

// Get returns one task (ErrNotFound when there is none of that name).
func (c *Client) Get(ctx context.Context, name string) (*Task, error) {
	var t Task
	if _, err := c.do(ctx, request{method: http.MethodGet, path: taskPath(name)}, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// ListOptions select and page a listing; the zero value lists the first page of everything.
type ListOptions struct {
	Slot   string
	Phases []string
	// LabelSelector is Kubernetes syntax: a=b,c!=d,e in (f,g),h,!i.
	LabelSelector string
	// Limit is the page size (0: the server's, 100; at most 1000).
	Limit int
	// Continue is the previous page's Metadata.Continue.
	Continue string
}

func (o ListOptions) query() url.Values {
	q := url.Values{}
	if o.Slot != "" {
		q.Set("slot", o.Slot)
	}
	for _, p := range o.Phases {
		q.Add("phase", p)
	}
	if o.LabelSelector != "" {
		q.Set("labelSelector", o.LabelSelector)
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	if o.Continue != "" {
		q.Set("continue", o.Continue)
	}
	return q
}

// List returns one page of the tenant's tasks, in name order. An expired Continue is a
// *StatusError matching ErrGone: list again from the start.
func (c *Client) List(ctx context.Context, opt ListOptions) (*TaskList, error) {
	var l TaskList
	if _, err := c.do(ctx, request{method: http.MethodGet, path: TasksPath, query: opt.query()}, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// ListAll follows the continue tokens from opt and returns every matching task, and the
// first page's resourceVersion (where a watch that follows the listing starts).
func (c *Client) ListAll(ctx context.Context, opt ListOptions) ([]Task, string, error) {
	var all []Task
	rv := ""
	for {
		l, err := c.List(ctx, opt)
		if err != nil {
			return nil, "", err
		}
		if rv == "" {
			rv = l.Metadata.ResourceVersion
		}
		all = append(all, l.Items...)
		if l.Metadata.Continue == "" {
			return all, rv, nil
		}
		opt.Continue = l.Metadata.Continue
	}
}

// Runs returns a task's runs, oldest first.
func (c *Client) Runs(ctx context.Context, name string) ([]Run, error) {
	var out struct {
		Runs []Run `json:"runs"`
	}
	if _, err := c.do(ctx, request{method: http.MethodGet, path: taskPath(name) + "/runs"}, &out); err != nil {
		return nil, err
	}
	return out.Runs, nil
}

// Preconditions make a delete conditional: it happens only if the task's uid and
// resourceVersion are these ("": any); else ErrConflict.
type Preconditions struct {
	UID             string
	ResourceVersion string
}

// Delete removes a task, canceling its running attempt.
func (c *Client) Delete(ctx context.Context, name string, pre Preconditions) error {
	q := url.Values{}
	if pre.UID != "" {
		q.Set("uid", pre.UID)
	}
	if pre.ResourceVersion != "" {
		q.Set("resourceVersion", pre.ResourceVersion)
	}
	_, err := c.do(ctx, request{method: http.MethodDelete, path: taskPath(name), query: q}, nil)
	return err
}

// Watch streams the tenant's task events after resourceVersion ("": from now). A start the
// server no longer holds ends the stream with a *StatusError matching ErrGone.
func (c *Client) Watch(ctx context.Context, resourceVersion string) (*Stream[WatchEvent], error) {
	q := url.Values{"watch": {"true"}}
	if resourceVersion != "" {
		q.Set("resourceVersion", resourceVersion)
	}
	resp, err := c.send(ctx, request{method: http.MethodGet, path: TasksPath, query: q})
	if err != nil {
		return nil, err
	}
	return newStream(resp, decodeWatchEvent), nil
}
