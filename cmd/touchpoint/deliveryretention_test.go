package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestServeDeliveryRetentionFlag: --delivery-retention (or its variable)
// sets how long finished deliveries are kept, 30 days by default; 0 keeps
// them forever, which leaves purge-deliveries out of the task table; a
// negative one is refused before serve starts.
func TestServeDeliveryRetentionFlag(t *testing.T) {
	cmd := &ServeCommand{Stderr: io.Discard}
	if err := cmd.ParseFlags(nil); err != nil || cmd.Config.DeliveryRetention != 30*24*time.Hour {
		t.Errorf("default --delivery-retention: %v %v", cmd.Config.DeliveryRetention, err)
	}
	if err := cmd.ParseFlags([]string{"--delivery-retention", "168h"}); err != nil || cmd.Config.DeliveryRetention != 7*24*time.Hour {
		t.Errorf("--delivery-retention 168h: %v %v", cmd.Config.DeliveryRetention, err)
	}
	t.Setenv("TOUCHPOINT_DELIVERY_RETENTION", "2160h")
	if err := cmd.ParseFlags(nil); err != nil || cmd.Config.DeliveryRetention != 90*24*time.Hour {
		t.Errorf("TOUCHPOINT_DELIVERY_RETENTION=2160h: %v %v", cmd.Config.DeliveryRetention, err)
	}

	bad := &ServeCommand{Stdout: io.Discard, Stderr: &bytes.Buffer{}}
	err := bad.Run(context.Background(), []string{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--delivery-retention", "-1h"})
	if err == nil || !strings.Contains(err.Error(), "--delivery-retention -1h0m0s: want a duration such as 720h (30 days), or 0 to keep deliveries forever") {
		t.Errorf("serve --delivery-retention -1h: %v", err)
	}

	srv, _, stop := serve(t, "--data-dir", t.TempDir(), "--delivery-retention", "0")
	defer stop()
	if got := srv.Service().DeliveryRetention; got >= 0 {
		t.Errorf("--delivery-retention 0 gave the service a retention of %s, want forever (negative)", got)
	}
	resp, err := http.Get(srv.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(b), `task="purge-deliveries"`) {
		t.Error("with --delivery-retention 0, purge-deliveries is in the task table")
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}
