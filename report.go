package touchpoint

import (
	"cmp"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Amount is money in ten-thousandths of a currency unit: AppsFlyer keeps
// cost and revenue to 4 decimals, and sums of them stay exact.
type Amount int64

// AmountScale is the number of Amount units in one currency unit.
const AmountScale = 10_000

// maxAmount bounds a parsed amount (about 9e14 units), so sums of many
// never overflow.
const maxAmount = math.MaxInt64 / 10_000

// ParseAmount parses a decimal such as "1.99", "-3" or "0.12345" (rounded
// half away from zero to 4 decimals). Exponents, thousands separators and
// non-finite values are refused.
func ParseAmount(s string) (Amount, error) {
	bad := Errorf(EINVALID, "amount %q: want a decimal number such as 1.99", s)
	neg := strings.HasPrefix(s, "-")
	d := strings.TrimPrefix(s, "-")
	whole, frac, dot := strings.Cut(d, ".")
	if whole == "" && frac == "" || dot && frac == "" && whole == "" {
		return 0, bad
	}
	for _, part := range []string{whole, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return 0, bad
			}
		}
	}
	var w int64
	if whole != "" {
		var err error
		if w, err = strconv.ParseInt(whole, 10, 64); err != nil || w > maxAmount/AmountScale {
			return 0, Errorf(EINVALID, "amount %q is too large", s)
		}
	}
	var f int64
	for i := 0; i < 4; i++ {
		f *= 10
		if i < len(frac) {
			f += int64(frac[i] - '0')
		}
	}
	if len(frac) > 4 && frac[4] >= '5' {
		f++
	}
	a := Amount(w*AmountScale + f)
	if neg {
		a = -a
	}
	return a, nil
}

// String writes the amount with the decimals it needs (at most 4).
func (a Amount) String() string {
	neg := a < 0
	if neg {
		a = -a
	}
	s := strconv.FormatInt(int64(a/AmountScale), 10)
	if f := int64(a % AmountScale); f != 0 {
		fs := strconv.FormatInt(f+AmountScale, 10)[1:]
		s += "." + strings.TrimRight(fs, "0")
	}
	if neg {
		s = "-" + s
	}
	return s
}

// MarshalJSON writes the amount as a JSON number.
func (a Amount) MarshalJSON() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalJSON reads a JSON number or a string holding one.
func (a *Amount) UnmarshalJSON(b []byte) error {
	s := string(b)
	if len(s) > 1 && s[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	v, err := ParseAmount(s)
	*a = v
	return err
}

// ReportDimensions are the dimensions a report can be grouped by.
var ReportDimensions = []string{"media_source", "campaign", "af_c_id", "af_adset", "af_ad", "af_siteid", "country", "day"}

// ReportFilter selects a report: an app's days [From, To) grouped by any of
// ReportDimensions (none: one row of totals).
type ReportFilter struct {
	App      string
	From, To time.Time
	GroupBy  []string
	// Where keeps the aggregates whose dimensions have these values (any
	// of ReportDimensions but day; "" is the aggregates without one): a
	// drill-down's path, such as media source, then campaign.
	Where map[string]string
}

// ReportRow is one group of a report. Money is per currency: cost in the
// links' cost currencies, revenue in the events' own currencies.
type ReportRow struct {
	Group           map[string]string `json:"group"`
	Clicks          int64             `json:"clicks"`
	Impressions     int64             `json:"impressions"`
	Installs        int64             `json:"installs"`         // non-organic
	OrganicInstalls int64             `json:"organic_installs"` // organic
	Reengagements   int64             `json:"reengagements"`
	Reattributions  int64             `json:"reattributions"`
	Reinstalls      int64             `json:"reinstalls"`
	Rejected        map[string]int64  `json:"rejected_installs"` // by reject reason
	Cost            map[string]Amount `json:"cost"`
	ECPI            map[string]Amount `json:"ecpi"` // cost / installs, per currency
	Conversions     int64             `json:"conversions"`
	Revenue         map[string]Amount `json:"revenue"`
}

// Report metrics, as the stores keep them: a count and an amount per
// dimension tuple, day and currency.
const (
	MetricClick         = "clicks"
	MetricImpression    = "impressions"
	MetricInstall       = "installs"
	MetricOrganic       = "organic_installs"
	MetricReengagement  = "reengagements"
	MetricReattribution = "reattributions"
	MetricReinstall     = "reinstalls"
	MetricRejectedPfx   = "rejected:" // + reject reason
	MetricCost          = "cost"
	MetricConversion    = "conversions"
	MetricRevenue       = "revenue"
)

// ReportKey is the dimension tuple of an aggregate.
type ReportKey struct {
	Day         time.Time // the date in the app's zone, as UTC midnight of that date
	MediaSource string
	Campaign    string
	CampaignID  string
	Adset       string
	Ad          string
	SiteID      string
	// Country is an ISO 3166-1 alpha-2 code, by the server's GeoIP
	// database ("" without one): a touch's own, an install's launch's,
	// and for a conversion its device's install's (AppsFlyer's geo
	// report counts in-app events under the install's country too).
	Country string
}

// ReportDay is the report day of a moment: its date in the app's zone
// (loc), kept as UTC midnight of that date, so that days compare and
// format alike whatever the zone.
func ReportDay(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// ReportKeyOf returns the tuple of an attribution at t, on its day in the
// app's zone (loc).
func ReportKeyOf(t time.Time, loc *time.Location, a *Attribution) ReportKey {
	return ReportKey{
		Day:         ReportDay(t, loc),
		MediaSource: a.MediaSource,
		Campaign:    a.Params.Campaign,
		CampaignID:  a.Params.CampaignID,
		Adset:       a.Params.Adset,
		Ad:          a.Params.Ad,
		SiteID:      a.Params.SiteID,
	}
}

// ReportKeyOfTouch returns the tuple of a touch of an app in zone loc.
func ReportKeyOfTouch(t *Touch, loc *time.Location) ReportKey {
	a := AttributionOf(t, "")
	k := ReportKeyOf(t.Time, loc, &a)
	k.Country = t.CountryCode
	return k
}

// Dimension returns the value of one of ReportDimensions.
func (k ReportKey) Dimension(name string) string {
	switch name {
	case "media_source":
		return k.MediaSource
	case "campaign":
		return k.Campaign
	case "af_c_id":
		return k.CampaignID
	case "af_adset":
		return k.Adset
	case "af_ad":
		return k.Ad
	case "af_siteid":
		return k.SiteID
	case "country":
		return k.Country
	case "day":
		return k.Day.Format(time.DateOnly)
	}
	return ""
}

// ReportDelta is one change to the aggregates.
type ReportDelta struct {
	Key      ReportKey
	Metric   string
	Currency string
	N        int64
	Amount   Amount
}

// InstallDeltas returns what a decided launch adds to the report: the
// install kind under its attribution, its rejections under the rejected
// touches' sources, and the winning touch's cost when its cost model is
// CPI (AppsFlyer reports cost as CPI, whatever the model).
func InstallDeltas(in *Install, loc *time.Location) []ReportDelta {
	var out []ReportDelta
	key := ReportKeyOf(in.Time, loc, &in.Attribution)
	key.Country = in.Launch.CountryCode
	switch {
	case in.Type == TypeInstall && in.Attribution.IsOrganic():
		out = append(out, ReportDelta{Key: key, Metric: MetricOrganic, N: 1})
	case in.Type == TypeInstall:
		out = append(out, ReportDelta{Key: key, Metric: MetricInstall, N: 1})
		p := in.Attribution.Params
		if p.CostValue != "" {
			if v, err := ParseAmount(p.CostValue); err == nil {
				cur := p.CostCurrency
				if cur == "" {
					cur = "USD"
				}
				out = append(out, ReportDelta{Key: key, Metric: MetricCost, Currency: cur, Amount: v})
			}
		}
	case in.Type == TypeReinstall:
		out = append(out, ReportDelta{Key: key, Metric: MetricReinstall, N: 1})
	case in.Type == TypeReattribution:
		out = append(out, ReportDelta{Key: key, Metric: MetricReattribution, N: 1})
	case in.Type == TypeReengagement:
		out = append(out, ReportDelta{Key: key, Metric: MetricReengagement, N: 1})
	}
	for _, r := range in.Rejections {
		a := Attribution{MediaSource: r.MediaSource, Params: r.Params}
		k := ReportKeyOf(in.Time, loc, &a)
		k.Country = in.Launch.CountryCode
		out = append(out, ReportDelta{Key: k, Metric: MetricRejectedPfx + r.Reason, N: 1})
	}
	return out
}

// ConversionDeltas returns what a conversion adds to the report: one
// conversion and its revenue under the install's attribution, and under the
// re-engagement's too when it has one.
func ConversionDeltas(c *Conversion, loc *time.Location) []ReportDelta {
	var out []ReportDelta
	for _, a := range []*Attribution{&c.Attribution, c.Reengagement} {
		if a == nil {
			continue
		}
		key := ReportKeyOf(c.Time, loc, a)
		key.Country = c.CountryCode
		out = append(out, ReportDelta{Key: key, Metric: MetricConversion, N: 1})
		if c.Revenue != 0 {
			out = append(out, ReportDelta{Key: key, Metric: MetricRevenue, Currency: c.Currency, Amount: c.Revenue})
		}
	}
	return out
}

// ReportSums sums deltas to the aggregates, per app (the store's number
// for it), before a store writes them: one write per aggregate a commit
// changes.
type ReportSums map[ReportCell]*[2]int64

// ReportCell is one aggregate: an app's dimension tuple on a day, a metric
// and a currency.
type ReportCell struct {
	App      int64
	Key      ReportKey
	Metric   string
	Currency string
}

// Add adds an app's deltas.
func (r ReportSums) Add(app int64, ds []ReportDelta) {
	for _, d := range ds {
		c := ReportCell{app, d.Key, d.Metric, d.Currency}
		v := r[c]
		if v == nil {
			v = new([2]int64)
			r[c] = v
		}
		v[0] += d.N
		v[1] += int64(d.Amount)
	}
}

// Cells returns the aggregates in one order (app, day, dimensions, metric,
// currency): transactions that write several in this order never wait on
// each other in a circle.
func (r ReportSums) Cells() []ReportCell {
	cells := make([]ReportCell, 0, len(r))
	for c := range r {
		cells = append(cells, c)
	}
	slices.SortFunc(cells, func(a, b ReportCell) int {
		return cmp.Or(cmp.Compare(a.App, b.App), a.Key.Day.Compare(b.Key.Day), cmp.Compare(a.Key.MediaSource, b.Key.MediaSource),
			cmp.Compare(a.Key.Campaign, b.Key.Campaign), cmp.Compare(a.Key.CampaignID, b.Key.CampaignID), cmp.Compare(a.Key.Adset, b.Key.Adset),
			cmp.Compare(a.Key.Ad, b.Key.Ad), cmp.Compare(a.Key.SiteID, b.Key.SiteID), cmp.Compare(a.Key.Country, b.Key.Country),
			cmp.Compare(a.Metric, b.Metric), cmp.Compare(a.Currency, b.Currency))
	})
	return cells
}

// ReportGroups gathers a report's rows as a store reads its aggregates:
// one row per group's values, in the order of the values.
type ReportGroups struct {
	by    []string
	rows  map[string]*ReportRow
	order []string
}

// NewReportGroups returns the rows of a report grouped by by.
func NewReportGroups(by []string) *ReportGroups {
	return &ReportGroups{by: by, rows: map[string]*ReportRow{}}
}

// Row returns the row of a group's values (by's order), making it.
func (g *ReportGroups) Row(vals []string) *ReportRow {
	k := strings.Join(vals, "\x00")
	r := g.rows[k]
	if r == nil {
		m := make(map[string]string, len(vals))
		for i, name := range g.by {
			m[name] = vals[i]
		}
		r = NewReportRow(m)
		g.rows[k] = r
		g.order = append(g.order, k)
	}
	return r
}

// Rows returns the rows, finished, in the order of their values.
func (g *ReportGroups) Rows() []*ReportRow {
	slices.Sort(g.order)
	out := make([]*ReportRow, 0, len(g.order))
	for _, k := range g.order {
		g.rows[k].Finish()
		out = append(out, g.rows[k])
	}
	return out
}

// AddDelta adds a delta's count or amount to a row.
func (r *ReportRow) AddDelta(metric, currency string, n int64, amount Amount) {
	switch metric {
	case MetricClick:
		r.Clicks += n
	case MetricImpression:
		r.Impressions += n
	case MetricInstall:
		r.Installs += n
	case MetricOrganic:
		r.OrganicInstalls += n
	case MetricReengagement:
		r.Reengagements += n
	case MetricReattribution:
		r.Reattributions += n
	case MetricReinstall:
		r.Reinstalls += n
	case MetricConversion:
		r.Conversions += n
	case MetricCost:
		r.Cost[currency] += amount
	case MetricRevenue:
		r.Revenue[currency] += amount
	default:
		if reason, ok := strings.CutPrefix(metric, MetricRejectedPfx); ok {
			r.Rejected[reason] += n
		}
	}
}

// Add adds src's counts and amounts to r (a total over rows; Finish then
// computes the total's eCPI from the sums).
func (r *ReportRow) Add(src *ReportRow) {
	r.Clicks += src.Clicks
	r.Impressions += src.Impressions
	r.Installs += src.Installs
	r.OrganicInstalls += src.OrganicInstalls
	r.Reengagements += src.Reengagements
	r.Reattributions += src.Reattributions
	r.Reinstalls += src.Reinstalls
	r.Conversions += src.Conversions
	for k, n := range src.Rejected {
		r.Rejected[k] += n
	}
	for k, a := range src.Cost {
		r.Cost[k] += a
	}
	for k, a := range src.Revenue {
		r.Revenue[k] += a
	}
}

// NewReportRow returns an empty row of a group.
func NewReportRow(group map[string]string) *ReportRow {
	return &ReportRow{Group: group, Rejected: map[string]int64{}, Cost: map[string]Amount{},
		ECPI: map[string]Amount{}, Revenue: map[string]Amount{}}
}

// Finish computes the eCPI of each cost currency: cost over non-organic
// installs, rounded to 4 decimals.
func (r *ReportRow) Finish() {
	for cur, c := range r.Cost {
		if r.Installs > 0 {
			r.ECPI[cur] = Amount(math.Round(float64(c) / float64(r.Installs)))
		}
	}
}

// Validate checks a report filter.
func (f *ReportFilter) Validate() error {
	if f.From.IsZero() || f.To.IsZero() {
		return Errorf(EINVALID, "from and to are required, as dates like 2026-11-01")
	}
	if !f.To.After(f.From) {
		return Errorf(EINVALID, "to must be after from")
	}
	seen := map[string]bool{}
	for _, g := range f.GroupBy {
		ok := false
		for _, d := range ReportDimensions {
			ok = ok || d == g
		}
		if !ok {
			return Errorf(EINVALID, "group_by %q: want any of %s", g, strings.Join(ReportDimensions, ", "))
		}
		if seen[g] {
			return Errorf(EINVALID, "group_by names %q twice", g)
		}
		seen[g] = true
	}
	for k, v := range f.Where {
		if k == "day" || !slices.Contains(ReportDimensions, k) {
			return Errorf(EINVALID, "a filter on %q: want any of %s but day", k, strings.Join(ReportDimensions, ", "))
		}
		if utf8.RuneCountInString(v) > MaxParamLength {
			return Errorf(EINVALID, "the filter %s is longer than %d characters: no link parameter is", k, MaxParamLength)
		}
	}
	return nil
}

// Keeps reports whether an aggregate's tuple has the filter's values.
func (f *ReportFilter) Keeps(k ReportKey) bool {
	for d, v := range f.Where {
		if k.Dimension(d) != v {
			return false
		}
	}
	return true
}

// TouchDeltas is what a touch adds to the report: a click or an
// impression, unless click signing rejected it or it came over its
// partner's cap (AppsFlyer does not count those either), on its day in the
// app's zone (loc).
func TouchDeltas(t *Touch, loc *time.Location) []ReportDelta {
	if t.Rejected || t.OverCap {
		return nil
	}
	m := MetricClick
	if t.Kind == Impression {
		m = MetricImpression
	}
	return []ReportDelta{{Key: ReportKeyOfTouch(t, loc), Metric: m, N: 1}}
}

// ParseReportRange reads a report's range as the report API and the
// dashboard take it: from and to are dates such as 2026-11-01, both
// included. It returns the ReportFilter's From and To: [from, to + 1 day).
func ParseReportRange(from, to string) (time.Time, time.Time, error) {
	var days [2]time.Time
	for i, p := range [2]struct{ name, v string }{{"from", from}, {"to", to}} {
		d, err := time.Parse(time.DateOnly, p.v)
		if err != nil {
			return time.Time{}, time.Time{}, Errorf(EINVALID, "%s %q: want a date like 2026-11-01", p.name, p.v)
		}
		days[i] = d
	}
	if days[1].Before(days[0]) {
		return time.Time{}, time.Time{}, Errorf(EINVALID, "to %s is before from %s: the range is from one date to a later one (or the same)", to, from)
	}
	return days[0], days[1].AddDate(0, 0, 1), nil
}
