package storetest

import (
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
)

var projectClockTests = []subtest{
	{"Project/TestClock", func(t *testing.T, s touchpoint.Store, c *Clock) {
		ctx := ctxb()
		start := time.Date(2030, 1, 2, 3, 4, 5, 6_000_000, time.UTC)
		p := &touchpoint.Project{Name: "Rehearsal", TestMode: true, TestClock: &start,
			Limits: touchpoint.IngestLimits{HTTPEPS: 30, BatchEPS: 1000}}
		if err := s.CreateProject(ctx, p); err != nil {
			t.Fatal(err)
		}
		if got := p.Now(c.Now); !got.Equal(start) {
			t.Fatalf("a new test project's time is %v, want %v", got, start)
		}
		found, err := s.FindProject(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !found.TestMode || found.TestClock == nil || !found.TestClock.Equal(start) {
			t.Fatalf("found test mode %v, clock %v; want %v", found.TestMode, found.TestClock, start)
		}
		// The clock stands still while the server's moves.
		c.Add(time.Hour)
		byKey, err := s.ProjectByAPIKey(p.APIKey)
		if err != nil {
			t.Fatal(err)
		}
		if got := byKey.Now(c.Now); !got.Equal(start) {
			t.Errorf("after an hour of the server's clock the project's reads %v, want %v", got, start)
		}
		later := start.Add(73 * time.Hour)
		moved, err := s.SetProjectTestClock(ctx, p.ID, later)
		if err != nil {
			t.Fatal(err)
		}
		if !moved.TestClock.Equal(later) {
			t.Errorf("moved clock %v, want %v", moved.TestClock, later)
		}
		if byKey, _ = s.ProjectByAPIKey(p.APIKey); !byKey.Now(c.Now).Equal(later) {
			t.Errorf("ProjectByAPIKey after the move reads %v, want %v", byKey.Now(c.Now), later)
		}
		// Backwards, too far, and on a production project: refused, and
		// nothing changes.
		for _, to := range []time.Time{start, later.Add(touchpoint.MaxTestClockStep + time.Hour)} {
			if _, err := s.SetProjectTestClock(ctx, p.ID, to); code(err) != touchpoint.EINVALID {
				t.Errorf("SetProjectTestClock(%v): %v, want EINVALID", to, err)
			}
		}
		if found, _ = s.FindProject(ctx, p.ID); !found.TestClock.Equal(later) {
			t.Errorf("after refused moves the clock reads %v, want %v", found.TestClock, later)
		}
		prod := &touchpoint.Project{Name: "Production", Limits: touchpoint.IngestLimits{HTTPEPS: 30, BatchEPS: 1000}}
		if err := s.CreateProject(ctx, prod); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetProjectTestClock(ctx, prod.ID, later); code(err) != touchpoint.EINVALID {
			t.Errorf("moving a production project's clock: %v, want EINVALID", err)
		}
		if got := prod.Now(c.Now); !got.Equal(c.Now()) {
			t.Errorf("a production project's time is %v, want the server's %v", got, c.Now())
		}
		if _, err := s.SetProjectTestClock(ctx, 999999, later); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("moving an unknown project's clock: %v, want ENOTFOUND", err)
		}
	}},
	{"Project/TestClockDefaultsToNow", func(t *testing.T, s touchpoint.Store, c *Clock) {
		p := &touchpoint.Project{Name: "Rehearsal", TestMode: true, Limits: touchpoint.IngestLimits{HTTPEPS: 30, BatchEPS: 1000}}
		if err := s.CreateProject(ctxb(), p); err != nil {
			t.Fatal(err)
		}
		if p.TestClock == nil || !p.TestClock.Equal(c.Now()) {
			t.Errorf("test clock %v, want the server's now %v", p.TestClock, c.Now())
		}
		bad := &touchpoint.Project{Name: "Bad", TestClock: p.TestClock, Limits: touchpoint.IngestLimits{HTTPEPS: 30, BatchEPS: 1000}}
		if err := s.CreateProject(ctxb(), bad); code(err) != touchpoint.EINVALID {
			t.Errorf("a test clock without test mode: %v, want EINVALID", err)
		}
	}},
}
