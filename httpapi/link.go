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
		app := s.catalog.Load().apps[appID]
		if app == nil {
			writeText(w, http.StatusNotFound, "app "+strconv.Quote(appID)+" is not configured on this server")
			return
		}
		t, err := link.NewTouch(link.Request{
			Kind:           kind,
			RawQuery:       r.URL.RawQuery,
			Time:           app.app.Now(s.Store.Now),
			ClientIP:       s.clientIP(r),
			UserAgent:      r.UserAgent(),
			AcceptLanguage: r.Header.Get("Accept-Language"),
		}, app.app, app.partner)
		if err != nil {
			writeText(w, http.StatusBadRequest, touchpoint.ErrorMessage(err))
			return
		}
		if r.Method != http.MethodHead {
			over, err := s.overCap(r.Context(), app.configured(t.PID), t)
			if err != nil {
				s.Logger.Error("count click cap", "err", err)
				writeText(w, http.StatusServiceUnavailable, "the touch could not be recorded; please retry")
				return
			}
			t.OverCap = over
			if err := s.touches.Add(t); err != nil {
				if status, ok := errorStatus[touchpoint.ErrorCode(err)]; ok && status < 500 {
					// This click's own fault (its app was deleted a moment
					// ago, say): the others of its commit are stored.
					writeText(w, status, touchpoint.ErrorMessage(err))
					return
				}
				if touchpoint.ErrorCode(err) == touchpoint.EUNAVAILABLE {
					writeText(w, http.StatusServiceUnavailable, "the touch could not be recorded: "+touchpoint.ErrorMessage(err))
					return
				}
				s.Logger.Error("record touch", "err", err)
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
			h.Set("Location", link.Redirect(app.app, t))
			w.WriteHeader(http.StatusFound)
		}
	}
}
