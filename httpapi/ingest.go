package httpapi

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/analytics"
	"github.com/touchpointhq/touchpoint/geo"
	"github.com/touchpointhq/touchpoint/service"
)

// The analytics plane's ingestion endpoints, at Amplitude's paths, so that
// an Amplitude SDK pointed here (serverUrl) works unchanged
// (Amplitude's ingestion API and SDK documentation), from a browser too: every answer of
// these routes allows any origin, and their preflights are answered
// (cors.go).
func (s *Server) registerIngestRoutes(mux *http.ServeMux) {
	ingest := func(pattern string, h http.HandlerFunc) { s.handle(mux, pattern, allowAnyOrigin(h)) }
	ingest("POST /2/httpapi", s.handleUpload(analytics.HTTPAPI))
	ingest("POST /batch", s.handleUpload(analytics.BatchAPI))
	ingest("POST /identify", s.handleIdentify(false))
	ingest("GET /identify", s.handleIdentify(false))
	ingest("POST /groupidentify", s.handleIdentify(true))
	ingest("GET /groupidentify", s.handleIdentify(true))
	ingest("POST /attribution", s.handleAttribution)
	ingest("GET /attribution", s.handleAttribution)
	ingest("POST /{$}", s.handleLegacy) // legacy.go
	ingest("/2/", func(w http.ResponseWriter, r *http.Request) {
		writeAmplitude(w, http.StatusBadRequest, &analytics.Rejection{Code: 400, Error: analytics.ErrInvalidPath})
	})
	for _, path := range []string{"/2/httpapi", "/batch", "/identify", "/groupidentify", "/attribution", "/{$}", "/2/"} {
		s.handle(mux, "OPTIONS "+path, preflight)
	}
}

// writeAmplitude writes an answer of the ingestion API: compact JSON.
func writeAmplitude(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

var unavailable = map[string]any{"code": 503, "error": "Service unavailable: the events were not stored; retry"}

// bodyPool recycles upload buffers.
var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// readUpload reads a body of at most max bytes after decompression
// (Content-Encoding: gzip). It answers 413 past the limit.
func readUpload(w http.ResponseWriter, r *http.Request, buf *bytes.Buffer, max int64) bool {
	var src io.Reader = r.Body
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			writeAmplitude(w, http.StatusBadRequest, &analytics.Rejection{Code: 400, Error: analytics.ErrInvalidJSON})
			return false
		}
		defer zr.Close()
		src = zr
	default:
		writeAmplitude(w, http.StatusBadRequest, &analytics.Rejection{Code: 400, Error: analytics.ErrInvalidJSON})
		return false
	}
	if cl := r.ContentLength; src == r.Body && cl > 0 && cl <= max {
		// One allocation of the right size, not a doubling series.
		buf.Grow(int(cl) + bytes.MinRead)
	}
	n, err := buf.ReadFrom(io.LimitReader(src, max+1))
	switch {
	case n > max:
		writeAmplitude(w, http.StatusRequestEntityTooLarge, &analytics.Rejection{Code: 413, Error: analytics.ErrTooLarge})
		return false
	case err != nil:
		// A broken gzip stream or a connection cut mid-body.
		writeAmplitude(w, http.StatusBadRequest, &analytics.Rejection{Code: 400, Error: analytics.ErrInvalidJSON})
		return false
	}
	return true
}

// POST /2/httpapi, POST /batch: an upload of events. Any Content-Type is
// read as JSON: the browser SDK's sendBeacon posts text/plain. The events
// are stored (committed) before the 200 is written.
func (s *Server) handleUpload(ep analytics.Endpoint) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		buf := bodyPool.Get().(*bytes.Buffer)
		buf.Reset()
		defer func() {
			if buf.Cap() <= 4<<20 {
				bodyPool.Put(buf)
			}
		}()
		release, ok := s.reserve(w, r, ep.MaxBody)
		if !ok {
			return
		}
		defer release()
		if !readUpload(w, r, buf, ep.MaxBody) {
			return
		}
		var project *touchpoint.Project
		var now time.Time // the project's
		remoteIP := s.clientIP(r)
		up, rej := analytics.DecodeUpload(buf.Bytes(), analytics.Request{Endpoint: ep, Now: s.Store.Now(), RemoteIP: remoteIP,
			KnownKey: func(key string) (time.Time, bool) {
				p, err := s.svc.ProjectByAPIKey(key)
				project, now = p, s.svc.ProjectNow(p)
				return now, err == nil
			}})
		if rej != nil {
			s.Metrics.eventsRefused(ep.Path, rej.Code, countEvents(rej))
			writeAmplitude(w, rej.Code, rej)
			return
		}
		// What Amplitude's servers fill: the location by IP, the device
		// of web events by User-Agent (package geo), where the event
		// did not say.
		en := geo.Enricher{DB: s.GeoIP, UA: true}
		en.Upload(up.Events, remoteIP, r.UserAgent())
		rate := service.HTTPRate
		if ep.Batch {
			rate = service.BatchRate
		}
		if !s.ingest(w, r, &service.Upload{Project: project, Received: now, Events: up.Events, Rate: rate}, ep.Path) {
			return
		}
		s.Metrics.eventsIngested(ep.Path, len(up.Events))
		writeAmplitude(w, http.StatusOK, analytics.Success{Code: 200, ServerUploadTime: now.UnixMilli(),
			PayloadSizeBytes: buf.Len(), EventsIngested: len(up.Events)})
	}
}

// countEvents is how many events a refused upload held, for the metrics:
// the indexes named in the answer, else unknown (0).
func countEvents(rej *analytics.Rejection) int {
	seen := map[int]bool{}
	for _, m := range []map[string][]int{rej.EventsWithInvalidFields, rej.EventsWithMissingFields} {
		for _, l := range m {
			for _, i := range l {
				seen[i] = true
			}
		}
	}
	return len(seen)
}

// ingest stores an upload through the service. Refused over its rate, it
// answers 429 (counted as refused under path, when path is set); not
// stored, 503 (a retry is safe) or 400 (its own data); it returns whether
// the events were stored.
func (s *Server) ingest(w http.ResponseWriter, r *http.Request, up *service.Upload, path string) bool {
	t, err := s.svc.Ingest(r.Context(), up)
	if t != nil {
		if path != "" {
			s.Metrics.eventsRefused(path, http.StatusTooManyRequests, len(up.Events))
		}
		writeAmplitude(w, http.StatusTooManyRequests, t)
		return false
	}
	if err != nil {
		if touchpoint.ErrorCode(err) == touchpoint.EINVALID {
			// This upload's own data could not be stored; the rest of its
			// commit was (package batch). Not worth retrying.
			writeAmplitude(w, http.StatusBadRequest, map[string]any{"code": 400, "error": touchpoint.ErrorMessage(err)})
			return false
		}
		if touchpoint.ErrorCode(err) == touchpoint.EUNAVAILABLE {
			writeAmplitude(w, http.StatusServiceUnavailable, map[string]any{"code": 503,
				"error": "Service unavailable: the events were not stored: " + touchpoint.ErrorMessage(err)})
			return false
		}
		s.Logger.Error("record events", "project", up.Project.ID, "err", err)
		writeAmplitude(w, http.StatusServiceUnavailable, unavailable)
		return false
	}
	return true
}

// maxForm bounds the body of a form endpoint (Amplitude: 1 MB).
const maxForm = 1 << 20

// formValues parses a form endpoint's parameters: query, url-encoded or
// multipart body, at most 1 MB.
func formValues(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var err error
	if ct == "multipart/form-data" {
		err = r.ParseMultipartForm(maxForm)
	} else {
		err = r.ParseForm()
	}
	return err
}

// formProject returns the project of a form's api_key, or writes the 400.
func (s *Server) formProject(w http.ResponseWriter, r *http.Request) *touchpoint.Project {
	if err := formValues(w, r); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeText(w, http.StatusRequestEntityTooLarge, "the request is larger than 1 MB")
			return nil
		}
		writeText(w, http.StatusBadRequest, "the parameters could not be read: "+err.Error())
		return nil
	}
	key := r.Form.Get("api_key")
	if key == "" {
		writeText(w, http.StatusBadRequest, "the api_key parameter is required")
		return nil
	}
	p, err := s.svc.ProjectByAPIKey(key)
	if err != nil {
		writeText(w, http.StatusBadRequest, "invalid api_key")
		return nil
	}
	return p
}

// POST /identify, POST /groupidentify (and GET, as Amplitude takes both):
// user or group property changes; not events.
func (s *Server) handleIdentify(group bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		release, ok := s.reserve(w, r, maxForm)
		if !ok {
			return
		}
		defer release()
		p := s.formProject(w, r)
		if p == nil {
			return
		}
		now := s.svc.ProjectNow(p)
		decode := analytics.DecodeIdentify
		if group {
			decode = analytics.DecodeGroupIdentify
		}
		events, err := decode(r.Form.Get("identification"), now)
		if err != nil {
			writeText(w, http.StatusBadRequest, err.Error())
			return
		}
		// Group property changes are not rate limited.
		up := &service.Upload{Project: p, Received: now, Events: events}
		if !group {
			up.Rate = service.HTTPRate
		}
		if !s.ingest(w, r, up, "") {
			return
		}
		writeText(w, http.StatusOK, analytics.FormSuccess)
	}
}

// POST /attribution: an MMP's attribution event, applied to the user with
// its advertising id now, or held for up to 72 hours.
func (s *Server) handleAttribution(w http.ResponseWriter, r *http.Request) {
	release, ok := s.reserve(w, r, maxForm)
	if !ok {
		return
	}
	defer release()
	p := s.formProject(w, r)
	if p == nil {
		return
	}
	now := s.svc.ProjectNow(p)
	e, err := analytics.DecodeAttribution(r.Form.Get("event"), now)
	if err != nil {
		writeText(w, http.StatusBadRequest, err.Error())
		return
	}
	if !s.ingest(w, r, &service.Upload{Project: p, Received: now, Events: []*touchpoint.IncomingEvent{e}}, "") {
		return
	}
	s.Metrics.eventsIngested("/attribution", 1)
	writeText(w, http.StatusOK, analytics.FormSuccess)
}
