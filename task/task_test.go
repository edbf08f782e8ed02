package task_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/touchpointhq/touchpoint/sqlite"
	"github.com/touchpointhq/touchpoint/storetest"
	"github.com/touchpointhq/touchpoint/task"
)

func openStore(t *testing.T, c *storetest.Clock) *sqlite.DB {
	t.Helper()
	db := sqlite.NewDB(filepath.Join(t.TempDir(), "touchpoint.db"))
	db.Clock = c.Now
	db.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestRunOnceRecordsStats(t *testing.T) {
	c := storetest.NewClock(storetest.Start)
	fail := errors.New("no room")
	var calls int
	r := &task.Runner{Clock: c, Tasks: []task.Task{
		{Name: "ok", Run: func(context.Context) error { calls++; c.Add(3 * time.Second); return nil }},
		{Name: "bad", Run: func(context.Context) error { return fail }},
	}}
	if err := r.RunOnce(context.Background(), "ok"); err != nil {
		t.Fatal(err)
	}
	if err := r.RunOnce(context.Background(), "bad"); !errors.Is(err, fail) {
		t.Fatalf("RunOnce(bad) = %v, want %v", err, fail)
	}
	if err := r.RunOnce(context.Background(), "nope"); err == nil {
		t.Fatal("RunOnce of an unknown task succeeded")
	}
	st := r.Stats()
	if got, want := len(st), 2; got != want {
		t.Fatalf("%d stats, want %d", got, want)
	}
	if s := st[0]; calls != 1 || s.Runs != 1 || s.Errors != 0 || !s.LastRun.Equal(storetest.Start) || s.LastDuration != 3*time.Second {
		t.Errorf("ok: calls %d, stats %+v", calls, s)
	}
	if s := st[1]; s.Runs != 1 || s.Errors != 1 || s.LastError != "no room" {
		t.Errorf("bad: stats %+v", s)
	}
}

func TestInvalidTables(t *testing.T) {
	c := storetest.NewClock(storetest.Start)
	noop := func(context.Context) error { return nil }
	for name, r := range map[string]*task.Runner{
		"no clock":       {Tasks: []task.Task{{Name: "a", Run: noop}}},
		"no name":        {Clock: c, Tasks: []task.Task{{Run: noop}}},
		"duplicate":      {Clock: c, Tasks: []task.Task{{Name: "a", Run: noop}, {Name: "a", Run: noop}}},
		"lease no store": {Clock: c, Tasks: []task.Task{{Name: "a", Lease: time.Minute, Run: noop}}},
	} {
		if err := r.Start(); err == nil {
			r.Stop()
			t.Errorf("%s: Start succeeded", name)
		}
	}
}

// Two runners over one store, as two servers over one database: a leased
// task runs in one of them, round after round, until its holder stops
// and the lease runs out.
func TestLeasedTaskRunsInOneProcess(t *testing.T) {
	c := storetest.NewClock(storetest.Start)
	db := openStore(t, c)
	var ran [2]int
	runners := make([]*task.Runner, 2)
	for i := range runners {
		runners[i] = &task.Runner{Clock: c, Leases: db, Holder: []string{"node-a", "node-b"}[i], Tasks: []task.Task{
			{Name: "purge", Period: time.Hour, Lease: 90 * time.Minute, Run: func(context.Context) error { ran[i]++; return nil }},
		}}
	}
	ctx := context.Background()
	for round := range 3 {
		for _, r := range runners {
			if err := r.RunOnce(ctx, "purge"); err != nil && !errors.Is(err, task.ErrNotHeld) {
				t.Fatal(err)
			}
		}
		if ran != [2]int{round + 1, 0} {
			t.Fatalf("round %d: runs %v, want only node-a's", round, ran)
		}
		c.Add(time.Hour)
	}
	if s := runners[1].Stats()[0]; s.Skipped != 3 || s.Runs != 0 {
		t.Errorf("node-b: %+v, want 3 skipped rounds", s)
	}
	// node-a stops: its lease, last taken an hour ago, runs out 90
	// minutes after that; node-b then takes over.
	c.Add(30 * time.Minute)
	if err := runners[1].RunOnce(ctx, "purge"); err != nil {
		t.Fatalf("node-b after node-a's lease ran out: %v", err)
	}
	if ran[1] != 1 {
		t.Fatalf("node-b ran %d times, want 1", ran[1])
	}
}

// The schedule: rounds follow the period, a Due that says no skips a round
// uncounted, a worker runs until Stop, and Stop waits for all.
func TestSchedule(t *testing.T) {
	c := storetest.NewClock(storetest.Start)
	// Each wait the runner asks for is reported on asked and ends when
	// the test sends on tick: the test knows a round is over when the
	// next wait is asked for.
	asked := make(chan time.Duration, 1)
	tick := make(chan time.Time)
	var due atomic.Bool
	var rounds atomic.Int64
	workerStopped := make(chan struct{})
	r := &task.Runner{Clock: c,
		After: func(d time.Duration) <-chan time.Time {
			asked <- d
			return tick
		},
		Tasks: []task.Task{
			{Name: "every-minute", Period: time.Minute, Due: due.Load, Run: func(context.Context) error { rounds.Add(1); return nil }},
			{Name: "on-demand", Run: func(context.Context) error { t.Error("a task without a period ran on its own"); return nil }},
			{Name: "worker", Loop: true, Run: func(ctx context.Context) error {
				<-ctx.Done()
				close(workerStopped)
				return ctx.Err()
			}},
		}}
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	var waits []time.Duration
	round := func(isDue bool) {
		waits = append(waits, <-asked)
		due.Store(isDue)
		tick <- storetest.Start
	}
	round(false)
	round(false)
	round(true)
	round(false)
	waits = append(waits, <-asked)
	if got := rounds.Load(); got != 1 {
		t.Fatalf("%d rounds ran, want 1 (three were not due)", got)
	}
	if !slices.Equal(waits, []time.Duration{0, time.Minute, time.Minute, time.Minute, time.Minute}) {
		t.Errorf("waits %v, want 0 then a minute each", waits)
	}
	var running bool
	for _, s := range r.Stats() {
		if s.Name == "worker" {
			running = s.Running
		}
	}
	if !running {
		t.Error("the worker is not reported running")
	}
	r.Stop()
	select {
	case <-workerStopped:
	default:
		t.Fatal("Stop returned before the worker stopped")
	}
	for _, s := range r.Stats() {
		if s.Name == "worker" && (s.Running || s.Errors != 0) {
			t.Errorf("worker after Stop: %+v", s)
		}
	}
}

func TestMetrics(t *testing.T) {
	c := storetest.NewClock(storetest.Start)
	r := &task.Runner{Clock: c, Tasks: []task.Task{
		{Name: "purge-touches", Run: func(context.Context) error { c.Add(1500 * time.Millisecond); return nil }},
		{Name: "sync", Run: func(context.Context) error { return errors.New("x") }},
	}}
	r.RunOnce(context.Background(), "purge-touches")
	r.RunOnce(context.Background(), "sync")
	r.RunOnce(context.Background(), "sync")
	reg := prometheus.NewRegistry()
	reg.MustRegister(r.Collector())
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`touchpoint_task_runs_total{outcome="ok",task="purge-touches"} 1`,
		`touchpoint_task_runs_total{outcome="error",task="sync"} 2`,
		`touchpoint_task_runs_total{outcome="ok",task="sync"} 0`,
		`touchpoint_task_last_duration_seconds{task="purge-touches"} 1.5`,
		`touchpoint_task_last_run_timestamp_seconds{task="purge-touches"} 1.7954352e+09`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s:\n%s", want, body)
		}
	}
}

// A runner starts once; a second Start is refused and starts nothing.
func TestStartTwice(t *testing.T) {
	r := &task.Runner{Clock: storetest.NewClock(storetest.Start), Tasks: []task.Task{
		{Name: "worker", Loop: true, Run: func(ctx context.Context) error { <-ctx.Done(); return nil }},
	}}
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	if err := r.Start(); err == nil {
		t.Fatal("a second Start succeeded")
	}
}
