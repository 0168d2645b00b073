// Package client is a Go client of solti-wasm's serve API: solti's task resources under
// /apis/solti.io/v1 (create, apply, get, list, watch, runs, logs, delete) and this project's
// runner resources under /apis/wasm.solti.dev/v1alpha1 (runners, push, delete, route, events).
//
// Every method takes a context; a failed request is a *StatusError (errors.As), which also
// matches this package's sentinels (errors.Is(err, client.ErrNotFound)). Streams (Watch,
// Events, Logs) are read with Next until it returns io.EOF, and closed with Close.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The API's path prefixes.
const (
	TasksPath   = "/apis/solti.io/v1/tasks"
	RunnersBase = "/apis/wasm.solti.dev/v1alpha1"
)

// maxErrorBody bounds how much of an error response is read.
const maxErrorBody = 64 << 10

// Options configure a Client.
type Options struct {
	// Token is the bearer token sent with every request; "" sends none.
	Token string
	// HTTPClient makes the requests; nil: a client without a total timeout (streams are
	// long-lived), whose transport is http.DefaultTransport's.
	HTTPClient *http.Client
	// UserAgent is sent as User-Agent; "" sends "solti-wasm-client".
	UserAgent string
}

// Client talks to one server. It is safe for concurrent use.
type Client struct {
	base  *url.URL
	token string
	hc    *http.Client
	ua    string
}

// New returns a client of the server at base, an http or https URL (a path prefix is kept).
func New(base string, opt Options) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("server %q: want an http:// or https:// URL with a host, such as http://127.0.0.1:7070", base)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("server %q: a query or fragment has no meaning here", base)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	if strings.ContainsAny(opt.Token, "\r\n") {
		return nil, errors.New("token: contains a line break")
	}
	hc := opt.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	ua := opt.UserAgent
	if ua == "" {
		ua = "solti-wasm-client"
	}
	return &Client{base: u, token: opt.Token, hc: hc, ua: ua}, nil
}

// Server is the server's base URL.
func (c *Client) Server() string { return c.base.String() }

// request is one API call.
type request struct {
	method, path string
	query        url.Values
	body         []byte
	contentType  string
	header       http.Header
}

func (c *Client) url(path string, q url.Values) string {
	u := *c.base
	u.Path += path
	u.RawPath = ""
	if len(q) > 0 {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// send makes the request and returns the response of a 2xx status; any other status is
// read into a *StatusError.
func (c *Client) send(ctx context.Context, r request) (*http.Response, error) {
	target := c.url(r.path, r.query)
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, target, body)
	if err != nil {
		return nil, err
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	req.Header.Set("User-Agent", c.ua)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, readStatus(resp, r.method, target)
}

// readStatus makes the *StatusError of a non-2xx response.
func readStatus(resp *http.Response, method, target string) error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := &StatusError{Code: resp.StatusCode, Method: method, URL: target}
	var st status
	if json.Unmarshal(data, &st) == nil && st.Kind == "Status" {
		e.Reason, e.Message = st.Reason, st.Message
		if st.Code != 0 {
			e.Code = st.Code
		}
	} else {
		e.Reason = strings.ReplaceAll(http.StatusText(resp.StatusCode), " ", "")
		e.Message = strings.TrimSpace(string(data))
		if len(e.Message) > 512 {
			e.Message = e.Message[:512] + "..."
		}
	}
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		if s, err := strconv.Atoi(ra); err == nil && s >= 0 {
			e.RetryAfter = time.Duration(s) * time.Second
		}
	}
	return e
}

// do makes the request and decodes a JSON reply into out (nil: the body is discarded). It
// returns the HTTP status code.
func (c *Client) do(ctx context.Context, r request, out any) (int, error) {
	resp, err := c.send(ctx, r)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return resp.StatusCode, fmt.Errorf("%s %s: decoding the reply: %w", r.method, c.url(r.path, r.query), err)
	}
	return resp.StatusCode, nil
}

// Healthz asks /healthz: nil while the server serves.
func (c *Client) Healthz(ctx context.Context) error {
	_, err := c.do(ctx, request{method: http.MethodGet, path: "/healthz"}, nil)
	return err
}

// Ready asks /readyz: nil once the server's store is open and its runners loaded; a
// *StatusError (ErrUnavailable) before, or while it shuts down.
func (c *Client) Ready(ctx context.Context) error {
	_, err := c.do(ctx, request{method: http.MethodGet, path: "/readyz"}, nil)
	return err
}
