package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/chart"
)

// chartQueryOf parses a chart's flags as "touchpoint charts KIND" does
// and returns the query they make, as JSON.
func chartQueryOf(kind string, args ...string) (string, error) {
	fs := flag.NewFlagSet("charts "+kind, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	a := chartFlags(fs, kind)
	if err := fs.Parse(args); err != nil {
		return "", err
	}
	q, err := a.query()
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(q)
	return string(b), err
}

// TestChartFlags: the query each chart's flags make.
func TestChartFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		kind string
		args []string
		want string
	}{{
		name: "segmentation, the default range: the server's (30 days to the project's today)",
		kind: "segmentation", args: []string{"--event", "purchase"},
		want: `{"events":[{"event_type":"purchase"}]}`,
	}, {
		name: "segmentation, every flag; --where filters the --event before it",
		kind: "segmentation",
		args: []string{"--event", "purchase", "--where", "event:price>20", "--where", "user:[AppsFlyer] media source=examplenet",
			"--event", "_all", "--where", "country in US, DE",
			"--metric", "sum", "--property", "revenue", "--interval", "week",
			"--group-by", "[AppsFlyer] media source", "--group-by", "event:platform",
			"--start", "2026-10-01", "--end", "2026-10-31"},
		want: `{"events":[{"event_type":"purchase","where":[` +
			`{"type":"event","property":"price","op":"\u003e","value":20},` +
			`{"type":"user","property":"[AppsFlyer] media source","op":"=","value":"examplenet"}]},` +
			`{"event_type":"_all","where":[{"type":"event","property":"country","op":"in","values":["US","DE"]}]}],` +
			`"metric":"sum","property":"revenue","interval":"week","start":"2026-10-01","end":"2026-10-31",` +
			`"group_by":[{"type":"user","property":"[AppsFlyer] media source"},{"type":"event","property":"platform"}]}`,
	}, {
		name: "only --end: the server takes the 30 days to it",
		kind: "segmentation", args: []string{"--event", "open", "--end", "2026-03-01"},
		want: `{"events":[{"event_type":"open"}],"end":"2026-03-01"}`,
	}, {
		name: "only --start: the server ends it at the project's today",
		kind: "segmentation", args: []string{"--event", "open", "--start", "2026-11-20"},
		want: `{"events":[{"event_type":"open"}],"start":"2026-11-20"}`,
	}, {
		name: "funnel, a window in days",
		kind: "funnel",
		args: []string{"--step", "[AppsFlyer] Install", "--step", "purchase", "--where", "revenue>0", "--where", "productId contains gem",
			"--window", "7d", "--group-by", "user:country", "--start", "2026-11-01", "--end", "2026-11-07"},
		want: `{"steps":[{"event_type":"[AppsFlyer] Install"},{"event_type":"purchase","where":[` +
			`{"type":"event","property":"revenue","op":"\u003e","value":0},{"type":"event","property":"productId","op":"contains","value":"gem"}]}],` +
			`"start":"2026-11-01","end":"2026-11-07","conversion_seconds":604800,"group_by":{"type":"user","property":"country"}}`,
	}, {
		name: "funnel, a Go duration; no --window leaves the server's default",
		kind: "funnel", args: []string{"--step", "a", "--step", "b", "--step", "c", "--window", "1h30m"},
		want: `{"steps":[{"event_type":"a"},{"event_type":"b"},{"event_type":"c"}],"conversion_seconds":5400}`,
	}, {
		name: "retention; --where filters the start or return event before it",
		kind: "retention",
		args: []string{"--start-event", "install", "--where", "platform=iOS", "--return-event", "purchase", "--where", "user:plan != free",
			"--interval", "week", "--mode", "unbounded", "--periods", "8", "--group-by", "plan", "--start", "2026-09-01", "--end", "2026-09-30"},
		want: `{"start_event":{"event_type":"install","where":[{"type":"event","property":"platform","op":"=","value":"iOS"}]},` +
			`"return_event":{"event_type":"purchase","where":[{"type":"user","property":"plan","op":"!=","value":"free"}]},` +
			`"start":"2026-09-01","end":"2026-09-30","interval":"week","mode":"unbounded","periods":8,"group_by":{"type":"user","property":"plan"}}`,
	}, {
		name: "retention, return event any",
		kind: "retention", args: []string{"--start-event", "_all"},
		want: `{"start_event":{"event_type":"_all"}}`,
	}, {
		name: "ltv",
		kind: "ltv", args: []string{"--days", "14", "--group-by", "[AppsFlyer] media source", "--start", "2026-10-01", "--end", "2026-10-31"},
		want: `{"start":"2026-10-01","end":"2026-10-31","days":14,"group_by":{"type":"user","property":"[AppsFlyer] media source"}}`,
	}, {
		name: "ltv, defaults",
		kind: "ltv",
		want: `{}`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := chartQueryOf(tc.kind, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("query\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

// TestChartFlagErrors: flags that make no query say why.
func TestChartFlagErrors(t *testing.T) {
	steps := func(n int) []string {
		var out []string
		for i := range n {
			out = append(out, "--step", fmt.Sprint("s", i))
		}
		return out
	}
	for _, tc := range []struct {
		kind string
		args []string
		want string
	}{
		{"segmentation", nil, "give at least one --event"},
		{"segmentation", []string{"--where", "price>2", "--event", "purchase"}, "--where follows the --event it filters"},
		{"segmentation", []string{"--event", ""}, "give an event type"},
		{"segmentation", []string{"--event", "a", "--group-by", "x", "--group-by", "y", "--group-by", "z"}, "at most 2 --group-by"},
		{"segmentation", []string{"--event", "a", "--group-by", "event:"}, "give a property"},
		{"segmentation", []string{"--event", "a", "--end", "30.11.2026"}, `--end "30.11.2026": want a day, 2006-01-02`},
		{"segmentation", []string{"--event", "a", "--start", "yesterday"}, `--start "yesterday": want a day`},
		{"segmentation", []string{"--event", "a", "--where", "price"}, `"price": no operator`},
		{"funnel", []string{"--step", "a"}, "give 2 to 10 --step, in order (got 1)"},
		{"funnel", steps(11), "give 2 to 10 --step, in order (got 11)"},
		{"funnel", []string{"--step", "a", "--step", "b", "--group-by", "x", "--group-by", "y"}, "at most 1 --group-by for a funnel"},
		{"funnel", []string{"--window", "7x"}, `"7x": want 7d, 24h or 90m`},
		{"funnel", []string{"--window", "1.5d"}, `"1.5d": want 7d, 24h or 90m`},
		{"funnel", []string{"--window", "0s"}, `"0s": at least a second`},
		{"funnel", []string{"--window", "-2d"}, `"-2d": want 7d, 24h or 90m`},
		{"funnel", []string{"--window", "-5m"}, `"-5m": at least a second`},
		{"funnel", []string{"--window", "99999999999d"}, `want 7d, 24h or 90m`},
		{"retention", nil, "--start-event is required"},
		{"retention", []string{"--where", "a=b"}, "--where follows the --start-event or --return-event it filters"},
		{"retention", []string{"--start-event", "a", "--start-event", "b"}, "give one --start-event"},
		{"retention", []string{"--start-event", "a", "--return-event", "b", "--return-event", "c"}, "give one --return-event"},
		{"ltv", []string{"--where", "a=b"}, "flag provided but not defined: -where"},
		{"ltv", []string{"--event", "a"}, "flag provided but not defined: -event"},
	} {
		t.Run(tc.kind+" "+strings.Join(tc.args, " "), func(t *testing.T) {
			_, err := chartQueryOf(tc.kind, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
}

// TestParseWhere: the --where syntax.
func TestParseWhere(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want chart.Filter
	}{
		{"price>20", chart.Filter{Type: "event", Property: "price", Op: ">", Value: 20.0}},
		{"event:price < -1.5", chart.Filter{Type: "event", Property: "price", Op: "<", Value: -1.5}},
		{"user:[AppsFlyer] media source=examplenet", chart.Filter{Type: "user", Property: "[AppsFlyer] media source", Op: "=", Value: "examplenet"}},
		{"  user: plan  !=  free trial ", chart.Filter{Type: "user", Property: "plan", Op: "!=", Value: "free trial"}},
		{"country in US,DE , FR", chart.Filter{Type: "event", Property: "country", Op: "in", Values: []any{"US", "DE", "FR"}}},
		{"productId contains gem pack", chart.Filter{Type: "event", Property: "productId", Op: "contains", Value: "gem pack"}},
		// The first operator ends the property; the value may hold more.
		{"url contains a=b", chart.Filter{Type: "event", Property: "url", Op: "contains", Value: "a=b"}},
		{"note=x in y", chart.Filter{Type: "event", Property: "note", Op: "=", Value: "x in y"}},
		// Words only count with spaces around them.
		{"login=google", chart.Filter{Type: "event", Property: "login", Op: "=", Value: "google"}},
		{"user:contains_list=1", chart.Filter{Type: "user", Property: "contains_list", Op: "=", Value: "1"}},
		// A quoted property may hold operators.
		{`user:"sign in method" = google`, chart.Filter{Type: "user", Property: "sign in method", Op: "=", Value: "google"}},
		{`"a=b"!=c`, chart.Filter{Type: "event", Property: "a=b", Op: "!=", Value: "c"}},
		{`"level>2" in 1,2`, chart.Filter{Type: "event", Property: "level>2", Op: "in", Values: []any{"1", "2"}}},
		// Only a leading event: or user: is a type.
		{"plan:tier=gold", chart.Filter{Type: "event", Property: "plan:tier", Op: "=", Value: "gold"}},
	} {
		got, err := chart.ParseFilter(tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q:\n got %+v\nwant %+v", tc.in, got, tc.want)
		}
	}
	for in, want := range map[string]string{
		"price":             "no operator",
		"price 20":          "no operator",
		"=gold":             "no property before =",
		"user: in a,b":      "no property before in",
		"price>=20":         ">= is not an operator",
		"price<=20":         "<= is not an operator",
		"price==20":         "== is not an operator",
		"price>twenty":      `> compares numbers: "twenty" is not one`,
		"price<":            `< compares numbers: "" is not one`,
		"price>NaN":         `> compares numbers`,
		"plan=":             "no value after =",
		"plan != ":          "no value after !=",
		"name contains   ":  "no value after contains",
		"country in US,,DE": "in takes a comma-separated list of values, none empty",
		"country in ,":      "none empty",
		`"sign in method=x`: "the property's quote is not closed",
		`"a" b = c`:         "want an operator right after the quoted property",
		`"" = c`:            "no property before =",
	} {
		if _, err := chart.ParseFilter(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want one saying %q", in, err, want)
		}
	}
}

// render prints a chart's answer as "touchpoint charts" does.
func render(t *testing.T, q chart.Query, answer string) string {
	t.Helper()
	var out bytes.Buffer
	if err := renderChart(&out, q, []byte(answer)); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// checkText compares printed text with what it should be, line by line.
func checkText(t *testing.T, got, want string) {
	t.Helper()
	if got != want {
		t.Fatalf("printed\n%s\nwant\n%s", got, want)
	}
}

func TestRenderSegmentation(t *testing.T) {
	q := &chart.Segmentation{Events: []chart.EventSpec{{EventType: "purchase"}}, Range: chart.Range{Start: "2026-11-01", End: "2026-11-03"}}
	checkText(t, render(t, q, `{"metric":"totals","interval":"day","x_values":["2026-11-01","2026-11-02","2026-11-03"],
		"series":[{"event":"purchase","index":0,"group":["all"],"values":[3,0,12],"total":15}]}`), `totals per day, 2026-11-01 to 2026-11-03
EVENT     TOTAL  2026-11-01  2026-11-02  2026-11-03
purchase     15           3           0          12
`)

	// Two events numbered, two groups, fractions to 2 places.
	q = &chart.Segmentation{Events: []chart.EventSpec{{EventType: "purchase"}, {EventType: "purchase"}}, Metric: "property_average", Property: "price",
		Range: chart.Range{Start: "2026-11-02", End: "2026-11-15"}, Interval: "week",
		GroupBy: []chart.Property{{Type: "user", Property: "[AppsFlyer] media source"}, {Type: "event", Property: "platform"}}}
	checkText(t, render(t, q, `{"metric":"property_average","interval":"week","x_values":["2026-10-26","2026-11-02","2026-11-09"],
		"series":[
		 {"event":"purchase","index":0,"group":["examplenet_int","iOS"],"values":[1.5,2,2.126],"total":1.876},
		 {"event":"purchase","index":0,"group":["(none)","Android"],"values":[0,0,4],"total":4},
		 {"event":"purchase","index":1,"group":["organic","iOS"],"values":[0,10,0],"total":10}]}`),
		`property_average of price per week, 2026-11-02 to 2026-11-15
EVENT        [AppsFlyer] media source  platform  TOTAL  2026-10-26  2026-11-02  2026-11-09
1. purchase  examplenet_int            iOS        1.88        1.50           2        2.13
1. purchase  (none)                    Android       4           0           0           4
2. purchase  organic                   iOS          10           0          10           0
`)

	// More than 14 intervals: the total and the last 14.
	var xs []string
	var vs []string
	for d := 1; d <= 20; d++ {
		xs = append(xs, fmt.Sprintf(`"11-%02d"`, d))
		vs = append(vs, fmt.Sprint(d))
	}
	q = &chart.Segmentation{Events: []chart.EventSpec{{EventType: "open"}}, Metric: "uniques", Range: chart.Range{Start: "2026-11-01", End: "2026-11-20"}}
	checkText(t, render(t, q, `{"metric":"uniques","interval":"day","x_values":[`+strings.Join(xs, ",")+`],
		"series":[{"event":"open","index":0,"group":["all"],"values":[`+strings.Join(vs, ",")+`],"total":40}]}`),
		`uniques per day, 2026-11-01 to 2026-11-20
(the first 6 of 20 days are left out: --json has them)
EVENT  TOTAL  11-07  11-08  11-09  11-10  11-11  11-12  11-13  11-14  11-15  11-16  11-17  11-18  11-19  11-20
open      40      7      8      9     10     11     12     13     14     15     16     17     18     19     20
`)

	// A distribution lists its values after the table.
	q = &chart.Segmentation{Events: []chart.EventSpec{{EventType: "purchase"}}, Metric: "distribution", Property: "productId",
		Range: chart.Range{Start: "2026-11-01", End: "2026-11-01"}, GroupBy: []chart.Property{{Property: "country"}}}
	checkText(t, render(t, q, `{"metric":"distribution","interval":"day","x_values":["2026-11-01"],
		"series":[{"event":"purchase","index":0,"group":["DE"],"values":[3],"total":3,
		  "distribution":[{"value":"gems_100","count":2},{"value":"starter_pack","count":1}]},
		 {"event":"purchase","index":0,"group":["US"],"values":[1],"total":1,"distribution":[{"value":"gems_100","count":1}]}]}`),
		`distribution of productId per day, 2026-11-01 to 2026-11-01
EVENT     country  TOTAL  2026-11-01
purchase  DE           3           3
purchase  US           1           1

events by productId over the range
EVENT     country  VALUE         EVENTS
purchase  DE       gems_100           2
purchase  DE       starter_pack       1
purchase  US       gems_100           1
`)

	q = &chart.Segmentation{Events: []chart.EventSpec{{EventType: "purchase"}}, Range: chart.Range{Start: "2026-11-01", End: "2026-11-01"}}
	checkText(t, render(t, q, `{"metric":"totals","interval":"day","x_values":["2026-11-01"],"series":[]}`),
		"totals per day, 2026-11-01 to 2026-11-01\nno series\n")
}

func TestRenderFunnel(t *testing.T) {
	q := &chart.Funnel{Steps: []chart.EventSpec{{EventType: "[AppsFlyer] Install"}, {EventType: "tutorial"}, {EventType: "purchase"}},
		Range: chart.Range{Start: "2026-11-01", End: "2026-11-07"}, GroupBy: &chart.Property{Type: "user", Property: "[AppsFlyer] media source"}}
	checkText(t, render(t, q, `{"steps":["[AppsFlyer] Install","tutorial","purchase"],"conversion_seconds":604800,
		"total":{"group":["all"],"users":[200,120,30],"from_previous":[1,0.6,0.25],"from_first":[1,0.6,0.15],"median_seconds":[null,60,3600]},
		"groups":[
		 {"group":["examplenet_int"],"users":[150,100,30],"from_previous":[1,0.667,0.3],"from_first":[1,0.667,0.2],"median_seconds":[null,60,3600]},
		 {"group":["organic"],"users":[50,20,0],"from_previous":[1,0.4,0],"from_first":[1,0.4,0],"median_seconds":[null,60,null]},
		 {"group":["(none)"],"users":[0,0,0],"from_previous":[0,0,0],"from_first":[0,0,0],"median_seconds":[null,null,null]}]}`),
		`funnel, 2026-11-01 to 2026-11-07, every step within 7d of the first; % of step 1's users
[AppsFlyer] media source  1. [AppsFlyer] Install  2. tutorial  3. purchase
all                                          200  120 (60.0%)   30 (15.0%)
examplenet_int                               150  100 (66.7%)   30 (20.0%)
organic                                       50   20 (40.0%)     0 (0.0%)
(none)                                         0        0 (-)        0 (-)
`)
	q.GroupBy = nil
	checkText(t, render(t, q, `{"steps":["a","b"],"conversion_seconds":5400,
		"total":{"group":["all"],"users":[4,1],"from_previous":[1,0.25],"from_first":[1,0.25],"median_seconds":[null,10]},"groups":[]}`),
		`funnel, 2026-11-01 to 2026-11-07, every step within 1h30m0s of the first; % of step 1's users
GROUP  1. a       2. b
all       4  1 (25.0%)
`)
}

func TestRenderRetention(t *testing.T) {
	q := &chart.Retention{StartEvent: chart.EventSpec{EventType: "install"}, Range: chart.Range{Start: "2026-11-01", End: "2026-11-03"},
		GroupBy: &chart.Property{Property: "plan"}}
	// Rows stop at their last begun period; the total sums the rows that
	// reach each period.
	checkText(t, render(t, q, `{"interval":"day","mode":"n_day","periods":3,
		"total":{"group":["all"],"users":[40,40,30,10],"retained":[40,20,9,1],"rates":[1,0.5,0.3,0.1],"cohorts":[
		  {"date":"2026-11-01","users":10,"retained":[10,5,2,1]},
		  {"date":"2026-11-02","users":20,"retained":[20,10,7]},
		  {"date":"2026-11-03","users":10,"retained":[10,5]}]},
		"groups":[
		 {"group":["gold"],"users":[8,8,6,2],"retained":[8,6,3,2],"rates":[1,0.75,0.5,1],"cohorts":[]},
		 {"group":["(none)"],"users":[32,32,24,8],"retained":[32,14,6,0],"rates":[1,0.4375,0.25,0],"cohorts":[]}]}`),
		`n_day retention by day, users who started 2026-11-01 to 2026-11-03; % of the row's users
START DAY   USERS   DAY 0  DAY 1  DAY 2  DAY 3
all            40  100.0%  50.0%  30.0%  10.0%
2026-11-01     10  100.0%  50.0%  20.0%  10.0%
2026-11-02     20  100.0%  50.0%  35.0%
2026-11-03     10  100.0%  50.0%

plan    USERS   DAY 0  DAY 1  DAY 2   DAY 3
gold        8  100.0%  75.0%  50.0%  100.0%
(none)     32  100.0%  43.8%  25.0%    0.0%
`)

	// Past 15 periods: 0 to 7, every 7th and the last.
	if got, want := shownPeriods(31), []int{0, 1, 2, 3, 4, 5, 6, 7, 14, 21, 28, 30}; !reflect.DeepEqual(got, want) {
		t.Errorf("shownPeriods(31) = %v, want %v", got, want)
	}
	if got, want := shownPeriods(15), []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}; !reflect.DeepEqual(got, want) {
		t.Errorf("shownPeriods(15) = %v, want %v", got, want)
	}
	if got, want := shownPeriods(22), []int{0, 1, 2, 3, 4, 5, 6, 7, 14, 21}; !reflect.DeepEqual(got, want) {
		t.Errorf("shownPeriods(22) = %v, want %v", got, want)
	}
	users := make([]string, 17)
	retained := make([]string, 17)
	for k := range users {
		users[k], retained[k] = "4", fmt.Sprint(4-k/5)
	}
	q.GroupBy = nil
	checkText(t, render(t, q, `{"interval":"week","mode":"unbounded","periods":16,
		"total":{"group":["all"],"users":[`+strings.Join(users, ",")+`],"retained":[`+strings.Join(retained, ",")+`],"cohorts":[
		  {"date":"2026-10-26","users":4,"retained":[`+strings.Join(retained, ",")+`]}]},"groups":[]}`),
		`unbounded retention by week, users who started 2026-11-01 to 2026-11-03; % of the row's users
START WEEK  USERS  WEEK 0  WEEK 1  WEEK 2  WEEK 3  WEEK 4  WEEK 5  WEEK 6  WEEK 7  WEEK 14  WEEK 16
all             4  100.0%  100.0%  100.0%  100.0%  100.0%   75.0%   75.0%   75.0%    50.0%    25.0%
2026-10-26      4  100.0%  100.0%  100.0%  100.0%  100.0%   75.0%   75.0%   75.0%    50.0%    25.0%
`)
}

func TestRenderLTV(t *testing.T) {
	q := &chart.LTV{Range: chart.Range{Start: "2026-11-01", End: "2026-11-30"}, GroupBy: &chart.Property{Property: "[AppsFlyer] media source"}}
	perDay := func(n int, f func(d int) string) string {
		var out []string
		for d := range n {
			out = append(out, f(d))
		}
		return strings.Join(out, ",")
	}
	// 31 days; the organic users have reached only day 10.
	answer := `{"days":30,
		"total":{"group":["all"],"users":[` + perDay(31, func(d int) string { return map[bool]string{true: "3", false: "2"}[d <= 10] }) + `],
		  "revenue":[` + perDay(31, func(d int) string { return fmt.Sprint(d) }) + `],
		  "per_user":[` + perDay(31, func(d int) string { return fmt.Sprint(float64(d) / map[bool]float64{true: 3, false: 2}[d <= 10]) }) + `]},
		"groups":[
		 {"group":["examplenet_int"],"users":[` + perDay(31, func(int) string { return "2" }) + `],
		  "revenue":[` + perDay(31, func(d int) string { return fmt.Sprint(d) }) + `],
		  "per_user":[` + perDay(31, func(d int) string { return fmt.Sprint(float64(d) / 2) }) + `]},
		 {"group":["organic"],"users":[` + perDay(31, func(d int) string { return map[bool]string{true: "1", false: "0"}[d <= 10] }) + `],
		  "revenue":[` + perDay(31, func(int) string { return "0" }) + `],
		  "per_user":[` + perDay(31, func(int) string { return "0" }) + `]}]}`
	checkText(t, render(t, q, answer), `revenue per user by days since first seen, users first seen 2026-11-01 to 2026-11-30
[AppsFlyer] media source  USERS  DAY 0  DAY 1  DAY 7  DAY 14  DAY 30
all                           3   0.00   0.33   2.33    7.00   15.00
examplenet_int                2   0.00   0.50   3.50    7.00   15.00
organic                       1   0.00   0.00   0.00       -       -
`)
	// Days 0, 1, 7 of 10, and the last.
	q.GroupBy = nil
	checkText(t, render(t, q, `{"days":10,"total":{"group":["all"],"users":[5,5,5,5,5,5,5,5,5,5,5],"revenue":[1,2,3,4,5,6,7,8,9,10,11],
		"per_user":[0.2,0.4,0.6,0.8,1,1.2,1.4,1.6,1.8,2,2.2]},"groups":[]}`),
		`revenue per user by days since first seen, users first seen 2026-11-01 to 2026-11-30
GROUP  USERS  DAY 0  DAY 1  DAY 7  DAY 10
all        5   0.20   0.40   1.60    2.20
`)
}

// TestChartsRequest drives "touchpoint charts" against a stand-in server:
// the request it sends, its table and --json output, --query from a
// file and stdin, and the server's errors.
func TestChartsRequest(t *testing.T) {
	type request struct {
		method, path, auth string
		body               json.RawMessage
	}
	var got request
	answer, status := "", 200
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = request{r.Method, r.URL.Path, r.Header.Get("Authorization"), b}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, answer)
	}))
	defer srv.Close()
	c := []string{"--server", srv.URL, "--admin-token", "secret", "--project", "7"}
	charts := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), append(append([]string{"charts"}, args...), c...), &out, &errOut)
		return out.String(), err
	}
	sameJSON := func(got json.RawMessage, want string) {
		t.Helper()
		var a, b any
		if err := json.Unmarshal(got, &a); err != nil {
			t.Fatalf("body %s: %v", got, err)
		}
		json.Unmarshal([]byte(want), &b)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("body\n got %s\nwant %s", got, want)
		}
	}

	answer = `{"steps":["install","purchase"],"conversion_seconds":86400,
	  "total":{"group":["all"],"users":[10,4],"from_previous":[1,0.4],"from_first":[1,0.4],"median_seconds":[null,30]},"groups":[]}`
	out, err := charts("funnel", "--step", "install", "--step", "purchase", "--where", "price>2", "--start", "2026-11-01", "--end", "2026-11-02")
	if err != nil {
		t.Fatal(err)
	}
	if got.method != "POST" || got.path != "/api/v1/projects/7/charts/funnel" || got.auth != "Bearer secret" {
		t.Fatalf("request %s %s %q", got.method, got.path, got.auth)
	}
	sameJSON(got.body, `{"steps":[{"event_type":"install"},{"event_type":"purchase","where":[{"type":"event","property":"price","op":">","value":2}]}],
		"start":"2026-11-01","end":"2026-11-02"}`)
	checkText(t, out, `funnel, 2026-11-01 to 2026-11-02, every step within 1d of the first; % of step 1's users
GROUP  1. install  2. purchase
all            10    4 (40.0%)
`)

	// --json: the answer as it came.
	if out, err = charts("funnel", "--step", "install", "--step", "purchase", "--json"); err != nil || out != answer {
		t.Fatalf("--json printed %q, %v; want the answer as it is", out, err)
	}

	// --query: a file's query, sent as it is; rendered by its group-by.
	answer = `{"days":1,"total":{"group":["all"],"users":[2,2],"revenue":[1,3],"per_user":[0.5,1.5]},
	  "groups":[{"group":["gold"],"users":[1,1],"revenue":[1,3],"per_user":[1,3]}]}`
	query := `{"start":"2026-11-01","end":"2026-11-01","days":1,"group_by":{"property":"plan"}}`
	file := filepath.Join(t.TempDir(), "ltv.json")
	os.WriteFile(file, []byte(query), 0o600)
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(query+"}"), 0o600)
	want := `revenue per user by days since first seen, users first seen 2026-11-01 to 2026-11-01
plan  USERS  DAY 0  DAY 1
all       2   0.50   1.50
gold      1   1.00   3.00
`
	if out, err = charts("ltv", "--query", file); err != nil {
		t.Fatal(err)
	}
	sameJSON(got.body, query)
	checkText(t, out, want)
	chartStdin = strings.NewReader(query)
	defer func() { chartStdin = os.Stdin }()
	if out, err = charts("ltv", "--query", "-"); err != nil {
		t.Fatal(err)
	}
	sameJSON(got.body, query)
	checkText(t, out, want)

	// Errors before any request.
	got = request{}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"ltv", "--query", file, "--days", "3", "--start", "2026-11-01"}, "--query sends the file's query as it is: put --days, --start in the file"},
		{[]string{"ltv", "--query", filepath.Join(t.TempDir(), "none.json")}, "--query: open"},
		{[]string{"funnel", "--query", file}, "not a funnel query"},
		{[]string{"ltv", "--query", bad}, "not valid JSON"},
		{[]string{"ltv", "extra"}, "want no arguments"},
		{[]string{"cohort"}, `charts: unknown chart "cohort": want segmentation, funnel, retention or ltv`},
	} {
		if _, err := charts(tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("charts %s: error %v, want one saying %q", strings.Join(tc.args, " "), err, tc.want)
		}
	}
	if err := cliFail(t, "charts"); !strings.Contains(err.Error(), "charts: want segmentation, funnel, retention or ltv") {
		t.Fatalf("charts alone: %v", err)
	}
	if got.path != "" {
		t.Fatalf("a request was sent: %+v", got)
	}
	if err := cliFail(t, "charts", "ltv", "--server", srv.URL); err.Error() != "--project is required" {
		t.Fatalf("no --project: %v", err)
	}

	// The server's error, with its message.
	status, answer = 400, `{"error":"end 2026-11-01 is before start 2026-11-02"}`
	_, err = charts("ltv", "--start", "2026-11-02", "--end", "2026-11-01")
	if err == nil || err.Error() != "POST /api/v1/projects/7/charts/ltv: end 2026-11-01 is before start 2026-11-02 (400 Bad Request)" {
		t.Fatalf("server error: %v", err)
	}
	// An answer that is not the chart's.
	status, answer = 200, `[1,2]`
	if _, err = charts("ltv"); err == nil || !strings.Contains(err.Error(), "the server's answer is not the ltv chart") {
		t.Fatalf("a wrong answer: %v", err)
	}
}

// TestChartsCLI: "touchpoint charts" of each kind against a real server,
// over events of fixed times in a test-mode project whose clock stands
// at 2026-11-10 12:00 UTC.
func TestChartsCLI(t *testing.T) {
	dir := t.TempDir()
	srv, _, _ := serve(t, "--data-dir", dir)
	tok := adminTokenOf(t, dir)
	var p touchpoint.Project
	adminAPI(t, srv, tok, 201, "POST", "/api/v1/projects",
		map[string]any{"name": "Charts", "test_mode": true, "test_clock": time.Date(2026, 11, 10, 12, 0, 0, 0, time.UTC)}, &p)
	c := []string{"--server", srv.URL(), "--data-dir", dir, "--project", fmt.Sprint(p.ID), "--start", "2026-11-01", "--end", "2026-11-03"}

	at := func(day, hour int) int64 { return time.Date(2026, 11, day, hour, 0, 0, 0, time.UTC).UnixMilli() }
	event := func(user int, eventType string, t int64, props map[string]any) map[string]any {
		e := map[string]any{"user_id": fmt.Sprint("user-", user), "device_id": fmt.Sprint("device-", user), "event_type": eventType,
			"time": t, "insert_id": fmt.Sprint(user, eventType, t)}
		if props != nil {
			e["event_properties"] = props
		}
		return e
	}
	install := func(user int, t int64, source string) map[string]any {
		e := event(user, "install", t, nil)
		e["user_properties"] = map[string]any{"[AppsFlyer] media source": source}
		return e
	}
	purchase := func(user int, t int64, price float64) map[string]any {
		e := event(user, "purchase", t, map[string]any{"price": price})
		e["revenue"] = price
		return e
	}
	// Users 1 and 2 come from examplenet_int, user 3 is organic. User 1
	// buys for 30 two hours after installing and comes back a day later;
	// user 2 buys for 10 47 hours after installing (its day 1); user 3
	// never comes back.
	ingest(t, srv, p.APIKey,
		install(1, at(1, 10), "examplenet_int"), purchase(1, at(1, 12), 30), event(1, "open", at(2, 11), nil),
		install(2, at(1, 9), "examplenet_int"), purchase(2, at(3, 8), 10),
		install(3, at(2, 10), "organic"))

	charts := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		args = append(append([]string{"charts"}, args...), c...)
		if err := run(context.Background(), args, &out, &errOut); err != nil {
			t.Fatalf("touchpoint %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
		}
		return out.String()
	}

	checkText(t, charts("segmentation", "--event", "purchase"), `totals per day, 2026-11-01 to 2026-11-03
EVENT     TOTAL  2026-11-01  2026-11-02  2026-11-03
purchase      2           1           0           1
`)
	checkText(t, charts("segmentation", "--event", "purchase", "--where", "price>20", "--event", "_all", "--metric", "uniques",
		"--group-by", "[AppsFlyer] media source"), `uniques per day, 2026-11-01 to 2026-11-03
EVENT        [AppsFlyer] media source  TOTAL  2026-11-01  2026-11-02  2026-11-03
1. purchase  examplenet_int                1           1           0           0
2. _all      examplenet_int                2           2           1           1
2. _all      organic                       1           0           1           0
`)
	checkText(t, charts("funnel", "--step", "install", "--step", "purchase", "--window", "7d", "--group-by", "[AppsFlyer] media source"),
		`funnel, 2026-11-01 to 2026-11-03, every step within 7d of the first; % of step 1's users
[AppsFlyer] media source  1. install  2. purchase
all                                3    2 (66.7%)
examplenet_int                     2   2 (100.0%)
organic                            1     0 (0.0%)
`)
	checkText(t, charts("retention", "--start-event", "install", "--periods", "3", "--group-by", "[AppsFlyer] media source"),
		`n_day retention by day, users who started 2026-11-01 to 2026-11-03; % of the row's users
START DAY   USERS   DAY 0   DAY 1  DAY 2  DAY 3
all             3  100.0%   66.7%   0.0%   0.0%
2026-11-01      2  100.0%  100.0%   0.0%   0.0%
2026-11-02      1  100.0%    0.0%   0.0%   0.0%

[AppsFlyer] media source  USERS   DAY 0   DAY 1  DAY 2  DAY 3
examplenet_int                2  100.0%  100.0%   0.0%   0.0%
organic                       1  100.0%    0.0%   0.0%   0.0%
`)
	checkText(t, charts("ltv", "--days", "7", "--group-by", "[AppsFlyer] media source"),
		`revenue per user by days since first seen, users first seen 2026-11-01 to 2026-11-03
[AppsFlyer] media source  USERS  DAY 0  DAY 1  DAY 7
all                           3  10.00  13.33  13.33
examplenet_int                2  15.00  20.00  20.00
organic                       1   0.00   0.00   0.00
`)

	// --json is the server's answer.
	var r chart.LTVResult
	if err := json.Unmarshal([]byte(charts("ltv", "--days", "1", "--json")), &r); err != nil || r.Days != 1 || r.Total.Users[0] != 3 {
		t.Fatalf("ltv --json: %+v, %v", r, err)
	}
	// The server's errors, with its message.
	err := cliFail(t, append([]string{"charts", "segmentation", "--event", "purchase", "--metric", "median"}, c...)...)
	if !strings.Contains(err.Error(), "POST /api/v1/projects/"+fmt.Sprint(p.ID)+"/charts/segmentation: ") || !strings.Contains(err.Error(), "400 Bad Request") {
		t.Fatalf("a bad metric: %v", err)
	}
	err = cliFail(t, "charts", "ltv", "--server", srv.URL(), "--data-dir", dir, "--project", "999")
	if !strings.Contains(err.Error(), "not found") {
		t.Fatalf("an unknown project: %v", err)
	}
}

// TestChartsHelp: -h lists a chart's flags and explains the dates, the
// group-by and the --where syntax; a wrong flag lists only the flags.
func TestChartsHelp(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"charts", "retention", "-h"}, &out, &errOut); err != flag.ErrHelp {
		t.Fatalf("-h: %v", err)
	}
	for _, want := range []string{"--start-event\n", "--server (TOUCHPOINT_SERVER)", "--return-event", "--periods", "--where", "--json", "--query",
		"[event:|user:]PROPERTY OP VALUE", "without --start it spans 30 days", "A bare NAME is a user property"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("charts retention -h does not say %q:\n%s", want, errOut.String())
		}
	}
	errOut.Reset()
	run(context.Background(), []string{"charts", "retention", "--step", "a"}, &out, &errOut)
	if !strings.Contains(errOut.String(), "--periods") || strings.Contains(errOut.String(), "PROPERTY OP VALUE\n") {
		t.Errorf("a wrong flag printed:\n%s", errOut.String())
	}
	if out.Len() != 0 {
		t.Errorf("help went to stdout: %q", out.String())
	}
}
