package httpapi

import (
	"cmp"
	"context"
	"net"
	"net/http"
	"strings"
	"time"

	"golang.org/x/sync/semaphore"
)

// Memory and connections are bounded, so that no burst of requests can take
// the server down:
//   - the bytes of upload bodies being read and decoded at once are
//     bounded by MaxDecodingBytes: decoding an upload takes about four
//     times its body in memory, so 32 concurrent 20 MB /batch uploads would
//     otherwise want 2.7 GB. An upload reserves its Content-Length (its
//     endpoint's maximum when the length is unknown or the body is
//     compressed) before its body is read, waits up to DecodeWait for room,
//     and is answered 503 (Amplitude's "not stored; retry") past that;
//   - an upload's api_key is checked before its events are decoded
//     (analytics.DecodeUpload), so a bogus key costs a scan;
//   - open connections are bounded by MaxConns (more wait in the kernel's
//     accept queue), and idle keep-alive connections are closed after
//     IdleTimeout. Near the bound (sheddingAt of it) keep-alives are turned
//     off, which closes the idle connections at once and every other after
//     its answer, so the connections that wait get their turn; they are
//     turned on again below resumeAt.

// Defaults of the bounds.
const (
	DefaultMaxDecodingBytes = 64 << 20
	DefaultMaxConns         = 4096
	DefaultIdleTimeout      = 30 * time.Second
	DefaultDecodeWait       = 10 * time.Second
)

// The connection counts, as shares of MaxConns, at which keep-alives are
// turned off and on again.
const (
	sheddingAt = 0.9
	resumeAt   = 0.5
)

func (s *Server) maxConns() int {
	if s.MaxConns > 0 {
		return s.MaxConns
	}
	return DefaultMaxConns
}

// trackConn counts connections (http.Server.ConnState) and sheds idle
// ones near the bound.
func (s *Server) trackConn(_ net.Conn, state http.ConnState) {
	var n int64
	switch state {
	case http.StateNew:
		n = s.conns.Add(1)
	case http.StateClosed, http.StateHijacked:
		n = s.conns.Add(-1)
	default:
		return
	}
	switch limit := float64(s.maxConns()); {
	case float64(n) >= sheddingAt*limit && s.shedding.CompareAndSwap(false, true):
		s.Logger.Warn("near the connection limit: keep-alives off until connections drop", "open", n, "max_conns", s.maxConns())
		go s.applyShedding()
	case float64(n) <= resumeAt*limit && s.shedding.CompareAndSwap(true, false):
		go s.applyShedding()
	}
}

// applyShedding makes the keep-alive setting what shedding says now (the
// last of several calls applies the latest).
func (s *Server) applyShedding() {
	s.shedMu.Lock()
	defer s.shedMu.Unlock()
	s.http.SetKeepAlivesEnabled(!s.shedding.Load())
}

// decodeBudget bounds the bytes of bodies being decoded at once.
type decodeBudget struct {
	sem *semaphore.Weighted
	max int64
}

func newDecodeBudget(max int64) *decodeBudget {
	if max <= 0 {
		max = DefaultMaxDecodingBytes
	}
	return &decodeBudget{sem: semaphore.NewWeighted(max), max: max}
}

// reserve waits for room to read and decode a body of at most limit bytes.
// It returns the release function, or false after answering 503 when no
// room came in time.
func (s *Server) reserve(w http.ResponseWriter, r *http.Request, limit int64) (release func(), ok bool) {
	n := limit
	if cl := r.ContentLength; cl >= 0 && cl < limit && isIdentity(r.Header.Get("Content-Encoding")) {
		n = max(cl, 1)
	}
	n = min(n, s.decoding.max)
	ctx, cancel := context.WithTimeout(r.Context(), cmp.Or(s.DecodeWait, DefaultDecodeWait))
	defer cancel()
	if err := s.decoding.sem.Acquire(ctx, n); err != nil {
		writeAmplitude(w, http.StatusServiceUnavailable, map[string]any{"code": 503,
			"error": "Service unavailable: too many uploads are being read at once; nothing was stored, retry"})
		return nil, false
	}
	return func() { s.decoding.sem.Release(n) }, true
}

func isIdentity(enc string) bool {
	enc = strings.ToLower(strings.TrimSpace(enc))
	return enc == "" || enc == "identity"
}
