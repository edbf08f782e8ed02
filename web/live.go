package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/touchpointhq/touchpoint"
)

func (h *Handler) registerLiveRoutes(r *routes) {
	r.page("GET /apps/{app}/live", h.handleLive)
	r.stream("GET /apps/{app}/live/events", h.handleLiveEvents)
}

// liveData is the Live page's.
type liveData struct {
	// Events is the stream's path; ClickURL a click to send to see one.
	Events   string
	ClickURL string
}

// GET /apps/{app}/live
func (h *Handler) handleLive(w http.ResponseWriter, r *http.Request, v *View) error {
	v.Title, v.Section = "Live", "live"
	return v.Render("live", &liveData{Events: appPath(v.App.ID, "live", "events"), ClickURL: h.tryClickURL(r, v.App)})
}

// liveItem is a feed item as the page's script reads it (web/static/
// app.js): these names exactly.
type liveItem struct {
	Kind  string `json:"kind"`
	Label string `json:"label"`
	Text  string `json:"text"`
	Time  string `json:"time"`
	Href  string `json:"href,omitempty"`
	OK    bool   `json:"ok"`
}

// Timings of the stream.
const (
	// liveKeepAlive is how often an idle stream sends a comment, so that
	// proxies and the browser keep it open.
	liveKeepAlive = 15 * time.Second
	// liveWriteTimeout bounds one write to a stream (the server's
	// WriteTimeout bounds a whole answer; a stream extends it per write).
	liveWriteTimeout = 30 * time.Second
	// liveMaxAge ends a stream after a while: the browser reconnects at
	// once, and the session is checked again then (a signed-out or expired
	// session does not keep a stream).
	liveMaxAge = 30 * time.Minute
)

// GET /apps/{app}/live/events: the app's feed as server-sent events, one
// `data: <json>` message per item (liveItem), until the browser goes away
// or the server shuts down. This node's items only (see service/feed.go).
func (h *Handler) handleLiveEvents(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w)
	id := r.PathValue("app")
	if _, err := h.Store.FindApp(r.Context(), id); err != nil {
		code := touchpoint.ErrorCode(err)
		if code == touchpoint.EINTERNAL {
			h.Logger.Error("dashboard: live", "app", id, "err", err)
		}
		http.Error(w, touchpoint.ErrorMessage(err), touchpoint.StatusOf(code))
		return
	}
	items, cancel := h.Service().Subscribe(id)
	defer cancel()
	stopping := shuttingDown(r)

	rc := http.NewResponseController(w)
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Accel-Buffering", "no") // nginx: pass each message on at once
	// write sends b, extending the write deadline for it, and flushes.
	write := func(b []byte) bool {
		if err := rc.SetWriteDeadline(time.Now().Add(liveWriteTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return false
		}
		if _, err := w.Write(b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	w.WriteHeader(http.StatusOK)
	// The browser waits 3 s before reconnecting; a comment opens the
	// stream at once.
	if !write([]byte("retry: 3000\n: connected\n\n")) {
		return
	}
	explorer := appPath(id, "explorer")
	keepAlive := time.NewTicker(liveKeepAlive)
	defer keepAlive.Stop()
	maxAge := time.NewTimer(liveMaxAge)
	defer maxAge.Stop()
	for {
		var msg []byte
		select {
		case <-r.Context().Done():
			return
		case <-stopping:
			return
		case <-maxAge.C:
			return
		case <-keepAlive.C:
			msg = []byte(": keep-alive\n\n")
		case it, ok := <-items:
			if !ok {
				return
			}
			li := liveItem{Kind: it.Kind, Label: it.Label, Text: it.Text, Time: datetime(it.Time), OK: it.OK}
			if it.DeviceID != "" {
				li.Href = explorer + "?" + url.Values{"id": {it.DeviceID}}.Encode()
			}
			b, _ := json.Marshal(li)
			msg = append(append([]byte("data: "), b...), "\n\n"...)
		}
		if !write(msg) {
			return
		}
	}
}

// shutdowns holds, by server, a channel closed when the server shuts down:
// a graceful shutdown waits for the answers under way, and a stream would
// otherwise hold it for its whole grace period.
var shutdowns sync.Map // *http.Server → chan struct{}

// shuttingDown returns a channel closed when the server that took r shuts
// down (never, when r came from elsewhere: a test's handler).
func shuttingDown(r *http.Request) <-chan struct{} {
	srv, ok := r.Context().Value(http.ServerContextKey).(*http.Server)
	if !ok {
		return nil
	}
	ch := make(chan struct{})
	got, loaded := shutdowns.LoadOrStore(srv, ch)
	if !loaded {
		srv.RegisterOnShutdown(func() {
			close(ch)
			shutdowns.Delete(srv)
		})
	}
	return got.(chan struct{})
}
