package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestManPagesCurrent regenerates the man pages into a temporary directory and compares them
// with docs/man/: a command, flag or help text changed without `go generate ./cmd/solti-wasm`
// fails here.
func TestManPagesCurrent(t *testing.T) {
	dir := t.TempDir()
	var stderr bytes.Buffer
	if code := execute(context.Background(), []string{"gen-man", dir}, io.Discard, &stderr); code != ExitOK {
		t.Fatalf("gen-man: exit %d: %s", code, stderr.String())
	}
	committed := filepath.Join("..", "..", "docs", "man")
	names := func(d string) []string {
		m, err := filepath.Glob(filepath.Join(d, "*.1"))
		if err != nil {
			t.Fatal(err)
		}
		for i := range m {
			m[i] = filepath.Base(m[i])
		}
		slices.Sort(m)
		return m
	}
	got, want := names(dir), names(committed)
	if !slices.Equal(got, want) {
		t.Fatalf("gen-man writes %q, docs/man has %q: run go generate ./cmd/solti-wasm", got, want)
	}
	for _, n := range want {
		g, _ := os.ReadFile(filepath.Join(dir, n))
		w, _ := os.ReadFile(filepath.Join(committed, n))
		if !bytes.Equal(g, w) {
			t.Errorf("docs/man/%s is stale: run go generate ./cmd/solti-wasm", n)
		}
	}
	for _, n := range []string{"solti-wasm.1", "solti-wasm-run.1", "solti-wasm-new.1", "solti-wasm-completion.1"} {
		if !slices.Contains(want, n) {
			t.Errorf("no man page %s", n)
		}
	}
	if slices.Contains(want, "solti-wasm-gen-man.1") {
		t.Error("the hidden gen-man command has a man page")
	}
	// Nothing of this machine's: the cache directory's default is the user's.
	b, _ := os.ReadFile(filepath.Join(dir, "solti-wasm.1"))
	if home, _ := os.UserHomeDir(); home != "" && strings.Contains(string(b), home) {
		t.Errorf("solti-wasm.1 names this machine's home directory %s", home)
	}
}

// TestCompletion checks that cobra's completion scripts are there for each shell.
func TestCompletion(t *testing.T) {
	for shell, want := range map[string]string{
		"bash": "# bash completion V2 for solti-wasm",
		"zsh":  "#compdef solti-wasm",
		"fish": "complete -c solti-wasm",
	} {
		var stdout, stderr bytes.Buffer
		if code := execute(context.Background(), []string{"completion", shell}, &stdout, &stderr); code != ExitOK {
			t.Errorf("completion %s: exit %d: %s", shell, code, stderr.String())
			continue
		}
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("completion %s lacks %q:\n%.300s", shell, want, stdout.String())
		}
	}
}
