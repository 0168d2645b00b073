package httpapi

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// readBody reads a request body of media type want (the parameters other than charset
// refused, charset only utf-8), at most limit bytes: 415 for another type, 413 beyond the
// limit, 400 for an empty body.
func readBody(w http.ResponseWriter, r *http.Request, want string, limit int64) ([]byte, error) {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil, apiError(http.StatusUnsupportedMediaType, ReasonUnsupportedMedia, "missing Content-Type: send %s", want)
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return nil, apiError(http.StatusUnsupportedMediaType, ReasonUnsupportedMedia, "malformed Content-Type %q: %v", ct, err)
	}
	if mt != want {
		return nil, apiError(http.StatusUnsupportedMediaType, ReasonUnsupportedMedia, "Content-Type %s is not accepted here: send %s", mt, want)
	}
	for k, v := range params {
		if k != "charset" || !strings.EqualFold(v, "utf-8") {
			return nil, apiError(http.StatusUnsupportedMediaType, ReasonUnsupportedMedia, "Content-Type parameter %s=%s is not accepted (only charset=utf-8)", k, v)
		}
	}
	if r.ContentLength > limit {
		return nil, tooLarge(limit)
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, tooLarge(limit)
	}
	if err != nil {
		return nil, badRequest("reading the body: %v", err)
	}
	if len(b) == 0 {
		return nil, badRequest("empty body: send a %s document", want)
	}
	return b, nil
}

func tooLarge(limit int64) *Error {
	return apiError(http.StatusRequestEntityTooLarge, ReasonRequestTooLarge, "body over the limit of %s", sizeText(limit))
}

// sizeText writes n bytes in the largest binary unit that divides it.
func sizeText(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
