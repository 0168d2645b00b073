package httpapi_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/solti-wasm/solti-wasm/httpapi"
)

// benchServer serves the API over the fake on loopback, with a plain client (no response
// validation: the handler's cost is measured, not the test's).
func benchServer(b *testing.B) (*httptest.Server, *http.Client) {
	h := httpapi.New(newFake(), tokens{tokenA: "a"}, httpapi.Options{})
	srv := httptest.NewServer(h)
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	b.Cleanup(func() { tr.CloseIdleConnections(); srv.Close() })
	return srv, &http.Client{Transport: tr}
}

func benchDo(b *testing.B, c *http.Client, req *http.Request, want int) {
	resp, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		b.Fatalf("%d", resp.StatusCode)
	}
}

// BenchmarkCreateTask: POST a manifest (decode, validate, respond) over loopback HTTP/1.1.
func BenchmarkCreateTask(b *testing.B) {
	srv, c := benchServer(b)
	bodies := make([][]byte, b.N)
	for i := range bodies {
		bodies[i] = manifest(fmt.Sprintf("t%d", i), "s", map[string]string{"app": "bench"})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		req, _ := http.NewRequest("POST", srv.URL+httpapi.TasksPath, bytes.NewReader(bodies[i]))
		req.Header.Set("Authorization", "Bearer "+tokenA)
		req.Header.Set("Content-Type", "application/json")
		benchDo(b, c, req, http.StatusCreated)
	}
}

// BenchmarkGetTask: GET one task over loopback.
func BenchmarkGetTask(b *testing.B) {
	srv, c := benchServer(b)
	req, _ := http.NewRequest("POST", srv.URL+httpapi.TasksPath, bytes.NewReader(manifest("one", "s", nil)))
	req.Header.Set("Authorization", "Bearer "+tokenA)
	req.Header.Set("Content-Type", "application/json")
	benchDo(b, c, req, http.StatusCreated)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		req, _ := http.NewRequest("GET", srv.URL+httpapi.TasksPath+"/one", nil)
		req.Header.Set("Authorization", "Bearer "+tokenA)
		benchDo(b, c, req, http.StatusOK)
	}
}
