package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/analytics"
	"github.com/touchpointhq/touchpoint/geo"
	"github.com/touchpointhq/touchpoint/internal/mmdbtest"
)

func init() { chartTests = append(chartTests, geoChartTests...) }

// geoChartTests check what serve --geoip-db and the User-Agent add to
// events (package geo) as the charts read it back: the country as the
// built-in user property, city and the device fields as top-level
// event fields, and the user's country as the last event's.
var geoChartTests = []part[ChartStore]{
	{"Charts/GeoEnriched", func(t *testing.T, s ChartStore, c *Clock) {
		db, err := geo.Open(mmdbtest.Write(t, "GeoLite2-City"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		en := &geo.Enricher{DB: db, UA: true}
		p := MustCreateProject(t, s, "Game")
		at := func(h int) int64 { return Start.Add(time.Duration(h) * time.Hour).UnixMilli() }
		const chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
		send := func(remoteIP string, events ...string) {
			t.Helper()
			body := `{"api_key":"` + p.APIKey + `","events":[` + joinEvents(events) + `]}`
			up, rej := analytics.DecodeUpload([]byte(body), analytics.Request{Endpoint: analytics.HTTPAPI, Now: Start.Add(10 * time.Hour), RemoteIP: remoteIP})
			if rej != nil {
				t.Fatalf("DecodeUpload: %+v", rej)
			}
			for _, e := range up.Events {
				en.Event(e, remoteIP, chrome)
			}
			record(t, s, p, Start.Add(10*time.Hour), up.Events)
		}
		// device-1 in London, then in Sweden; device-2, a native app,
		// sends its own country (kept) from a US address: no city under
		// it, no browser's fields; device-3 from nowhere known.
		send("81.2.69.142", fmt.Sprintf(`{"device_id":"device-1","event_type":"open","time":%d}`, at(1)))
		send("203.0.113.9", fmt.Sprintf(`{"device_id":"device-1","event_type":"open","time":%d,"ip":"89.160.20.112"}`, at(2)),
			fmt.Sprintf(`{"device_id":"device-2","event_type":"open","time":%d,"ip":"216.160.83.56","country":"Canada","platform":"iOS"}`, at(3)),
			fmt.Sprintf(`{"device_id":"device-3","event_type":"open","time":%d}`, at(4)))
		d1, d2, d3 := mustLookup(t, s, p, "", "device-1"), mustLookup(t, s, p, "", "device-2"), mustLookup(t, s, p, "", "device-3")
		got := scanAll(t, s, p.ID, touchpoint.EventScan{Start: at(0), End: at(10), Props: []touchpoint.PropertyRef{
			{Name: "country", User: true}, {Name: "city"}, {Name: "os_name"}, {Name: "device_type"}, {Name: "platform", User: true}}})
		want := []scanned{
			{d1.AmplitudeID, "open", at(1), []any{"United Kingdom", "London", "Chrome", "Desktop", "Web"}},
			{d1.AmplitudeID, "open", at(2), []any{"Sweden", "Linköping", "Chrome", "Desktop", "Web"}},
			{d2.AmplitudeID, "open", at(3), []any{"Canada", nil, nil, nil, "iOS"}},
			{d3.AmplitudeID, "open", at(4), []any{nil, nil, "Chrome", "Desktop", "Web"}},
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("events\n got %v\nwant %v", got, want)
		}
		users := map[int64]any{}
		err = s.ScanUsers(ctxb(), p.ID, []string{"country"}, func(b *touchpoint.UserBatch) error {
			for i, id := range b.User {
				users[id] = b.Dicts[0].Value(b.Props[0][i])
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if users[d1.AmplitudeID] != "Sweden" || users[d2.AmplitudeID] != "Canada" || users[d3.AmplitudeID] != nil {
			t.Errorf("users' countries %v", users)
		}
	}},
}

func joinEvents(events []string) string {
	out := ""
	for i, e := range events {
		if i > 0 {
			out += ","
		}
		out += e
	}
	return out
}
