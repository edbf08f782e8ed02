package httpapi_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/httpapi"
)

// gatedReloads holds up the server's periodic catalog reload (one not made
// by a request) once the test arms it: that reload reads the apps, then
// waits until released; later periodic reloads fail at once, so that only
// the held one and the requests' reloads store a catalog.
type gatedReloads struct {
	touchpoint.Store
	mu      sync.Mutex
	armed   bool
	held    bool
	entered chan struct{} // closed when the held reload has read the apps
	release chan struct{}
	later   chan struct{} // closed when a periodic reload after the held one began
	once    sync.Once
}

func (g *gatedReloads) ListApps(ctx context.Context) ([]*touchpoint.App, error) {
	if ctx.Value(http.ServerContextKey) != nil {
		return g.Store.ListApps(ctx) // a request's reload
	}
	g.mu.Lock()
	hold, after := g.armed && !g.held, g.held
	if hold {
		g.held = true
	}
	g.mu.Unlock()
	switch {
	case hold:
		apps, err := g.Store.ListApps(ctx)
		close(g.entered)
		<-g.release
		return apps, err
	case after:
		g.once.Do(func() { close(g.later) })
		return nil, errors.New("no periodic reload after the held one")
	}
	return g.Store.ListApps(ctx)
}

// TestRotatedKeyNotRevivedByAPeriodicReload: a dev key rotated while the
// periodic catalog reload is under way stops working at once and for good
// (docs/api.md: "the old key stops working at once"). The reload read the apps
// before the rotation and finishes after the rotation's own reload: it
// must not put the old key back.
func TestRotatedKeyNotRevivedByAPeriodicReload(t *testing.T) {
	g := &gatedReloads{entered: make(chan struct{}), release: make(chan struct{}), later: make(chan struct{})}
	s := startServer(t, func(s *httpapi.Server) {
		g.Store = s.Store
		s.Store = g
		s.CatalogRefresh = time.Millisecond
		s.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	})
	var app touchpoint.App
	s.mustAPI(t, 201, "POST", "/api/v1/apps", map[string]any{"app_id": "com.example.game", "platform": "android", "name": "Game"}, &app)
	// probe sends an S2S event with no body: a known key gets as far as
	// the body (400), an unknown one is refused (401).
	probe := func(key string) int {
		req, _ := http.NewRequest("POST", s.URL()+"/inappevent/com.example.game", bytes.NewReader(nil))
		req.Header.Set("authentication", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := probe(app.DevKey); got != 400 {
		t.Fatalf("the app's dev key: %d, want 400 (accepted, no body)", got)
	}
	g.mu.Lock()
	g.armed = true
	g.mu.Unlock()
	<-g.entered // a periodic reload has read the apps with the old key
	var rotated touchpoint.App
	s.mustAPI(t, 200, "POST", "/api/v1/apps/com.example.game/keys/rotate", map[string]any{"key": "dev_key"}, &rotated)
	close(g.release)
	<-g.later // the held reload has finished
	if got := probe(app.DevKey); got != 401 {
		t.Errorf("the rotated-out dev key after a late periodic reload: %d, want 401", got)
	}
	if got := probe(rotated.DevKey); got != 400 {
		t.Errorf("the new dev key after a late periodic reload: %d, want 400 (accepted, no body)", got)
	}
}
