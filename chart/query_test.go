package chart

import (
	"strings"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
)

func TestRangeDefaults(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	// 23:30 UTC on 30 November is 1 December in Berlin.
	c := Context{Location: berlin, Now: time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC)}
	for _, tc := range []struct {
		r          Range
		start, end string
	}{
		{Range{}, "2026-11-02T00:00:00+01:00", "2026-12-02T00:00:00+01:00"},
		{Range{End: "2026-11-10"}, "2026-10-12T00:00:00+02:00", "2026-11-11T00:00:00+01:00"},
		{Range{Start: "2026-11-20"}, "2026-11-20T00:00:00+01:00", "2026-12-02T00:00:00+01:00"},
		{Range{Start: "2026-03-29", End: "2026-03-29"}, "2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00"},
	} {
		start, end, err := tc.r.days(c)
		if err != nil || start.Format(time.RFC3339) != tc.start || end.Format(time.RFC3339) != tc.end {
			t.Errorf("%+v: %v to %v, %v; want %s to %s", tc.r, start, end, err, tc.start, tc.end)
		}
	}
	for _, bad := range []Range{{Start: "2026-11-20", End: "2026-11-19"}, {Start: "20261101"}, {End: "2026-02-30"}, {Start: "2024-01-01", End: "2025-01-01"}} {
		if _, _, err := bad.days(c); touchpoint.ErrorCode(err) != touchpoint.EINVALID {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}

func TestBuckets(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	day := func(s string) time.Time {
		t, _ := time.ParseInLocation(time.DateOnly, s, berlin)
		return t
	}
	for _, tc := range []struct {
		interval   string
		start, end string // end excluded
		names      string
		hours      string // each bucket's length
	}{
		// Summer time ends on 25 October: a day of 25 hours.
		{Day, "2026-10-24", "2026-10-27", "2026-10-24 2026-10-25 2026-10-26", "24h0m0s 25h0m0s 24h0m0s"},
		// The first week is named by its Monday and counts from the start.
		{Week, "2026-11-01", "2026-11-16", "2026-10-26 2026-11-02 2026-11-09", "24h0m0s 168h0m0s 168h0m0s"},
		{Month, "2026-10-15", "2026-12-02", "2026-10-01 2026-11-01 2026-12-01", "409h0m0s 720h0m0s 24h0m0s"},
	} {
		b := newBuckets(day(tc.start), day(tc.end), tc.interval)
		var hours []string
		for k := range b.len() {
			hours = append(hours, (time.Duration(b.bounds[k+1]-b.bounds[k]) * time.Millisecond).String())
		}
		if got := strings.Join(b.names, " "); got != tc.names {
			t.Errorf("%s %s–%s: %s, want %s", tc.interval, tc.start, tc.end, got, tc.names)
		}
		if got := strings.Join(hours, " "); got != tc.hours {
			t.Errorf("%s %s–%s: lengths %s, want %s", tc.interval, tc.start, tc.end, got, tc.hours)
		}
		// Every moment of the span falls in the bucket that holds it.
		for k := range b.len() {
			for _, at := range []int64{b.bounds[k], b.bounds[k+1] - 1} {
				if got := b.of(at); got != k {
					t.Errorf("%s: time %d in bucket %d, want %d", tc.interval, at, got, k)
				}
			}
		}
	}
}

// TestDaysWhereMidnightIsSkipped: where summer time begins at midnight
// (Santiago, Cairo), that day begins when the clocks jump, and every day
// after still begins at its midnight.
func TestDaysWhereMidnightIsSkipped(t *testing.T) {
	for _, tc := range []struct {
		zone, start, end string
		names, hours     string
		first            string // the first moment of the day that has no midnight
	}{
		{"America/Santiago", "2024-09-06", "2024-09-10", "2024-09-06 2024-09-07 2024-09-08 2024-09-09 2024-09-10",
			"24h0m0s 24h0m0s 23h0m0s 24h0m0s 24h0m0s", "2024-09-08T01:00:00-03:00"},
		{"Africa/Cairo", "2024-04-25", "2024-04-27", "2024-04-25 2024-04-26 2024-04-27", "24h0m0s 23h0m0s 24h0m0s", "2024-04-26T01:00:00+03:00"},
	} {
		loc, err := time.LoadLocation(tc.zone)
		if err != nil {
			t.Fatal(err)
		}
		c := Context{Location: loc, Now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
		start, end, err := Range{Start: tc.start, End: tc.end}.days(c)
		if err != nil {
			t.Fatal(err)
		}
		b := newBuckets(start, end, Day)
		var hours []string
		for k := range b.len() {
			hours = append(hours, (time.Duration(b.bounds[k+1]-b.bounds[k]) * time.Millisecond).String())
		}
		if got := strings.Join(b.names, " "); got != tc.names {
			t.Errorf("%s: days %s, want %s", tc.zone, got, tc.names)
		}
		if got := strings.Join(hours, " "); got != tc.hours {
			t.Errorf("%s: lengths %s, want %s", tc.zone, got, tc.hours)
		}
		for k, name := range b.names {
			if at := time.UnixMilli(b.bounds[k]).In(loc); at.Format(time.DateOnly) != name {
				t.Errorf("%s: day %s begins at %s", tc.zone, name, at)
			}
			if name == tc.first[:10] && time.UnixMilli(b.bounds[k]).In(loc).Format(time.RFC3339) != tc.first {
				t.Errorf("%s: day %s begins at %s, want %s", tc.zone, name, time.UnixMilli(b.bounds[k]).In(loc).Format(time.RFC3339), tc.first)
			}
		}
		// A week of the range, too.
		w := newBuckets(start, end, Week)
		if at := time.UnixMilli(w.bounds[len(w.bounds)-1]).In(loc); !at.Equal(end) {
			t.Errorf("%s: the weeks end at %s, not %s", tc.zone, at, end)
		}
	}
}
