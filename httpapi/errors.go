package httpapi

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/touchpointhq/touchpoint"
)

// ErrorResponse is the body of every admin API error.
type ErrorResponse struct {
	Code  string `json:"code"`
	Error string `json:"error"`
}

// writeError writes err as JSON with its status. Internal errors are logged
// and their details kept from the client.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := touchpoint.ErrorCode(err)
	if code == touchpoint.EINTERNAL {
		slog.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	status := touchpoint.StatusOf(code)
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="touchpoint"`)
	}
	writeJSON(w, status, ErrorResponse{Code: code, Error: touchpoint.ErrorMessage(err)})
}

// writeText writes a plain-text answer, the form link endpoints use.
func writeText(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write([]byte(msg + "\n"))
}

// writeJSON writes v as indented JSON with status. It encodes first and
// writes after: a value that cannot be encoded answers a 500 that says so,
// never a 200 with a truncated body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := encodeJSON(v, "  ")
	writeEncoded(w, status, b, err)
}

// writeCompactJSON writes v without indentation: the answers SDKs read on
// hot paths.
func writeCompactJSON(w http.ResponseWriter, status int, v any) {
	b, err := encodeJSON(v, "")
	writeEncoded(w, status, b, err)
}

// encodeJSON is json.Marshal (json.MarshalIndent with an indent) without
// HTML escaping: answers are read by operators and programs, never embedded
// in a page, so a postback template's & and a link's < and > stay as they
// are rather than become \u0026, \u003c and \u003e.
func encodeJSON(v any, indent string) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", indent)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func writeEncoded(w http.ResponseWriter, status int, b []byte, err error) {
	if err != nil {
		slog.Error("encode response", "err", err)
		status = http.StatusInternalServerError
		b, _ = json.Marshal(ErrorResponse{Code: touchpoint.EINTERNAL, Error: "the answer could not be encoded"})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
