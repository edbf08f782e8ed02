package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/chart"
)

// A chart's page is a GET form: the query is in the URL, so a chart is a
// link to share. The form's fields are read into package chart's query
// types, which the JSON API (POST …/charts/{kind}) decodes, and computed
// by the same service call; package chart checks the query and says what
// is wrong with it.
//
// The form's field names:
//
//	start, end             the range (days in the project's zone)
//	interval               day, week, month (segmentation); day, week (retention)
//	metric, property       segmentation's
//	e0 … e9                the events (segmentation), steps (funnel), or
//	                       the start (e0) and return (e1) event (retention)
//	eI.wJ.scope/prop/op/value   event I's filter J
//	g0, g1, gN.type        group-by properties and their scope (user, event)
//	window                 funnel's conversion window (7d, 24h, 90m)
//	mode, periods          retention's
//	days                   LTV's

// chartTabs are the charts, in the order of their tabs.
var chartTabs = []struct{ Kind, Label string }{
	{"segmentation", "Segmentation"}, {"funnel", "Funnel"}, {"retention", "Retention"}, {"ltv", "Lifetime value"},
}

// maxDrawn is how many series a chart draws; the table lists them all.
const maxDrawn = 10

// GET /projects/{project}/charts: the first chart.
func (h *Handler) handleChartsHome(w http.ResponseWriter, r *http.Request, v *View) error {
	http.Redirect(w, r, analyticsBase(v.Project)+"/charts/segmentation", http.StatusSeeOther)
	return nil
}

// chartPage is the data of templates/analytics_charts.html.
type chartPage struct {
	Kind string
	Tabs []chartTab
	Form *chartForm
	// Hint says what to fill in when there is no query yet.
	Hint string
	// Zone is the project's time zone, which the dates are days of.
	Zone string
	// Send is set when the project has no events: what to send.
	Send *sendEvents
	// Deferred, when set, is where the page's script fetches the chart
	// from (the page itself with part=result), and Inline the page that
	// computes it in place, for a browser without scripts: a browser's
	// page paints its form at once, whatever the chart costs.
	Deferred, Inline string
	// One of these is the answer.
	Segmentation *segmentationView
	Funnel       *funnelView
	Retention    *retentionView
	LTV          *ltvView
}

type chartTab struct {
	Label, Href string
	Current     bool
}

// GET /projects/{project}/charts/{kind}?start=&end=&…: a chart of the
// query the form's fields make.
func (h *Handler) handleChart(w http.ResponseWriter, r *http.Request, v *View) error {
	kind := r.PathValue("kind")
	if chart.New(kind) == nil {
		return touchpoint.Errorf(touchpoint.ENOTFOUND, "there is no chart %q: segmentation, funnel, retention or ltv", kind)
	}
	p := v.Project
	v.Section = "charts"
	data := &chartPage{Kind: kind, Zone: p.Location().String()}
	values := r.URL.Query()
	part := values.Get("part") == "result"
	inline := values.Get("inline") != ""
	values.Del("part")
	values.Del("inline")
	// The dates travel from tab to tab; the rest of a query is its kind's.
	keep := url.Values{}
	for _, k := range []string{"start", "end"} {
		if s := values.Get(k); s != "" {
			keep.Set(k, s)
		}
	}
	for _, t := range chartTabs {
		href := analyticsBase(p) + "/charts/" + t.Kind
		if len(keep) > 0 {
			href += "?" + keep.Encode()
		}
		data.Tabs = append(data.Tabs, chartTab{Label: t.Label, Href: href, Current: t.Kind == kind})
		if t.Kind == kind {
			v.Title = t.Label
		}
	}
	// A first visit (no fields, or only the dates) shows a chart of every
	// event where one needs no more; a funnel needs its steps.
	fresh := len(values) == len(keep)
	if fresh && (kind == "segmentation" || kind == "retention") {
		values.Set("e0", chart.AnyEvent)
	}
	form, q, err := readChartForm(kind, values)
	data.Form = form
	form.Action = analyticsBase(p) + "/charts/" + kind
	if err != nil {
		v.Fail(err)
		return v.Render("analytics_charts", data)
	}
	if fresh && kind == "funnel" {
		data.Hint = "Give the funnel's steps in order (2 to 10 event types), then Show."
		return h.renderChart(r, v, data, true)
	}
	if !part && !inline && deferrable(r) {
		data.Deferred = form.Action + "?" + withParam(r.URL.Query(), "part", "result")
		data.Inline = form.Action + "?" + withParam(r.URL.Query(), "inline", "1")
		return v.Render("analytics_charts", data)
	}
	if part {
		v.part = "chart-result"
	}
	res, err := h.Service().Chart(r.Context(), p.ID, q)
	if err != nil {
		if touchpoint.ErrorCode(err) == touchpoint.EINTERNAL {
			return err
		}
		v.Fail(err)
		return v.Render("analytics_charts", data)
	}
	empty := true
	switch res := res.(type) {
	case *chart.SegmentationResult:
		data.Segmentation, empty = segmentationOf(q.(*chart.Segmentation), res)
	case *chart.FunnelResult:
		data.Funnel, empty = funnelOf(q.(*chart.Funnel), res)
	case *chart.RetentionResult:
		data.Retention, empty = retentionOf(q.(*chart.Retention), res)
	case *chart.LTVResult:
		data.LTV, empty = ltvOf(q.(*chart.LTV), res)
	}
	return h.renderChart(r, v, data, empty)
}

// renderChart renders a chart's page; when it counted nothing and the
// project has no events at all, the page says how to send the first.
func (h *Handler) renderChart(r *http.Request, v *View, data *chartPage, empty bool) error {
	if empty {
		has, err := h.projectHasUsers(r.Context(), v.Project.ID)
		if err != nil {
			return err
		}
		if !has {
			data.Send = h.firstEvents(r, v.Project)
		}
	}
	return v.Render("analytics_charts", data)
}

// deferrable reports whether a request is a browser's opening of a page
// (Sec-Fetch-Dest: document), which runs the page's script: such a page
// can leave a slow part to a second request. Other clients (curl, tests
// without a browser) get the whole page at once.
func deferrable(r *http.Request) bool {
	return r.Header.Get("Sec-Fetch-Dest") == "document"
}

// withParam returns q with k set to v, encoded.
func withParam(q url.Values, k, v string) string {
	q.Del("part")
	q.Del("inline")
	q.Set(k, v)
	return q.Encode()
}

// chartForm is a chart's form as sent, to show again (with the chart, or
// with what is wrong with it).
type chartForm struct {
	Kind   string
	Action string
	Start  string
	End    string
	// Interval and Metric are segmentation's and retention's selects.
	Interval []choice
	Metric   []choice
	Property string
	Specs    []*specForm
	GroupBy  []*groupForm
	Window   string
	Mode     []choice
	Periods  string
	Days     string
}

// specForm is an event of the form: its type and its filters.
type specForm struct {
	Name  string // the field's name, e0
	Label string // Event 1, Step 2, Start event…
	Hint  string
	Type  string
	Where []*filterForm
}

// filterForm is one filter row of an event.
type filterForm struct {
	Name     string // the fields' prefix, e0.w1
	ID       string // the same, for ids: e0-w1
	N        int
	Scope    string
	Property string
	Op       string
	Value    string
	Scopes   []choice
	Ops      []choice
}

// groupForm is one group-by property of the form.
type groupForm struct {
	Name     string // g0
	Label    string
	Scope    string
	Scopes   []choice // nil: user properties only (LTV)
	Property string
}

// readChartForm reads a chart's fields into its query, and into the form
// to show again. A field that does not read (a filter's number, a
// window) is an EINVALID error in words; the rest package chart checks
// when the chart runs.
func readChartForm(kind string, values url.Values) (*chartForm, chart.Query, error) {
	f := &chartForm{Kind: kind, Start: strings.TrimSpace(values.Get("start")), End: strings.TrimSpace(values.Get("end")),
		Property: strings.TrimSpace(values.Get("property")), Window: strings.TrimSpace(values.Get("window")),
		Periods: strings.TrimSpace(values.Get("periods")), Days: strings.TrimSpace(values.Get("days"))}
	interval, metric, mode := values.Get("interval"), values.Get("metric"), values.Get("mode")
	r := chart.Range{Start: f.Start, End: f.End}
	var first error
	fail := func(err error) {
		if first == nil && err != nil {
			first = err
		}
	}
	specs := readSpecs(kind, values)
	var events []chart.EventSpec
	var eventSpecs []*chart.EventSpec
	for i, s := range specs {
		s.Label = specLabel(kind, i)
		e, err := s.spec()
		fail(err)
		eventSpecs = append(eventSpecs, e)
		if e != nil {
			events = append(events, *e)
		}
	}
	groups := readGroups(kind, values)
	var props []chart.Property
	for _, g := range groups {
		if g.Property != "" {
			props = append(props, chart.Property{Type: g.Scope, Property: g.Property})
		}
	}
	var group *chart.Property
	if len(props) > 0 {
		group = &props[0]
	}
	var q chart.Query
	switch kind {
	case "segmentation":
		q = &chart.Segmentation{Events: events, Metric: metric, Property: f.Property, Interval: interval, Range: r, GroupBy: props}
		f.Interval = choices(interval, chart.Day, "Day", chart.Week, "Week (from Monday)", chart.Month, "Month")
		f.Metric = choices(metric, chart.Totals, "Totals (events)", chart.Uniques, "Uniques (users)", chart.Average, "Average (events per user)",
			chart.Sum, "Sum of a property", chart.PropertyAverage, "Average of a property", chart.Distribution, "Distribution of a property")
	case "funnel":
		fq := &chart.Funnel{Steps: events, Range: r, GroupBy: group}
		if f.Window != "" {
			w, err := chart.ParseWindow(f.Window)
			if err != nil {
				fail(touchpoint.Errorf(touchpoint.EINVALID, "Conversion window %v", err))
			}
			fq.ConversionSeconds = w
		}
		q = fq
	case "retention":
		rq := &chart.Retention{Range: r, Interval: interval, Mode: mode, GroupBy: group}
		if eventSpecs[0] != nil {
			rq.StartEvent = *eventSpecs[0]
		}
		rq.ReturnEvent = eventSpecs[1]
		rq.Periods = readInt(f.Periods, "Periods", fail)
		q = rq
		f.Interval = choices(interval, chart.Day, "Day", chart.Week, "Week")
		f.Mode = choices(mode, chart.NDay, "On the day (n-day)", chart.Unbounded, "On the day or later (unbounded)")
	case "ltv":
		q = &chart.LTV{Range: r, Days: readInt(f.Days, "Days", fail), GroupBy: group}
	}
	f.Specs = specSlots(kind, specs)
	f.GroupBy = groupSlots(kind, groups)
	return f, q, first
}

// readInt reads a whole number field; empty is 0 (the chart's default).
func readInt(s, field string, fail func(error)) int {
	if s == "" {
		return 0
	}
	n, err := wholeNumber(field, s)
	if err != nil {
		fail(err)
	}
	return int(n)
}

// specCount is how many events a kind's form has fields for.
func specCount(kind string) int {
	switch kind {
	case "segmentation":
		return chart.MaxEvents
	case "funnel":
		return chart.MaxSteps
	case "retention":
		return 2
	}
	return 0
}

// readSpecs reads the events of a form: those given, in order, for a
// segmentation or a funnel (a blank one between is skipped); the start
// and the return event, given or not, for a retention.
func readSpecs(kind string, values url.Values) []*specForm {
	var out []*specForm
	for i := range specCount(kind) {
		name := "e" + strconv.Itoa(i)
		s := &specForm{Type: strings.TrimSpace(values.Get(name))}
		for j := range chart.MaxFilters {
			pre := name + ".w" + strconv.Itoa(j)
			w := &filterForm{Scope: values.Get(pre + ".scope"), Property: strings.TrimSpace(values.Get(pre + ".prop")),
				Op: values.Get(pre + ".op"), Value: values.Get(pre + ".value")}
			if w.Property != "" || strings.TrimSpace(w.Value) != "" {
				s.Where = append(s.Where, w)
			}
		}
		if kind == "retention" || s.Type != "" || len(s.Where) > 0 {
			out = append(out, s)
		}
	}
	return out
}

// spec is the event spec of a form's event: nil when it names none.
func (s *specForm) spec() (*chart.EventSpec, error) {
	if s.Type == "" {
		if len(s.Where) > 0 {
			return nil, touchpoint.Errorf(touchpoint.EINVALID, "%s has filters but no event type: give one (%s: any event)", s.Label, chart.AnyEvent)
		}
		return nil, nil
	}
	e := &chart.EventSpec{EventType: s.Type}
	for j, w := range s.Where {
		f, err := chart.NewFilter(w.Scope, w.Property, w.Op, w.Value)
		if err != nil {
			return nil, touchpoint.Errorf(touchpoint.EINVALID, "%s, filter %d: %v", s.Label, j+1, err)
		}
		e.Where = append(e.Where, f)
	}
	return e, nil
}

// specLabel names the i-th event of a kind's form.
func specLabel(kind string, i int) string {
	switch {
	case kind == "funnel":
		return fmt.Sprintf("Step %d", i+1)
	case kind == "retention" && i == 0:
		return "Start event"
	case kind == "retention":
		return "Return event"
	}
	return fmt.Sprintf("Event %d", i+1)
}

// specSlots are the events the form shows: those given and one more to
// fill in (a funnel at least two), each with its filters and one more
// row; a retention's two.
func specSlots(kind string, given []*specForm) []*specForm {
	n := len(given) + 1
	switch kind {
	case "funnel":
		n = max(n, chart.MinSteps)
	case "retention":
		n = 2
	}
	n = min(n, specCount(kind))
	out := make([]*specForm, n)
	for i := range out {
		s := &specForm{}
		if i < len(given) {
			s = given[i]
		}
		s.Name, s.Label = "e"+strconv.Itoa(i), specLabel(kind, i)
		switch {
		case kind == "retention" && i == 0:
			s.Hint = "A user's first such event in the range starts their retention."
		case kind == "retention":
			s.Hint = "Empty: any event counts as coming back."
		}
		rows := min(len(s.Where)+1, chart.MaxFilters)
		for len(s.Where) < rows {
			s.Where = append(s.Where, &filterForm{})
		}
		for j, w := range s.Where {
			w.Name, w.N = s.Name+".w"+strconv.Itoa(j), j+1
			w.ID = strings.ReplaceAll(w.Name, ".", "-")
			w.Scopes = choices(w.Scope, "event", "Event property", "user", "User property")
			w.Ops = choices(w.Op, touchpoint.OpEq, "=", touchpoint.OpNe, "≠", touchpoint.OpContains, "contains",
				touchpoint.OpGt, ">", touchpoint.OpLt, "<", touchpoint.OpIn, "in (a, b, …)")
		}
		out[i] = s
	}
	return out
}

// groupCount is how many group-by properties a kind takes.
func groupCount(kind string) int {
	if kind == "segmentation" {
		return chart.MaxGroupBy
	}
	return 1
}

// readGroups reads the group-by properties given, in order.
func readGroups(kind string, values url.Values) []*groupForm {
	var out []*groupForm
	for i := range groupCount(kind) {
		name := "g" + strconv.Itoa(i)
		g := &groupForm{Property: strings.TrimSpace(values.Get(name)), Scope: values.Get(name + ".type")}
		if kind == "ltv" {
			g.Scope = "user" // LTV groups users by their current properties
		}
		if g.Property != "" {
			out = append(out, g)
		}
	}
	return out
}

// groupSlots are the group-by fields the form shows.
func groupSlots(kind string, given []*groupForm) []*groupForm {
	out := make([]*groupForm, groupCount(kind))
	for i := range out {
		g := &groupForm{}
		if i < len(given) {
			g = given[i]
		}
		g.Name = "g" + strconv.Itoa(i)
		g.Label = "Group by"
		if len(out) > 1 {
			g.Label = fmt.Sprintf("Group by (%d)", i+1)
		}
		if kind != "ltv" {
			g.Scopes = choices(g.Scope, "user", "User property", "event", "Event property")
		}
		out[i] = g
	}
	return out
}

// seriesName names a chart's series: its event (numbered when the query
// has several) and its group.
func seriesName(event string, group []string, grouped bool) string {
	if !grouped {
		return event
	}
	return event + " · " + groupLabel(group)
}

// groupLabel is a group's values as one label.
func groupLabel(group []string) string {
	if len(group) == 0 {
		return chart.AllLabel
	}
	return strings.Join(group, " / ")
}

// propertyNames are the names of group-by properties, for column heads.
func propertyNames(props []chart.Property) []string {
	out := make([]string, len(props))
	for i, p := range props {
		out[i] = p.Property
	}
	return out
}

// groupHead is the head of a chart's group column.
func groupHead(p *chart.Property) string {
	if p == nil {
		return "Group"
	}
	return p.Property
}

// segmentationView is a segmentation drawn and tabled.
type segmentationView struct {
	Chart    LineChart
	Drawn    int
	All      int
	What     string
	Heads    []string
	X        []string
	Rows     []segmentationRow
	Dists    []distributionView
	Grouped  bool
	Interval string
}

type segmentationRow struct {
	Event  string
	Group  []string
	Total  string
	Values []string
}

type distributionView struct {
	Name   string
	Values []distributionValue
}

type distributionValue struct{ Value, Count string }

// metricNames head a segmentation's chart ("Sum of revenue per day").
var metricNames = map[string]string{chart.Totals: "Events", chart.Uniques: "Users", chart.Average: "Events per user",
	chart.Sum: "Sum", chart.PropertyAverage: "Average"}

// segmentationOf lays out a segmentation's answer: a line per series
// (the first maxDrawn), a row per series with every interval's value;
// empty reports that it counted nothing.
func segmentationOf(q *chart.Segmentation, res *chart.SegmentationResult) (*segmentationView, bool) {
	grouped := len(q.GroupBy) > 0
	sv := &segmentationView{Heads: propertyNames(q.GroupBy), X: res.XValues, All: len(res.Series), Grouped: grouped, Interval: res.Interval}
	sv.What = metricNames[res.Metric]
	switch {
	case res.Metric == chart.Distribution:
		sv.What = "Events that have " + q.Property
	case q.Property != "":
		sv.What += " of " + q.Property
	}
	sv.Chart.Labels = res.XValues
	empty := true
	for _, s := range res.Series {
		event := s.Event
		if len(q.Events) > 1 {
			event = fmt.Sprintf("%d. %s", s.Index+1, s.Event)
		}
		name := seriesName(event, s.Group, grouped)
		if len(sv.Chart.Series) < maxDrawn {
			sv.Chart.Series = append(sv.Chart.Series, Series{Name: name, Values: s.Values})
		}
		row := segmentationRow{Event: event, Group: s.Group, Total: chartNumber(s.Total)}
		for _, x := range s.Values {
			row.Values = append(row.Values, chartNumber(x))
			empty = empty && x == 0
		}
		empty = empty && s.Total == 0
		sv.Rows = append(sv.Rows, row)
		if len(s.Distribution) > 0 {
			d := distributionView{Name: name}
			for _, vc := range s.Distribution {
				d.Values = append(d.Values, distributionValue{Value: vc.Value, Count: strconv.FormatInt(vc.Count, 10)})
			}
			sv.Dists = append(sv.Dists, d)
		}
	}
	sv.Drawn = len(sv.Chart.Series)
	return sv, empty
}

// funnelView is a funnel: its users at each step as bars (all users,
// then a line per group), and a row per group and step.
type funnelView struct {
	Chart  LineChart
	Window string
	Head   string
	Rows   []funnelRow
	Drawn  int
	Groups int
}

type funnelRow struct {
	Group        string
	First        bool
	Step         string
	Users        string
	FromPrevious string
	FromFirst    string
	Median       string
}

func funnelOf(q *chart.Funnel, res *chart.FunnelResult) (*funnelView, bool) {
	fv := &funnelView{Window: shortDuration(float64(res.ConversionSeconds)), Head: groupHead(q.GroupBy), Groups: len(res.Groups)}
	for i, s := range res.Steps {
		fv.Chart.Labels = append(fv.Chart.Labels, fmt.Sprintf("%d. %s", i+1, s))
	}
	fv.Chart.Bars = true
	empty := true
	for gi, g := range append([]chart.FunnelGroup{res.Total}, res.Groups...) {
		label := "All users"
		if gi > 0 {
			label = groupLabel(g.Group)
		}
		values := make([]float64, len(g.Users))
		for k, n := range g.Users {
			values[k] = float64(n)
			empty = empty && n == 0
		}
		if len(fv.Chart.Series) < maxDrawn {
			fv.Chart.Series = append(fv.Chart.Series, Series{Name: label, Values: values})
		}
		for k := range res.Steps {
			row := funnelRow{Group: label, First: k == 0, Step: fv.Chart.Labels[k], Users: "–", FromPrevious: "–", FromFirst: "–", Median: "–"}
			if k < len(g.Users) {
				row.Users = strconv.FormatInt(g.Users[k], 10)
			}
			if k > 0 && k < len(g.FromPrevious) {
				row.FromPrevious = ratio(g.FromPrevious[k])
			}
			if k < len(g.FromFirst) {
				row.FromFirst = ratio(g.FromFirst[k])
			}
			if k < len(g.MedianSeconds) && g.MedianSeconds[k] != nil {
				row.Median = shortDuration(*g.MedianSeconds[k])
			}
			fv.Rows = append(fv.Rows, row)
		}
	}
	fv.Drawn = len(fv.Chart.Series)
	return fv, empty
}

// retentionView is a retention: the share back in each period (all
// users, then a line per group), the cohort table of all users, and a
// row per group.
type retentionView struct {
	Chart     LineChart
	Mode      string
	Unit      string
	Periods   []string
	Total     retentionRow
	Cohorts   []retentionRow
	Head      string
	Groups    []retentionRow
	Drawn     int
	AllGroups int
}

type retentionRow struct {
	Label string
	Users string
	Cells []retentionCell
}

// retentionCell is a period of a row: the share of the row's users back,
// and how many; blank for a period that has not begun.
type retentionCell struct {
	Pct, Count string
}

func retentionOf(q *chart.Retention, res *chart.RetentionResult) (*retentionView, bool) {
	unit := "Day"
	if res.Interval == chart.Week {
		unit = "Week"
	}
	rv := &retentionView{Mode: res.Mode, Unit: unit, Head: groupHead(q.GroupBy), AllGroups: len(res.Groups)}
	n := len(res.Total.Users)
	for _, c := range res.Total.Cohorts {
		n = max(n, len(c.Retained))
	}
	for k := range n {
		rv.Periods = append(rv.Periods, fmt.Sprintf("%s %d", unit, k))
	}
	rv.Chart.Labels = rv.Periods
	rv.Chart.Format = func(f float64) string { return chartNumber(f) + "%" }
	// group is a group's row: its users, and per period the share of
	// the users of the rows that reached it.
	group := func(label string, g chart.RetentionGroup) retentionRow {
		row := retentionRow{Label: label, Users: "0"}
		if len(g.Users) > 0 {
			row.Users = strconv.FormatInt(g.Users[0], 10)
		}
		for k := range n {
			var c retentionCell
			if k < len(g.Users) && k < len(g.Retained) && k < len(g.Rates) {
				c = retentionCell{Pct: ratio(g.Rates[k]), Count: strconv.FormatInt(g.Retained[k], 10)}
			}
			row.Cells = append(row.Cells, c)
		}
		return row
	}
	line := func(label string, g chart.RetentionGroup) {
		if len(rv.Chart.Series) == maxDrawn {
			return
		}
		values := make([]float64, len(g.Rates))
		for k, r := range g.Rates {
			values[k] = 100 * r
		}
		rv.Chart.Series = append(rv.Chart.Series, Series{Name: label, Values: values})
	}
	rv.Total = group("All users", res.Total)
	line("All users", res.Total)
	empty := len(res.Total.Users) == 0 || res.Total.Users[0] == 0
	for _, c := range res.Total.Cohorts {
		row := retentionRow{Label: c.Date, Users: strconv.FormatInt(c.Users, 10)}
		for k := range n {
			var cell retentionCell
			if k < len(c.Retained) {
				cell = retentionCell{Pct: percent(c.Retained[k], c.Users), Count: strconv.FormatInt(c.Retained[k], 10)}
			}
			row.Cells = append(row.Cells, cell)
		}
		rv.Cohorts = append(rv.Cohorts, row)
	}
	for _, g := range res.Groups {
		rv.Groups = append(rv.Groups, group(groupLabel(g.Group), g))
		line(groupLabel(g.Group), g)
	}
	rv.Drawn = len(rv.Chart.Series)
	return rv, empty
}

// ltvView is revenue per user by days since first seen: a line per group
// (all users first), a row per group with each day's revenue per user,
// revenue and users.
type ltvView struct {
	Chart     LineChart
	Days      []string
	Head      string
	Rows      []ltvRow
	Drawn     int
	AllGroups int
}

type ltvRow struct {
	Label string
	Users string
	Cells []ltvCell
}

// ltvCell is a day of a group: blank when none of its users reached it.
type ltvCell struct {
	PerUser, Revenue, Users string
}

func ltvOf(q *chart.LTV, res *chart.LTVResult) (*ltvView, bool) {
	lv := &ltvView{Head: groupHead(q.GroupBy), AllGroups: len(res.Groups)}
	for k := 0; k <= res.Days; k++ {
		lv.Days = append(lv.Days, fmt.Sprintf("Day %d", k))
	}
	lv.Chart.Labels = lv.Days
	empty := len(res.Total.Users) == 0 || res.Total.Users[0] == 0
	for gi, g := range append([]chart.LTVGroup{res.Total}, res.Groups...) {
		label := "All users"
		if gi > 0 {
			label = groupLabel(g.Group)
		}
		row := ltvRow{Label: label, Users: "0"}
		if len(g.Users) > 0 {
			row.Users = strconv.FormatInt(g.Users[0], 10)
		}
		var values []float64
		for k := range lv.Days {
			var c ltvCell
			if k < len(g.Users) && k < len(g.PerUser) && k < len(g.Revenue) && g.Users[k] > 0 {
				c = ltvCell{PerUser: chartNumber(g.PerUser[k]), Revenue: chartNumber(g.Revenue[k]), Users: strconv.FormatInt(g.Users[k], 10)}
				values = append(values, g.PerUser[k])
			}
			row.Cells = append(row.Cells, c)
		}
		if len(lv.Chart.Series) < maxDrawn {
			lv.Chart.Series = append(lv.Chart.Series, Series{Name: label, Values: values})
		}
		lv.Rows = append(lv.Rows, row)
	}
	lv.Drawn = len(lv.Chart.Series)
	return lv, empty
}
