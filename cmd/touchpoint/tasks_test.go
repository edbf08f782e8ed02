package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// serve runs one table of background work, the store's and the
// application's, and /metrics shows every task of it.
func TestServeTaskTable(t *testing.T) {
	srv, _, stop := serve(t, "--data-dir", t.TempDir())
	resp, err := http.Get(srv.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	metrics := string(b)
	for _, task := range []string{"sqlite-load-touches", "sqlite-index-touches", "sqlite-checkpoint", "sqlite-index-events",
		"sqlite-chart-index", "sqlite-probe-space", "outbox", "cohort-syncs", "expire-attributions", "reload-catalog", "purge-touches", "purge-deliveries"} {
		if !strings.Contains(metrics, `touchpoint_task_last_run_timestamp_seconds{task="`+task+`"}`) {
			t.Errorf("/metrics does not report the task %s", task)
		}
	}
	if !strings.Contains(metrics, `touchpoint_task_running{task="outbox"} 1`) {
		t.Error("the outbox is not reported running")
	}
	if strings.Count(metrics, "touchpoint_task_last_duration_seconds{") != 12 {
		t.Errorf("want exactly the 12 tasks of the table:\n%s", metrics)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}
