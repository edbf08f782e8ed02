package httpapi

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/touchpointhq/touchpoint"
)

// admin wraps an admin API handler with bearer-token authentication.
func (s *Server) admin(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || s.AdminToken == "" || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(token)), []byte(s.AdminToken)) != 1 {
			writeError(w, r, touchpoint.Errorf(touchpoint.EUNAUTHORIZED, "missing or wrong admin token: send Authorization: Bearer <token>"))
			return
		}
		h(w, r)
	}
}

// handleAdmin registers an authenticated admin route.
func (s *Server) handleAdmin(mux *http.ServeMux, pattern string, h http.HandlerFunc) {
	s.handle(mux, pattern, s.admin(h))
}

// maxBody bounds admin request bodies.
const maxBody = 1 << 20

// decode reads a JSON body into v, refusing unknown fields so that a typo
// is an error rather than a silent no-op.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *touchpoint.Error
		if errors.As(err, &te) {
			return te
		}
		if errors.Is(err, io.EOF) {
			return touchpoint.Errorf(touchpoint.EINVALID, "the request body is empty: send a JSON object")
		}
		return touchpoint.Errorf(touchpoint.EINVALID, "the request body is not valid JSON for this endpoint: %v", err)
	}
	if dec.More() {
		return touchpoint.Errorf(touchpoint.EINVALID, "the request body has more than one JSON value")
	}
	return nil
}
