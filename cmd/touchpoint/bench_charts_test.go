package main

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/sqlite"
)

// benchChartsAnswers runs "bench charts" into dir and returns its output
// and the answer column of its table by chart number.
func benchChartsAnswers(t *testing.T, dir string, args ...string) (stdout, stderr string, answers map[string]string) {
	t.Helper()
	var out, errs bytes.Buffer
	args = append([]string{"--data-dir", dir}, args...)
	if err := runBenchCharts(context.Background(), args, &out, &errs); err != nil {
		t.Fatalf("bench charts %v: %v\nstdout:\n%s\nstderr:\n%s", args, err, out.String(), errs.String())
	}
	answers = map[string]string{}
	row := regexp.MustCompile(`(?m)^\| (\d) \| [^|]+ \| [^|]+ \| [^|]+ \| [^|]+ \| (.*) \|$`)
	for _, m := range row.FindAllStringSubmatch(out.String(), -1) {
		answers[m[1]] = m[2]
	}
	return out.String(), errs.String(), answers
}

func TestBenchCharts(t *testing.T) {
	tiny := []string{"--users", "200", "--events", "3000", "--days", "70", "--runs", "1"}
	dir := t.TempDir()
	out, errs, first := benchChartsAnswers(t, dir, tiny...)
	if !strings.Contains(out, "data: seeded 200 users, 3000 events over 70 days") {
		t.Errorf("first run did not seed:\n%s", out)
	}
	if len(first) != len(benchChartsQueries(BenchChartsAnchor)) {
		t.Fatalf("want a row per chart, got %v:\n%s", first, out)
	}
	// Real answers: every chart found users or events in the data.
	for n, want := range map[string]string{"1": "series", "2": "users by step", "3": "users;", "4": "users;", "5": "series"} {
		if a := first[n]; !strings.Contains(a, want) || strings.HasPrefix(a, "0 ") || strings.Contains(a, "; 0 users") {
			t.Errorf("chart %s answered %q", n, a)
		}
	}
	if !strings.Contains(errs, "3000 events of 200 users") {
		t.Errorf("no seeding summary on stderr:\n%s", errs)
	}

	// Again on the same directory: reused, not seeded, the same answers.
	out, errs, again := benchChartsAnswers(t, dir, tiny...)
	if !strings.Contains(out, "data: reused 200 users") || strings.Contains(out, "seeded") || strings.Contains(errs, "planned") {
		t.Errorf("second run reseeded:\nstdout:\n%s\nstderr:\n%s", out, errs)
	}
	for n, a := range first {
		if again[n] != a {
			t.Errorf("chart %s: %q, then %q on the same data", n, a, again[n])
		}
	}

	// Other sizes on that directory: refused.
	var o, e bytes.Buffer
	err := runBenchCharts(context.Background(), []string{"--data-dir", dir, "--users", "201", "--events", "3000", "--days", "70", "--runs", "1"}, &o, &e)
	if err == nil || !strings.Contains(err.Error(), "--users 201") {
		t.Errorf("reusing a directory seeded with other sizes: %v", err)
	}

	// The store holds every event, and every user but those merged.
	db := sqlite.NewDB(filepath.Join(dir, "touchpoint.db"))
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ps, err := db.ListProjects(context.Background())
	if err != nil || len(ps) != 1 {
		t.Fatalf("projects: %v, %v", ps, err)
	}
	var events, users int
	scan := &touchpoint.EventScan{Start: 0, End: BenchChartsAnchor.UnixMilli()}
	if err := db.ScanEvents(context.Background(), ps[0].ID, scan, func(b *touchpoint.EventBatch) error { events += b.Len(); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := db.ScanUsers(context.Background(), ps[0].ID, nil, func(b *touchpoint.UserBatch) error { users += len(b.User); return nil }); err != nil {
		t.Fatal(err)
	}
	merges := len(planBenchCharts(benchChartsSpec{users: 200, events: 3000, days: 70}, io.Discard).merges)
	if events != 3000 || merges == 0 || users != 200-merges {
		t.Errorf("stored %d events and %d users (not merged); want 3000 and 200 less %d merged", events, users, merges)
	}

	// A fresh directory with the same sizes: the same data, so the same
	// answers.
	_, _, fresh := benchChartsAnswers(t, t.TempDir(), tiny...)
	for n, a := range first {
		if fresh[n] != a {
			t.Errorf("chart %s: %q, then %q from a new seeding", n, a, fresh[n])
		}
	}
}

func TestBenchChartsRefusesAnUnfinishedSeeding(t *testing.T) {
	dir := t.TempDir()
	spec := benchChartsSpec{users: 200, events: 3000, days: 70}
	db := sqlite.NewDB(filepath.Join(dir, "touchpoint.db"))
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	p := &touchpoint.Project{Name: spec.name() + seedingSuffix,
		Limits: touchpoint.IngestLimits{HTTPEPS: touchpoint.DefaultHTTPEPS, BatchEPS: touchpoint.DefaultBatchEPS}}
	if err := db.CreateProject(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	db.Close()
	var out, errs bytes.Buffer
	err := runBenchCharts(context.Background(), []string{"--data-dir", dir, "--users", "200", "--events", "3000", "--days", "70", "--runs", "1"}, &out, &errs)
	if err == nil || !strings.Contains(err.Error(), "did not finish") {
		t.Errorf("a directory whose seeding was cut short: %v\n%s", err, out.String())
	}
}
