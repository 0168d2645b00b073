package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/solti-wasm/solti-wasm/host"
	"github.com/solti-wasm/solti-wasm/httpapi"
	"github.com/solti-wasm/solti-wasm/store"
)

// TestAuthMatrix: every /apis endpoint x (own object, other tenant's object, no token, wrong
// token, another scheme).
func TestAuthMatrix(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Options{})
	e.do("POST", tasks, tokenA, jsonCT, manifest("mine", "s", nil))
	e.f.setRunners("a", []host.RunnerInfo{{Name: "own", Scope: "tenant", File: "own.wasm", Kinds: []string{"echo"}, LoadedAt: epoch}})
	e.f.appendLog(store.Key{Tenant: "a", Name: "mine"}, host.LogEvent{}, true)
	type ep struct {
		method, path, ct string
		body             []byte
		own              int // status for the owner; the other tenant gets otherTenant
		otherTenant      int
	}
	eps := []ep{
		{"GET", tasks, "", nil, 200, 200},
		{"POST", tasks, jsonCT, manifest("fresh", "s", nil), 201, 201},
		{"GET", tasks + "/mine", "", nil, 200, 404},
		{"GET", tasks + "/mine/runs", "", nil, 200, 404},
		{"GET", tasks + "/mine/logs", "", nil, 200, 404},
		{"GET", runners, "", nil, 200, 200},
		{"GET", runners + "/own", "", nil, 200, 404},
		{"POST", httpapi.RunnersGroupPath + "/routes", jsonCT, manifest("r", "s", nil), 200, 200},
		{"DELETE", runners + "/own", "", nil, 204, 404},
		{"PUT", tasks + "/mine", jsonCT, manifest("mine", "s", nil), 200, 201}, // b creates its own "mine"
		{"DELETE", tasks + "/mine", "", nil, 204, 204},                         // b deletes the "mine" it created above
	}
	for _, c := range eps {
		for _, who := range []struct {
			name, header string
			want         int
		}{
			{"none", "", 401},
			{"wrong", "Bearer nope", 401},
			{"basic", "Basic " + tokenA, 401},
			{"empty", "Bearer ", 401},
			{"other", "bearer " + tokenB, c.otherTenant}, // the scheme in any case
			{"own", "BEARER " + tokenA, c.own},
		} {
			req, _ := http.NewRequest(c.method, e.srv.URL+c.path, bytes.NewReader(c.body))
			if c.body == nil {
				req.Body = nil
			}
			if who.header != "" {
				req.Header.Set("Authorization", who.header)
			}
			if c.ct != "" {
				req.Header.Set("Content-Type", c.ct)
			}
			resp, err := e.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != who.want {
				t.Errorf("%s %s as %s: got %d, want %d: %s", c.method, c.path, who.name, resp.StatusCode, who.want, b)
			}
			if who.want == 401 && resp.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s %s as %s: 401 without WWW-Authenticate", c.method, c.path, who.name)
			}
		}
	}
}

func TestRequestShape(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Options{})
	// Unknown query parameters are named.
	resp, b := e.do("GET", tasks+"?limit=1&colour=red&size=9", tokenA, "", nil)
	st := status(t, resp, b, http.StatusBadRequest, httpapi.ReasonBadRequest)
	if !strings.Contains(st.Message, "colour, size") {
		t.Fatalf("message %q", st.Message)
	}
	resp, b = e.do("GET", tasks+"/x?uid=1", tokenA, "", nil)
	status(t, resp, b, http.StatusBadRequest, httpapi.ReasonBadRequest)
	// Wrong method: 405 with Allow.
	resp, b = e.do("PATCH", tasks+"/x", tokenA, jsonCT, []byte("{}"))
	status(t, resp, b, http.StatusMethodNotAllowed, httpapi.ReasonMethodNotAllowed)
	if resp.Header.Get("Allow") != "GET, PUT, DELETE" {
		t.Fatalf("Allow %q", resp.Header.Get("Allow"))
	}
	resp, b = e.do("DELETE", tasks, tokenA, "", nil)
	status(t, resp, b, http.StatusMethodNotAllowed, httpapi.ReasonMethodNotAllowed)
	resp, b = e.do("POST", "/healthz", "", "", nil)
	status(t, resp, b, http.StatusMethodNotAllowed, httpapi.ReasonMethodNotAllowed)
	// Unknown paths.
	for _, p := range []string{"/", "/apis/solti.io/v1/tasks/", "/apis/solti.io/v2/tasks", "/nope"} {
		tok := tokenA
		resp, b = e.do("GET", p, tok, "", nil)
		status(t, resp, b, http.StatusNotFound, httpapi.ReasonNotFound)
	}
	// Content types: 415 unless application/json (charset utf-8 at most).
	m := manifest("ct", "s", nil)
	for _, ct := range []string{"", "text/plain", "application/yaml", "application/x-www-form-urlencoded", "application/json; charset=latin1", "application/json; foo=bar", "garbage/"} {
		resp, b = e.do("POST", tasks, tokenA, ct, m)
		status(t, resp, b, http.StatusUnsupportedMediaType, httpapi.ReasonUnsupportedMedia)
	}
	resp, b = e.do("POST", tasks, tokenA, "application/json; charset=UTF-8", m)
	wantCode(t, resp, b, http.StatusCreated)
	resp, b = e.do("POST", tasks, tokenA, jsonCT, []byte{})
	status(t, resp, b, http.StatusBadRequest, httpapi.ReasonBadRequest)
}

func TestHostileBodies(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Options{})
	// Over 4 MiB: 413, whether the length is announced or not.
	big := append([]byte(`{"apiVersion":"solti.io/v1","x":"`), bytes.Repeat([]byte("a"), 4<<20)...)
	big = append(big, `"}`...)
	resp, b := e.do("POST", tasks, tokenA, jsonCT, big)
	st := status(t, resp, b, http.StatusRequestEntityTooLarge, httpapi.ReasonRequestTooLarge)
	if !strings.Contains(st.Message, "4 MiB") {
		t.Fatalf("message %q", st.Message)
	}
	req, _ := http.NewRequest("PUT", e.srv.URL+tasks+"/big", io.MultiReader(bytes.NewReader(big))) // no Content-Length: chunked
	req.Header.Set("Authorization", "Bearer "+tokenA)
	req.Header.Set("Content-Type", jsonCT)
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	status(t, resp, b, http.StatusRequestEntityTooLarge, httpapi.ReasonRequestTooLarge)

	for _, c := range []struct {
		name string
		body []byte
		want []string
	}{
		{"deep", []byte(strings.Repeat("[", 100000)), []string{"nested deeper than 256", "line 1, column 257"}},
		{"deep spec", []byte(`{"apiVersion":"solti.io/v1","kind":"Task","metadata":{"name":"d"},"spec":` + strings.Repeat(`{"a":`, 300)), []string{"nested deeper than 256"}},
		{"invalid UTF-8", []byte("{\"apiVersion\":\"solti.io/v1\",\"kind\":\"Task\",\"metadata\":{\"name\":\"\xff\xfe\"}}"), []string{"invalid UTF-8", "line 1, column 63"}},
		{"lone surrogate", []byte(`{"apiVersion":"solti.io/v1","kind":"Task","metadata":{"name":"\ud800"}}`), []string{"surrogate"}},
		{"duplicate key", []byte(`{"apiVersion":"solti.io/v1","apiVersion":"solti.io/v1"}`), []string{"duplicate", "apiVersion"}},
		{"truncated", []byte(`{"apiVersion":`), []string{"line 1"}},
	} {
		resp, b := e.do("POST", tasks, tokenA, jsonCT, c.body)
		st := status(t, resp, b, http.StatusBadRequest, httpapi.ReasonBadRequest)
		for _, w := range c.want {
			if !strings.Contains(st.Message, w) {
				t.Errorf("%s: message %q does not say %q", c.name, st.Message, w)
			}
		}
	}
	// A field error names its path, as Invalid.
	bad := bytes.Replace(manifest("v", "s", nil), []byte(`"timeout":5000`), []byte(`"timeout":0`), 1)
	resp, b = e.do("POST", tasks, tokenA, jsonCT, bad)
	st = status(t, resp, b, http.StatusBadRequest, httpapi.ReasonInvalid)
	if st.Details.Causes[0].Field != "spec.timeout" {
		t.Fatalf("cause %+v", st.Details.Causes)
	}
	// A G1 body is refused (solti's G3 rule).
	resp, b = e.do("POST", tasks, tokenA, jsonCT, []byte(`{"spec":{"slot":"s","kind":{"subprocess":{"mode":"x"}},"timeout":"1s"}}`))
	status(t, resp, b, http.StatusBadRequest, httpapi.ReasonInvalid)
}

// TestSlowHeaders: a client that never finishes its headers is cut off at ReadHeaderTimeout.
func TestSlowHeaders(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Options{}, httpapi.ServerOptions{ReadHeaderTimeout: 200 * time.Millisecond})
	c, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 1024)
	var got string
	var rerr error
	for {
		// Trickle a byte now and then, as a slowloris does; the server must still close.
		_, _ = c.Write([]byte("a"))
		_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		n, err := c.Read(buf)
		if err == nil || !isTimeout(err) {
			got, rerr = string(buf[:n]), err
			break // closed (or answered with an error and closed)
		}
		if time.Since(start) > 5*time.Second {
			t.Fatal("the server kept a connection whose headers never ended")
		}
	}
	if d := time.Since(start); d < 150*time.Millisecond || d > 3*time.Second {
		t.Fatalf("closed after %v (read %q, %v); ReadHeaderTimeout is 200ms", d, got, rerr)
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// TestIdleStreamsDoNotStarve: 300 idle watch and log streams, then a normal request is served
// promptly; when the clients go, every server goroutine ends (goleak in TestMain checks).
func TestIdleStreamsDoNotStarve(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Options{WatchKeepalive: time.Hour})
	e.do("POST", tasks, tokenA, jsonCT, manifest("idle", "s", nil))
	tr := &http.Transport{MaxConnsPerHost: 0, MaxIdleConnsPerHost: 400}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: &validating{t: t, next: tr}}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errs := make(chan error, 300)
	for i := range 300 {
		path := tasks + "?watch=true&resourceVersion=0"
		if i%2 == 1 {
			path = tasks + "/idle/logs"
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+path, nil)
			req.Header.Set("Authorization", "Bearer "+tokenA)
			resp, err := client.Do(req)
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			if resp.StatusCode != 200 {
				errs <- fmt.Errorf("%s: %d", path, resp.StatusCode)
				return
			}
			errs <- nil
			_, _ = io.Copy(io.Discard, resp.Body) // idle until canceled
		}()
	}
	for range 300 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	resp, b := e.do("GET", tasks+"/idle", tokenA, "", nil)
	wantCode(t, resp, b, http.StatusOK)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("a plain GET beside 300 idle streams took %v", d)
	}
	cancel()
	wg.Wait()
}
