package httpapi_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/solti-wasm/solti-wasm/httpapi"
)

// Mount the API on a server: the Backend is the host (*host.Host in the serve command; an
// in-memory stand-in here), the Authenticator the tenants' tokens (*tenant.Set).
func Example() {
	var backend httpapi.Backend = newFake()
	h := httpapi.New(backend, tokens{"s3cret": "team-a"}, httpapi.Options{
		// Metrics: promhttp.Handler(), in a program that exports them.
	})
	srv := httpapi.NewServer("127.0.0.1:0", h, httpapi.ServerOptions{})
	ln, err := net.Listen("tcp", srv.Addr)
	if err != nil {
		fmt.Println(err)
		return
	}
	go func() { _ = srv.Serve(ln) }()
	defer func() { _ = srv.Shutdown(context.Background()) }()

	base := "http://" + ln.Addr().String()
	req, _ := http.NewRequest("POST", base+httpapi.TasksPath, strings.NewReader(string(manifest("hello", "demo", nil))))
	req.Header.Set("Authorization", "Bearer s3cret")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	fmt.Println("create:", resp.Status)

	resp, err = http.Get(base + httpapi.TasksPath + "/hello") // no token
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println("without a token:", resp.Status)
	http.DefaultClient.CloseIdleConnections()
	// Output:
	// create: 201 Created
	// without a token: 401 Unauthorized
}
