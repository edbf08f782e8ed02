package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/touchpointhq/touchpoint/chart"
)

// chartsHelp follows the flags in "touchpoint charts KIND -h".
const chartsHelp = `
Dates: --start and --end are days (2006-01-02), both included, counted in
the project's time zone. Without --end the range ends today there (by the
project's test clock in test mode); without --start it spans 30 days.

Events: an event type, or _all for any event.

--group-by PROPERTY: user:NAME, a user property as the event was stored
with it (LTV: the user's current value), or event:NAME, an event
property. A bare NAME is a user property. Segmentation takes up to 2,
the other charts 1.

--where FILTER narrows the --event, --step, --start-event or
--return-event given just before it; repeat it for more conditions (all
must hold):

  [event:|user:]PROPERTY OP VALUE

  event: (the default) reads the event's property, else its top-level
  field (revenue, price, country, platform…); user: reads the user
  property the event was stored with.
  OP: = != contains compare text; > < compare numbers; in takes a
  comma-separated list. contains and in are words: spaces around them.
  The property ends at the first operator: quote it ("…") when its name
  holds one.

  --where 'event:price>20'   --where 'user:[AppsFlyer] media source=examplenet'
  --where 'country in US,DE' --where 'user:"sign in method" = google'

Output: a table (segmentation: the total and the last 14 intervals;
retention: periods 0 to 7 and every 7th after, with the last). --json
prints the server's answer as it is. --query FILE (- reads stdin) sends
a whole JSON query (package chart's types) instead of the chart's flags.

Examples:
  touchpoint charts segmentation --project 1 --event purchase --where 'price>20' --group-by '[AppsFlyer] media source'
  touchpoint charts funnel --project 1 --step '[AppsFlyer] Install' --step purchase --window 7d
  touchpoint charts retention --project 1 --start-event '[AppsFlyer] Install' --interval week --periods 8
  touchpoint charts ltv --project 1 --days 30 --group-by '[AppsFlyer] media source'
`

// chartStdin is what "--query -" reads.
var chartStdin io.Reader = os.Stdin

// outputFlags are the flags "charts --query" takes besides the file: they
// pick the project, the server and the output, not the query.
var outputFlags = []string{"project", "json", "query", "server", "admin-token", "data-dir", "field"}

// runCharts is "touchpoint charts KIND": a chart of a project, its query
// built from flags (or read whole with --query), printed as a table (or
// as the server's JSON with --json).
func runCharts(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const kinds = "segmentation, funnel, retention or ltv"
	if len(args) == 0 {
		return errors.New("charts: want " + kinds + ` ("touchpoint charts KIND -h" for its flags)`)
	}
	kind, args := args[0], args[1:]
	if !slices.Contains(chart.Kinds, kind) {
		return fmt.Errorf("charts: unknown chart %q: want %s", kind, kinds)
	}
	fs := newFlagSet("charts "+kind, stderr, "--project ID [flags]")
	c := clientFlags(fs)
	project := fs.String("project", "", "the analytics project's id")
	queryFile := fs.String("query", "", "send this file's JSON query (- reads stdin) instead of one made from the flags")
	flags := chartFlags(fs, kind)
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stderr, chartsHelp)
		}
		return err
	}
	if err := need(fs, 0, "no arguments: touchpoint charts "+kind+" --project 1 …"); err != nil {
		return err
	}
	if *project == "" {
		return errors.New("--project is required")
	}
	var q chart.Query
	var body any
	var err error
	if *queryFile != "" {
		q, body, err = readQuery(fs, kind, *queryFile)
	} else {
		q, err = flags.query()
		body = q
	}
	if err != nil {
		return err
	}
	path := "/api/v1/projects/" + esc(*project) + "/charts/" + kind
	return c.show(ctx, "POST", path, body, stdout, func(answer []byte, w io.Writer) error {
		return renderChart(w, q, answer)
	})
}

// readQuery reads --query's file (stdin for -): the query to render by,
// and the body to send, the file's JSON as it is. No flag that makes a
// query may come with it.
func readQuery(fs *flag.FlagSet, kind, file string) (chart.Query, any, error) {
	var bad []string
	fs.Visit(func(f *flag.Flag) {
		if !slices.Contains(outputFlags, f.Name) {
			bad = append(bad, "--"+f.Name)
		}
	})
	if len(bad) > 0 {
		return nil, nil, fmt.Errorf("--query sends the file's query as it is: put %s in the file", strings.Join(bad, ", "))
	}
	var b []byte
	var err error
	if file == "-" {
		b, err = io.ReadAll(chartStdin)
	} else {
		b, err = os.ReadFile(file)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("--query: %w", err)
	}
	if !json.Valid(b) {
		return nil, nil, fmt.Errorf("--query %s: not valid JSON", file)
	}
	// As the server reads it: no field the query does not have.
	q := chart.New(kind)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(q); err != nil {
		return nil, nil, fmt.Errorf("--query %s: not a %s query: %v", file, kind, err)
	}
	return q, json.RawMessage(b), nil
}

// chartArgs are the flags that make a chart's query.
type chartArgs struct {
	kind       string
	start, end string
	groupBy    []chart.Property
	// specs are the events (segmentation) or steps (funnel) in order,
	// startEvent and returnEvent retention's; last is the one given
	// last, which --where filters.
	specs                   []*chart.EventSpec
	startEvent, returnEvent *chart.EventSpec
	last                    *chart.EventSpec
	metric                  string
	property                string
	interval                string
	window                  int64
	mode                    string
	periods                 int
	days                    int
}

// chartFlags adds to fs the flags of a kind's query: --start and --end,
// --group-by, and the kind's own.
func chartFlags(fs *flag.FlagSet, kind string) *chartArgs {
	a := &chartArgs{kind: kind}
	fs.StringVar(&a.start, "start", "", "first day, 2006-01-02 (default: 29 days before --end)")
	fs.StringVar(&a.end, "end", "", "last day, included (default: the project's today)")
	maxGroups := 1
	if kind == "segmentation" {
		maxGroups = chart.MaxGroupBy
	}
	fs.Func("group-by", fmt.Sprintf("group by a property: user:NAME (a bare NAME too) or event:NAME; up to %d", maxGroups), func(s string) error {
		if len(a.groupBy) == maxGroups {
			return fmt.Errorf("at most %d --group-by for a %s", maxGroups, kind)
		}
		p, err := parseProperty(s)
		if err != nil {
			return err
		}
		a.groupBy = append(a.groupBy, p)
		return nil
	})
	// spec returns a flag's function that adds an event spec and makes it
	// the one --where filters.
	spec := func(add func(*chart.EventSpec) error) func(string) error {
		return func(s string) error {
			if s = strings.TrimSpace(s); s == "" {
				return errors.New("give an event type (_all: any event)")
			}
			e := &chart.EventSpec{EventType: s}
			a.last = e
			return add(e)
		}
	}
	where := func(what string) {
		fs.Func("where", "filter the "+what+" just before: [event:|user:]PROPERTY OP VALUE, OP = != contains > < in (repeatable)", func(s string) error {
			if a.last == nil {
				return fmt.Errorf("--where follows the %s it filters", what)
			}
			f, err := chart.ParseFilter(s)
			if err != nil {
				return err
			}
			a.last.Where = append(a.last.Where, f)
			return nil
		})
	}
	switch kind {
	case "segmentation":
		fs.Func("event", "an event type to count, _all for any (repeatable, up to 10)", spec(func(e *chart.EventSpec) error {
			a.specs = append(a.specs, e)
			return nil
		}))
		where("--event")
		fs.StringVar(&a.metric, "metric", "", "totals (default), uniques, average, sum, property_average or distribution")
		fs.StringVar(&a.property, "property", "", "the event property of sum, property_average and distribution (revenue: the event's revenue)")
		fs.StringVar(&a.interval, "interval", "", "day (default), week or month")
	case "funnel":
		fs.Func("step", "a step's event type, in order (repeatable, 2 to 10)", spec(func(e *chart.EventSpec) error {
			a.specs = append(a.specs, e)
			return nil
		}))
		where("--step")
		fs.Func("window", "every step within this long of the first: 7d, 24h, 90m (default 1d)", func(s string) error {
			var err error
			a.window, err = chart.ParseWindow(s)
			return err
		})
	case "retention":
		fs.Func("start-event", "the event that starts a user's retention, _all for any (required)", spec(func(e *chart.EventSpec) error {
			if a.startEvent != nil {
				return errors.New("give one --start-event")
			}
			a.startEvent = e
			return nil
		}))
		fs.Func("return-event", "the event that counts as coming back (default: any)", spec(func(e *chart.EventSpec) error {
			if a.returnEvent != nil {
				return errors.New("give one --return-event")
			}
			a.returnEvent = e
			return nil
		}))
		where("--start-event or --return-event")
		fs.StringVar(&a.interval, "interval", "", "day (default) or week")
		fs.StringVar(&a.mode, "mode", "", "n_day (default: back in that period) or unbounded (in it or later)")
		fs.IntVar(&a.periods, "periods", 0, "periods after period 0 (default 30)")
	case "ltv":
		fs.IntVar(&a.days, "days", 0, "days after day 0 (default 30)")
	}
	return a
}

// query is the query the parsed flags make.
func (a *chartArgs) query() (chart.Query, error) {
	r, err := a.dates()
	if err != nil {
		return nil, err
	}
	var group *chart.Property
	if len(a.groupBy) > 0 {
		group = &a.groupBy[0]
	}
	switch a.kind {
	case "segmentation":
		if len(a.specs) == 0 {
			return nil, errors.New("give at least one --event (_all: any event)")
		}
		return &chart.Segmentation{Events: deref(a.specs), Metric: a.metric, Property: a.property,
			Interval: a.interval, Range: r, GroupBy: a.groupBy}, nil
	case "funnel":
		if n := len(a.specs); n < chart.MinSteps || n > chart.MaxSteps {
			return nil, fmt.Errorf("give %d to %d --step, in order (got %d)", chart.MinSteps, chart.MaxSteps, n)
		}
		return &chart.Funnel{Steps: deref(a.specs), Range: r, ConversionSeconds: a.window, GroupBy: group}, nil
	case "retention":
		if a.startEvent == nil {
			return nil, errors.New("--start-event is required (_all: any event)")
		}
		return &chart.Retention{StartEvent: *a.startEvent, ReturnEvent: a.returnEvent, Range: r, Interval: a.interval,
			Mode: a.mode, Periods: a.periods, GroupBy: group}, nil
	case "ltv":
		return &chart.LTV{Range: r, Days: a.days, GroupBy: group}, nil
	}
	return nil, fmt.Errorf("unknown chart %q", a.kind)
}

// dates is the range of --start and --end. The server fills in what is
// not given: --end today in the project's zone (by its test clock in test
// mode), --start 29 days before --end.
func (a *chartArgs) dates() (chart.Range, error) {
	r := chart.Range{Start: a.start, End: a.end}
	for _, d := range []struct{ flag, day string }{{"--start", r.Start}, {"--end", r.End}} {
		if _, err := time.Parse(time.DateOnly, d.day); d.day != "" && err != nil {
			return r, fmt.Errorf("%s %q: want a day, 2006-01-02", d.flag, d.day)
		}
	}
	return r, nil
}

func deref(specs []*chart.EventSpec) []chart.EventSpec {
	out := make([]chart.EventSpec, len(specs))
	for i, e := range specs {
		out[i] = *e
	}
	return out
}

// parseProperty reads a --group-by: user:NAME, event:NAME, or NAME (a
// user property).
func parseProperty(s string) (chart.Property, error) {
	p := chart.Property{Type: "user", Property: s}
	if name, ok := strings.CutPrefix(s, "user:"); ok {
		p.Property = name
	} else if name, ok := strings.CutPrefix(s, "event:"); ok {
		p.Type, p.Property = "event", name
	}
	if p.Property = strings.TrimSpace(p.Property); p.Property == "" {
		return p, fmt.Errorf("%q: give a property: user:NAME, event:NAME or NAME", s)
	}
	return p, nil
}

// renderChart prints a chart's answer as tables.
func renderChart(w io.Writer, q chart.Query, answer []byte) error {
	t := newTable(w)
	var err error
	switch q := q.(type) {
	case *chart.Segmentation:
		var r chart.SegmentationResult
		if err = json.Unmarshal(answer, &r); err == nil {
			renderSegmentation(t, q, &r)
		}
	case *chart.Funnel:
		var r chart.FunnelResult
		if err = json.Unmarshal(answer, &r); err == nil {
			renderFunnel(t, q, &r)
		}
	case *chart.Retention:
		var r chart.RetentionResult
		if err = json.Unmarshal(answer, &r); err == nil {
			renderRetention(t, q, &r)
		}
	case *chart.LTV:
		var r chart.LTVResult
		if err = json.Unmarshal(answer, &r); err == nil {
			renderLTV(t, q, &r)
		}
	}
	if err != nil {
		return fmt.Errorf("the server's answer is not the %s chart: %v", q.Kind(), err)
	}
	return t.Flush()
}

// maxColumns is how many intervals a segmentation table shows: the last.
const maxColumns = 14

// renderSegmentation prints one row per series: its event, its groups,
// its total and its values by interval (the last maxColumns).
func renderSegmentation(w *table, q *chart.Segmentation, r *chart.SegmentationResult) {
	what := r.Metric
	if q.Property != "" {
		what += " of " + q.Property
	}
	w.Line("%s per %s, %s to %s", what, r.Interval, q.Start, q.End)
	if len(r.Series) == 0 {
		w.Line("no series")
		return
	}
	from := max(0, len(r.XValues)-maxColumns)
	if from > 0 {
		w.Line("(the first %d of %d %ss are left out: --json has them)", from, len(r.XValues), r.Interval)
	}
	head := append([]string{"EVENT"}, groupHeads(q.GroupBy)...)
	w.Head(append(append(head, "TOTAL"), r.XValues[from:]...)...)
	distribution := false
	for _, s := range r.Series {
		row := []string{eventLabel(q, s)}
		if len(q.GroupBy) > 0 {
			row = append(row, s.Group...)
		}
		row = append(row, number(s.Total))
		for i := from; i < len(r.XValues); i++ {
			v := "-"
			if i < len(s.Values) {
				v = number(s.Values[i])
			}
			row = append(row, v)
		}
		w.Row(row...)
		distribution = distribution || len(s.Distribution) > 0
	}
	if !distribution {
		return
	}
	w.Line("")
	w.Line("events by %s over the range", q.Property)
	w.Head(append(append(head, "VALUE"), "EVENTS")...)
	for _, s := range r.Series {
		for _, d := range s.Distribution {
			row := []string{eventLabel(q, s)}
			if len(q.GroupBy) > 0 {
				row = append(row, s.Group...)
			}
			w.Row(append(row, d.Value, strconv.FormatInt(d.Count, 10))...)
		}
	}
}

// eventLabel names a series' event: numbered by its place in the query
// when the query has several.
func eventLabel(q *chart.Segmentation, s chart.Series) string {
	if len(q.Events) > 1 {
		return fmt.Sprintf("%d. %s", s.Index+1, s.Event)
	}
	return s.Event
}

// groupHeads are the column heads of group-by properties.
func groupHeads(props []chart.Property) []string {
	var out []string
	for _, p := range props {
		out = append(out, p.Property)
	}
	return out
}

// groupHead is the head of a chart's one group column.
func groupHead(p *chart.Property) string {
	if p == nil {
		return "GROUP"
	}
	return p.Property
}

// label is a group's cells as one: its values joined.
func label(group []string) string {
	if len(group) == 0 {
		return chart.AllLabel
	}
	return strings.Join(group, " / ")
}

// renderFunnel prints one row per group (all users first): the users at
// each step, and for the steps after the first the share of the first
// step's users.
func renderFunnel(w *table, q *chart.Funnel, r *chart.FunnelResult) {
	w.Line("funnel, %s to %s, every step within %s of the first; %% of step 1's users", q.Start, q.End, seconds(r.ConversionSeconds))
	head := []string{groupHead(q.GroupBy)}
	for i, s := range r.Steps {
		head = append(head, fmt.Sprintf("%d. %s", i+1, s))
	}
	w.Head(head...)
	for _, g := range append([]chart.FunnelGroup{r.Total}, r.Groups...) {
		row := []string{label(g.Group)}
		for i := range r.Steps {
			switch {
			case i >= len(g.Users):
				row = append(row, "-")
			case i == 0:
				row = append(row, strconv.FormatInt(g.Users[0], 10))
			default:
				row = append(row, fmt.Sprintf("%d (%s)", g.Users[i], percent(g.Users[i], g.Users[0])))
			}
		}
		w.Row(row...)
	}
}

// renderRetention prints the cohort table of all users (a row per start
// interval, the share back in each period), then a line per group.
func renderRetention(w *table, q *chart.Retention, r *chart.RetentionResult) {
	unit := strings.ToUpper(r.Interval)
	if unit == "" {
		unit = "DAY"
	}
	w.Line("%s retention by %s, users who started %s to %s; %% of the row's users", r.Mode, r.Interval, q.Start, q.End)
	n := len(r.Total.Users)
	for _, row := range r.Total.Cohorts {
		n = max(n, len(row.Retained))
	}
	periods := shownPeriods(n)
	head := []string{"START " + unit, "USERS"}
	for _, k := range periods {
		head = append(head, fmt.Sprintf("%s %d", unit, k))
	}
	w.Head(head...)
	total := func(g chart.RetentionGroup) []string {
		row := []string{label(g.Group), "0"}
		if len(g.Users) > 0 {
			row[1] = strconv.FormatInt(g.Users[0], 10)
		}
		for _, k := range periods {
			if k < len(g.Users) && k < len(g.Retained) {
				row = append(row, percent(g.Retained[k], g.Users[k]))
			} else {
				row = append(row, "")
			}
		}
		return row
	}
	w.Row(total(r.Total)...)
	for _, c := range r.Total.Cohorts {
		row := []string{c.Date, strconv.FormatInt(c.Users, 10)}
		for _, k := range periods {
			if k < len(c.Retained) {
				row = append(row, percent(c.Retained[k], c.Users))
			} else {
				row = append(row, "")
			}
		}
		w.Row(row...)
	}
	if len(r.Groups) == 0 {
		return
	}
	head[0] = groupHead(q.GroupBy)
	w.Line("")
	w.Head(head...)
	for _, g := range r.Groups {
		w.Row(total(g)...)
	}
}

// shownPeriods are the periods of n a retention table shows: all up to
// 15, else 0 to 7, every 7th after and the last.
func shownPeriods(n int) []int {
	var out []int
	for k := 0; k < n; k++ {
		if n <= 15 || k <= 7 || k%7 == 0 || k == n-1 {
			out = append(out, k)
		}
	}
	return out
}

// renderLTV prints a row per group (all users first): its users and
// their revenue per user by day 0, 1, 7, 14 and 30 (those the chart
// has), and its last day.
func renderLTV(w *table, q *chart.LTV, r *chart.LTVResult) {
	w.Line("revenue per user by days since first seen, users first seen %s to %s", q.Start, q.End)
	var days []int
	for _, d := range []int{0, 1, 7, 14, 30, r.Days} {
		if d <= r.Days && !slices.Contains(days, d) {
			days = append(days, d)
		}
	}
	head := []string{groupHead(q.GroupBy), "USERS"}
	for _, d := range days {
		head = append(head, fmt.Sprintf("DAY %d", d))
	}
	w.Head(head...)
	for _, g := range append([]chart.LTVGroup{r.Total}, r.Groups...) {
		row := []string{label(g.Group), "0"}
		if len(g.Users) > 0 {
			row[1] = strconv.FormatInt(g.Users[0], 10)
		}
		for _, d := range days {
			if d < len(g.Users) && d < len(g.PerUser) && g.Users[d] > 0 {
				row = append(row, fmt.Sprintf("%.2f", g.PerUser[d]))
			} else {
				row = append(row, "-")
			}
		}
		w.Row(row...)
	}
}

// number prints a value: whole numbers as they are, others to 2 places.
func number(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// percent is part of whole in percent, - when whole is 0.
func percent(part, whole int64) string {
	if whole == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(part)/float64(whole))
}

// seconds prints a duration in seconds: in days when whole days.
func seconds(s int64) string {
	if s > 0 && s%(24*60*60) == 0 {
		return fmt.Sprintf("%dd", s/(24*60*60))
	}
	return (time.Duration(s) * time.Second).String()
}
