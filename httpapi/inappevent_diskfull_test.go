package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/httpapi"
)

// fullConversions is a store whose disk is full when conversions are
// written: the store's EUNAVAILABLE, as sqlite answers then.
type fullConversions struct{ touchpoint.Store }

func (fullConversions) WriteConversions(context.Context, []*touchpoint.ConversionWrite) error {
	return touchpoint.Errorf(touchpoint.EUNAVAILABLE, "the disk of the data directory is full: nothing was written; free some space and retry (the server resumes by itself)")
}

// TestInAppEventDiskFull: an S2S event the store cannot write for want of
// room is answered 503 saying so (docs/design.md, "A full disk"), as the SDK API
// and the Audiences API answer it, not as a bug of ours (500 "Internal
// Server Error").
func TestInAppEventDiskFull(t *testing.T) {
	l := startLoop(t, func(s *httpapi.Server) { s.Store = fullConversions{s.Store} })
	l.launch(t, map[string]any{"advertising_id": "38400000-8cf0-11bd-b23e-10b96e40000d", "customer_user_id": "user-7"})
	b, _ := json.Marshal(map[string]any{"customer_user_id": "user-7", "eventName": "af_purchase", "eventValue": ""})
	req, _ := http.NewRequest("POST", l.URL()+"/inappevent/"+loopApp, bytes.NewReader(b))
	req.Header.Set("authentication", l.devKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var msg string
	if err := json.Unmarshal(raw, &msg); err != nil {
		t.Errorf("the answer %s is not a JSON string", raw)
	}
	if resp.StatusCode != 503 || !strings.Contains(msg, "disk") || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("S2S event on a full disk = %d %q (%s), want 503 saying the disk is full", resp.StatusCode, msg, resp.Header.Get("Content-Type"))
	}
}
