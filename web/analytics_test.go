package web_test

import (
	"encoding/json"
	"fmt"
	"html"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/chart"
)

// analyticsEnv is a server with a signed-in browser and a project (in
// Berlin's time zone) with known events.
type analyticsEnv struct {
	s   *server
	clk *clock
	b   *browser
	p   touchpoint.Project
}

func startAnalytics(t *testing.T) *analyticsEnv {
	t.Helper()
	s, clk := startServer(t)
	e := &analyticsEnv{s: s, clk: clk, b: signIn(t, s)}
	s.api(t, 201, "POST", "/api/v1/projects", map[string]any{"name": "Game", "time_zone": "Europe/Berlin",
		"limits": map[string]any{"http_eps": 10000}}, &e.p)
	return e
}

// send uploads events through the HTTP V2 API with the project's key.
func (e *analyticsEnv) send(t *testing.T, events ...map[string]any) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"api_key": e.p.APIKey, "events": events})
	if code, answer := e.s.send(t, "POST", "/2/httpapi", http.Header{"Content-Type": {"application/json"}}, string(body)); code != 200 {
		t.Fatalf("upload: %d %s", code, answer)
	}
}

// march is a time on a day of March 2026 (UTC), before the clock's now.
func march(day, hour int) int64 {
	return time.Date(2026, 3, day, hour, 0, 0, 0, time.UTC).UnixMilli()
}

const media = "[AppsFlyer] media source"

// seed sends four users' events over 2026-03-02 to 03-09: sessions,
// purchases (one under 2 of revenue), media sources set on the way.
func (e *analyticsEnv) seed(t *testing.T) {
	t.Helper()
	e.send(t,
		map[string]any{"user_id": "user-1", "device_id": "device-1", "event_type": "session_start", "time": march(2, 9), "platform": "iOS",
			"user_properties": map[string]any{"$set": map[string]any{media: "examplenet", "plan": "free"}}},
		map[string]any{"user_id": "user-1", "device_id": "device-1", "event_type": "purchase", "time": march(2, 10), "revenue": 4.99,
			"event_properties": map[string]any{"item": "gems"}},
		map[string]any{"user_id": "user-1", "device_id": "device-1", "event_type": "session_start", "time": march(4, 8)},
		map[string]any{"user_id": "user-1", "device_id": "device-1", "event_type": "purchase", "time": march(5, 18), "revenue": 9.99,
			"event_properties": map[string]any{"item": "coins"}},
		map[string]any{"user_id": "user-2", "device_id": "device-2", "event_type": "session_start", "time": march(3, 7), "platform": "Android",
			"user_properties": map[string]any{"$set": map[string]any{media: "othernet"}}},
		map[string]any{"user_id": "user-2", "device_id": "device-2", "event_type": "purchase", "time": march(3, 7) + 30*60*1000, "revenue": 1.99,
			"event_properties": map[string]any{"item": "gems"}},
		map[string]any{"user_id": "user-2", "device_id": "device-2", "event_type": "session_start", "time": march(4, 9)},
		map[string]any{"device_id": "device-3", "event_type": "session_start", "time": march(3, 22), "platform": "iOS"},
		map[string]any{"user_id": "user-4", "device_id": "device-4", "event_type": "session_start", "time": march(6, 12), "country": "DE"},
		map[string]any{"user_id": "user-4", "device_id": "device-4", "event_type": "purchase", "time": march(9, 12), "revenue": 2.5},
	)
}

// chartAPI asks the JSON API for a chart.
func (e *analyticsEnv) chartAPI(t *testing.T, kind string, query map[string]any, out any) {
	t.Helper()
	e.s.api(t, 200, "POST", fmt.Sprintf("/api/v1/projects/%d/charts/%s", e.p.ID, kind), query, out)
}

// chartPage opens a chart's page with form fields.
func (e *analyticsEnv) chartPage(t *testing.T, kind string, form url.Values) page {
	t.Helper()
	return e.b.mustGet(fmt.Sprintf("/projects/%d/charts/%s?%s", e.p.ID, kind, form.Encode()))
}

var (
	anRowRE  = regexp.MustCompile(`(?s)<tr[^>]*>(.*?)</tr>`)
	anCellRE = regexp.MustCompile(`(?s)<t[dh][^>]*>(.*?)</t[dh]>`)
	anTagRE  = regexp.MustCompile(`<[^>]+>`)
)

// anTable returns the body rows of the table with this id, each cell's
// text with its tags as spaces.
func anTable(t *testing.T, body, id string) [][]string {
	t.Helper()
	start := strings.Index(body, `<table id="`+id+`"`)
	if start < 0 {
		t.Fatalf("no table %q in\n%s", id, body)
	}
	table := body[start:]
	table = table[:strings.Index(table, "</table>")]
	table = table[strings.Index(table, "<tbody>"):]
	var rows [][]string
	for _, r := range anRowRE.FindAllStringSubmatch(table, -1) {
		var cells []string
		for _, c := range anCellRE.FindAllStringSubmatch(r[1], -1) {
			cells = append(cells, strings.Join(strings.Fields(html.UnescapeString(anTagRE.ReplaceAllString(c[1], " "))), " "))
		}
		rows = append(rows, cells)
	}
	return rows
}

// anNum writes a chart value as a table shows it: whole, or to 2 places.
func anNum(v float64) string {
	if v == math.Trunc(v) {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func anPct(f float64) string { return strconv.FormatFloat(100*f, 'f', 1, 64) + "%" }

// anPctOf writes n of d as a percentage, as the cohort rows do.
func anPctOf(n, d int64) string {
	return strconv.FormatFloat(100*float64(n)/float64(d), 'f', 1, 64) + "%"
}

// anSeconds writes a duration as the dashboard does: its two largest
// units, the second left out when 0.
func anSeconds(s float64) string {
	d := int64(math.Round(s))
	for _, u := range []struct {
		n          int64
		unit, next string
		of         int64
	}{{86400, "d", "h", 3600}, {3600, "h", "m", 60}, {60, "m", "s", 1}} {
		if d >= u.n {
			out := fmt.Sprintf("%d%s", d/u.n, u.unit)
			if r := d % u.n / u.of; r > 0 {
				out += fmt.Sprintf(" %d%s", r, u.next)
			}
			return out
		}
	}
	return fmt.Sprintf("%ds", d)
}

func anSame(t *testing.T, what string, got, want [][]string) {
	t.Helper()
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("%s: the page's table\n%q\nwant (from the JSON API)\n%q", what, got, want)
	}
}

// segmentationRows are the rows a segmentation table should have.
func segmentationRows(res chart.SegmentationResult, events int, grouped bool) [][]string {
	var out [][]string
	for _, s := range res.Series {
		row := []string{s.Event}
		if events > 1 {
			row[0] = fmt.Sprintf("%d. %s", s.Index+1, s.Event)
		}
		if grouped {
			row = append(row, s.Group...)
		}
		row = append(row, anNum(s.Total))
		for _, v := range s.Values {
			row = append(row, anNum(v))
		}
		out = append(out, row)
	}
	return out
}

func TestChartSegmentationMatchesAPI(t *testing.T) {
	e := startAnalytics(t)
	e.seed(t)
	for _, tc := range []struct {
		name    string
		form    url.Values
		query   map[string]any
		events  int
		grouped bool
	}{{
		name: "totals of two events, a filter, grouped by a user property",
		form: url.Values{"start": {"2026-03-01"}, "end": {"2026-03-09"}, "e0": {"session_start"}, "e1": {"purchase"},
			"e1.w0.scope": {"event"}, "e1.w0.prop": {"revenue"}, "e1.w0.op": {">"}, "e1.w0.value": {"2"},
			"g0": {media}, "g0.type": {"user"}},
		query: map[string]any{"start": "2026-03-01", "end": "2026-03-09", "events": []any{
			map[string]any{"event_type": "session_start"},
			map[string]any{"event_type": "purchase", "where": []any{map[string]any{"type": "event", "property": "revenue", "op": ">", "value": 2}}}},
			"group_by": []any{map[string]any{"type": "user", "property": media}}},
		events: 2, grouped: true,
	}, {
		name: "uniques by week, a user filter with in, grouped by two properties",
		form: url.Values{"start": {"2026-03-01"}, "end": {"2026-03-09"}, "interval": {"week"}, "metric": {"uniques"}, "e0": {"_all"},
			"e0.w0.scope": {"user"}, "e0.w0.prop": {media}, "e0.w0.op": {"in"}, "e0.w0.value": {"examplenet, othernet"},
			"g0": {media}, "g0.type": {"user"}, "g1": {"item"}, "g1.type": {"event"}},
		query: map[string]any{"start": "2026-03-01", "end": "2026-03-09", "interval": "week", "metric": "uniques",
			"events":   []any{map[string]any{"event_type": "_all", "where": []any{map[string]any{"type": "user", "property": media, "op": "in", "values": []any{"examplenet", "othernet"}}}}},
			"group_by": []any{map[string]any{"type": "user", "property": media}, map[string]any{"type": "event", "property": "item"}}},
		events: 1, grouped: true,
	}, {
		name: "sum of revenue by day, the range's defaults",
		form: url.Values{"metric": {"sum"}, "property": {"revenue"}, "e0": {"purchase"}},
		query: map[string]any{"metric": "sum", "property": "revenue",
			"events": []any{map[string]any{"event_type": "purchase"}}},
		events: 1,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			var res chart.SegmentationResult
			e.chartAPI(t, "segmentation", tc.query, &res)
			p := e.chartPage(t, "segmentation", tc.form)
			want := segmentationRows(res, tc.events, tc.grouped)
			if len(want) == 0 {
				t.Fatal("the API counted nothing: the test's events do not exercise the query")
			}
			anSame(t, "segmentation", anTable(t, p.Body, "chart-table"), want)
			// The form keeps what was asked.
			p.mustContain(t, "<svg")
			if tc.form.Has("start") {
				p.mustContain(t, `value="2026-03-01"`)
			}
			if tc.grouped {
				p.mustContain(t, `value="`+html.EscapeString(media)+`"`)
			}
		})
	}
	// The filter changes the answer: without it the cheap purchase
	// counts too, so the table above was filtered.
	var all, filtered chart.SegmentationResult
	purchases := func(where ...any) map[string]any {
		return map[string]any{"start": "2026-03-01", "end": "2026-03-09", "events": []any{map[string]any{"event_type": "purchase", "where": where}}}
	}
	e.chartAPI(t, "segmentation", purchases(), &all)
	e.chartAPI(t, "segmentation", purchases(map[string]any{"property": "revenue", "op": ">", "value": 2}), &filtered)
	if all.Series[0].Total == filtered.Series[0].Total {
		t.Fatalf("the filter does not matter on the test's events: %v", all.Series)
	}

	// Distribution: a table of the values over the range.
	var dist chart.SegmentationResult
	e.chartAPI(t, "segmentation", map[string]any{"start": "2026-03-01", "end": "2026-03-09", "metric": "distribution", "property": "item",
		"events": []any{map[string]any{"event_type": "purchase"}}}, &dist)
	p := e.chartPage(t, "segmentation", url.Values{"start": {"2026-03-01"}, "end": {"2026-03-09"}, "metric": {"distribution"},
		"property": {"item"}, "e0": {"purchase"}})
	var want [][]string
	for _, vc := range dist.Series[0].Distribution {
		want = append(want, []string{vc.Value, strconv.FormatInt(vc.Count, 10)})
	}
	start := strings.Index(p.Body, `<table class="distribution"`)
	if start < 0 || len(want) < 2 {
		t.Fatalf("distribution %v, page:\n%s", dist.Series, p.Body)
	}
	anSame(t, "distribution", anTable(t, strings.Replace(p.Body[start:], `class="distribution"`, `id="dist"`, 1), "dist"), want)
}

func TestChartFunnelMatchesAPI(t *testing.T) {
	e := startAnalytics(t)
	e.seed(t)
	var res chart.FunnelResult
	e.chartAPI(t, "funnel", map[string]any{"start": "2026-03-01", "end": "2026-03-09", "conversion_seconds": 2 * 86400,
		"steps":    []any{map[string]any{"event_type": "session_start"}, map[string]any{"event_type": "purchase"}},
		"group_by": map[string]any{"type": "user", "property": media}}, &res)
	p := e.chartPage(t, "funnel", url.Values{"start": {"2026-03-01"}, "end": {"2026-03-09"}, "window": {"2d"},
		"e0": {"session_start"}, "e1": {"purchase"}, "g0": {media}, "g0.type": {"user"}})
	var want [][]string
	for gi, g := range append([]chart.FunnelGroup{res.Total}, res.Groups...) {
		for k, step := range res.Steps {
			row := []string{"", fmt.Sprintf("%d. %s", k+1, step), strconv.FormatInt(g.Users[k], 10), "–", anPct(g.FromFirst[k]), "–"}
			if k == 0 {
				row[0] = "All users"
				if gi > 0 {
					row[0] = strings.Join(g.Group, " / ")
				}
			} else {
				row[3] = anPct(g.FromPrevious[k])
			}
			if g.MedianSeconds[k] != nil {
				row[5] = anSeconds(*g.MedianSeconds[k])
			}
			want = append(want, row)
		}
	}
	if len(res.Groups) < 2 || res.Total.Users[1] == 0 {
		t.Fatalf("the test's events make a dull funnel: %+v", res)
	}
	anSame(t, "funnel", anTable(t, p.Body, "chart-table"), want)
	p.mustContain(t, "within 2d of the first", `class="s1 bar"`)

	// A first visit asks for the steps.
	e.b.mustGet(fmt.Sprintf("/projects/%d/charts/funnel", e.p.ID), "Give the funnel&#39;s steps")
}

func TestChartRetentionMatchesAPI(t *testing.T) {
	e := startAnalytics(t)
	e.seed(t)
	for _, mode := range []string{"n_day", "unbounded"} {
		var res chart.RetentionResult
		e.chartAPI(t, "retention", map[string]any{"start": "2026-03-01", "end": "2026-03-09", "periods": 7, "mode": mode,
			"start_event": map[string]any{"event_type": "session_start"}, "group_by": map[string]any{"type": "event", "property": "platform"}}, &res)
		p := e.chartPage(t, "retention", url.Values{"start": {"2026-03-01"}, "end": {"2026-03-09"}, "periods": {"7"}, "mode": {mode},
			"e0": {"session_start"}, "g0": {"platform"}, "g0.type": {"event"}})
		n := len(res.Total.Users)
		for _, c := range res.Total.Cohorts {
			n = max(n, len(c.Retained))
		}
		group := func(label string, g chart.RetentionGroup) []string {
			row := []string{label, strconv.FormatInt(g.Users[0], 10)}
			for k := range n {
				cell := ""
				if k < len(g.Users) {
					cell = anPct(g.Rates[k]) + " " + strconv.FormatInt(g.Retained[k], 10)
				}
				row = append(row, cell)
			}
			return row
		}
		want := [][]string{group("All users", res.Total)}
		for _, c := range res.Total.Cohorts {
			row := []string{c.Date, strconv.FormatInt(c.Users, 10)}
			for k := range n {
				cell := ""
				if k < len(c.Retained) {
					cell = anPctOf(c.Retained[k], c.Users) + " " + strconv.FormatInt(c.Retained[k], 10)
				}
				row = append(row, cell)
			}
			want = append(want, row)
		}
		if len(res.Total.Cohorts) < 3 || res.Total.Retained[1]+res.Total.Retained[2] == 0 {
			t.Fatalf("the test's events retain no one: %+v", res.Total)
		}
		anSame(t, mode+" cohorts", anTable(t, p.Body, "chart-table"), want)
		var groups [][]string
		for _, g := range res.Groups {
			groups = append(groups, group(strings.Join(g.Group, " / "), g))
		}
		anSame(t, mode+" groups", anTable(t, p.Body, "groups-table"), groups)
	}
}

func TestChartLTVMatchesAPI(t *testing.T) {
	e := startAnalytics(t)
	e.seed(t)
	var res chart.LTVResult
	e.chartAPI(t, "ltv", map[string]any{"start": "2026-03-01", "end": "2026-03-09", "days": 7,
		"group_by": map[string]any{"property": media}}, &res)
	p := e.chartPage(t, "ltv", url.Values{"start": {"2026-03-01"}, "end": {"2026-03-09"}, "days": {"7"}, "g0": {media}})
	var want [][]string
	for gi, g := range append([]chart.LTVGroup{res.Total}, res.Groups...) {
		label := "All users"
		if gi > 0 {
			label = strings.Join(g.Group, " / ")
		}
		row := []string{label, strconv.FormatInt(g.Users[0], 10)}
		for k := range res.Days + 1 {
			cell := ""
			if g.Users[k] > 0 {
				cell = anNum(g.PerUser[k]) + " " + anNum(g.Revenue[k]) + " / " + strconv.FormatInt(g.Users[k], 10)
			}
			row = append(row, cell)
		}
		want = append(want, row)
	}
	if len(res.Groups) < 2 || res.Total.Revenue[res.Days] == 0 {
		t.Fatalf("the test's events make a dull LTV: %+v", res)
	}
	anSame(t, "ltv", anTable(t, p.Body, "chart-table"), want)
}

func TestChartRefusesBadQueries(t *testing.T) {
	e := startAnalytics(t)
	e.seed(t)
	path := fmt.Sprintf("/projects/%d/charts/", e.p.ID)
	for _, tc := range []struct {
		kind string
		form url.Values
		want []string
	}{
		{"segmentation", url.Values{"start": {"2026-03-09"}, "end": {"2026-03-01"}, "e0": {"purchase"}},
			[]string{"end 2026-03-01 is before start 2026-03-09", `value="purchase"`}},
		{"segmentation", url.Values{"e0": {"purchase"}, "e0.w0.prop": {"revenue"}, "e0.w0.op": {">"}, "e0.w0.value": {"lots"}},
			[]string{"Event 1, filter 1: &gt; compares numbers: &#34;lots&#34; is not one", `value="lots"`}},
		{"segmentation", url.Values{"e0": {"purchase"}, "metric": {"sum"}}, []string{"property is required for sum"}},
		{"segmentation", url.Values{"e1.w0.prop": {"plan"}, "e1.w0.value": {"free"}}, []string{"Event 1 has filters but no event type"}},
		{"funnel", url.Values{"e0": {"session_start"}}, []string{"steps: give 2 to 10 steps", `value="session_start"`}},
		{"funnel", url.Values{"e0": {"a"}, "e1": {"b"}, "window": {"soon"}}, []string{"Conversion window &#34;soon&#34;: want 7d, 24h or 90m"}},
		{"retention", url.Values{"e0": {"session_start"}, "periods": {"many"}}, []string{"Periods &#34;many&#34;: want a whole number"}},
		{"retention", url.Values{"e0": {"session_start"}, "interval": {"month"}}, []string{"interval &#34;month&#34;: day or week"}},
		{"ltv", url.Values{"days": {"0"}, "start": {"2026-03-01"}, "end": {"2027-06-01"}}, []string{"the range spans 458 days"}},
	} {
		p := e.b.get(path + tc.kind + "?" + tc.form.Encode())
		if p.Status != http.StatusBadRequest {
			t.Errorf("%s %v: %d, want 400", tc.kind, tc.form, p.Status)
			continue
		}
		p.mustContain(t, append(tc.want, `class="error"`, `<form method="get"`)...)
	}
	if p := e.b.get(path + "pie"); p.Status != http.StatusNotFound || !strings.Contains(p.Body, "there is no chart") {
		t.Errorf("an unknown chart: %d %s", p.Status, p.Body)
	}
}

func TestChartsEmptyProject(t *testing.T) {
	e := startAnalytics(t)
	for _, kind := range chart.Kinds {
		e.b.mustGet(fmt.Sprintf("/projects/%d/charts/%s", e.p.ID, kind), "This project has no events yet", "/2/httpapi", "YOUR_API_KEY", e.p.APIKeyLast4)
	}
	e.b.mustGet(fmt.Sprintf("/projects/%d/users", e.p.ID), "This project has no users yet", "/2/httpapi")
	// Once there are events, the pages stop saying so, even for a chart
	// that counts nothing.
	e.seed(t)
	p := e.chartPage(t, "segmentation", url.Values{"e0": {"nothing-like-this"}})
	if strings.Contains(p.Body, "no events yet") {
		t.Error("a project with events is shown as empty")
	}
}

// apiUserEvents reads a user's events through the JSON API, oldest first.
func (e *analyticsEnv) apiUserEvents(t *testing.T, id int64) []int64 {
	t.Helper()
	var ids []int64
	cursor := ""
	for {
		var page struct {
			Events []struct {
				ID int64 `json:"id"`
			} `json:"events"`
			Next string `json:"next_cursor"`
		}
		e.s.api(t, 200, "GET", fmt.Sprintf("/api/v1/projects/%d/users/%d/events?limit=7%s", e.p.ID, id, cursor), nil, &page)
		for _, ev := range page.Events {
			ids = append(ids, ev.ID)
		}
		if page.Next == "" {
			return ids
		}
		cursor = "&cursor=" + page.Next
	}
}

var anEventRE = regexp.MustCompile(`<summary>Event (\d+)`)

// timelineIDs are the event ids of a user page's timeline, in order.
func timelineIDs(body string) []int64 {
	var out []int64
	for _, m := range anEventRE.FindAllStringSubmatch(body, -1) {
		n, _ := strconv.ParseInt(m[1], 10, 64)
		out = append(out, n)
	}
	return out
}

var anLinkRE = regexp.MustCompile(`<a class="button secondary" href="([^"]+)" rel="(next|prev)">`)

// timelineLink is the page's link to older (next) or newer (prev) events.
func timelineLink(body, rel string) string {
	for _, m := range anLinkRE.FindAllStringSubmatch(body, -1) {
		if m[2] == rel {
			return html.UnescapeString(m[1])
		}
	}
	return ""
}

func TestUserLookupAndTimeline(t *testing.T) {
	e := startAnalytics(t)
	e.seed(t)
	var u1 touchpoint.User
	e.s.api(t, 200, "GET", fmt.Sprintf("/api/v1/projects/%d/users?user_id=user-1", e.p.ID), nil, &u1)
	userPath := fmt.Sprintf("/projects/%d/users/%d", e.p.ID, u1.AmplitudeID)
	users := fmt.Sprintf("/projects/%d/users", e.p.ID)

	// Every id finds the user.
	for _, q := range []string{"user_id=user-1", "device_id=device-1", fmt.Sprintf("amplitude_id=%d", u1.AmplitudeID)} {
		p := e.b.mustGet(users + "?" + q)
		if p.URL != userPath {
			t.Errorf("%s led to %s, want %s", q, p.URL, userPath)
		}
	}
	p := e.b.mustGet(userPath, "User user-1", "<code>device-1</code>", "Pending attributions")
	// The partner's properties under attribution, the rest under user
	// properties, as the store holds them.
	anSame(t, "attribution", anTable(t, p.Body, "attribution"), [][]string{{media, u1.Properties[media].(string)}})
	var props [][]string
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range u1.Properties {
			if k != media && !yield(k) {
				return
			}
		}
	}) {
		props = append(props, []string{k, touchpoint.ValueText(u1.Properties[k])})
	}
	anSame(t, "properties", anTable(t, p.Body, "properties"), props)
	// The timeline: the API's events, newest first.
	ids := e.apiUserEvents(t, u1.AmplitudeID)
	slices.Reverse(ids)
	if got := timelineIDs(p.Body); !slices.Equal(got, ids) || len(ids) != 4 {
		t.Fatalf("timeline %v, want %v", got, ids)
	}
	p.mustContain(t, "revenue 9.99", "item: coins", "2026-03-05 19:00:00 CET")

	// Refused lookups say why, the form kept.
	for q, want := range map[string]struct {
		status int
		words  string
	}{
		"user_id=nobody":    {404, "no user with this id"},
		"amplitude_id=abc":  {400, "amplitude ids are whole numbers"},
		"amplitude_id=9999": {404, "not found"},
	} {
		p := e.b.get(users + "?" + q)
		if p.Status != want.status || !strings.Contains(p.Body, want.words) || !strings.Contains(p.Body, `id="user_id"`) {
			t.Errorf("%s: %d, want %d saying %q:\n%s", q, p.Status, want.status, want.words, p.Body)
		}
	}
	if p := e.b.get(fmt.Sprintf("/projects/%d/users/9999", e.p.ID)); p.Status != 404 {
		t.Errorf("an unknown user's page: %d", p.Status)
	}
	if p := e.b.get(userPath + "?before=x"); p.Status != 400 {
		t.Errorf("a bad cursor: %d", p.Status)
	}
}

func TestUserTimelinePages(t *testing.T) {
	e := startAnalytics(t)
	// 123 events of one user, mixed with another's so that the user's
	// ids are not one run.
	var batch []map[string]any
	for i := range 123 {
		batch = append(batch, map[string]any{"user_id": "heavy", "event_type": fmt.Sprintf("tap_%d", i), "time": march(1, 0) + int64(i)*60_000})
		if i%3 == 0 {
			batch = append(batch, map[string]any{"user_id": "other", "event_type": "tap", "time": march(1, 0) + int64(i)*60_000})
		}
	}
	e.send(t, batch...)
	var u touchpoint.User
	e.s.api(t, 200, "GET", fmt.Sprintf("/api/v1/projects/%d/users?user_id=heavy", e.p.ID), nil, &u)
	want := e.apiUserEvents(t, u.AmplitudeID)
	slices.Reverse(want)
	if len(want) != 123 {
		t.Fatalf("the API lists %d events", len(want))
	}
	// Older, older, then back newer: pages of 50, newest first.
	path := fmt.Sprintf("/projects/%d/users/%d", e.p.ID, u.AmplitudeID)
	var seen []int64
	for range 3 {
		p := e.b.mustGet(path)
		seen = append(seen, timelineIDs(p.Body)...)
		path = timelineLink(p.Body, "next")
		if path == "" {
			break
		}
	}
	if !slices.Equal(seen, want) {
		t.Fatalf("the timeline's pages\n%v\nwant\n%v", seen, want)
	}
	if path != "" {
		t.Fatalf("the last page links to older events: %s", path)
	}
	// From the oldest page, newer events are the page before it.
	p := e.b.mustGet(fmt.Sprintf("/projects/%d/users/%d?before=%d", e.p.ID, u.AmplitudeID, want[99]))
	if got := timelineIDs(p.Body); !slices.Equal(got, want[100:]) {
		t.Fatalf("before %d: %v, want %v", want[99], got, want[100:])
	}
	newer := timelineLink(p.Body, "prev")
	if newer == "" {
		t.Fatal("no link to newer events")
	}
	p = e.b.mustGet(newer)
	if got := timelineIDs(p.Body); !slices.Equal(got, want[50:100]) {
		t.Fatalf("newer: %v, want %v", got, want[50:100])
	}
}

func TestPendingAttributionsPage(t *testing.T) {
	e := startAnalytics(t)
	path := fmt.Sprintf("/projects/%d/attributions/pending", e.p.ID)
	e.b.mustGet(path, "Nothing is waiting", "/attribution", "YOUR_API_KEY")
	e.b.mustGet(fmt.Sprintf("/projects/%d/users", e.p.ID), `href="`+path+`"`)
	form := url.Values{"api_key": {e.p.APIKey}, "event": {`{"event_type":"[AppsFlyer] Install","platform":"ios","idfa":"IDFA-WAITING",` +
		`"user_properties":{"[AppsFlyer] media source":"examplenet"}}`}}
	if code, answer := e.s.send(t, "POST", "/attribution", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, form.Encode()); code != 200 {
		t.Fatalf("/attribution: %d %s", code, answer)
	}
	e.clk.Add(2 * time.Hour)
	var pend touchpoint.PendingAttributions
	e.s.api(t, 200, "GET", fmt.Sprintf("/api/v1/projects/%d/attributions/pending", e.p.ID), nil, &pend)
	if pend.Count != 1 || pend.Oldest == nil {
		t.Fatalf("pending %+v", pend)
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	expires := pend.Oldest.Add(touchpoint.AttributionHold)
	p := e.b.mustGet(path)
	anSame(t, "pending", anTable(t, p.Body, "pending"), [][]string{{strconv.Itoa(pend.Count),
		pend.Oldest.In(berlin).Format("2006-01-02 15:04:05 MST"), expires.In(berlin).Format("2006-01-02 15:04:05 MST"),
		anSeconds(expires.Sub(epoch.Add(2 * time.Hour)).Seconds())}})
	// Past the hold it is dropped, and counted.
	e.clk.Add(71 * time.Hour)
	e.s.api(t, 200, "GET", fmt.Sprintf("/api/v1/projects/%d/attributions/pending", e.p.ID), nil, &pend)
	p = signIn(t, e.s).mustGet(path, "Nothing is waiting")
	if !strings.Contains(p.Body, `id="pending-dropped">`+strconv.FormatInt(pend.Dropped, 10)+"<") || pend.Dropped != 1 {
		t.Fatalf("dropped %d, page:\n%s", pend.Dropped, p.Body)
	}
}
