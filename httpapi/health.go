package httpapi

import (
	"errors"
	"net/http"

	"github.com/solti-wasm/solti-wasm/host"
)

// Health is the body of /healthz and a ready /readyz.
type Health struct {
	Status string `json:"status"`
}

func (a *api) healthz(w http.ResponseWriter, r *http.Request, c *call) error {
	writeJSON(w, http.StatusOK, Health{Status: "ok"})
	return nil
}

func (a *api) readyz(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := a.b.Ready(); err != nil {
		if !errors.Is(err, host.ErrDraining) && !errors.Is(err, host.ErrNotReady) {
			err = &Error{Code: http.StatusServiceUnavailable, Reason: ReasonServiceUnavailable, Message: err.Error()}
		}
		return err
	}
	writeJSON(w, http.StatusOK, Health{Status: "ok"})
	return nil
}

func (a *api) metrics(w http.ResponseWriter, r *http.Request, c *call) error {
	if a.opt.Metrics == nil {
		return apiError(http.StatusNotFound, ReasonNotFound, "no metrics are served here")
	}
	a.opt.Metrics.ServeHTTP(w, r)
	return nil
}
