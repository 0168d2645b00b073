package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/host"
	"github.com/solti-wasm/solti-wasm/runtime"
	"github.com/solti-wasm/solti-wasm/store"
)

// Status is a Kubernetes Status: the body of every error response, and the object of a
// watch's ERROR event.
type Status struct {
	APIVersion string         `json:"apiVersion"`
	Kind       string         `json:"kind"`
	Metadata   struct{}       `json:"metadata"`
	Status     string         `json:"status"`
	Message    string         `json:"message"`
	Reason     string         `json:"reason"`
	Details    *StatusDetails `json:"details,omitempty"`
	Code       int            `json:"code"`
}

// StatusDetails names the object an error is about and its causes (Kubernetes' shape).
type StatusDetails struct {
	Name              string        `json:"name,omitempty"`
	Group             string        `json:"group,omitempty"`
	Kind              string        `json:"kind,omitempty"`
	Causes            []StatusCause `json:"causes,omitempty"`
	RetryAfterSeconds int           `json:"retryAfterSeconds,omitempty"`
}

// StatusCause is one cause of an error: a field and what is wrong with it, or a module's
// load stage and its error.
type StatusCause struct {
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
	Field   string `json:"field,omitempty"`
}

// Reasons (Kubernetes' StatusReason names).
const (
	ReasonBadRequest         = "BadRequest"
	ReasonInvalid            = "Invalid"
	ReasonUnauthorized       = "Unauthorized"
	ReasonNotFound           = "NotFound"
	ReasonMethodNotAllowed   = "MethodNotAllowed"
	ReasonAlreadyExists      = "AlreadyExists"
	ReasonConflict           = "Conflict"
	ReasonExpired            = "Expired"
	ReasonRequestTooLarge    = "RequestEntityTooLarge"
	ReasonUnsupportedMedia   = "UnsupportedMediaType"
	ReasonTooManyRequests    = "TooManyRequests"
	ReasonInternalError      = "InternalError"
	ReasonServiceUnavailable = "ServiceUnavailable"
)

// Error is an API error: an HTTP status code and the Status body it is sent as. Handlers
// return it (or any error, which StatusOf maps).
type Error struct {
	Code    int
	Reason  string
	Message string
	Details *StatusDetails
	// RetryAfter is the Retry-After header in seconds (429); 0: none.
	RetryAfter int
	// Allow is the Allow header of a 405.
	Allow string
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Code, e.Reason, e.Message) }

// apiError builds an *Error.
func apiError(code int, reason, format string, args ...any) *Error {
	return &Error{Code: code, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) *Error {
	return apiError(http.StatusBadRequest, ReasonBadRequest, format, args...)
}

// objectRef names the object a request is about, for not-found and conflict details.
type objectRef struct {
	group, kind, name string
}

var (
	taskGroup   = "solti.io"
	runnerGroup = "wasm.solti.dev"
)

// StatusOf maps an error of the Backend (or of the decoder) onto its API error, by the
// contract's table: store.ErrNotFound 404, ErrExists 409 AlreadyExists, ErrConflict 409
// Conflict, ErrExpired 410 Expired, *host.QuotaError 429 with Retry-After (seconds, rounded
// up), host.ErrDraining and ErrNotReady 503, *abi.ValidationError 400 Invalid,
// *abi.SyntaxError 400 BadRequest, *runtime.LoadError 422 Invalid (the body was a module and
// was understood; the module is what is refused: the message names file, stage and cause),
// anything else 500 with the error's text.
func StatusOf(err error) *Error { return statusOf(err, objectRef{}) }

func statusOf(err error, ref objectRef) *Error {
	var (
		ae *Error
		qe *host.QuotaError
		ve *abi.ValidationError
		se *abi.SyntaxError
		le *runtime.LoadError
	)
	var re *refErr
	if errors.As(err, &re) {
		ref = re.ref
	}
	details := func() *StatusDetails {
		if ref.kind == "" {
			return nil
		}
		return &StatusDetails{Name: ref.name, Group: ref.group, Kind: ref.kind}
	}
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, store.ErrNotFound):
		e := apiError(http.StatusNotFound, ReasonNotFound, "%s", err)
		if ref.kind != "" {
			e.Message = fmt.Sprintf("%s %q not found", ref.kind, ref.name)
		}
		e.Details = details()
		return e
	case errors.Is(err, store.ErrExists):
		e := apiError(http.StatusConflict, ReasonAlreadyExists, "%s", err)
		if ref.kind != "" {
			e.Message = fmt.Sprintf("%s %q already exists", ref.kind, ref.name)
		}
		e.Details = details()
		return e
	case errors.Is(err, store.ErrConflict):
		e := apiError(http.StatusConflict, ReasonConflict, "%s", err)
		if ref.kind != "" {
			e.Message = fmt.Sprintf("%s %q: precondition failed: %v", ref.kind, ref.name, err)
		}
		e.Details = details()
		return e
	case errors.Is(err, store.ErrExpired):
		return apiError(http.StatusGone, ReasonExpired, "%v: list again, or watch from a newer resourceVersion", err)
	case errors.As(err, &qe):
		e := apiError(http.StatusTooManyRequests, ReasonTooManyRequests, "%s", err)
		if qe.RetryAfter > 0 {
			e.RetryAfter = int(math.Ceil(qe.RetryAfter.Seconds()))
			e.Details = &StatusDetails{RetryAfterSeconds: e.RetryAfter}
		}
		return e
	case errors.Is(err, host.ErrDraining), errors.Is(err, host.ErrNotReady):
		return apiError(http.StatusServiceUnavailable, ReasonServiceUnavailable, "%s", err)
	case errors.As(err, &le):
		return &Error{Code: http.StatusUnprocessableEntity, Reason: ReasonInvalid,
			Message: fmt.Sprintf("module rejected: %v", err),
			Details: &StatusDetails{Name: le.Path, Group: runnerGroup, Kind: "runners",
				Causes: []StatusCause{{Reason: le.Stage, Message: causeText(le.Err)}}}}
	case errors.As(err, &ve):
		return &Error{Code: http.StatusBadRequest, Reason: ReasonInvalid, Message: err.Error(),
			Details: &StatusDetails{Causes: []StatusCause{{Reason: "FieldValueInvalid", Message: ve.Reason, Field: ve.Field}}}}
	case errors.As(err, &se):
		return badRequest("malformed JSON: %v", err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		// The client went, or the handler's budget ran out: 503 says "try again" honestly.
		return apiError(http.StatusServiceUnavailable, ReasonServiceUnavailable, "request not completed: %v", err)
	}
	return apiError(http.StatusInternalServerError, ReasonInternalError, "%s", err)
}

func causeText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// body is the Status that e is sent as.
func (e *Error) body() *Status {
	return &Status{APIVersion: "v1", Kind: "Status", Status: "Failure", Message: e.Message,
		Reason: e.Reason, Details: e.Details, Code: e.Code}
}

// writeError sends err as a Status.
func (a *api) writeError(w http.ResponseWriter, r *http.Request, err error, ref objectRef) {
	e := statusOf(err, ref)
	if e.Code >= 500 && a.log != nil {
		a.log.LogAttrs(r.Context(), slog.LevelError, "request failed",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("code", e.Code), slog.String("error", err.Error()))
	}
	h := w.Header()
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	if e.Allow != "" {
		h.Set("Allow", e.Allow)
	}
	if e.Code == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="solti-wasm"`)
	}
	writeJSON(w, e.Code, e.body())
}
