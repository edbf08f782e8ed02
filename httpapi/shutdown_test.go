package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/httpapi"
)

// heldDeviceReads holds up FindDevice once armed, until released: a
// request then stays in flight past the server's close.
type heldDeviceReads struct {
	touchpoint.Store
	mu      sync.Mutex
	armed   bool
	entered chan struct{}
	release chan struct{}
}

func (h *heldDeviceReads) FindDevice(ctx context.Context, app, id string) (*touchpoint.Device, error) {
	h.mu.Lock()
	armed := h.armed
	h.armed = false
	h.mu.Unlock()
	if armed {
		close(h.entered)
		<-h.release
	}
	return h.Store.FindDevice(ctx, app, id)
}

// TestRequestInFlightAtCloseIs503: a request still in flight when the
// server closes (its shutdown grace over) finds the group commit closed:
// nothing was written, and it is answered 503 ("retry"), as every write
// of a closing server is (docs/design.md, "Faults"), not 500.
func TestRequestInFlightAtCloseIs503(t *testing.T) {
	h := &heldDeviceReads{entered: make(chan struct{}), release: make(chan struct{})}
	var srv *httpapi.Server
	a := startSDKApp(t, func(s *httpapi.Server) {
		h.Store = s.Store
		s.Store = h
		srv = s
	})
	dev := a.launch(t, map[string]any{"advertising_id": "38400000-8cf0-11bd-b23e-10b96e40000d"}).DeviceID
	h.mu.Lock()
	h.armed = true
	h.mu.Unlock()
	type answer struct {
		code int
		body string
	}
	done := make(chan answer, 1)
	go func() {
		b, _ := json.Marshal(map[string]any{"device_id": dev, "event_name": "af_purchase"})
		req, _ := http.NewRequest("POST", a.URL()+"/sdk/v1/apps/"+appID+"/events", bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+a.devKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- answer{0, err.Error()}
			return
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		done <- answer{resp.StatusCode, string(raw)}
	}()
	<-h.entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // no grace: the request is still in flight when the server closes
	srv.Close(ctx)
	close(h.release)
	got := <-done
	var e httpapi.ErrorResponse
	if got.code != 503 || json.Unmarshal([]byte(got.body), &e) != nil || e.Code != touchpoint.EUNAVAILABLE {
		t.Errorf("an event in flight at close = %d %s, want 503 %s", got.code, got.body, touchpoint.EUNAVAILABLE)
	}
}
