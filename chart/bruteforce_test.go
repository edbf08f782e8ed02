package chart_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/analytics"
	"github.com/touchpointhq/touchpoint/chart"
	"github.com/touchpointhq/touchpoint/internal/pgtest"
	"github.com/touchpointhq/touchpoint/postgres"
	"github.com/touchpointhq/touchpoint/sqlite"
	"github.com/touchpointhq/touchpoint/storetest"
)

// The brute-force check: a real store is filled with generated events
// (identity merges, late and out-of-order uploads, user properties that
// change on the way, revenue in every form ingestion takes, events at the
// zone's midnights and outside the ranges), the events are read back one
// user at a time through the store's user API, and every chart is worked
// out again from that flat list by the plainest loops the rules of
// chart/doc.go allow, then compared with chart.Run.

// Fixed times: the data runs from genStart to a fixture's now minus two
// hours; charts are computed at noon of 2026-12-01 in the project's zone.
var genStart = time.Date(2026, 9, 25, 0, 0, 0, 0, time.UTC)

// The ranges the queries use.
var (
	fullRange  = chart.Range{Start: "2026-10-01", End: "2026-11-30"}
	midRange   = chart.Range{Start: "2026-10-15", End: "2026-11-10"}
	dstWeek    = chart.Range{Start: "2026-10-28", End: "2026-11-03"} // Los Angeles leaves DST on 2026-11-01
	oneDay     = chart.Range{Start: "2026-11-01", End: "2026-11-01"}
	lateRange  = chart.Range{Start: "2026-11-20", End: "2026-11-30"}
	mediaProp  = "[AppsFlyer] media source"
	campaignPr = "[AppsFlyer] campaign"
)

var (
	sources    = []string{"examplenet", "othernet", "organic", "Facebook Ads", "googleadwords_int"}
	plans      = []string{"free", "pro", "gold"}
	platforms  = []string{"iOS", "Android", "Web"}
	countries  = []string{"US", "DE", "FR", "BR", ""}
	categories = []string{"shoes", "hats", "books", "toys"}
	tagSets    = [][]any{{"sale"}, {"new", "sale"}, {"new"}}
)

// bfEvent is an event as read back: its root user (the one merged users'
// events count for), type, time, and the three places properties live.
type bfEvent struct {
	ID        int64
	Stored    int64 // the user the event was stored on (amplitude_id)
	User      int64 // the root user
	Type      string
	Time      int64
	Props     map[string]any // event_properties
	UserProps map[string]any // the snapshot stored with the event
	Top       map[string]any // the event's top-level fields
}

// eventProp is an event property: the event_properties member, else the
// top-level field; revenue is always the top-level field.
func (e *bfEvent) eventProp(name string) any {
	if name == chart.RevenueProp {
		return e.Top[name]
	}
	if v, ok := e.Props[name]; ok {
		return v
	}
	return e.Top[name]
}

// userProp is a user property as the event was stored with it; platform
// and country are the event's own fields.
func (e *bfEvent) userProp(name string) any {
	if slices.Contains(touchpoint.BuiltinUserProperties, name) {
		return e.Top[name]
	}
	return e.UserProps[name]
}

func (e *bfEvent) prop(p chart.Property) any {
	if p.Type == "event" {
		return e.eventProp(p.Property)
	}
	return e.userProp(p.Property)
}

// revenue is the event's revenue as ingestion worked it out: the
// top-level field only.
func (e *bfEvent) revenue() (float64, bool) { return touchpoint.NumberOf(e.Top["revenue"]) }

// bfUser is a user not merged into another.
type bfUser struct {
	ID        int64
	FirstSeen int64
	Props     map[string]any
}

// fixture is one project's store and its events read back.
type fixture struct {
	db      storetest.ChartStore
	project int64
	loc     *time.Location
	now     time.Time
	events  []*bfEvent           // by time, then id
	byUser  map[int64][]*bfEvent // by root user, by time then id
	users   map[int64]*bfUser
}

func (f *fixture) ctx() chart.Context {
	return chart.Context{Project: f.project, Location: f.loc, Now: f.now}
}

func (f *fixture) run(t *testing.T, q chart.Query) any {
	t.Helper()
	res, err := chart.Run(context.Background(), f.db, f.ctx(), q)
	if err != nil {
		t.Fatalf("Run %s: %v", describe(q), err)
	}
	return res
}

func describe(q chart.Query) string {
	b, _ := json.Marshal(q)
	return q.Kind() + " " + string(b)
}

// days returns a range's bounds in the fixture's zone: without an end
// it ends on the day of now, without a start it spans DefaultDays days.
func (f *fixture) days(r chart.Range) (start, end int64) {
	if r.End == "" {
		r.End = f.now.In(f.loc).Format(time.DateOnly)
	}
	b, err := time.ParseInLocation(time.DateOnly, r.End, f.loc)
	if err != nil {
		panic("bad range in the test")
	}
	if r.Start == "" {
		r.Start = time.Date(b.Year(), b.Month(), b.Day()-(chart.DefaultDays-1), 0, 0, 0, 0, f.loc).Format(time.DateOnly)
	}
	a, err := time.ParseInLocation(time.DateOnly, r.Start, f.loc)
	if err != nil {
		panic("bad range in the test")
	}
	return a.UnixMilli(), time.Date(b.Year(), b.Month(), b.Day()+1, 0, 0, 0, 0, f.loc).UnixMilli()
}

// ---- generation ----

// session is who sends a session's events.
type session struct{ user, device string }

type genRequest struct {
	received int64
	events   []map[string]any
}

type generator struct {
	rng      *rand.Rand
	loc      *time.Location
	last     int64 // no event after this
	now      int64
	reqs     []*genRequest
	userIDs  map[string]bool // the user ids and device ids events carried
	devices  map[string]bool
	sent     int
	merges   int // persons planned to merge an anonymous device into their user
	identify int // persons planned to be identified on their anonymous device
}

// Kinds of person.
const (
	identified = iota // a user id from the first event
	mergedIn          // a user id on one device, anonymous on another, then logs in there
	identLater        // anonymous first, then a new user id on the same device
	anonymous         // never identified
)

// person adds the sessions of person i: who sends them (a kind of
// person), when, and the user properties they set.
func (g *generator) person(i int) {
	r := g.rng
	uid := fmt.Sprintf("user-%04d", i)
	devA := fmt.Sprintf("dev-%04d-a", i)
	devB := fmt.Sprintf("dev-%04d-b", i)
	var kind int
	switch n := r.IntN(20); {
	case n < 9:
		kind = identified
	case n < 14:
		kind = mergedIn
	case n < 17:
		kind = identLater
	default:
		kind = anonymous
	}
	nSess := 1 + r.IntN(4) + r.IntN(4)
	var plan []session
	switch kind {
	case identified:
		for range nSess {
			plan = append(plan, session{uid, devA})
		}
	case mergedIn:
		anon := []session{{"", devB}}
		if r.IntN(2) == 0 {
			anon = append(anon, session{"", devB})
		}
		own := session{uid, devA}
		if r.IntN(3) == 0 {
			// The anonymous device was used first: the merged user's
			// first seen comes from it.
			plan = append(append(plan, anon...), own)
		} else {
			plan = append(append(plan, own), anon...)
		}
		plan = append(plan, session{uid, devB}) // the login that merges
		for range nSess - 1 {
			plan = append(plan, session{uid, []string{devA, devB}[r.IntN(2)]})
		}
		g.merges++
	case identLater:
		for range 1 + r.IntN(2) {
			plan = append(plan, session{"", devA})
		}
		for range nSess {
			plan = append(plan, session{uid, devA})
		}
		g.identify++
	case anonymous:
		for range nSess {
			plan = append(plan, session{"", devA})
		}
	}

	platform := platforms[r.IntN(len(platforms))]
	country := countries[r.IntN(len(countries))]
	source, plan0, campaign := sources[r.IntN(len(sources))], plans[r.IntN(len(plans))], fmt.Sprintf("camp_%d", r.IntN(12))
	changeAt := -1
	if r.IntN(3) == 0 {
		changeAt = 1 + r.IntN(len(plan))
	}
	t := genStart.UnixMilli() + r.Int64N(time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC).UnixMilli()-genStart.UnixMilli())
	anonSet, mainSet := false, false
	for si, s := range plan {
		if si > 0 {
			switch r.IntN(4) {
			case 0:
				t += int64(10*time.Minute/time.Millisecond) + r.Int64N(int64(3*time.Hour/time.Millisecond))
			case 1:
				t += int64(20*time.Hour/time.Millisecond) + r.Int64N(int64(8*time.Hour/time.Millisecond))
			case 2:
				t += int64(48*time.Hour/time.Millisecond) + r.Int64N(int64(6*24*time.Hour/time.Millisecond))
			default:
				t += int64(24*time.Hour/time.Millisecond) + r.Int64N(int64(48*time.Hour/time.Millisecond))
			}
		}
		if r.IntN(8) == 0 {
			// A session that begins at the zone's next midnight, give or
			// take a little.
			d := time.UnixMilli(t).In(g.loc)
			m := time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, g.loc)
			t = m.UnixMilli() + []int64{-1, 0, 1, -1000, 999, -60_000}[r.IntN(6)]
		}
		if t > g.last-int64(5*time.Hour/time.Millisecond) {
			break
		}
		var props map[string]any
		switch {
		case s.user == "" && kind == mergedIn && !anonSet:
			// An anonymous device of a known person: attributed on its own.
			props = map[string]any{"$set": map[string]any{mediaProp: sources[r.IntN(len(sources))], "plan": "free"}}
			anonSet = true
		case !mainSet && (s.user != "" || kind != mergedIn):
			props = map[string]any{"$set": map[string]any{mediaProp: source, campaignPr: campaign, "plan": plan0}}
			mainSet = true
		case si == changeAt:
			set := map[string]any{"plan": plans[r.IntN(len(plans))]}
			if r.IntN(2) == 0 {
				set[mediaProp] = sources[r.IntN(len(sources))]
				set[campaignPr] = fmt.Sprintf("camp_%d", r.IntN(12))
			}
			props = map[string]any{"$set": set}
		}
		g.session(s, &t, props, platform, country, kind == identified)
	}
}

// session adds one upload: a session's events from *t on.
func (g *generator) session(s session, t *int64, props map[string]any, platform, country string, mayDropDevice bool) {
	r := g.rng
	var evs []map[string]any
	add := func(typ string, dt int64) map[string]any {
		*t += dt
		e := map[string]any{"event_type": typ, "time": *t}
		if s.user != "" {
			e["user_id"] = s.user
		}
		if s.device != "" && !(mayDropDevice && r.IntN(20) == 0) {
			e["device_id"] = s.device
		}
		switch r.IntN(20) {
		case 0: // no platform on this event
		case 1:
			e["platform"] = platforms[r.IntN(len(platforms))]
		default:
			e["platform"] = platform
		}
		if country != "" && r.IntN(10) != 0 {
			e["country"] = country
		}
		evs = append(evs, e)
		return e
	}
	ss := add("session_start", 0)
	up := map[string]any{"$add": map[string]any{"sessions": 1}}
	for k, v := range props {
		up[k] = v
	}
	ss["user_properties"] = up
	if r.IntN(4) == 0 {
		ss["event_properties"] = map[string]any{"source_screen": []string{"home", "push", "deeplink"}[r.IntN(3)]}
	}
	nView := r.IntN(4)
	item, cat := "", ""
	for range nView {
		v := add("view_item", 1000+r.Int64N(300_000))
		item, cat = fmt.Sprintf("item-%03d", r.IntN(150)), categories[r.IntN(len(categories))]
		p := map[string]any{"item_id": item, "category": cat, "price": float64(r.IntN(5000)) / 100}
		if r.IntN(4) == 0 {
			p["tags"] = tagSets[r.IntN(len(tagSets))]
		}
		if r.IntN(10) == 0 {
			p["price"] = fmt.Sprintf("%d", r.IntN(60)) // a number in a string
		}
		v["event_properties"] = p
	}
	if nView > 0 && r.IntN(2) == 0 {
		dt := 500 + r.Int64N(120_000)
		if r.IntN(5) == 0 {
			dt = 0 // the same millisecond as the view: not after it
		}
		add("add_to_cart", dt)["event_properties"] = map[string]any{"item_id": item, "category": cat}
		if r.IntN(2) == 0 {
			g.purchase(add("purchase", 10_000+r.Int64N(int64(3*time.Hour/time.Millisecond))), cat)
		}
	} else if r.IntN(10) == 0 {
		g.purchase(add("purchase", 5_000+r.Int64N(600_000)), categories[r.IntN(len(categories))])
	}
	if r.IntN(5) < 2 {
		var level any = float64(r.IntN(30))
		switch r.IntN(6) {
		case 0:
			level = fmt.Sprintf("%d", r.IntN(30)) // a number in a string
		case 1:
			level = "max"
		}
		add("level_up", 1000+r.Int64N(1_200_000))["event_properties"] = map[string]any{"level": level, "score": float64(r.IntN(1000)) / 8}
	}
	if r.IntN(10) < 3 {
		e := add("ad_view", 1000+r.Int64N(600_000))
		if r.IntN(2) == 0 {
			e["revenue"] = float64(1+r.IntN(20)) / 1000 // ad revenue
		}
	}
	var last int64
	for _, e := range evs {
		last = max(last, e["time"].(int64))
	}
	if last > g.last {
		return // the session would pass the fixture's end: dropped
	}
	delay := 1000 + r.Int64N(120_000)
	if r.IntN(7) == 0 {
		delay = int64(24*time.Hour/time.Millisecond) + r.Int64N(int64(4*24*time.Hour/time.Millisecond)) // an offline device's backlog
	}
	received := min(last+delay, g.now)
	if r.IntN(4) == 0 {
		r.Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
	}
	g.upload(received, evs)
}

// upload adds a request of events received at a time.
func (g *generator) upload(received int64, evs []map[string]any) {
	g.reqs = append(g.reqs, &genRequest{received: received, events: evs})
	g.sent += len(evs)
	for _, e := range evs {
		if id, ok := e["user_id"].(string); ok {
			g.userIDs[id] = true
		}
		if id, ok := e["device_id"].(string); ok {
			g.devices[id] = true
		}
	}
}

// purchase gives a purchase its revenue, each way ingestion takes one.
func (g *generator) purchase(e map[string]any, cat string) {
	r := g.rng
	price := float64(99+r.IntN(9900)) / 100
	qty := 1 + r.IntN(3)
	props := map[string]any{"category": cat}
	switch r.IntN(6) {
	case 0:
		e["revenue"] = price
	case 1:
		e["price"], e["quantity"] = price, qty
	case 2:
		props["$price"], props["$quantity"] = price, qty
	case 3:
		props["$revenue"] = price
	case 4:
		e["revenue"], e["price"], e["quantity"] = price*10, price, qty // price × quantity wins
	case 5:
		props["revenue"] = 100.0 // an event property named revenue: no revenue
	}
	if r.IntN(3) == 0 {
		props["coupon"] = []string{"WELCOME", "SPRING", "vip"}[r.IntN(3)]
	}
	e["event_properties"] = props
}

// edges adds events at the zone's midnights around the ranges' ends and
// the change of time.
func (g *generator) edges() {
	ids := slices.Sorted(maps.Keys(g.userIDs))
	days := []string{"2026-10-01", "2026-10-15", "2026-11-01", "2026-11-02", "2026-11-11", "2026-11-20", "2026-12-01"}
	for _, d := range days {
		m, _ := time.ParseInLocation(time.DateOnly, d, g.loc)
		for _, off := range []int64{-1, 0, 1} {
			uid := ids[g.rng.IntN(len(ids))]
			tm := m.UnixMilli() + off
			e := map[string]any{"event_type": []string{"purchase", "view_item", "session_start"}[g.rng.IntN(3)], "time": tm, "user_id": uid,
				"platform": "Web"}
			switch e["event_type"] {
			case "purchase":
				e["revenue"] = 1.25
				e["event_properties"] = map[string]any{"category": "hats"}
			case "view_item":
				e["event_properties"] = map[string]any{"item_id": "item-000", "category": "shoes", "price": 12.5}
			}
			g.upload(tm+5000, []map[string]any{e})
		}
	}
}

// scenarios adds users whose events fall exactly on the bounds of
// conversion windows, retention periods and LTV days.
func (g *generator) scenarios() {
	day := (24 * time.Hour).Milliseconds()
	at := time.Date(2026, 11, 5, 9, 30, 0, 0, g.loc).UnixMilli()
	user := func(uid string, evs ...map[string]any) {
		var last int64
		for _, e := range evs {
			e["user_id"], e["platform"] = uid, "Web"
			last = max(last, e["time"].(int64))
		}
		g.upload(last+1000, evs)
	}
	e := func(typ string, t int64, props map[string]any) map[string]any {
		m := map[string]any{"event_type": typ, "time": t}
		if props != nil {
			m["event_properties"] = props
		}
		return m
	}
	view := map[string]any{"item_id": "item-001", "category": "books", "price": 30.0}
	purchase := func(t int64, revenue float64) map[string]any {
		m := e("purchase", t, map[string]any{"category": "books"})
		m["revenue"] = revenue
		return m
	}
	// The last step of a day-long window at its very end, and 1 ms past.
	user("edge-funnel-1", e("session_start", at, nil), e("view_item", at+3_600_000, view), purchase(at+day, 3))
	user("edge-funnel-2", e("session_start", at, nil), e("view_item", at+3_600_000, view), purchase(at+day+1, 3))
	// A cart exactly 60 s and 1 s after its view, and 1 ms later.
	user("edge-funnel-3", e("view_item", at, view), e("add_to_cart", at+60_000, view),
		e("view_item", at+2*3_600_000, view), e("add_to_cart", at+2*3_600_000+1000, view))
	user("edge-funnel-4", e("view_item", at, view), e("add_to_cart", at+60_001, view),
		e("view_item", at+2*3_600_000, view), e("add_to_cart", at+2*3_600_000+1001, view))
	// Revenue at the first moment of day 1 and the last of day 1.
	user("edge-ltv-1", purchase(at, 5), purchase(at+day, 7), purchase(at+2*day-1, 11), purchase(at+2*day, 13))
	// First seen exactly three days before now: day 3 begins at now.
	first := g.now - 3*day
	user("edge-ltv-2", purchase(first, 2), purchase(first+day, 4), purchase(first+2*day+5, 8))
	// Returns exactly one day and one week after the start, and 1 ms
	// before two.
	user("edge-ret-1", e("session_start", at, nil), e("session_start", at+day, nil), e("session_start", at+2*day-1, nil),
		e("session_start", at+7*day, nil), e("purchase", at+14*day, nil))
}

// opener opens a fresh, empty store whose clock is now.
type opener func(t *testing.T, now func() time.Time) storetest.ChartStore

// openSQLite opens an embedded store.
func openSQLite(t *testing.T, now func() time.Time) storetest.ChartStore {
	db := sqlite.NewDB(filepath.Join(t.TempDir(), "db"))
	db.Clock = now
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// openPostgres opens a PostgreSQL store on a database of its own (the
// test skips without TOUCHPOINT_TEST_POSTGRES_URL).
func openPostgres(t *testing.T, now func() time.Time) storetest.ChartStore {
	db, err := postgres.Open(context.Background(), pgtest.FreshDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	db.Clock = now
	t.Cleanup(func() { db.Close() })
	return db
}

// newFixture fills a store with one project's generated events and reads
// them back.
func newFixture(t *testing.T, open opener, zone string, seed uint64, persons int) *fixture {
	t.Helper()
	ctx := context.Background()
	loc, err := touchpoint.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, loc)
	db := open(t, func() time.Time { return now })
	p := &touchpoint.Project{Name: "Charts " + zone, TimeZone: zone,
		Limits: touchpoint.IngestLimits{HTTPEPS: touchpoint.DefaultHTTPEPS, BatchEPS: touchpoint.DefaultBatchEPS}}
	if err := db.CreateProject(ctx, p); err != nil {
		t.Fatal(err)
	}

	g := &generator{rng: rand.New(rand.NewPCG(seed, 2026)), loc: loc, last: now.Add(-2 * time.Hour).UnixMilli(), now: now.UnixMilli(),
		userIDs: map[string]bool{}, devices: map[string]bool{}}
	for i := range persons {
		g.person(i)
	}
	g.edges()
	g.scenarios()
	slices.SortStableFunc(g.reqs, func(a, b *genRequest) int { return int(a.received - b.received) })
	var ups []*touchpoint.EventUpload
	flush := func() {
		if err := db.RecordEvents(ctx, ups); err != nil {
			t.Fatal(err)
		}
		ups = ups[:0]
	}
	for _, rq := range g.reqs {
		body, err := json.Marshal(map[string]any{"api_key": "chart-test-key", "events": rq.events})
		if err != nil {
			t.Fatal(err)
		}
		received := time.UnixMilli(rq.received)
		up, rej := analytics.DecodeUpload(body, analytics.Request{Endpoint: analytics.HTTPAPI, Now: received})
		if rej != nil {
			t.Fatalf("DecodeUpload: %+v", rej)
		}
		ups = append(ups, &touchpoint.EventUpload{Project: p.ID, Received: received, Events: up.Events})
		if len(ups) == 25 {
			flush()
		}
	}
	flush()

	f := &fixture{db: db, project: p.ID, loc: loc, now: now, byUser: map[int64][]*bfEvent{}, users: map[int64]*bfUser{}}
	f.readBack(t, g)
	return f
}

// readBack reads every event through the users the generator made, each
// under the user it counts for.
func (f *fixture) readBack(t *testing.T, g *generator) {
	t.Helper()
	ctx := context.Background()
	roots := map[int64]bool{}
	lookup := func(userID, deviceID string) {
		u, err := f.db.LookupUser(ctx, f.project, userID, deviceID)
		if err != nil {
			t.Fatalf("LookupUser(%q, %q): %v", userID, deviceID, err)
		}
		if u.MergedInto != 0 {
			t.Fatalf("LookupUser(%q, %q) gave user %d merged into %d", userID, deviceID, u.AmplitudeID, u.MergedInto)
		}
		roots[u.AmplitudeID] = true
	}
	for _, id := range slices.Sorted(maps.Keys(g.userIDs)) {
		lookup(id, "")
	}
	for _, d := range slices.Sorted(maps.Keys(g.devices)) {
		lookup("", d)
	}
	stored := map[int64]int64{} // a user events were stored on → its root
	outOfOrder := 0
	snapshots := 0
	for root := range roots {
		u, err := f.db.FindUser(ctx, f.project, root)
		if err != nil {
			t.Fatal(err)
		}
		bu := &bfUser{ID: root, FirstSeen: u.FirstSeen.UnixMilli(), Props: u.Properties}
		f.users[root] = bu
		var evs []*bfEvent
		for cursor := int64(0); ; {
			page, err := f.db.UserEvents(ctx, f.project, root, cursor, 500)
			if err != nil {
				t.Fatal(err)
			}
			for _, raw := range page.Events {
				evs = append(evs, parseEvent(t, raw, root))
			}
			if page.Next == 0 {
				break
			}
			cursor = page.Next
		}
		first := int64(math.MaxInt64)
		sources := map[string]bool{}
		for i, e := range evs {
			first = min(first, e.Time)
			if e.Stored != root {
				stored[e.Stored] = root
			}
			if i > 0 && e.Time < evs[i-1].Time {
				outOfOrder++ // stored after an event it comes before
			}
			sources[touchpoint.ValueText(e.UserProps[mediaProp])] = true
		}
		if len(sources) > 1 {
			snapshots++
		}
		if len(evs) > 0 && first != bu.FirstSeen {
			t.Errorf("store: user %d first seen %d, its earliest event (with the users merged into it) %d", root, bu.FirstSeen, first)
		}
		sortEvents(evs)
		f.byUser[root] = evs
		f.events = append(f.events, evs...)
	}
	sortEvents(f.events)
	for u, root := range stored {
		mu, err := f.db.FindUser(ctx, f.project, u)
		if err != nil {
			t.Fatal(err)
		}
		if mu.MergedInto != root {
			t.Fatalf("user %d has events under user %d but is merged into %d", u, root, mu.MergedInto)
		}
	}
	if len(f.events) != g.sent {
		t.Fatalf("read back %d events of %d sent: some users were not found", len(f.events), g.sent)
	}
	// The data must hold what the charts are checked on.
	if len(stored) < 10 || outOfOrder < 20 || snapshots < 10 {
		t.Fatalf("weak data: %d merged users (of %d planned), %d events stored late, %d users with several media sources",
			len(stored), g.merges, outOfOrder, snapshots)
	}
	t.Logf("%s: %d users (%d merged into others, %d identified later), %d events in %d uploads; %d stored late, %d users changed media source",
		f.loc, len(f.users), len(stored), g.identify, len(f.events), len(g.reqs), outOfOrder, snapshots)
}

func parseEvent(t *testing.T, raw json.RawMessage, root int64) *bfEvent {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("event %s: %v", raw, err)
	}
	num := func(k string) int64 {
		f, ok := m[k].(float64)
		if !ok {
			t.Fatalf("event %s: no %s", raw, k)
		}
		return int64(f)
	}
	e := &bfEvent{ID: num("id"), Stored: num("amplitude_id"), User: root, Time: num("time"), Top: m}
	e.Type, _ = m["event_type"].(string)
	e.Props, _ = m["event_properties"].(map[string]any)
	e.UserProps, _ = m["user_properties"].(map[string]any)
	delete(m, "event_properties")
	delete(m, "user_properties")
	return e
}

func sortEvents(evs []*bfEvent) {
	slices.SortFunc(evs, func(a, b *bfEvent) int {
		if a.Time != b.Time {
			return int(a.Time - b.Time)
		}
		return int(a.ID - b.ID)
	})
}

// ---- matching and labels ----

func matches(e *bfEvent, s chart.EventSpec) bool {
	if s.EventType != chart.AnyEvent && s.EventType != chart.AnyActive && s.EventType != e.Type {
		return false
	}
	for _, f := range s.Where {
		c := touchpoint.ValueCondition{Property: f.Property, Op: f.Op, Value: f.Value, Values: f.Values}
		var v any
		if f.Type == "user" {
			v = e.userProp(f.Property)
		} else {
			v = e.eventProp(f.Property)
		}
		if !c.Match(v) {
			return false
		}
	}
	return true
}

func label(v any) string {
	if v == nil {
		return chart.NoneLabel
	}
	return touchpoint.ValueText(v)
}

func groupOf(e *bfEvent, by []chart.Property) []string {
	if len(by) == 0 {
		return []string{chart.AllLabel}
	}
	out := make([]string, len(by))
	for i, p := range by {
		out[i] = label(e.prop(p))
	}
	return out
}

func key(group []string) string { return strings.Join(group, "\x1f") }

func near(a, b float64) bool {
	return math.Abs(a-b) <= 1e-7*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// ---- segmentation ----

// intervalStart is the first moment of the day, week (from Monday) or
// month holding t, in loc.
func intervalStart(t time.Time, interval string) time.Time {
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
	switch interval {
	case chart.Week:
		for d.Weekday() != time.Monday {
			d = time.Date(d.Year(), d.Month(), d.Day()-1, 0, 0, 0, 0, d.Location())
		}
	case chart.Month:
		d = time.Date(d.Year(), d.Month(), 1, 0, 0, 0, 0, d.Location())
	}
	return d
}

// segAgg is what one series counts: per interval and over the range.
type segAgg struct {
	group []string
	count []int64
	users []map[int64]bool
	sum   []float64
	num   []int64
	have  []int64
	dist  map[string]int64
}

func newSegAgg(n int, group []string) *segAgg {
	a := &segAgg{group: group, count: make([]int64, n+1), users: make([]map[int64]bool, n+1), sum: make([]float64, n+1),
		num: make([]int64, n+1), have: make([]int64, n+1), dist: map[string]int64{}}
	for i := range a.users {
		a.users[i] = map[int64]bool{}
	}
	return a
}

// add counts an event in interval i (slot n is the range).
func (a *segAgg) add(i int, user int64, v any) {
	a.count[i]++
	a.users[i][user] = true
	if x, ok := touchpoint.NumberOf(v); ok {
		a.sum[i] += x
		a.num[i]++
	}
	if v != nil {
		a.have[i]++
	}
}

func (a *segAgg) merge(b *segAgg) {
	for i := range a.count {
		a.count[i] += b.count[i]
		for u := range b.users[i] {
			a.users[i][u] = true
		}
		a.sum[i] += b.sum[i]
		a.num[i] += b.num[i]
		a.have[i] += b.have[i]
	}
	for k, v := range b.dist {
		a.dist[k] += v
	}
}

func (a *segAgg) value(metric string, i int) float64 {
	switch metric {
	case chart.Uniques:
		return float64(len(a.users[i]))
	case chart.Average:
		return ratio(float64(a.count[i]), float64(len(a.users[i])))
	case chart.Sum:
		return a.sum[i]
	case chart.PropertyAverage:
		return ratio(a.sum[i], float64(a.num[i]))
	case chart.Distribution:
		return float64(a.have[i])
	}
	return float64(a.count[i])
}

type segWant struct {
	xvalues []string
	series  [][]*segAgg // by event index, biggest total first
}

func (f *fixture) bruteSegmentation(q *chart.Segmentation) segWant {
	interval := cmpOr(q.Interval, chart.Day)
	metric := cmpOr(q.Metric, chart.Totals)
	start, end := f.days(q.Range)
	var w segWant
	index := map[string]int{}
	endT := time.UnixMilli(end).In(f.loc)
	for d := intervalStart(time.UnixMilli(start).In(f.loc), interval); d.Before(endT); {
		index[d.Format(time.DateOnly)] = len(w.xvalues)
		w.xvalues = append(w.xvalues, d.Format(time.DateOnly))
		switch interval {
		case chart.Day:
			d = time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, f.loc)
		case chart.Week:
			d = time.Date(d.Year(), d.Month(), d.Day()+7, 0, 0, 0, 0, f.loc)
		case chart.Month:
			d = time.Date(d.Year(), d.Month()+1, 1, 0, 0, 0, 0, f.loc)
		}
	}
	n := len(w.xvalues)
	for _, spec := range q.Events {
		groups := map[string]*segAgg{}
		for _, e := range f.events {
			if e.Time < start || e.Time >= end || !matches(e, spec) {
				continue
			}
			g := groupOf(e, q.GroupBy)
			a := groups[key(g)]
			if a == nil {
				a = newSegAgg(n, g)
				groups[key(g)] = a
			}
			var v any
			if q.Property == chart.RevenueProp {
				v = e.Top["revenue"]
			} else if q.Property != "" {
				v = e.eventProp(q.Property)
			}
			i := index[intervalStart(time.UnixMilli(e.Time).In(f.loc), interval).Format(time.DateOnly)]
			a.add(i, e.User, v)
			a.add(n, e.User, v)
			if v != nil {
				a.dist[touchpoint.ValueText(v)]++
			}
		}
		list := make([]*segAgg, 0, len(groups))
		for _, a := range groups {
			list = append(list, a)
		}
		sort.Slice(list, func(i, j int) bool { return list[i].value(metric, n) > list[j].value(metric, n) })
		w.series = append(w.series, list)
	}
	return w
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func isOther(g []string) bool {
	for _, l := range g {
		if l != chart.OtherLabel {
			return false
		}
	}
	return len(g) > 0
}

func (f *fixture) checkSegmentation(t *testing.T, q *chart.Segmentation) {
	t.Helper()
	desc := describe(q)
	want := f.bruteSegmentation(q)
	got, ok := f.run(t, q).(*chart.SegmentationResult)
	if !ok {
		t.Fatalf("%s: not a *SegmentationResult", desc)
	}
	metric := cmpOr(q.Metric, chart.Totals)
	if got.Metric != metric || got.Interval != cmpOr(q.Interval, chart.Day) {
		t.Errorf("%s: metric %q interval %q", desc, got.Metric, got.Interval)
	}
	if !slices.Equal(got.XValues, want.xvalues) {
		t.Fatalf("%s: x_values\n got %v\nwant %v", desc, got.XValues, want.xvalues)
	}
	n := len(want.xvalues)
	for idx, list := range want.series {
		var series []chart.Series
		for _, s := range got.Series {
			if s.Index == idx {
				series = append(series, s)
			}
		}
		bf := map[string]*segAgg{}
		for _, a := range list {
			bf[key(a.group)] = a
		}
		var other *chart.Series
		seen := map[string]bool{}
		for i, s := range series {
			if s.Event != q.Events[idx].EventType {
				t.Errorf("%s: series %d of event %d names event %q", desc, i, idx, s.Event)
			}
			if isOther(s.Group) && len(list) > chart.MaxSeries {
				other = &series[i]
				continue
			}
			if i > 0 && !isOther(series[i-1].Group) && s.Total > series[i-1].Total && !near(s.Total, series[i-1].Total) {
				t.Errorf("%s: event %d: series %v (total %v) after %v (total %v): not biggest first", desc, idx, s.Group, s.Total, series[i-1].Group, series[i-1].Total)
			}
			a := bf[key(s.Group)]
			if a == nil {
				t.Errorf("%s: event %d: series %q has no matching event\n got %+v", desc, idx, s.Group, s)
				continue
			}
			seen[key(s.Group)] = true
			compareSeries(t, desc, idx, metric, n, s, a)
		}
		var rest []*segAgg
		for _, a := range list {
			if !seen[key(a.group)] {
				rest = append(rest, a)
			}
		}
		if len(list) <= chart.MaxSeries {
			for _, a := range rest {
				if a.value(metric, n) != 0 {
					t.Errorf("%s: event %d: group %q missing: want total %v", desc, idx, a.group, a.value(metric, n))
				}
			}
			continue
		}
		// Past MaxSeries: the biggest series, then the rest in one.
		if k := len(seen); k != chart.MaxSeries && k != chart.MaxSeries-1 {
			t.Errorf("%s: event %d: %d groups give %d series besides %s", desc, idx, len(list), k, chart.OtherLabel)
		}
		minIn := math.Inf(1)
		for k := range seen {
			minIn = math.Min(minIn, bf[k].value(metric, n))
		}
		sum := newSegAgg(n, []string{chart.OtherLabel})
		for _, a := range rest {
			if v := a.value(metric, n); v > minIn && !near(v, minIn) {
				t.Errorf("%s: event %d: group %q (total %v) left out for a smaller one (%v)", desc, idx, a.group, v, minIn)
			}
			sum.merge(a)
		}
		if other == nil {
			t.Errorf("%s: event %d: %d groups and no %s series", desc, idx, len(list), chart.OtherLabel)
		} else {
			compareSeries(t, desc, idx, metric, n, *other, sum)
		}
	}
	for _, s := range got.Series {
		if s.Index < 0 || s.Index >= len(q.Events) {
			t.Errorf("%s: series of event index %d", desc, s.Index)
		}
	}
}

func compareSeries(t *testing.T, desc string, idx int, metric string, n int, s chart.Series, a *segAgg) {
	t.Helper()
	if len(s.Values) != n {
		t.Errorf("%s: event %d group %q: %d values for %d intervals", desc, idx, s.Group, len(s.Values), n)
		return
	}
	for i := range n {
		if !near(s.Values[i], a.value(metric, i)) {
			t.Errorf("%s: event %d group %q: interval %d: got %v, want %v", desc, idx, s.Group, i, s.Values[i], a.value(metric, i))
		}
	}
	if !near(s.Total, a.value(metric, n)) {
		t.Errorf("%s: event %d group %q: total %v, want %v", desc, idx, s.Group, s.Total, a.value(metric, n))
	}
	if metric != chart.Distribution {
		if len(s.Distribution) != 0 {
			t.Errorf("%s: event %d group %q: a distribution with metric %s", desc, idx, s.Group, metric)
		}
		return
	}
	type vc struct {
		v string
		c int64
	}
	var all []vc
	for v, c := range a.dist {
		all = append(all, vc{v, c})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].c > all[j].c })
	if want := min(len(all), chart.MaxDistribution); len(s.Distribution) != want {
		t.Errorf("%s: event %d group %q: %d distribution values, want %d", desc, idx, s.Group, len(s.Distribution), want)
	}
	listed := map[string]bool{}
	minIn := int64(math.MaxInt64)
	for i, d := range s.Distribution {
		if d.Count != a.dist[d.Value] {
			t.Errorf("%s: event %d group %q: distribution %q: got %d, want %d", desc, idx, s.Group, d.Value, d.Count, a.dist[d.Value])
		}
		if i > 0 && d.Count > s.Distribution[i-1].Count {
			t.Errorf("%s: event %d group %q: distribution not most first: %v", desc, idx, s.Group, s.Distribution)
		}
		if listed[d.Value] {
			t.Errorf("%s: event %d group %q: distribution lists %q twice", desc, idx, s.Group, d.Value)
		}
		listed[d.Value] = true
		minIn = min(minIn, d.Count)
	}
	for _, x := range all {
		if !listed[x.v] && x.c > minIn {
			t.Errorf("%s: event %d group %q: distribution leaves out %q (%d) for a smaller value", desc, idx, s.Group, x.v, x.c)
		}
	}
}

// ---- funnel ----

type funnelAgg struct {
	users []int64
	gaps  [][]float64 // seconds from the previous step, by step
}

type funnelWant struct {
	total     *funnelAgg
	groups    map[string]*funnelAgg
	ambiguous int // users whose best path starts on two events of one millisecond with different labels
}

func (f *fixture) bruteFunnel(q *chart.Funnel) funnelWant {
	conv := q.ConversionSeconds
	if conv == 0 {
		conv = chart.DefaultConversion
	}
	start, end := f.days(q.Range)
	steps := len(q.Steps)
	newAgg := func() *funnelAgg { return &funnelAgg{users: make([]int64, steps), gaps: make([][]float64, steps)} }
	w := funnelWant{total: newAgg(), groups: map[string]*funnelAgg{}}
	var by []chart.Property
	if q.GroupBy != nil {
		by = []chart.Property{*q.GroupBy}
	}
	for _, evs := range f.byUser {
		// Every event matching step 1 in the range starts a path; each
		// next step is the earliest event that matches it after the
		// previous step and within the window of the first.
		var best []*bfEvent
		ambiguous := false
		for _, e1 := range evs {
			if e1.Time < start || e1.Time >= end || !matches(e1, q.Steps[0]) {
				continue
			}
			path := []*bfEvent{e1}
			for k := 1; k < steps; k++ {
				var next *bfEvent
				for _, e := range evs {
					if e.Time > path[k-1].Time && e.Time <= e1.Time+conv*1000 && matches(e, q.Steps[k]) {
						next = e
						break
					}
				}
				if next == nil {
					break
				}
				path = append(path, next)
			}
			switch {
			case best == nil || len(path) > len(best) || len(path) == len(best) && e1.Time < best[0].Time:
				best, ambiguous = path, false
			case len(path) == len(best) && e1.Time == best[0].Time && key(groupOf(e1, by)) != key(groupOf(best[0], by)):
				ambiguous = true
			}
		}
		if best == nil {
			continue
		}
		if ambiguous {
			w.ambiguous++
		}
		g := groupOf(best[0], by)
		a := w.groups[key(g)]
		if a == nil {
			a = newAgg()
			w.groups[key(g)] = a
		}
		for _, agg := range []*funnelAgg{w.total, a} {
			for k := range best {
				agg.users[k]++
				if k > 0 {
					agg.gaps[k] = append(agg.gaps[k], float64(best[k].Time-best[k-1].Time)/1000)
				}
			}
		}
	}
	return w
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func (f *fixture) checkFunnel(t *testing.T, q *chart.Funnel) {
	t.Helper()
	desc := describe(q)
	want := f.bruteFunnel(q)
	got, ok := f.run(t, q).(*chart.FunnelResult)
	if !ok {
		t.Fatalf("%s: not a *FunnelResult", desc)
	}
	conv := q.ConversionSeconds
	if conv == 0 {
		conv = chart.DefaultConversion
	}
	if got.ConversionSeconds != conv {
		t.Errorf("%s: conversion_seconds %d, want %d", desc, got.ConversionSeconds, conv)
	}
	var types []string
	for _, s := range q.Steps {
		types = append(types, s.EventType)
	}
	if !slices.Equal(got.Steps, types) {
		t.Errorf("%s: steps %v, want %v", desc, got.Steps, types)
	}
	compareFunnelGroup(t, desc, "total", got.Total, want.total)
	if q.GroupBy == nil {
		return
	}
	if want.ambiguous > 0 {
		t.Logf("%s: %d users start their best path on two events of one millisecond with different labels: groups not compared", desc, want.ambiguous)
		return
	}
	matchGroups(t, desc, got.Groups, func(g chart.FunnelGroup) []string { return g.Group }, want.groups,
		func(k string, g chart.FunnelGroup, a *funnelAgg) { compareFunnelGroup(t, desc, k, g, a) })
}

func compareFunnelGroup(t *testing.T, desc, name string, g chart.FunnelGroup, a *funnelAgg) {
	t.Helper()
	n := len(a.users)
	if len(g.Users) != n || len(g.FromPrevious) != n || len(g.FromFirst) != n || len(g.MedianSeconds) != n {
		t.Errorf("%s: group %q: lengths %d %d %d %d for %d steps", desc, name, len(g.Users), len(g.FromPrevious), len(g.FromFirst), len(g.MedianSeconds), n)
		return
	}
	if !slices.Equal(g.Users, a.users) {
		t.Errorf("%s: group %q: users %v, want %v", desc, name, g.Users, a.users)
		return
	}
	for k := 1; k < n; k++ {
		if p := ratio(float64(a.users[k]), float64(a.users[k-1])); !near(g.FromPrevious[k], p) {
			t.Errorf("%s: group %q: step %d from_previous %v, want %v", desc, name, k, g.FromPrevious[k], p)
		}
		if p := ratio(float64(a.users[k]), float64(a.users[0])); !near(g.FromFirst[k], p) {
			t.Errorf("%s: group %q: step %d from_first %v, want %v", desc, name, k, g.FromFirst[k], p)
		}
		switch m := g.MedianSeconds[k]; {
		case len(a.gaps[k]) == 0 && m != nil:
			t.Errorf("%s: group %q: step %d median %v with no user", desc, name, k, *m)
		case len(a.gaps[k]) > 0 && m == nil:
			t.Errorf("%s: group %q: step %d no median, want %v", desc, name, k, median(a.gaps[k]))
		case m != nil && !near(*m, median(a.gaps[k])):
			t.Errorf("%s: group %q: step %d median %v, want %v (of %d users)", desc, name, k, *m, median(a.gaps[k]), len(a.gaps[k]))
		}
	}
	if g.MedianSeconds[0] != nil {
		t.Errorf("%s: group %q: a median for the first step", desc, name)
	}
	if a.users[0] > 0 && (!near(g.FromFirst[0], 1) || !near(g.FromPrevious[0], 1)) {
		t.Errorf("%s: group %q: first step from_first %v from_previous %v, want 1", desc, name, g.FromFirst[0], g.FromPrevious[0])
	}
}

// ---- retention ----

type retRow struct {
	users    int64
	retained []int64 // by period listed, period 0 included
}

type retWant struct {
	total     map[string]*retRow // by row date
	groups    map[string]map[string]*retRow
	ambiguous int
}

func (f *fixture) bruteRetention(q *chart.Retention) retWant {
	start, end := f.days(q.Range)
	interval := cmpOr(q.Interval, chart.Day)
	mode := cmpOr(q.Mode, chart.NDay)
	periods := q.Periods
	if periods == 0 {
		periods = chart.DefaultPeriods
	}
	p := 24 * time.Hour
	if interval == chart.Week {
		p = 7 * 24 * time.Hour
	}
	pm := p.Milliseconds()
	var by []chart.Property
	if q.GroupBy != nil {
		by = []chart.Property{*q.GroupBy}
	}
	w := retWant{total: map[string]*retRow{}, groups: map[string]map[string]*retRow{}}
	for _, evs := range f.byUser {
		var s *bfEvent
		ambiguous := false
		for _, e := range evs {
			if e.Time >= start && e.Time < end && matches(e, q.StartEvent) {
				if s == nil {
					s = e
				} else if e.Time == s.Time && key(groupOf(e, by)) != key(groupOf(s, by)) {
					ambiguous = true
				}
			}
		}
		if s == nil {
			continue
		}
		if ambiguous {
			w.ambiguous++
		}
		rowStart := intervalStart(time.UnixMilli(s.Time).In(f.loc), interval)
		// A row's periods count from its first moment in the range.
		first := rowStart
		if first.UnixMilli() < start {
			first = time.UnixMilli(start).In(f.loc)
		}
		var retained []int64
		for k := 0; k <= periods && !first.Add(time.Duration(k)*p).After(f.now); k++ {
			back := k == 0
			lo, hi := s.Time+int64(k)*pm, s.Time+int64(k+1)*pm
			for _, e := range evs {
				if k == 0 {
					break
				}
				in := e.Time >= lo && e.Time < hi
				if mode == chart.Unbounded {
					in = e.Time >= lo
				}
				if in && (q.ReturnEvent == nil || matches(e, *q.ReturnEvent)) {
					back = true
					break
				}
			}
			if back {
				retained = append(retained, 1)
			} else {
				retained = append(retained, 0)
			}
		}
		date := rowStart.Format(time.DateOnly)
		g := key(groupOf(s, by))
		if w.groups[g] == nil {
			w.groups[g] = map[string]*retRow{}
		}
		for _, rows := range []map[string]*retRow{w.total, w.groups[g]} {
			r := rows[date]
			if r == nil {
				r = &retRow{retained: make([]int64, len(retained))}
				rows[date] = r
			}
			r.users++
			for k, b := range retained {
				r.retained[k] += b
			}
		}
	}
	return w
}

func (f *fixture) checkRetention(t *testing.T, q *chart.Retention) {
	t.Helper()
	desc := describe(q)
	want := f.bruteRetention(q)
	got, ok := f.run(t, q).(*chart.RetentionResult)
	if !ok {
		t.Fatalf("%s: not a *RetentionResult", desc)
	}
	periods := q.Periods
	if periods == 0 {
		periods = chart.DefaultPeriods
	}
	if got.Interval != cmpOr(q.Interval, chart.Day) || got.Mode != cmpOr(q.Mode, chart.NDay) || got.Periods != periods {
		t.Errorf("%s: interval %q mode %q periods %d", desc, got.Interval, got.Mode, got.Periods)
	}
	compareRetentionGroup(t, desc, "total", got.Total, want.total, periods)
	if q.GroupBy == nil {
		return
	}
	if want.ambiguous > 0 {
		t.Logf("%s: %d users start on two events of one millisecond with different labels: groups not compared", desc, want.ambiguous)
		return
	}
	matchGroups(t, desc, got.Groups, func(g chart.RetentionGroup) []string { return g.Group }, want.groups,
		func(k string, g chart.RetentionGroup, rows map[string]*retRow) {
			compareRetentionGroup(t, desc, k, g, rows, periods)
		})
}

func compareRetentionGroup(t *testing.T, desc, name string, g chart.RetentionGroup, rows map[string]*retRow, periods int) {
	t.Helper()
	var dates []string
	for d := range rows {
		dates = append(dates, d)
	}
	slices.Sort(dates)
	var gotDates []string
	for _, r := range g.Cohorts {
		if r.Users > 0 {
			gotDates = append(gotDates, r.Date)
		}
	}
	if !slices.Equal(gotDates, dates) {
		t.Errorf("%s: group %q: rows %v, want %v", desc, name, gotDates, dates)
		return
	}
	users := make([]int64, periods+1)
	retained := make([]int64, periods+1)
	for _, r := range g.Cohorts {
		w := rows[r.Date]
		if w == nil {
			continue
		}
		if r.Users != w.users || !slices.Equal(r.Retained, w.retained) {
			t.Errorf("%s: group %q: row %s: users %d retained %v, want %d %v", desc, name, r.Date, r.Users, r.Retained, w.users, w.retained)
		}
		for k, n := range w.retained {
			users[k] += w.users
			retained[k] += n
		}
	}
	// The sums run as far as a row reaches; the engine may stop there or
	// go on to Periods with zeros.
	reach := 0
	for k := range users {
		if users[k] > 0 {
			reach = k + 1
		}
	}
	n := len(g.Users)
	if n < reach || n > periods+1 || len(g.Retained) != n || len(g.Rates) != n {
		t.Errorf("%s: group %q: sums of length %d %d %d, want %d to %d", desc, name, len(g.Users), len(g.Retained), len(g.Rates), reach, periods+1)
		return
	}
	for k := range n {
		if g.Users[k] != users[k] || g.Retained[k] != retained[k] || !near(g.Rates[k], ratio(float64(retained[k]), float64(users[k]))) {
			t.Errorf("%s: group %q: period %d: users %d retained %d rate %v, want %d %d %v", desc, name, k,
				g.Users[k], g.Retained[k], g.Rates[k], users[k], retained[k], ratio(float64(retained[k]), float64(users[k])))
		}
	}
}

// ---- LTV ----

type ltvAgg struct {
	users   []int64
	revenue []float64
}

func (f *fixture) bruteLTV(q *chart.LTV) (total *ltvAgg, groups map[string]*ltvAgg) {
	start, end := f.days(q.Range)
	days := q.Days
	if days == 0 {
		days = chart.DefaultLTVDays
	}
	day := (24 * time.Hour).Milliseconds()
	newAgg := func() *ltvAgg { return &ltvAgg{users: make([]int64, days+1), revenue: make([]float64, days+1)} }
	total, groups = newAgg(), map[string]*ltvAgg{}
	for id, u := range f.users {
		if u.FirstSeen < start || u.FirstSeen >= end {
			continue
		}
		g := chart.AllLabel
		if q.GroupBy != nil {
			g = label(u.Props[q.GroupBy.Property])
		}
		a := groups[g]
		if a == nil {
			a = newAgg()
			groups[g] = a
		}
		for k := 0; k <= days; k++ {
			if u.FirstSeen+int64(k)*day > f.now.UnixMilli() {
				break
			}
			var rev float64
			for _, e := range f.byUser[id] {
				if r, ok := e.revenue(); ok && e.Time < u.FirstSeen+int64(k+1)*day {
					rev += r
				}
			}
			for _, agg := range []*ltvAgg{total, a} {
				agg.users[k]++
				agg.revenue[k] += rev
			}
		}
	}
	return total, groups
}

func (f *fixture) checkLTV(t *testing.T, q *chart.LTV) {
	t.Helper()
	desc := describe(q)
	total, groups := f.bruteLTV(q)
	got, ok := f.run(t, q).(*chart.LTVResult)
	if !ok {
		t.Fatalf("%s: not a *LTVResult", desc)
	}
	days := q.Days
	if days == 0 {
		days = chart.DefaultLTVDays
	}
	if got.Days != days {
		t.Errorf("%s: days %d, want %d", desc, got.Days, days)
	}
	compareLTVGroup(t, desc, "total", got.Total, total)
	if q.GroupBy == nil {
		return
	}
	matchGroups(t, desc, got.Groups, func(g chart.LTVGroup) []string { return g.Group }, groups,
		func(k string, g chart.LTVGroup, a *ltvAgg) { compareLTVGroup(t, desc, k, g, a) })
}

// matchGroups pairs a chart's groups with the brute force's, by their
// labels: each once, none without users, none missing; compare checks a
// pair.
func matchGroups[G, W any](t *testing.T, desc string, got []G, labels func(G) []string, want map[string]W, compare func(string, G, W)) {
	t.Helper()
	seen := map[string]bool{}
	for _, g := range got {
		k := key(labels(g))
		if seen[k] {
			t.Errorf("%s: group %q twice", desc, labels(g))
		}
		seen[k] = true
		w, ok := want[k]
		if !ok {
			t.Errorf("%s: group %q: no user", desc, labels(g))
			continue
		}
		compare(k, g, w)
	}
	for k := range want {
		if !seen[k] {
			t.Errorf("%s: group %q missing", desc, k)
		}
	}
}

func compareLTVGroup(t *testing.T, desc, name string, g chart.LTVGroup, a *ltvAgg) {
	t.Helper()
	n := len(a.users)
	if len(g.Users) != n || len(g.Revenue) != n || len(g.PerUser) != n {
		t.Errorf("%s: group %q: lengths %d %d %d, want %d", desc, name, len(g.Users), len(g.Revenue), len(g.PerUser), n)
		return
	}
	for k := range n {
		if g.Users[k] != a.users[k] || !near(g.Revenue[k], a.revenue[k]) || !near(g.PerUser[k], ratio(a.revenue[k], float64(a.users[k]))) {
			t.Errorf("%s: group %q: day %d: users %d revenue %v per user %v, want %d %v %v", desc, name, k,
				g.Users[k], g.Revenue[k], g.PerUser[k], a.users[k], a.revenue[k], ratio(a.revenue[k], float64(a.users[k])))
		}
	}
}

// ---- the queries ----

func ev(typ string, where ...chart.Filter) chart.EventSpec {
	return chart.EventSpec{EventType: typ, Where: where}
}

func efilter(prop, op string, v any) chart.Filter {
	if op == touchpoint.OpIn {
		return chart.Filter{Property: prop, Op: op, Values: v.([]any)}
	}
	return chart.Filter{Property: prop, Op: op, Value: v}
}

func ufilter(prop, op string, v any) chart.Filter {
	f := efilter(prop, op, v)
	f.Type = "user"
	return f
}

func uprop(p string) chart.Property { return chart.Property{Type: "user", Property: p} }
func eprop(p string) chart.Property { return chart.Property{Type: "event", Property: p} }

func segmentationQueries() []*chart.Segmentation {
	type base struct {
		events   []chart.EventSpec
		metric   string
		property string
	}
	bases := []base{
		{[]chart.EventSpec{ev("purchase")}, chart.Totals, ""},
		{[]chart.EventSpec{ev(chart.AnyEvent), ev("session_start")}, chart.Uniques, ""},
		{[]chart.EventSpec{ev("view_item")}, chart.Average, ""},
		{[]chart.EventSpec{ev(chart.AnyEvent)}, chart.Sum, chart.RevenueProp},
		{[]chart.EventSpec{ev("purchase")}, chart.Sum, chart.RevenueProp},
		{[]chart.EventSpec{ev("view_item")}, chart.Sum, "price"},
		{[]chart.EventSpec{ev("level_up")}, chart.PropertyAverage, "level"},
		{[]chart.EventSpec{ev("purchase")}, chart.PropertyAverage, chart.RevenueProp},
		{[]chart.EventSpec{ev("level_up"), ev("view_item")}, chart.Distribution, "level"},
		{[]chart.EventSpec{ev("purchase")}, chart.Distribution, "coupon"},
	}
	groupings := [][]chart.Property{
		nil,
		{uprop(mediaProp)},
		{uprop("plan"), eprop("category")},
	}
	var qs []*chart.Segmentation
	for bi, b := range bases {
		for ii, interval := range []string{chart.Day, chart.Week, chart.Month} {
			for _, g := range groupings {
				r := fullRange
				if (bi+ii)%3 == 1 {
					r = midRange
				}
				qs = append(qs, &chart.Segmentation{Events: b.events, Metric: b.metric, Property: b.property, Interval: interval, Range: r, GroupBy: g})
			}
		}
	}
	// Filters of each operator, on event and user properties.
	filters := []chart.Filter{
		efilter("category", "=", "shoes"),
		efilter("category", "!=", "shoes"),
		efilter("item_id", "contains", "ITEM-01"),
		efilter("price", ">", 25.0),
		efilter("price", "<", 5.0),
		efilter("category", "in", []any{"hats", "books"}),
		efilter("tags", "contains", "sale"),
		efilter("tags", "=", "new"),
		efilter("level", ">", 12.0),
		efilter("revenue", ">", 50.0),
		efilter("coupon", "in", []any{"vip", "WELCOME"}),
		efilter("platform", "=", "iOS"),
		ufilter(mediaProp, "=", "examplenet"),
		ufilter("plan", "!=", "free"),
		ufilter(campaignPr, "contains", "camp_1"),
		ufilter("sessions", ">", 3.0),
		ufilter("sessions", "<", 2.0),
		ufilter("country", "in", []any{"US", "DE"}),
		ufilter("platform", "=", "Android"),
		ufilter("country", "!=", "US"),
	}
	for i, fl := range filters {
		metric := []string{chart.Totals, chart.Uniques, chart.Sum}[i%3]
		prop := ""
		if metric == chart.Sum {
			prop = chart.RevenueProp
		}
		qs = append(qs, &chart.Segmentation{Events: []chart.EventSpec{ev(chart.AnyEvent, fl), ev("view_item", fl)}, Metric: metric, Property: prop,
			Range: fullRange, GroupBy: []chart.Property{uprop("platform")}})
	}
	qs = append(qs,
		// Several filters together, two events of one type.
		&chart.Segmentation{Events: []chart.EventSpec{
			ev("view_item", efilter("price", ">", 10.0), ufilter(mediaProp, "in", []any{"examplenet", "organic"}), efilter("category", "!=", "toys")),
			ev("view_item"),
		}, Metric: chart.Totals, Interval: chart.Week, Range: fullRange, GroupBy: []chart.Property{uprop(mediaProp), eprop("tags")}},
		// Past MaxSeries: 150 items.
		&chart.Segmentation{Events: []chart.EventSpec{ev("view_item")}, Range: fullRange, GroupBy: []chart.Property{eprop("item_id")}},
		&chart.Segmentation{Events: []chart.EventSpec{ev("view_item")}, Metric: chart.Uniques, Interval: chart.Month, Range: fullRange, GroupBy: []chart.Property{eprop("item_id")}},
		// Past MaxDistribution: 150 items.
		&chart.Segmentation{Events: []chart.EventSpec{ev("view_item"), ev(chart.AnyEvent)}, Metric: chart.Distribution, Property: "item_id", Range: fullRange},
		// Ranges at the change of time and of one day.
		&chart.Segmentation{Events: []chart.EventSpec{ev(chart.AnyEvent)}, Range: dstWeek},
		&chart.Segmentation{Events: []chart.EventSpec{ev(chart.AnyActive)}, Metric: chart.Uniques, Interval: chart.Week, Range: dstWeek, GroupBy: []chart.Property{uprop("country")}},
		&chart.Segmentation{Events: []chart.EventSpec{ev(chart.AnyEvent), ev("purchase")}, Metric: chart.Sum, Property: chart.RevenueProp, Range: oneDay},
		&chart.Segmentation{Events: []chart.EventSpec{ev("session_start")}, Metric: chart.Average, Interval: chart.Month, Range: oneDay, GroupBy: []chart.Property{uprop("plan")}},
		&chart.Segmentation{Events: []chart.EventSpec{ev("purchase")}, Metric: chart.Distribution, Property: chart.RevenueProp, Range: lateRange, GroupBy: []chart.Property{uprop(mediaProp)}},
		// Ranges by default: the DefaultDays days to today, and to a day.
		&chart.Segmentation{Events: []chart.EventSpec{ev(chart.AnyEvent)}, Metric: chart.Uniques, GroupBy: []chart.Property{uprop(mediaProp)}},
		&chart.Segmentation{Events: []chart.EventSpec{ev("purchase")}, Interval: chart.Week, Range: chart.Range{End: "2026-11-15"}},
		// A type no event has.
		&chart.Segmentation{Events: []chart.EventSpec{ev("never_sent")}, Range: midRange},
	)
	return qs
}

func funnelQueries() []*chart.Funnel {
	byMedia := &chart.Property{Property: mediaProp}
	return []*chart.Funnel{
		{Steps: []chart.EventSpec{ev("session_start"), ev("view_item"), ev("purchase")}, Range: fullRange},
		{Steps: []chart.EventSpec{ev("session_start"), ev("view_item"), ev("purchase")}, Range: fullRange, GroupBy: byMedia},
		{Steps: []chart.EventSpec{ev("view_item"), ev("add_to_cart")}, Range: fullRange, ConversionSeconds: 60},
		{Steps: []chart.EventSpec{ev("view_item"), ev("add_to_cart")}, Range: midRange, ConversionSeconds: 1, GroupBy: byMedia},
		{Steps: []chart.EventSpec{ev("view_item", efilter("price", ">", 10.0)), ev("add_to_cart"), ev("purchase"), ev("session_start")},
			Range: midRange, ConversionSeconds: 7 * 24 * 3600, GroupBy: byMedia},
		{Steps: []chart.EventSpec{ev("session_start"), ev("purchase", efilter("revenue", ">", 20.0))}, Range: fullRange, ConversionSeconds: 3600, GroupBy: byMedia},
		{Steps: []chart.EventSpec{ev(chart.AnyEvent), ev("purchase")}, Range: lateRange, GroupBy: &chart.Property{Property: "platform"}},
		{Steps: []chart.EventSpec{ev("view_item"), ev("view_item"), ev("view_item")}, Range: fullRange, ConversionSeconds: 3 * 24 * 3600, GroupBy: &chart.Property{Type: "event", Property: "category"}},
		{Steps: []chart.EventSpec{ev("session_start", ufilter("plan", "=", "free")), ev("session_start", ufilter("plan", "!=", "free"))},
			Range: fullRange, ConversionSeconds: chart.MaxConversion, GroupBy: &chart.Property{Property: "plan"}},
		{Steps: []chart.EventSpec{ev("add_to_cart", ufilter("country", "in", []any{"US", "FR"})), ev("purchase"), ev("level_up", efilter("level", "<", 20.0))},
			Range: dstWeek, ConversionSeconds: 2 * 24 * 3600},
		{Steps: []chart.EventSpec{ev("session_start"), ev("purchase")}, GroupBy: byMedia}, // the last DefaultDays days
		{Steps: []chart.EventSpec{ev("session_start"), ev("ad_view"), ev("purchase"), ev("view_item", efilter("tags", "contains", "new"))},
			Range: oneDay, ConversionSeconds: 30 * 24 * 3600, GroupBy: &chart.Property{Property: campaignPr}},
	}
}

func retentionQueries() []*chart.Retention {
	purchase := ev("purchase")
	shoes := ev("view_item", efilter("category", "=", "shoes"))
	return []*chart.Retention{
		{StartEvent: ev("session_start"), Range: fullRange},
		{StartEvent: ev("session_start"), Range: fullRange, Mode: chart.Unbounded},
		{StartEvent: ev("session_start"), ReturnEvent: &purchase, Range: fullRange, Interval: chart.Week, Periods: 8},
		{StartEvent: ev(chart.AnyEvent), Range: fullRange, Interval: chart.Week, Mode: chart.Unbounded, GroupBy: &chart.Property{Property: mediaProp}},
		{StartEvent: ev("purchase", efilter("revenue", ">", 5.0)), ReturnEvent: &shoes, Range: fullRange, Periods: 10, GroupBy: &chart.Property{Property: "plan"}},
		{StartEvent: ev("view_item"), ReturnEvent: &purchase, Range: midRange, Mode: chart.Unbounded, Periods: 14, GroupBy: &chart.Property{Type: "event", Property: "category"}},
		{StartEvent: ev(chart.AnyActive), Range: lateRange, GroupBy: &chart.Property{Property: "platform"}},
		{StartEvent: ev("session_start", ufilter(mediaProp, "!=", "organic")), Range: dstWeek, Interval: chart.Week, Periods: 3},
		{StartEvent: ev("level_up"), ReturnEvent: &purchase, Range: oneDay, Periods: 40},
		{StartEvent: ev("session_start"), Mode: chart.Unbounded, Periods: 5}, // the last DefaultDays days
	}
}

func ltvQueries() []*chart.LTV {
	return []*chart.LTV{
		{Range: fullRange},
		{Range: fullRange, GroupBy: &chart.Property{Property: mediaProp}},
		{Range: midRange, Days: 10, GroupBy: &chart.Property{Property: "plan"}},
		{Range: lateRange, Days: 60, GroupBy: &chart.Property{Type: "user", Property: mediaProp}},
		{Range: oneDay, Days: 7},
		{Days: 5, GroupBy: &chart.Property{Property: "plan"}}, // the last DefaultDays days
	}
}

// invalidQueries are queries chart.Run refuses with EINVALID.
func invalidQueries() map[string]chart.Query {
	steps := func(n int) []chart.EventSpec {
		s := make([]chart.EventSpec, n)
		for i := range s {
			s[i] = ev("view_item")
		}
		return s
	}
	seg := func(mod func(q *chart.Segmentation)) *chart.Segmentation {
		q := &chart.Segmentation{Events: []chart.EventSpec{ev("purchase")}, Range: fullRange}
		mod(q)
		return q
	}
	return map[string]chart.Query{
		"end before start":     seg(func(q *chart.Segmentation) { q.Range = chart.Range{Start: "2026-11-02", End: "2026-11-01"} }),
		"bad date":             seg(func(q *chart.Segmentation) { q.Range.End = "2026-13-01" }),
		"range over a year":    seg(func(q *chart.Segmentation) { q.Range = chart.Range{Start: "2025-01-01", End: "2026-11-30"} }),
		"unknown metric":       seg(func(q *chart.Segmentation) { q.Metric = "median" }),
		"sum without property": seg(func(q *chart.Segmentation) { q.Metric = chart.Sum }),
		"distribution no prop": seg(func(q *chart.Segmentation) { q.Metric = chart.Distribution }),
		"unknown interval":     seg(func(q *chart.Segmentation) { q.Interval = "hour" }),
		"three group-bys":      seg(func(q *chart.Segmentation) { q.GroupBy = []chart.Property{uprop("a"), uprop("b"), eprop("c")} }),
		"group-by type":        seg(func(q *chart.Segmentation) { q.GroupBy = []chart.Property{{Type: "group", Property: "a"}} }),
		"group-by no property": seg(func(q *chart.Segmentation) { q.GroupBy = []chart.Property{{Type: "user"}} }),
		"bad filter op":        seg(func(q *chart.Segmentation) { q.Events[0].Where = []chart.Filter{efilter("price", "~=", "1")} }),
		"filter > string":      seg(func(q *chart.Segmentation) { q.Events[0].Where = []chart.Filter{efilter("price", ">", "much")} }),
		"filter in no values":  seg(func(q *chart.Segmentation) { q.Events[0].Where = []chart.Filter{{Property: "category", Op: "in"}} }),
		"filter type": seg(func(q *chart.Segmentation) {
			q.Events[0].Where = []chart.Filter{{Type: "group", Property: "x", Op: "=", Value: "y"}}
		}),
		"no events":             seg(func(q *chart.Segmentation) { q.Events = nil }),
		"11 events":             seg(func(q *chart.Segmentation) { q.Events = steps(11) }),
		"no event type":         seg(func(q *chart.Segmentation) { q.Events = []chart.EventSpec{{}} }),
		"11 funnel steps":       &chart.Funnel{Steps: steps(11), Range: fullRange},
		"1 funnel step":         &chart.Funnel{Steps: steps(1), Range: fullRange},
		"conversion over max":   &chart.Funnel{Steps: steps(2), Range: fullRange, ConversionSeconds: chart.MaxConversion + 1},
		"negative conversion":   &chart.Funnel{Steps: steps(2), Range: fullRange, ConversionSeconds: -5},
		"funnel bad range":      &chart.Funnel{Steps: steps(2), Range: chart.Range{Start: "2026-11-02", End: "2026-11-01"}},
		"retention interval":    &chart.Retention{StartEvent: ev("session_start"), Range: fullRange, Interval: "hour"},
		"retention mode":        &chart.Retention{StartEvent: ev("session_start"), Range: fullRange, Mode: "bounded"},
		"retention periods":     &chart.Retention{StartEvent: ev("session_start"), Range: fullRange, Periods: chart.MaxPeriods + 1},
		"retention neg periods": &chart.Retention{StartEvent: ev("session_start"), Range: fullRange, Periods: -1},
		"retention no start":    &chart.Retention{Range: fullRange},
		"ltv negative days":     &chart.LTV{Range: fullRange, Days: -1},
		"ltv bad range":         &chart.LTV{Range: chart.Range{Start: "2026-11-30", End: "2026-10-01"}},
	}
}

// TestBruteForceCharts checks every chart against a brute-force reading
// of the same events, in a project on UTC and one in a zone that leaves
// DST within the data, on the embedded store.
func TestBruteForceCharts(t *testing.T) { bruteForce(t, openSQLite, bruteZones) }

// TestBruteForceChartsPostgres checks the same on the PostgreSQL store,
// in the zone that leaves DST only: filling a database takes seconds a
// project, and what the store's scans give does not depend on the zone.
func TestBruteForceChartsPostgres(t *testing.T) { bruteForce(t, openPostgres, bruteZones[1:]) }

// bruteZone is a project's zone, with its data's seed.
type bruteZone struct {
	zone string
	seed uint64
}

var bruteZones = []bruteZone{{"UTC", 1}, {"America/Los_Angeles", 2}}

// bruteForce checks every chart on stores from open, in projects on
// zones.
func bruteForce(t *testing.T, open opener, zones []bruteZone) {
	for _, tc := range zones {
		t.Run(strings.ReplaceAll(tc.zone, "/", "_"), func(t *testing.T) {
			f := newFixture(t, open, tc.zone, tc.seed, 300)
			t.Run("segmentation", func(t *testing.T) {
				for i, q := range segmentationQueries() {
					t.Run(fmt.Sprint(i), func(t *testing.T) { f.checkSegmentation(t, q) })
				}
			})
			t.Run("funnel", func(t *testing.T) {
				for i, q := range funnelQueries() {
					t.Run(fmt.Sprint(i), func(t *testing.T) { f.checkFunnel(t, q) })
				}
			})
			t.Run("retention", func(t *testing.T) {
				for i, q := range retentionQueries() {
					t.Run(fmt.Sprint(i), func(t *testing.T) { f.checkRetention(t, q) })
				}
			})
			t.Run("ltv", func(t *testing.T) {
				for i, q := range ltvQueries() {
					t.Run(fmt.Sprint(i), func(t *testing.T) { f.checkLTV(t, q) })
				}
			})
			t.Run("invalid", func(t *testing.T) { f.checkInvalid(t) })
		})
	}
}

// checkInvalid checks that bad queries are refused with EINVALID and
// leave the store's charts as they were, and that a project that is not
// there is ENOTFOUND.
func (f *fixture) checkInvalid(t *testing.T) {
	ref := func() []any {
		var out []any
		for _, q := range []chart.Query{
			&chart.Segmentation{Events: []chart.EventSpec{ev(chart.AnyEvent)}, Range: fullRange, GroupBy: []chart.Property{uprop(mediaProp)}},
			&chart.LTV{Range: fullRange, GroupBy: &chart.Property{Property: mediaProp}},
		} {
			out = append(out, f.run(t, q))
		}
		return out
	}
	before := ref()
	qs := invalidQueries()
	names := make([]string, 0, len(qs))
	for name := range qs {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		res, err := chart.Run(context.Background(), f.db, f.ctx(), qs[name])
		if code := touchpoint.ErrorCode(err); code != touchpoint.EINVALID {
			t.Errorf("%s: %s: got %v (%q), result %v; want %s", name, describe(qs[name]), err, code, res, touchpoint.EINVALID)
		}
	}
	if after := ref(); !reflect.DeepEqual(before, after) {
		t.Errorf("charts changed after the invalid queries")
	}
	c := f.ctx()
	c.Project = f.project + 1000
	_, err := chart.Run(context.Background(), f.db, c, &chart.Segmentation{Events: []chart.EventSpec{ev("purchase")}, Range: fullRange})
	if code := touchpoint.ErrorCode(err); code != touchpoint.ENOTFOUND {
		t.Errorf("a project that is not there: %v (%q), want %s", err, code, touchpoint.ENOTFOUND)
	}
}
