package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/httpapi"
)

// The tables of the attribution verbs (touches, installs get, report) and
// of the audience and cohort member lists. Each prints the server's answer
// for a person; --json prints the answer as it is.

// deviceIDs prints a touch's or a device's ids: "advertising_id 3840…",
// a hashed form when the raw one was not sent; "-" for none.
func deviceIDs(ids touchpoint.DeviceIDs) string {
	var out []string
	for i, id := range ids {
		name := touchpoint.DeviceIDParams[i]
		switch {
		case id.Raw != "":
			out = append(out, name+" "+id.Raw)
		case id.SHA1 != "":
			out = append(out, name+" sha1 "+id.SHA1)
		case id.MD5 != "":
			out = append(out, name+" md5 "+id.MD5)
		}
	}
	return orDash(strings.Join(out, ", "))
}

// place prints a country and city: "DE, Berlin"; "" when unknown.
func place(country, city string) string {
	if city != "" && country != "" {
		return country + ", " + city
	}
	return country + city
}

// touchStatus says whether a touch can win an install, and if not why.
func touchStatus(t *touchpoint.Touch) string {
	switch {
	case t.Rejected:
		return "rejected"
	case t.OverCap:
		return "over cap"
	}
	return "ok"
}

// more is the line under a page that has a next one.
func more(t *table, cursor string) {
	if cursor != "" {
		t.Line("more: --cursor %s", cursor)
	}
}

// printTouches is "touches list": a touch a row, newest first.
var printTouches = renderAs("a page of touches", func(t *table, p *httpapi.TouchPage) {
	if len(p.Touches) == 0 {
		t.Line("no touches")
		return
	}
	country := slices.ContainsFunc(p.Touches, func(x *touchpoint.Touch) bool { return x.CountryCode != "" })
	head := []string{"ID", "TIME", "KIND", "PID", "CAMPAIGN", "DEVICE IDS", "SIGNATURE", "STATUS"}
	if country {
		head = append(head, "COUNTRY")
	}
	t.Head(head...)
	for _, x := range p.Touches {
		pid := x.PID
		if x.CustomSource {
			pid += " (custom)"
		}
		row := []string{strconv.FormatInt(x.ID, 10), when(x.Time), x.Kind.String(), pid, orDash(x.Params.Campaign),
			deviceIDs(x.Device), x.Verdict.String(), touchStatus(x)}
		if country {
			row = append(row, orDash(x.CountryCode))
		}
		t.Row(row...)
	}
	more(t, p.NextCursor)
})

// printTouch is "touches get": a touch's fields, its link's parameters
// in the order they came, its device ids and its notes.
var printTouch = renderAs("a touch", func(t *table, x *struct {
	touchpoint.Touch
	Params json.RawMessage `json:"params"`
}) {
	t.Field("touch", fmt.Sprintf("%d (%s)", x.ID, x.Kind))
	t.Field("app", x.App)
	t.Field("time", when(x.Time))
	pid := x.PID
	if x.CustomSource {
		pid += " (a custom media source: no partner of the app)"
	}
	t.Field("pid", pid)
	t.Field("signature", x.Verdict.String())
	status := "can win an install"
	switch {
	case x.Rejected:
		status = "rejected: the partner's click signing refused it; it is counted, never attributed"
	case x.OverCap:
		status = "over the partner's daily click cap: counted, never attributed"
	}
	t.Field("status", status)
	for _, f := range []struct{ name, value string }{{"ip", x.IP}, {"place", place(x.CountryCode, x.City)},
		{"user agent", x.UA}, {"language", x.Language}} {
		if f.value != "" {
			t.Field(f.name, f.value)
		}
	}
	if params := orderedFields(x.Params); len(params) > 0 {
		t.Line("parameters")
		t.Indent("  ")
		for _, p := range params {
			t.Field(p[0], p[1])
		}
		t.Indent("")
	}
	for i, e := range x.Extra {
		if i == 0 {
			t.Line("other parameters, as they came")
			t.Indent("  ")
		}
		t.Field(e.Key, e.Value)
	}
	t.Indent("")
	t.Line("device ids")
	t.Indent("  ")
	found := false
	for i, id := range x.Device {
		if id.IsZero() {
			continue
		}
		found = true
		id = id.Forms()
		forms := []string{}
		if id.Raw != "" {
			forms = append(forms, id.Raw)
		}
		if id.SHA1 != "" {
			forms = append(forms, "sha1 "+id.SHA1)
		}
		if id.MD5 != "" {
			forms = append(forms, "md5 "+id.MD5)
		}
		t.Field(touchpoint.DeviceIDParams[i], strings.Join(forms, ", "))
	}
	if !found {
		t.Line("none")
	}
	t.Indent("")
	for i, n := range x.Notes {
		if i == 0 {
			t.Line("notes")
		}
		t.Line("  %s", n)
	}
})

// credit says who an attribution credits: "examplenet_int, campaign
// summer: click 12 by id_matching", or "organic".
func credit(a touchpoint.Attribution) string {
	if a.IsOrganic() {
		return orDash(a.MediaSource)
	}
	s := a.MediaSource
	if a.Params.Campaign != "" {
		s += ", campaign " + a.Params.Campaign
	}
	s += fmt.Sprintf(": %s %d", a.TouchType, a.TouchID)
	if a.MatchType != "" {
		s += " by " + string(a.MatchType)
	}
	if a.Retargeting {
		s += " (retargeting)"
	}
	return s
}

// printInstall is "installs get": the device, the decision in words, then
// each decided launch with every candidate touch, what became of it and
// why, and the device's in-app events.
var printInstall = renderAs("a device's attribution", func(t *table, v *httpapi.InstallView) {
	if d := v.Device; d != nil {
		t.Field("device", d.ID+" ("+d.App+")")
		t.Field("ids", deviceIDs(d.IDs))
		if d.CustomerUserID != "" {
			t.Field("customer user id", d.CustomerUserID)
		}
		if d.CountryCode != "" {
			t.Field("country", d.CountryCode)
		}
		t.Field("launches", fmt.Sprintf("%d, the first %s, the last %s", d.Launches, when(d.FirstLaunch), when(d.LastLaunch)))
		t.Field("installed", fmt.Sprintf("%s (install %d)", when(d.InstallTime), d.InstallID))
		t.Field("credited to", credit(d.Attribution))
		if d.Reengagement != nil && !d.ReengagementUntil.IsZero() {
			t.Field("re-engaged", fmt.Sprintf("%s, by %s, until %s", when(d.ReengagedAt), credit(*d.Reengagement), when(d.ReengagementUntil)))
		}
		t.Line("")
	}
	for _, l := range wrap(v.Summary, 100) {
		t.Line("%s", l)
	}
	for _, in := range v.Installs {
		t.Line("")
		t.Line("%s %d, launched %s: %s", in.Type, in.ID, when(in.Time), credit(in.Attribution))
		t.Indent("  ")
		if len(in.Candidates) == 0 {
			t.Line("no touch was a candidate")
		} else {
			t.Head("#", "OUTCOME", "MEDIA SOURCE", "CAMPAIGN", "TOUCH ID", "TYPE", "TOUCH TIME", "MATCH", "REASON")
			for i, c := range in.Candidates {
				t.Row(strconv.Itoa(i+1), string(c.Outcome), c.MediaSource, orDash(c.Campaign), strconv.FormatInt(c.TouchID, 10),
					c.TouchType.String(), when(c.TouchTime), orDash(string(c.MatchType)), c.Reason)
			}
			t.Line("why")
			for i, c := range in.Candidates {
				for j, l := range wrap(c.Explanation, 96) {
					n := ""
					if j == 0 {
						n = strconv.Itoa(i + 1)
					}
					t.Field(n, l)
				}
			}
		}
		for _, r := range in.Rejections {
			why := r.Reason
			if r.Value != "" {
				why += ", " + r.Value
			}
			t.Line("rejected: %s's %s %d (%s)", r.MediaSource, r.TouchType, r.TouchID, why)
		}
		for _, c := range in.Contributors {
			t.Line("contributor: %s's %s %d at %s, by %s", c.MediaSource, c.TouchType, c.TouchID, when(c.TouchTime), c.MatchType)
		}
		if !in.ReengagementUntil.IsZero() {
			t.Line("in-app events until %s count for %s too", when(in.ReengagementUntil), in.Attribution.MediaSource)
		}
		t.Indent("")
	}
	t.Line("")
	if len(v.Conversions) == 0 {
		t.Line("no in-app events")
		return
	}
	t.Line("in-app events")
	t.Indent("  ")
	t.Head("TIME", "EVENT", "REVENUE", "FROM", "CREDITED TO", "RE-ENGAGEMENT")
	for _, c := range v.Conversions {
		revenue := "-"
		if c.Revenue != 0 || c.Currency != "" {
			revenue = strings.TrimSpace(amount(c.Revenue) + " " + c.Currency)
		}
		re := "-"
		if c.Reengagement != nil {
			re = c.Reengagement.MediaSource
		}
		t.Row(when(c.Time), c.Name, revenue, c.Source, c.Attribution.MediaSource, re)
	}
})

// reportAnswer is the answer of GET /api/v1/apps/{app_id}/report.
type reportAnswer struct {
	App     string                 `json:"app_id"`
	From    string                 `json:"from"`
	To      string                 `json:"to"`
	GroupBy []string               `json:"group_by"`
	Rows    []touchpoint.ReportRow `json:"rows"`
}

// printReport is "report": a row per group, and their total. The counts
// of re-engagements, re-attributions, reinstalls and rejected installs
// have columns when there are any; money is by currency.
var printReport = renderAs("a report", func(t *table, r *reportAnswer) {
	title := fmt.Sprintf("%s, %s to %s", r.App, r.From, r.To)
	if len(r.GroupBy) > 0 {
		title += ", by " + strings.Join(r.GroupBy, ", ")
	}
	t.Line("%s", title)
	if len(r.Rows) == 0 {
		t.Line("no clicks, impressions, installs or in-app events")
		return
	}
	total := touchpoint.NewReportRow(nil)
	for _, row := range r.Rows {
		total.Add(&row)
	}
	total.Finish()
	type column struct {
		head string
		of   func(*touchpoint.ReportRow) string
		show bool
	}
	count := func(f func(*touchpoint.ReportRow) int64) func(*touchpoint.ReportRow) string {
		return func(row *touchpoint.ReportRow) string { return strconv.FormatInt(f(row), 10) }
	}
	rejected := func(row *touchpoint.ReportRow) int64 {
		var n int64
		for _, v := range row.Rejected {
			n += v
		}
		return n
	}
	columns := []column{
		{"CLICKS", count(func(r *touchpoint.ReportRow) int64 { return r.Clicks }), true},
		{"IMPRESSIONS", count(func(r *touchpoint.ReportRow) int64 { return r.Impressions }), true},
		{"INSTALLS", count(func(r *touchpoint.ReportRow) int64 { return r.Installs }), true},
		{"ORGANIC", count(func(r *touchpoint.ReportRow) int64 { return r.OrganicInstalls }), true},
		{"RE-ENGAGEMENTS", count(func(r *touchpoint.ReportRow) int64 { return r.Reengagements }), total.Reengagements > 0},
		{"RE-ATTRIBUTIONS", count(func(r *touchpoint.ReportRow) int64 { return r.Reattributions }), total.Reattributions > 0},
		{"REINSTALLS", count(func(r *touchpoint.ReportRow) int64 { return r.Reinstalls }), total.Reinstalls > 0},
		{"REJECTED", count(rejected), rejected(total) > 0},
		{"COST", func(r *touchpoint.ReportRow) string { return money(r.Cost) }, true},
		{"ECPI", func(r *touchpoint.ReportRow) string { return money(r.ECPI) }, true},
		{"EVENTS", count(func(r *touchpoint.ReportRow) int64 { return r.Conversions }), true},
		{"REVENUE", func(r *touchpoint.ReportRow) string { return money(r.Revenue) }, true},
	}
	var head []string
	for _, g := range r.GroupBy {
		head = append(head, strings.ToUpper(g))
	}
	for _, c := range columns {
		if c.show {
			head = append(head, c.head)
		}
	}
	t.Head(head...)
	line := func(group []string, row *touchpoint.ReportRow) {
		cells := group
		for _, c := range columns {
			if c.show {
				cells = append(cells, c.of(row))
			}
		}
		t.Row(cells...)
	}
	for i := range r.Rows {
		var group []string
		for _, g := range r.GroupBy {
			v := r.Rows[i].Group[g]
			if v == "" {
				v = "(none)"
			}
			group = append(group, v)
		}
		line(group, &r.Rows[i])
	}
	if len(r.Rows) > 1 && len(r.GroupBy) > 0 {
		group := make([]string, len(r.GroupBy))
		group[0] = "total"
		line(group, total)
	}
	if len(total.Rejected) > 0 {
		var reasons []string
		for _, k := range slices.Sorted(maps.Keys(total.Rejected)) {
			reasons = append(reasons, fmt.Sprintf("%s %d", k, total.Rejected[k]))
		}
		t.Line("rejected installs: %s", strings.Join(reasons, ", "))
	}
})

// printAudiences is "audiences list".
var printAudiences = renderAs("a list of audiences", func(t *table, v *struct {
	Audiences []touchpoint.Audience `json:"audiences"`
}) {
	if len(v.Audiences) == 0 {
		t.Line("no audiences")
		return
	}
	t.Head("ID", "NAME", "PLATFORM", "MEMBERS", "IMPORT KEY", "CREATED", "LAST IMPORT")
	for _, a := range v.Audiences {
		t.Row(strconv.FormatInt(a.ID, 10), a.Name, string(a.Platform), strconv.FormatInt(a.Size, 10), a.ImportKey,
			when(a.CreatedAt), when(a.UpdatedAt))
	}
})

// printAudienceMembers is "audiences members": an identifier a row.
var printAudienceMembers = renderAs("a page of audience members", func(t *table, p *httpapi.AudienceMemberPage) {
	if len(p.Members) == 0 {
		t.Line("no members")
		return
	}
	t.Head("IDENTIFIER", "VALUE", "APP", "ADDED")
	for _, m := range p.Members {
		t.Row(m.Identifier, m.Value, orDash(m.AppID), when(m.AddedAt))
	}
	more(t, p.Next)
})

// printCohortMembers is "cohorts members": a user a row, with the ids
// any of them has.
var printCohortMembers = renderAs("a page of cohort members", func(t *table, p *httpapi.CohortMemberPage) {
	if len(p.Members) == 0 {
		t.Line("no members")
		return
	}
	columns := []struct {
		head string
		of   func(m *touchpoint.CohortMember) string
	}{
		{"USER ID", func(m *touchpoint.CohortMember) string { return m.UserID }},
		{"PLATFORM", func(m *touchpoint.CohortMember) string { return m.Platform }},
		{"COUNTRY", func(m *touchpoint.CohortMember) string { return m.Country }},
		{"IDFA", func(m *touchpoint.CohortMember) string { return m.IDFA }},
		{"IDFV", func(m *touchpoint.CohortMember) string { return m.IDFV }},
		{"ADID", func(m *touchpoint.CohortMember) string { return m.ADID }},
	}
	head := []string{"AMPLITUDE ID"}
	var shown []func(m *touchpoint.CohortMember) string
	for _, c := range columns {
		for i := range p.Members {
			if c.of(&p.Members[i]) != "" {
				head = append(head, c.head)
				shown = append(shown, c.of)
				break
			}
		}
	}
	t.Head(head...)
	for i := range p.Members {
		row := []string{strconv.FormatInt(p.Members[i].AmplitudeID, 10)}
		for _, of := range shown {
			row = append(row, orDash(of(&p.Members[i])))
		}
		t.Row(row...)
	}
	if p.Next != 0 {
		more(t, strconv.FormatInt(p.Next, 10))
	}
})
