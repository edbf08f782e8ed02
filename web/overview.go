package web

import (
	"cmp"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/touchpointhq/touchpoint"
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
)

func (h *Handler) registerOverviewRoutes(r *routes) {
	r.page("GET /apps/{app}/overview", h.handleOverview)
}

// overviewDays is the default range of the overview: the last 7 days, the
// app's today included.
const overviewDays = 7

// maxOverviewDays bounds a range the overview draws (a chart of a year of
// days is already dense); the report API takes any range.
const maxOverviewDays = 366

// drillLevels are the overview table's levels: media sources, then a
// source's campaigns, a campaign's ad sets, an ad set's ads. Each level's
// dimension is also its query parameter (the report's dimension names).
var drillLevels = []struct{ dim, name string }{
	{"media_source", "Media source"},
	{"campaign", "Campaign"},
	{"af_adset", "Ad set"},
	{"af_ad", "Ad"},
}

// overviewData is the overview page's.
type overviewData struct {
	// From and To are the range's dates, both included, as the form shows
	// them; Zone names the zone the days are counted in.
	From, To string
	Zone     string
	// Loaded is false when the query was refused: the form alone is shown.
	Loaded bool
	// Deferred, when set, is where the page's script fetches the counts
	// of a long range from (the page with part=result), and Inline the
	// page that counts them in place, for a browser without scripts.
	Deferred, Inline string
	// Crumbs lead back up the drill-down; the last is where the page is.
	Crumbs []crumb
	// Level names the table's rows ("Media source", "Campaign", …);
	// LevelWord is the same in a sentence.
	Level, LevelWord string
	// Keep are the drill-down filters the range form keeps.
	Keep   []keepField
	Totals metrics
	Chart  LineChart
	Rows   []overviewRow
	// Countries are the same counts by country (touchpoint.ReportKey's),
	// when any has one: nil on a server that never had a GeoIP database.
	Countries *overviewTable
	// Empty: the range has no data. ClickURL is a click to try; LinksPath
	// the page that builds links.
	Empty     bool
	ClickURL  string
	LinksPath string
}

// overviewTable is a table of rows, under a head naming what they are.
type overviewTable struct {
	Level string
	Rows  []overviewRow
}

// LevelTable is the table of the drill-down's level.
func (d *overviewData) LevelTable() overviewTable { return overviewTable{d.Level, d.Rows} }

// crumb is one step of the drill-down's path.
type crumb struct{ Name, Href string }

// keepField is a hidden field of the range form.
type keepField struct{ Name, Value string }

// overviewRow is one row of the table: a media source, campaign, ad set or
// ad, with Href drilling down into it (empty at the last level).
type overviewRow struct {
	Name string
	Href string
	M    metrics
}

// metrics are a report row with what the page computes from it.
type metrics struct {
	*touchpoint.ReportRow
	// ROAS is revenue over cost per currency they share ("EUR 120.0%");
	// ROASNote says why some currency has none.
	ROAS     []string
	ROASNote string
	// Rejections are the rejected installs by reason, and their total.
	Rejections    []rejection
	RejectedTotal int64
}

type rejection struct {
	Reason string
	N      int64
}

// deferOverviewAfter is the longest range whose counts a browser's page
// holds itself; a longer one comes after the page has painted.
const deferOverviewAfter = 31 * 24 * time.Hour

// GET /apps/{app}/overview?from=2026-03-04&to=2026-03-10&media_source=…&campaign=…&af_adset=…

func (h *Handler) handleOverview(w http.ResponseWriter, r *http.Request, v *View) error {
	v.Title, v.Section = "Overview", "overview"
	app := v.App
	q := r.URL.Query()
	loc := reportLocation(app)
	d := &overviewData{Zone: loc.String(), LinksPath: appPath(app.ID, "links")}
	d.From, d.To = overviewRange(h.Service().Now(app), loc, q.Get("from"), q.Get("to"))
	from, to, err := touchpoint.ParseReportRange(d.From, d.To)
	if err == nil && to.Sub(from) > maxOverviewDays*24*time.Hour {
		err = touchpoint.Errorf(touchpoint.EINVALID, "the range from %s to %s is longer than %d days: pick a shorter one (the report API takes any range)",
			d.From, d.To, maxOverviewDays)
	}
	// The drill-down: each level's filter needs the one above it.
	var filters []keepField
	for i, l := range drillLevels[:len(drillLevels)-1] {
		if !q.Has(l.dim) {
			continue
		}
		if i > len(filters) && err == nil {
			err = touchpoint.Errorf(touchpoint.EINVALID, "%s needs %s: pick a %s first", l.dim, drillLevels[i-1].dim, strings.ToLower(drillLevels[i-1].name))
		}
		filters = append(filters, keepField{l.dim, q.Get(l.dim)})
	}
	d.Keep = filters
	if err != nil {
		v.Fail(err)
		return v.Render("overview", d)
	}
	// A browser opening a long range paints the form at once and fetches
	// the counts (deferrable).
	if q.Get("part") == "result" {
		v.part = "overview-result"
	} else if q.Get("inline") == "" && deferrable(r) && to.Sub(from) > deferOverviewAfter {
		d.Deferred = appPath(app.ID, "overview") + "?" + withParam(r.URL.Query(), "part", "result")
		d.Inline = appPath(app.ID, "overview") + "?" + withParam(r.URL.Query(), "inline", "1")
		return v.Render("overview", d)
	}
	level := drillLevels[len(filters)]
	d.Level, d.LevelWord = level.name, strings.ToLower(level.name)
	groupBy := []string{"day"}
	for _, l := range drillLevels[:len(filters)+1] {
		groupBy = append(groupBy, l.dim)
	}
	groupBy = append(groupBy, "country")
	where := map[string]string{}
	for _, f := range filters {
		where[f.Name] = f.Value
	}
	rows, err := h.Store.Report(r.Context(), touchpoint.ReportFilter{App: app.ID, From: from, To: to, GroupBy: groupBy, Where: where})
	if err != nil {
		return err
	}
	d.Loaded = true
	d.Crumbs = overviewCrumbs(app.ID, d.From, d.To, filters)
	d.Empty = len(rows) == 0
	if d.Empty {
		d.ClickURL = h.tryClickURL(r, app)
	}

	// One pass: the totals, the days and the table's groups.
	total := touchpoint.NewReportRow(nil)
	byDay := map[string]*touchpoint.ReportRow{}
	byGroup := map[string]*touchpoint.ReportRow{}
	byCountry := map[string]*touchpoint.ReportRow{}
	for _, row := range rows {
		total.Add(row)
		day := row.Group["day"]
		if byDay[day] == nil {
			byDay[day] = touchpoint.NewReportRow(nil)
		}
		byDay[day].Add(row)
		name := row.Group[level.dim]
		if byGroup[name] == nil {
			byGroup[name] = touchpoint.NewReportRow(map[string]string{level.dim: name})
		}
		byGroup[name].Add(row)
		c := row.Group["country"]
		if byCountry[c] == nil {
			byCountry[c] = touchpoint.NewReportRow(nil)
		}
		byCountry[c].Add(row)
	}
	d.Totals = metricsOf(total)
	d.Chart = dailyChart(from, to, byDay)
	for name, row := range byGroup {
		or := overviewRow{Name: cmp.Or(name, "(none)"), M: metricsOf(row)}
		if len(filters)+1 < len(drillLevels) {
			or.Href = overviewHref(app.ID, d.From, d.To, append(slices.Clip(filters), keepField{level.dim, name}))
		}
		d.Rows = append(d.Rows, or)
	}
	slices.SortFunc(d.Rows, byInstalls)
	if len(byCountry) > 1 || len(byCountry) == 1 && byCountry[""] == nil {
		d.Countries = &overviewTable{Level: "Country"}
		for code, row := range byCountry {
			d.Countries.Rows = append(d.Countries.Rows, overviewRow{Name: countryName(code), M: metricsOf(row)})
		}
		slices.SortFunc(d.Countries.Rows, byInstalls)
	}
	return v.Render("overview", d)
}

// byInstalls orders a table's rows: most installs first, then most
// clicks, then by name.
func byInstalls(a, b overviewRow) int {
	return cmp.Or(cmp.Compare(b.M.Installs+b.M.OrganicInstalls, a.M.Installs+a.M.OrganicInstalls),
		cmp.Compare(b.M.Clicks, a.M.Clicks), cmp.Compare(a.Name, b.Name))
}

// countryName is how the overview names a report's country: its English
// name and code, "United Kingdom (GB)"; "(unknown)" for none.
func countryName(code string) string {
	if code == "" {
		return "(unknown)"
	}
	r, err := language.ParseRegion(code)
	if err != nil {
		return code
	}
	if name := display.English.Regions().Name(r); name != "" && name != code {
		return name + " (" + code + ")"
	}
	return code
}

// reportLocation is the zone an app's report counts its days in: the one
// place the overview decides it.
func reportLocation(app *touchpoint.App) *time.Location {
	return app.Location()
}

// overviewRange is the range asked for, as dates: the last overviewDays
// days up to the app's today (now, in loc) unless from or to say otherwise.
// The dates are checked by touchpoint.ParseReportRange.
func overviewRange(now time.Time, loc *time.Location, from, to string) (string, string) {
	if to == "" {
		to = touchpoint.ReportDay(now, loc).Format(time.DateOnly)
	}
	if from == "" {
		end, err := time.Parse(time.DateOnly, to)
		if err != nil {
			end = touchpoint.ReportDay(now, loc)
		}
		from = end.AddDate(0, 0, 1-overviewDays).Format(time.DateOnly)
	}
	return from, to
}

// overviewHref is the overview's path for a range and drill-down.
func overviewHref(app, from, to string, filters []keepField) string {
	q := url.Values{"from": {from}, "to": {to}}
	for _, f := range filters {
		// Set even when empty: "campaign=" is the rows without a campaign.
		q.Set(f.Name, f.Value)
	}
	return appPath(app, "overview") + "?" + q.Encode()
}

// overviewCrumbs is the path from all media sources to the drill-down.
func overviewCrumbs(app, from, to string, filters []keepField) []crumb {
	out := []crumb{{Name: "All media sources", Href: overviewHref(app, from, to, nil)}}
	for i, f := range filters {
		out = append(out, crumb{Name: drillLevels[i].name + " " + cmp.Or(f.Value, "(none)"), Href: overviewHref(app, from, to, filters[:i+1])})
	}
	out[len(out)-1].Href = "" // where the page is
	return out
}

// metricsOf finishes a summed row: its eCPI, ROAS and rejections.
func metricsOf(row *touchpoint.ReportRow) metrics {
	row.ECPI = map[string]touchpoint.Amount{}
	row.Finish()
	m := metrics{ReportRow: row}
	m.ROAS, m.ROASNote = roas(row.Cost, row.Revenue)
	for _, reason := range slices.Sorted(maps.Keys(row.Rejected)) {
		m.Rejections = append(m.Rejections, rejection{reason, row.Rejected[reason]})
		m.RejectedTotal += row.Rejected[reason]
	}
	return m
}

// roas is revenue over cost in each currency that has cost, where the
// revenue is in that currency too (or there is no revenue at all: 0%).
// Amounts in different currencies are never compared: the note says which
// were left out.
func roas(cost, revenue map[string]touchpoint.Amount) ([]string, string) {
	var out, costOnly, revenueOnly []string
	for _, cur := range slices.Sorted(maps.Keys(cost)) {
		rev, ok := revenue[cur]
		switch {
		case cost[cur] <= 0:
			continue
		case ok || len(revenue) == 0:
			out = append(out, cur+" "+ratio(float64(rev)/float64(cost[cur])))
		default:
			costOnly = append(costOnly, cur)
		}
	}
	for _, cur := range slices.Sorted(maps.Keys(revenue)) {
		if _, ok := cost[cur]; !ok && len(cost) > 0 {
			revenueOnly = append(revenueOnly, cur)
		}
	}
	if len(costOnly) == 0 && len(revenueOnly) == 0 {
		return out, ""
	}
	var b strings.Builder
	b.WriteString("ROAS compares cost and revenue in one currency only:")
	if len(costOnly) > 0 {
		fmt.Fprintf(&b, " cost in %s has no revenue in that currency", strings.Join(costOnly, ", "))
		if len(revenueOnly) > 0 {
			b.WriteString(";")
		}
	}
	if len(revenueOnly) > 0 {
		fmt.Fprintf(&b, " revenue in %s has no cost in that currency", strings.Join(revenueOnly, ", "))
	}
	b.WriteString(".")
	return out, b.String()
}

// dailyChart draws installs (bars), clicks and organic installs per day of
// [from, to).
func dailyChart(from, to time.Time, byDay map[string]*touchpoint.ReportRow) LineChart {
	c := LineChart{Bars: true, Series: []Series{{Name: "Installs (non-organic)"}, {Name: "Clicks"}, {Name: "Organic installs"}}}
	for day := from; day.Before(to); day = day.AddDate(0, 0, 1) {
		c.Labels = append(c.Labels, day.Format("Jan 2"))
		row := byDay[day.Format(time.DateOnly)]
		if row == nil {
			row = touchpoint.NewReportRow(nil)
		}
		c.Series[0].Values = append(c.Series[0].Values, float64(row.Installs))
		c.Series[1].Values = append(c.Series[1].Values, float64(row.Clicks))
		c.Series[2].Values = append(c.Series[2].Values, float64(row.OrganicInstalls))
	}
	return c
}

// tryClickURL is a click on the app to send from a terminal: from its
// first partner (or an example network), on this server as the browser
// reached it.
func (h *Handler) tryClickURL(r *http.Request, app *touchpoint.App) string {
	pid := "examplenet_int"
	if ps, err := h.Store.ListPartners(r.Context(), app.ID); err == nil && len(ps) > 0 {
		pid = ps[0].PID
	}
	return h.baseURL(r) + "/c/" + url.PathEscape(app.ID) + "?pid=" + url.QueryEscape(pid) + "&c=launch"
}
