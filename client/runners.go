package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"
)

const (
	runnersPath = RunnersBase + "/runners"
	routesPath  = RunnersBase + "/routes"
	eventsPath  = RunnersBase + "/events"
)

// Runners lists the runners the tenant routes to: its own, then the shared ones.
func (c *Client) Runners(ctx context.Context) ([]Runner, error) {
	var out struct {
		Runners []Runner `json:"runners"`
	}
	if _, err := c.do(ctx, request{method: http.MethodGet, path: runnersPath}, &out); err != nil {
		return nil, err
	}
	return out.Runners, nil
}

// Runner returns one runner (ErrNotFound).
func (c *Client) Runner(ctx context.Context, name string) (*Runner, error) {
	var r Runner
	if _, err := c.do(ctx, request{method: http.MethodGet, path: runnersPath + "/" + url.PathEscape(name)}, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// Push uploads a runner module as file (a base name ending .wasm) into the tenant's runners
// directory. The server validates it as hot reload does, smoke test included, before it
// writes it: a rejection is a *StatusError whose Message names the stage and the cause.
func (c *Client) Push(ctx context.Context, file string, wasm []byte) (*Runner, error) {
	if file == "" || path.Base(file) != file || strings.ContainsRune(file, '\\') || !strings.HasSuffix(file, ".wasm") {
		return nil, fmt.Errorf("push %q: want a base file name ending .wasm", file)
	}
	var r Runner
	q := url.Values{"file": {file}}
	if _, err := c.do(ctx, request{method: http.MethodPost, path: runnersPath, query: q, body: wasm, contentType: "application/wasm"}, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// DeleteRunner removes the tenant's module of that runner name (ErrNotFound).
func (c *Client) DeleteRunner(ctx context.Context, name string) error {
	_, err := c.do(ctx, request{method: http.MethodDelete, path: runnersPath + "/" + url.PathEscape(name)}, nil)
	return err
}

// Route is a dry run: each runner's verdict for the task (a manifest or a bare TaskSpec,
// JSON), in routing order. Nothing is built or run.
func (c *Client) Route(ctx context.Context, task []byte) ([]RouteVerdict, error) {
	var out struct {
		Verdicts []RouteVerdict `json:"verdicts"`
	}
	if _, err := c.do(ctx, request{method: http.MethodPost, path: routesPath, body: task, contentType: "application/json"}, &out); err != nil {
		return nil, err
	}
	return out.Verdicts, nil
}

// Events streams the tenant's registry events (modules loaded, swapped, rejected, rolled
// back, removed) until ctx ends or the stream is closed.
func (c *Client) Events(ctx context.Context) (*Stream[RunnerEvent], error) {
	resp, err := c.send(ctx, request{method: http.MethodGet, path: eventsPath})
	if err != nil {
		return nil, err
	}
	return newStream(resp, decodeJSON[RunnerEvent]), nil
}
