package client

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Sentinels a *StatusError matches with errors.Is, by its code (and reason, where one code
// has two meanings).
var (
	ErrUnauthorized  = errors.New("unauthorized")           // 401
	ErrNotFound      = errors.New("not found")              // 404 (also another tenant's object)
	ErrAlreadyExists = errors.New("already exists")         // 409 AlreadyExists
	ErrConflict      = errors.New("conflict")               // 409 Conflict (a precondition)
	ErrGone          = errors.New("expired")                // 410 (a continue token, a watch's start)
	ErrTooMany       = errors.New("too many requests")      // 429
	ErrUnavailable   = errors.New("server not available")   // 503 (draining, not ready)
	ErrInvalid       = errors.New("invalid request")        // 400, 422
	ErrTooLarge      = errors.New("request body too large") // 413
)

// StatusError is a failed request: the Kubernetes Status the server answered with, or one
// made from the HTTP status when the body was not a Status.
type StatusError struct {
	Code    int
	Reason  string
	Message string
	// RetryAfter is the Retry-After of a 429 or 503; 0 when absent.
	RetryAfter time.Duration
	// Method and URL are the request's, for the message.
	Method, URL string
}

func (e *StatusError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Code)
	}
	s := fmt.Sprintf("%s %s: %d %s: %s", e.Method, e.URL, e.Code, e.Reason, msg)
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(" (retry after %v)", e.RetryAfter)
	}
	return s
}

// Is matches the sentinel of the error's code.
func (e *StatusError) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.Code == http.StatusUnauthorized
	case ErrNotFound:
		return e.Code == http.StatusNotFound
	case ErrAlreadyExists:
		return e.Code == http.StatusConflict && e.Reason == "AlreadyExists"
	case ErrConflict:
		return e.Code == http.StatusConflict && e.Reason != "AlreadyExists"
	case ErrGone:
		return e.Code == http.StatusGone
	case ErrTooMany:
		return e.Code == http.StatusTooManyRequests
	case ErrUnavailable:
		return e.Code == http.StatusServiceUnavailable
	case ErrInvalid:
		return e.Code == http.StatusBadRequest || e.Code == http.StatusUnprocessableEntity
	case ErrTooLarge:
		return e.Code == http.StatusRequestEntityTooLarge
	}
	return false
}

// status is the Kubernetes Status body of an error.
type status struct {
	Kind    string `json:"kind"`
	Status  string `json:"status"`
	Message string `json:"message"`
	Reason  string `json:"reason"`
	Code    int    `json:"code"`
}
