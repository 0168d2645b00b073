package httpapi

import (
	"net/http"
	"strings"
)

// authenticate maps the request's bearer token to its tenant. The scheme is
// case-insensitive (RFC 9110 §11.1); every failure is the same 401, so that a caller learns
// nothing of which tokens exist.
func (a *api) authenticate(r *http.Request) (string, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", apiError(http.StatusUnauthorized, ReasonUnauthorized, "missing bearer token: send Authorization: Bearer <token>")
	}
	scheme, token, ok := strings.Cut(h, " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", apiError(http.StatusUnauthorized, ReasonUnauthorized, "malformed Authorization header: want Bearer <token>")
	}
	if a.auth == nil {
		return "", apiError(http.StatusUnauthorized, ReasonUnauthorized, "no tenant is configured")
	}
	tenant, ok := a.auth.Authenticate(token)
	if !ok || tenant == "" {
		return "", apiError(http.StatusUnauthorized, ReasonUnauthorized, "invalid bearer token")
	}
	return tenant, nil
}
