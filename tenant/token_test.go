package tenant

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestNewToken(t *testing.T) {
	t.Parallel()
	a, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewToken()
	raw, err := base64.RawURLEncoding.DecodeString(a)
	if err != nil || len(raw) != tokenBytes || a == b {
		t.Errorf("tokens %q %q: %v", a, b, err)
	}
	if h := HashToken("test"); h != hashA {
		t.Errorf("HashToken(test) = %s", h)
	}
	if _, err := ParseHash(HashToken(a)); err != nil {
		t.Error(err)
	}
}

func TestLoadOrCreateToken(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tok, created, err := LoadOrCreateToken(dir)
	if err != nil || !created || tok == "" {
		t.Fatalf("first: %q %v %v", tok, created, err)
	}
	fi, err := os.Stat(filepath.Join(dir, TokenFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v %v", fi.Mode(), err)
	}
	again, created, err := LoadOrCreateToken(dir)
	if err != nil || created || again != tok {
		t.Errorf("restart: %q %v %v, want %q reused", again, created, err, tok)
	}
	if name, ok := Default(dir, tok).Authenticate(tok); !ok || name != DefaultTenant {
		t.Errorf("Default set: %q %v", name, ok)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".token-*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestLoadOrCreateTokenConcurrent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var wg sync.WaitGroup
	toks := make([]string, 8)
	errs := make([]error, 8)
	for i := range toks {
		wg.Go(func() { toks[i], _, errs[i] = LoadOrCreateToken(dir) })
	}
	wg.Wait()
	for i := range toks {
		if errs[i] != nil || toks[i] != toks[0] {
			t.Errorf("start %d: %q %v, want %q", i, toks[i], errs[i], toks[0])
		}
	}
}

func TestReadTokenFileRefuses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // past the umask
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, path, want string
	}{
		{"group readable", write("g", "tok\n", 0o640), "mode 0640"},
		{"world readable", write("w", "tok\n", 0o604), "mode 0604"},
		{"empty", write("e", "\n", 0o600), "one token"},
		{"two lines", write("two", "a\nb\n", 0o600), "one token"},
		{"too long", write("long", strings.Repeat("x", maxTokenLen+1), 0o600), "longer than"},
		{"directory", dir, "not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ReadTokenFile(tt.path)
			if !errors.Is(err, ErrTokenFile) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
	if tok, err := ReadTokenFile(write("ok", "  tok-1 \n", 0o400)); err != nil || tok != "tok-1" {
		t.Errorf("ok file: %q %v", tok, err)
	}
	// The no-config mode refuses to reuse a token file others can read.
	bad := t.TempDir()
	if err := os.WriteFile(filepath.Join(bad, TokenFile), []byte("tok\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(filepath.Join(bad, TokenFile), 0o644)
	if _, _, err := LoadOrCreateToken(bad); !errors.Is(err, ErrTokenFile) {
		t.Errorf("LoadOrCreateToken with a 0644 file: %v", err)
	}
}
