package storetest

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// scanned is one event of a scan, its columns read out.
type scanned struct {
	user  int64
	typ   string
	time  int64
	props []any
}

func (e scanned) String() string {
	return fmt.Sprintf("%d %s %d %v", e.user, e.typ, e.time, e.props)
}

// ChartStore is what the chart cases need: the charts' scans, and the
// events, projects (and apps) they read.
type ChartStore interface {
	AnalyticsStore
	touchpoint.ChartSource
}

// RunCharts runs the chart scans' cases against stores from open.
func RunCharts(t *testing.T, open func(t *testing.T, now func() time.Time) ChartStore) {
	runParts(t, chartTests, open)
}

// scanAll runs ScanEvents and returns the events sorted by time and type.
func scanAll(tb testing.TB, s touchpoint.ChartSource, project int64, scan touchpoint.EventScan) []scanned {
	tb.Helper()
	var out []scanned
	err := s.ScanEvents(ctxb(), project, &scan, func(b *touchpoint.EventBatch) error {
		if len(b.Type) != b.Len() || len(b.Time) != b.Len() || len(b.Props) != len(scan.Props) || len(b.Dicts) != len(scan.Props) {
			tb.Fatalf("a batch's columns differ in length: %d users, %d types, %d times, %d props", b.Len(), len(b.Type), len(b.Time), len(b.Props))
		}
		for i := range b.Len() {
			e := scanned{user: b.User[i], typ: b.TypeNames[b.Type[i]], time: b.Time[i]}
			for j := range b.Props {
				e.props = append(e.props, b.Dicts[j].Value(b.Props[j][i]))
			}
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("ScanEvents(%+v): %v", scan, err)
	}
	slices.SortFunc(out, func(a, b scanned) int { return strings.Compare(a.String(), b.String()) })
	return out
}

var chartTests = []part[ChartStore]{
	{"Charts/ScanEvents", func(t *testing.T, s ChartStore, c *Clock) {
		p := MustCreateProject(t, s, "Game")
		other := MustCreateProject(t, s, "Other")
		at := func(h int) int64 { return Start.Add(time.Duration(h) * time.Hour).UnixMilli() }
		upload(t, s, other, Start.Add(10*time.Hour), fmt.Sprintf(`{"device_id":"device-1","event_type":"purchase","time":%d}`, at(1)))
		// d1 buys before its media source is set, then after; alice (on
		// d2) buys; then d1 turns out to be alice: merged.
		upload(t, s, p, Start.Add(10*time.Hour),
			fmt.Sprintf(`{"device_id":"device-1","event_type":"purchase","time":%d,"platform":"iOS","price":2.5,"quantity":2,"event_properties":{"price":"7","revenue":99}}`, at(1)),
			fmt.Sprintf(`{"device_id":"device-1","event_type":"$identify","time":%d,"user_properties":{"$set":{"[AppsFlyer] media source":"examplenet"}}}`, at(2)),
			fmt.Sprintf(`{"device_id":"device-1","event_type":"purchase","time":%d,"platform":"Android","revenue":3}`, at(3)),
			fmt.Sprintf(`{"device_id":"device-2","user_id":"alice","event_type":"open","time":%d}`, at(4)),
			fmt.Sprintf(`{"device_id":"device-2","user_id":"alice","event_type":"purchase","time":%d}`, at(5)))
		upload(t, s, p, Start.Add(11*time.Hour), fmt.Sprintf(`{"device_id":"device-1","user_id":"alice","event_type":"open","time":%d}`, at(6)))
		alice := mustLookup(t, s, p, "alice", "")
		if d1 := mustLookup(t, s, p, "", "device-1"); d1.AmplitudeID != alice.AmplitudeID {
			t.Fatalf("d1 is %d, alice %d: not merged, the test needs a merge", d1.AmplitudeID, alice.AmplitudeID)
		}
		u := alice.AmplitudeID
		// Every event of one type in the range, with columns.
		got := scanAll(t, s, p.ID, touchpoint.EventScan{Start: at(1), End: at(5), Types: []string{"purchase"}, Props: []touchpoint.PropertyRef{
			{Name: "[AppsFlyer] media source", User: true}, {Name: "price"}, {Name: "revenue", Top: true}, {Name: "platform", User: true}, {Name: "revenue"}}})
		want := []scanned{
			{u, "purchase", at(1), []any{nil, "7", 5.0, "iOS", 99.0}},
			{u, "purchase", at(3), []any{"examplenet", nil, 3.0, "Android", 3.0}},
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("scan of purchases\n got %v\nwant %v", got, want)
		}
		// Only the events with revenue, of every type.
		got = scanAll(t, s, p.ID, touchpoint.EventScan{Start: at(1), End: at(6), Props: []touchpoint.PropertyRef{{Name: "revenue", Top: true}}, Require: []int{0}})
		want = []scanned{{u, "purchase", at(1), []any{5.0}}, {u, "purchase", at(3), []any{3.0}}}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("events with revenue\n got %v\nwant %v", got, want)
		}
		// Require names any column: only the events with a price (its
		// event_properties member, else its top-level field).
		got = scanAll(t, s, p.ID, touchpoint.EventScan{Start: at(1), End: at(6), Props: []touchpoint.PropertyRef{{Name: "revenue", Top: true}, {Name: "price"}}, Require: []int{1}})
		want = []scanned{{u, "purchase", at(1), []any{5.0, "7"}}}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("events with a price\n got %v\nwant %v", got, want)
		}
		// Every type ($identify is not an event): the types are named, the
		// end is excluded, another project's events are not there.
		got = scanAll(t, s, p.ID, touchpoint.EventScan{Start: at(1), End: at(6)})
		var types []string
		for _, e := range got {
			if e.user != u {
				t.Errorf("event %v counts for user %d, not %d", e, e.user, u)
			}
			types = append(types, e.typ)
		}
		slices.Sort(types)
		if strings.Join(types, ",") != "open,purchase,purchase,purchase" {
			t.Fatalf("types of every event: %v", types)
		}
		if got := scanAll(t, s, p.ID, touchpoint.EventScan{Start: at(1), End: math.MaxInt64, Types: []string{"never"}}); len(got) != 0 {
			t.Fatalf("an unknown type gives %v", got)
		}
		if got := scanAll(t, s, other.ID, touchpoint.EventScan{Start: 0, End: math.MaxInt64}); len(got) != 1 {
			t.Fatalf("the other project's events: %v", got)
		}
		// Events stored after a scan are in the next one.
		upload(t, s, p, Start.Add(12*time.Hour), fmt.Sprintf(`{"device_id":"device-3","event_type":"purchase","time":%d,"event_properties":{"price":1}}`, at(2)))
		if got := scanAll(t, s, p.ID, touchpoint.EventScan{Start: at(1), End: at(5), Types: []string{"purchase"}}); len(got) != 3 {
			t.Fatalf("after one more purchase: %v", got)
		}
		upload(t, s, p, Start.Add(12*time.Hour), fmt.Sprintf(`{"device_id":"device-3","event_type":"refund","time":%d,"revenue":-2}`, at(2)))
		got = scanAll(t, s, p.ID, touchpoint.EventScan{Start: at(1), End: at(5), Props: []touchpoint.PropertyRef{{Name: "revenue", Top: true}}, Require: []int{0}})
		if len(got) != 3 || got[2].typ != "refund" || got[2].props[0] != -2.0 {
			t.Fatalf("events with revenue after a refund: %v", got)
		}
		if err := s.ScanEvents(ctxb(), 9999, &touchpoint.EventScan{End: 1}, func(*touchpoint.EventBatch) error { return nil }); code(err) != touchpoint.ENOTFOUND {
			t.Fatalf("no project: %v", err)
		}
	}},
	{"Charts/ScanUsers", func(t *testing.T, s ChartStore, c *Clock) {
		p := MustCreateProject(t, s, "Game")
		at := func(h int) int64 { return Start.Add(time.Duration(h) * time.Hour).UnixMilli() }
		upload(t, s, p, Start.Add(10*time.Hour),
			fmt.Sprintf(`{"device_id":"device-1","event_type":"open","time":%d,"country":"DE"}`, at(1)),
			fmt.Sprintf(`{"device_id":"device-2","user_id":"alice","event_type":"open","time":%d,"user_properties":{"$set":{"plan":"gold"}}}`, at(3)),
			fmt.Sprintf(`{"device_id":"device-3","event_type":"open","time":%d,"user_properties":{"$set":{"plan":"free"}}}`, at(2)))
		upload(t, s, p, Start.Add(11*time.Hour),
			fmt.Sprintf(`{"device_id":"device-1","user_id":"alice","event_type":"open","time":%d,"user_properties":{"$set":{"plan":"platinum"}}}`, at(4)))
		alice := mustLookup(t, s, p, "alice", "")
		d3 := mustLookup(t, s, p, "", "device-3")
		type row struct {
			user, first int64
			plan, ctry  any
		}
		var got []row
		err := s.ScanUsers(ctxb(), p.ID, []string{"plan", "country"}, func(b *touchpoint.UserBatch) error {
			for i, id := range b.User {
				got = append(got, row{id, b.FirstSeen[i], b.Dicts[0].Value(b.Props[0][i]), b.Dicts[1].Value(b.Props[1][i])})
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(got, func(a, b row) int { return int(a.user - b.user) })
		want := []row{{alice.AmplitudeID, at(1), "platinum", "DE"}, {d3.AmplitudeID, at(2), "free", nil}}
		slices.SortFunc(want, func(a, b row) int { return int(a.user - b.user) })
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("users\n got %v\nwant %v", got, want)
		}
		// CountUsers counts what ScanUsers gives: merged users are not.
		if n, err := s.CountUsers(ctxb(), p.ID); err != nil || n != int64(len(want)) {
			t.Fatalf("CountUsers = %d, %v; want %d", n, err, len(want))
		}
		empty := MustCreateProject(t, s, "Empty")
		if n, err := s.CountUsers(ctxb(), empty.ID); err != nil || n != 0 {
			t.Fatalf("CountUsers of an empty project = %d, %v", n, err)
		}
		if _, err := s.CountUsers(ctxb(), 9999); code(err) != touchpoint.ENOTFOUND {
			t.Fatalf("CountUsers of no project: %v", err)
		}
	}},
}
