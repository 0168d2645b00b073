package tenant

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/solti-wasm/solti-wasm/host"
)

// DefaultTenant is the name of the no-config mode's one tenant.
const DefaultTenant = "default"

// TokenFile is the name, in serve's data directory, of the no-config mode's token.
const TokenFile = "token"

// tokenBytes is the entropy of a generated token. With 256 random bits no token can be
// guessed, so one round of SHA-256 is enough to store it: password hashing (bcrypt, argon2)
// slows the search of a small space of human choices, and there is no such space here.
const tokenBytes = 32

// maxTokenLen bounds what a token file may hold; a token is 43 characters.
const maxTokenLen = 4096

// ErrTokenFile is matched by every error about a token file (its mode, its content).
var ErrTokenFile = errors.New("bad token file")

// NewToken returns a random bearer token: 32 bytes from crypto/rand, base64url without padding.
func NewToken() (string, error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generating a token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// HashToken is the tokenSha256 of a token, as the config holds it: lower-case hex.
func HashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// ReadTokenFile reads a token kept in a file: its only line, surrounding space trimmed. The
// file must not be readable or writable by group or others (mode 0600 or narrower), as ssh
// refuses a private key that is: a token others can read is no longer a secret.
func ReadTokenFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%w %s: not a regular file", ErrTokenFile, path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return "", fmt.Errorf("%w %s: mode %04o lets others read or write it; want 0600 (chmod 600 %s)", ErrTokenFile, path, perm, path)
	}
	buf := make([]byte, maxTokenLen+1)
	n, _ := f.Read(buf)
	if n > maxTokenLen {
		return "", fmt.Errorf("%w %s: longer than %d bytes", ErrTokenFile, path, maxTokenLen)
	}
	tok := strings.TrimSpace(string(buf[:n]))
	if tok == "" || strings.ContainsAny(tok, " \t\r\n") {
		return "", fmt.Errorf("%w %s: want one token on one line", ErrTokenFile, path)
	}
	return tok, nil
}

// LoadOrCreateToken returns the no-config mode's token, kept in dataDir/token: read when the
// file exists (ReadTokenFile's checks apply), else generated and written with mode 0600.
// created reports a new token, which serve prints once; on later starts it is reused.
func LoadOrCreateToken(dataDir string) (token string, created bool, err error) {
	return LoadOrCreateSecret(filepath.Join(dataDir, TokenFile))
}

// LoadOrCreateSecret reads the secret (a token's worth of random bytes, as text) kept in the
// file at path, mode 0600, or makes one and keeps it there: the no-config token, and serve's
// key for signing list continuations, which thereby stay valid across restarts.
func LoadOrCreateSecret(path string) (secret string, created bool, err error) {
	dataDir := filepath.Dir(path)
	tok, err := ReadTokenFile(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return tok, false, err
	}
	if tok, err = NewToken(); err != nil {
		return "", false, err
	}
	// Written aside, synced, then linked into place: a crash leaves no half-written token,
	// and a concurrent start that linked first wins (the link fails; its token is read).
	tmp, err := os.CreateTemp(dataDir, ".token-*")
	if err != nil {
		return "", false, err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return "", false, err
	}
	if _, err := tmp.WriteString(tok + "\n"); err != nil {
		tmp.Close()
		return "", false, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", false, err
	}
	if err := tmp.Close(); err != nil {
		return "", false, err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			tok, err = ReadTokenFile(path)
			return tok, false, err
		}
		return "", false, err
	}
	if d, err := os.Open(dataDir); err == nil {
		_ = d.Sync() // the link's directory entry
		d.Close()
	}
	return tok, true, nil
}

// Default is the no-config mode's set: one tenant, DefaultTenant, with the runners directory
// runners, the host's default limits, no capabilities beyond guest plans, and token.
func Default(runners, token string) *Set {
	return &Set{
		tenants: []host.Tenant{{Name: DefaultTenant, Runners: runners}},
		hashes:  [][32]byte{sha256.Sum256([]byte(token))},
	}
}
