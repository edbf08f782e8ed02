package httpapi

import (
	"log/slog"
	"net/http"
	"time"
)

// accessLog logs each request once it is answered, at INFO, as one line:
// method, path, status, bytes of the body written, duration and the
// client's address (clientIP: behind TrustedProxies, the client's, not
// the proxy's). The query string is left out: it can hold keys and
// device ids.
func (s *Server) accessLog(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		cw := &countingWriter{ResponseWriter: w}
		h.ServeHTTP(cw, r)
		status := cw.status
		if status == 0 {
			status = http.StatusOK // nothing written: net/http answers 200
		}
		s.Logger.LogAttrs(r.Context(), slog.LevelInfo, "http request",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", status),
			slog.Int64("bytes", cw.bytes), slog.Duration("duration", time.Since(start)), slog.String("ip", s.clientIP(r)))
	})
}

// countingWriter remembers the status and counts the body's bytes.
type countingWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *countingWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 { // 1xx are interim: the final status follows
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *countingWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer (the
// dashboard's live page flushes through it).
func (w *countingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
