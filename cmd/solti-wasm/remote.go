package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/solti-wasm/solti-wasm/client"
	"github.com/solti-wasm/solti-wasm/tenant"
)

// The client commands' environment: the server's URL and the bearer token.
const (
	envServer = "SOLTI_SERVER"
	envToken  = "SOLTI_TOKEN"
)

// defaultListen is where serve listens, and so where the client looks, by default.
const defaultListen = "127.0.0.1:7070"

// remoteOptions are the client commands' persistent flags.
type remoteOptions struct {
	server    string
	tokenFile string
}

func addRemoteFlags(root *cobra.Command, r *remoteOptions) {
	f := root.PersistentFlags()
	f.StringVar(&r.server, "server", "", "URL of a solti-wasm serve API for the client commands (env "+envServer+"; default http://"+defaultListen+")")
	f.StringVar(&r.tokenFile, "token-file", "", "file holding the bearer token, mode 0600 (env "+envToken+" holds the token itself; default: serve's no-config token in the default --data-dir, for a loopback server)")
}

// serverURL is --server, else $SOLTI_SERVER, else the default; set reports that one of the
// first two named it.
func (r *remoteOptions) serverURL() (u string, flag string, set bool) {
	switch {
	case r.server != "":
		return r.server, "--server", true
	case os.Getenv(envServer) != "":
		return os.Getenv(envServer), "$" + envServer, true
	}
	return "http://" + defaultListen, "the default server", false
}

// client makes the API client the flags and environment describe.
func (o *globalOptions) client() (*client.Client, error) {
	server, from, _ := o.remote.serverURL()
	tok, err := o.remote.token(server)
	if err != nil {
		return nil, err
	}
	c, err := client.New(server, client.Options{Token: tok, UserAgent: "solti-wasm/" + Version})
	if err != nil {
		return nil, usageError("%s: %v", from, err)
	}
	return c, nil
}

// token is the bearer token: --token-file's, else $SOLTI_TOKEN, else (for a loopback
// server) the no-config serve's token in the default data directory, when it exists; else
// none.
func (r *remoteOptions) token(server string) (string, error) {
	if r.tokenFile != "" {
		tok, err := tenant.ReadTokenFile(r.tokenFile)
		if err != nil {
			return "", usageError("--token-file %q: %v", r.tokenFile, err)
		}
		return tok, nil
	}
	if tok := os.Getenv(envToken); tok != "" {
		return strings.TrimSpace(tok), nil
	}
	if !loopbackURL(server) {
		return "", nil
	}
	dir, err := defaultDataDir()
	if err != nil {
		return "", nil
	}
	tok, err := tenant.ReadTokenFile(filepath.Join(dir, tenant.TokenFile))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", usageError("the default token file: %v", err)
	}
	return tok, nil
}

// loopbackURL reports whether the URL's host is a loopback address or localhost.
func loopbackURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	return loopbackHost(u.Hostname())
}

func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// defaultDataDir is serve's --data-dir default: $XDG_DATA_HOME/solti-wasm, else
// ~/.local/share/solti-wasm.
func defaultDataDir() (string, error) {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "solti-wasm"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no home directory for the default data directory: %w", err)
	}
	return filepath.Join(home, ".local", "share", "solti-wasm"), nil
}

// remoteError maps a client call's failure to the CLI's exit codes: what the server refused
// is a failure (1), an invalid task 3, a server that cannot be reached, refuses the token
// or is unavailable 6, the command's context ending 130.
func remoteError(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		return canceled(ctx)
	}
	var se *client.StatusError
	if !errors.As(err, &se) {
		return fail(ExitUnreachable, "%s: %v", what, err)
	}
	msg := fmt.Sprintf("%s: %d %s: %s", what, se.Code, se.Reason, se.Message)
	if se.RetryAfter > 0 {
		msg += fmt.Sprintf(" (retry after %v)", se.RetryAfter)
	}
	switch {
	case errors.Is(err, client.ErrUnauthorized):
		return fail(ExitUnreachable, "%s (give the token with --token-file or $%s)", msg, envToken)
	case errors.Is(err, client.ErrUnavailable), se.Code >= 500:
		return fail(ExitUnreachable, "%s", msg)
	}
	return fail(ExitFailure, "%s", msg)
}

// completeTaskNames completes a task name from the server's listing (best effort: no
// completion when the server cannot be asked within a second).
func (o *globalOptions) completeTaskNames(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	c, err := o.client()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), time.Second)
	defer cancel()
	tasks, _, err := c.ListAll(ctx, client.ListOptions{})
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var names []string
	for _, t := range tasks {
		if strings.HasPrefix(t.Metadata.Name, toComplete) {
			names = append(names, t.Metadata.Name)
		}
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}
