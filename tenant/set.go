package tenant

import (
	"crypto/sha256"
	"crypto/subtle"
	"slices"

	"github.com/solti-wasm/solti-wasm/host"
)

// Set is the tenants a host serves, with their token hashes: it authenticates bearer tokens
// (httpapi.Authenticator) and is safe for concurrent use (it never changes).
type Set struct {
	tenants []host.Tenant
	hashes  [][32]byte
	shared  string
}

// NewSet makes the set of a validated config.
func NewSet(c *Config) *Set {
	return &Set{tenants: slices.Clone(c.Tenants), hashes: slices.Clone(c.hashes), shared: c.SharedRunners}
}

// Tenants returns the tenants, in the config's order (a copy).
func (s *Set) Tenants() []host.Tenant { return slices.Clone(s.tenants) }

// SharedRunners is the shared runners directory; "" when there is none.
func (s *Set) SharedRunners() string { return s.shared }

// Authenticate returns the tenant whose token is token. It hashes the token and compares the
// hash with every tenant's, in constant time and without stopping at a match, so that
// neither the time taken nor its variation tells a caller which tenant (if any) came close.
// Comparing hashes rather than tokens is also what lets the config hold no secret.
func (s *Set) Authenticate(token string) (tenant string, ok bool) {
	if token == "" {
		return "", false
	}
	h := sha256.Sum256([]byte(token))
	found := -1
	for i := range s.hashes {
		eq := subtle.ConstantTimeCompare(h[:], s.hashes[i][:])
		found = subtle.ConstantTimeSelect(eq, i, found)
	}
	if found < 0 {
		return "", false
	}
	return s.tenants[found].Name, true
}
