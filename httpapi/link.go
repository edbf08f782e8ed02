package httpapi

import (
	"net/http"
	"strconv"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/link"
)

// pixel is a transparent 1×1 GIF, the answer to an impression.
var pixel = []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")

// handleLink serves GET /c/{app_id} (clicks) and GET /v/{app_id}
// (impressions). The touch is committed before the answer is written. A
// click is redirected (302) to af_r or the store; redirect=false answers 200
// (server-to-server clicks); an impression answers a 1×1 GIF. A HEAD request
// (link checkers, previews) is answered the same way but records nothing.
func (s *Server) handleLink(kind touchpoint.TouchKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		appID := r.PathValue("app_id")
		app := s.svc.App(appID)
		if app == nil {
			writeText(w, http.StatusNotFound, "app "+strconv.Quote(appID)+" is not configured on this server")
			return
		}
		t, err := s.svc.Touch(app, link.Request{
			Kind:           kind,
			RawQuery:       r.URL.RawQuery,
			ClientIP:       s.clientIP(r),
			UserAgent:      r.UserAgent(),
			AcceptLanguage: r.Header.Get("Accept-Language"),
		})
		if err != nil {
			writeText(w, http.StatusBadRequest, touchpoint.ErrorMessage(err))
			return
		}
		// Where the touch came from, by its ip (af_ip when the partner
		// may send one, else the connection's).
		loc := s.GeoIP.Lookup(t.IP)
		t.CountryCode, t.City = loc.CountryCode, loc.City
		if r.Method != http.MethodHead {
			if err := s.svc.RecordTouch(r.Context(), app, t); err != nil {
				code := touchpoint.ErrorCode(err)
				if status := touchpoint.StatusOf(code); status < 500 {
					// This click's own fault (its app was deleted a moment
					// ago, say): the others of its commit are stored.
					writeText(w, status, touchpoint.ErrorMessage(err))
					return
				}
				if code == touchpoint.EUNAVAILABLE {
					writeText(w, http.StatusServiceUnavailable, "the touch could not be recorded: "+touchpoint.ErrorMessage(err))
					return
				}
				// Ours, and logged by the service.
				writeText(w, http.StatusServiceUnavailable, "the touch could not be recorded; please retry")
				return
			}
			s.Metrics.touchRecorded(t)
		}
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		switch {
		case kind == touchpoint.Impression:
			h.Set("Content-Type", "image/gif")
			w.Write(pixel)
		case t.Params.Redirect != nil && !*t.Params.Redirect:
			writeText(w, http.StatusOK, "ok")
		default:
			h.Set("Location", link.Redirect(app.App, t))
			w.WriteHeader(http.StatusFound)
		}
	}
}
