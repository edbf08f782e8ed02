package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/analytics"
	"github.com/touchpointhq/touchpoint/geo"
	"github.com/touchpointhq/touchpoint/service"
)

// legacyMaxForm bounds a legacy form's bytes. e may hold 1 MB of JSON
// (analytics.LegacyAPI), which URL encoding can grow threefold.
const legacyMaxForm = 3<<20 + 64<<10

// POST /: the legacy SDKs' upload (amplitude-js, and the old Android and
// iOS SDKs): a form with client, e, v, upload_time and checksum, url-encoded
// (XMLHttpRequest, or navigator.sendBeacon with URLSearchParams) or
// multipart (sendBeacon with FormData). A url-encoded body is read whatever
// its Content-Type says: the old Android SDK labels it application/json.
// Its events are HTTP V2's, under the same rules, limits and rates
// (analytics.DecodeLegacy), and are committed before the 200. Answers are
// the legacy endpoint's plain text, without a newline: the old SDKs
// compare the body with "success".
func (s *Server) handleLegacy(w http.ResponseWriter, r *http.Request) {
	// The bytes being decoded at once are bounded, as other uploads'
	// (limits.go).
	release, ok := s.reserve(w, r, legacyMaxForm)
	if !ok {
		return
	}
	defer release()
	form, err := legacyForm(w, r)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.legacyRefused(w, &analytics.LegacyError{Status: http.StatusRequestEntityTooLarge, Text: analytics.LegacyTooLarge}, 0)
			return
		}
		s.legacyRefused(w, &analytics.LegacyError{Status: http.StatusBadRequest, Text: "invalid_request: the form could not be read: " + err.Error()}, 0)
		return
	}
	var project *touchpoint.Project
	var now time.Time // the project's
	remoteIP := s.clientIP(r)
	up, lerr := analytics.DecodeLegacy(analytics.LegacyForm{Client: form.Get("client"), Events: form.Get("e"), Version: form.Get("v"),
		UploadTime: form.Get("upload_time"), Checksum: form.Get("checksum")},
		analytics.Request{Now: s.Store.Now(), RemoteIP: remoteIP, KnownKey: func(key string) (time.Time, bool) {
			p, err := s.svc.ProjectByAPIKey(key)
			project, now = p, s.svc.ProjectNow(p)
			return now, err == nil
		}})
	if lerr != nil {
		s.legacyRefused(w, lerr, 0)
		return
	}
	// As /2/httpapi: location and a browser's fields (package geo).
	(&geo.Enricher{DB: s.GeoIP, UA: true}).Upload(up.Events, remoteIP, r.UserAgent())
	t, err := s.svc.Ingest(r.Context(), &service.Upload{Project: project, Received: now, Events: up.Events, Rate: service.HTTPRate})
	if t != nil {
		b, _ := json.Marshal(t)
		s.legacyRefused(w, &analytics.LegacyError{Status: http.StatusTooManyRequests, Text: "too_many_requests: " + string(b)}, len(up.Events))
		return
	}
	if err != nil {
		if touchpoint.ErrorCode(err) == touchpoint.EINVALID {
			// This upload's own data could not be stored (package batch).
			s.legacyRefused(w, &analytics.LegacyError{Status: http.StatusBadRequest, Text: "invalid_event: " + touchpoint.ErrorMessage(err)}, len(up.Events))
			return
		}
		if touchpoint.ErrorCode(err) != touchpoint.EUNAVAILABLE {
			s.Logger.Error("record legacy events", "project", project.ID, "err", err)
		}
		// Not stored: the legacy SDKs send them again later.
		s.legacyRefused(w, &analytics.LegacyError{Status: http.StatusServiceUnavailable, Text: analytics.LegacyWriteFailed}, len(up.Events))
		return
	}
	s.Metrics.eventsIngested(analytics.LegacyAPI.Path, len(up.Events))
	writeLegacy(w, http.StatusOK, analytics.LegacySuccess)
}

// legacyForm reads a legacy upload's parameters from its body.
func legacyForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	r.Body = http.MaxBytesReader(w, r.Body, legacyMaxForm)
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "multipart/form-data" {
		// Every part stays in memory: the body is bounded above.
		if err := r.ParseMultipartForm(legacyMaxForm); err != nil {
			return nil, err
		}
		return url.Values(r.MultipartForm.Value), nil
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	return url.ParseQuery(string(b))
}

// legacyRefused answers a refused legacy upload and counts its events (n:
// how many, when known).
func (s *Server) legacyRefused(w http.ResponseWriter, e *analytics.LegacyError, n int) {
	s.Metrics.eventsRefused(analytics.LegacyAPI.Path, e.Status, n)
	writeLegacy(w, e.Status, e.Text)
}

// writeLegacy writes a legacy answer: plain text, as it is.
func writeLegacy(w http.ResponseWriter, status int, text string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write([]byte(text))
}
