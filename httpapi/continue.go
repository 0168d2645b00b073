package httpapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/solti-wasm/solti-wasm/store"
)

// A continue token carries where a listing stopped (the last name) and the revision it
// began at, signed with the handler's key over the tenant and the query's filters too: a
// token edited by hand, minted by another server, used by another tenant or with other
// filters is refused (400), never misread. Its payload is base64url JSON, so it stays opaque
// only by convention; it holds nothing the caller could not list.
type continueToken struct {
	V     int            `json:"v"`
	After string         `json:"after"`
	Rev   store.Revision `json:"rev"`
}

const continueVersion = 1

// sign returns the token's text for tenant and the listing's filter (the canonical form of
// slot, phases and labelSelector).
func (a *api) signContinue(tenant, filter string, t continueToken) string {
	t.V = continueVersion
	payload, _ := json.Marshal(t) // plain struct: cannot fail
	p := base64.RawURLEncoding.EncodeToString(payload)
	return p + "." + base64.RawURLEncoding.EncodeToString(a.continueMAC(tenant, filter, p))
}

func (a *api) continueMAC(tenant, filter, payload string) []byte {
	m := hmac.New(sha256.New, a.continueKey)
	// NUL separates the parts: none of them may contain it (names and filters are text).
	m.Write([]byte(tenant + "\x00" + filter + "\x00" + payload))
	return m.Sum(nil)[:16]
}

// parseContinue checks and reads a token.
func (a *api) parseContinue(tenant, filter, s string) (continueToken, error) {
	var t continueToken
	bad := badRequest("invalid continue token: it is not one this server issued for this tenant and these filters (list again without continue)")
	p, sig, ok := strings.Cut(s, ".")
	if !ok {
		return t, bad
	}
	mac, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(mac, a.continueMAC(tenant, filter, p)) {
		return t, bad
	}
	payload, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil || json.Unmarshal(payload, &t) != nil || t.V != continueVersion || t.After == "" {
		return t, bad
	}
	return t, nil
}
