package sqlite_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/analytics"
	"github.com/touchpointhq/touchpoint/storetest"
)

// BenchmarkRecordEvents measures the analytics write path on traffic like
// a real app's: each op records 100 uploads of 100 events of 3,000 known
// devices (a third logged in), every event with an insert id, platform,
// country and advertising ids, one in ten changing a user property, a few
// identifies, and attribution events held and matched in the same commit.
func BenchmarkRecordEvents(b *testing.B) {
	const uploads, perUpload, devices = 100, 100, 3000
	now := storetest.Start
	db := MustOpen(b, filepath.Join(b.TempDir(), "t.db"), func() time.Time { return now })
	p := storetest.MustCreateProject(b, db, "Game")
	rng := rand.New(rand.NewPCG(1, 2))
	event := func(d int, extra string) string {
		user := ""
		if d%3 == 0 {
			user = fmt.Sprintf(`"user_id":"user-%05d",`, d)
		}
		return fmt.Sprintf(`{%s"device_id":"device-%05d","event_type":"event-%d","platform":"Android","country":"France",`+
			`"adid":"gaid-%05d-0000-0000","event_properties":{"level":%d,"score":%d,"screen":"shop"}%s}`,
			user, d, rng.IntN(20), d, rng.IntN(100), rng.IntN(10000), extra)
	}
	decode := func(events []string) []*touchpoint.IncomingEvent {
		body := `{"api_key":"` + p.APIKey + `","events":[` + strings.Join(events, ",") + `]}`
		up, rej := analytics.DecodeUpload([]byte(body), analytics.Request{Endpoint: analytics.BatchAPI, Now: now})
		if rej != nil {
			b.Fatalf("DecodeUpload: %+v", rej)
		}
		return up.Events
	}
	// The template of one op's uploads; each op gives the events fresh
	// insert ids.
	tmpl := make([][]*touchpoint.IncomingEvent, uploads)
	for i := range tmpl {
		evs := make([]string, perUpload)
		for j := range evs {
			d := rng.IntN(devices)
			extra := ""
			switch r := rng.IntN(100); {
			case r < 8:
				extra = fmt.Sprintf(`,"user_properties":{"$set":{"plan":"plan-%d"},"$add":{"coins":%d}}`, rng.IntN(4), rng.IntN(10))
			case r < 10:
				extra = fmt.Sprintf(`,"user_properties":{"level":%d}`, rng.IntN(50))
			case r < 11:
				evs[j] = fmt.Sprintf(`{"device_id":"device-%05d","event_type":"$identify","user_properties":{"$set":{"vip":%t}}}`, d, rng.IntN(2) == 0)
				continue
			}
			evs[j] = event(d, extra)
		}
		tmpl[i] = decode(evs)
	}
	// Every device known, as in steady traffic.
	warm := make([]string, 0, devices)
	for d := range devices {
		warm = append(warm, event(d, `,"user_properties":{"$set":{"plan":"free"}}`))
	}
	for i := 0; i < len(warm); i += 1000 {
		if err := db.RecordEvents(context.Background(), []*touchpoint.EventUpload{{Project: p.ID, Received: now, Events: decode(warm[i : i+1000])}}); err != nil {
			b.Fatal(err)
		}
	}
	var op int
	build := func() []*touchpoint.EventUpload {
		op++
		ups := make([]*touchpoint.EventUpload, uploads)
		for i, evs := range tmpl {
			cp := make([]*touchpoint.IncomingEvent, 0, len(evs)+2)
			for j, e := range evs {
				c := *e
				if j == 1 && evs[0].Kind == touchpoint.TrackEvent {
					c, j = *evs[0], 0 // a retry of the first event
				}
				if c.Kind == touchpoint.TrackEvent {
					c.InsertID = fmt.Sprintf("%d-%d-%d", op, i, j)
				}
				cp = append(cp, &c)
			}
			// Every tenth upload: an attribution for a new advertising id,
			// matched by an event of a new device later in the op.
			if i%10 == 0 {
				gaid := fmt.Sprintf("gaid-new-%d-%d", op, i)
				a := &touchpoint.IncomingEvent{Kind: touchpoint.AttributionEvent, EventType: "[Adjust] Install", Time: now.UnixMilli(),
					AdIDs: touchpoint.AdIDs{ADID: gaid}, UserProperties: map[string]any{"[adjust] network": "Examplenet"},
					Data: []byte(`{"event_type":"[Adjust] Install","platform":"android"}`)}
				m := *evs[0]
				m.Kind, m.UserID, m.DeviceID, m.InsertID = touchpoint.TrackEvent, "", fmt.Sprintf("device-new-%d-%d", op, i), ""
				m.AdIDs = touchpoint.AdIDs{ADID: gaid}
				cp = append(cp, a, &m)
			}
			ups[i] = &touchpoint.EventUpload{Project: p.ID, Received: now, Events: cp}
		}
		return ups
	}
	b.ReportAllocs()
	b.ResetTimer()
	var cpu time.Duration // of the process while recording
	for range b.N {
		b.StopTimer()
		ups := build()
		b.StartTimer()
		start := processCPU()
		if err := db.RecordEvents(context.Background(), ups); err != nil {
			b.Fatal(err)
		}
		cpu += processCPU() - start
	}
	events := float64(b.N * uploads * perUpload)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/events, "ns/event")
	if cpu > 0 {
		// CPU time varies less than wall time on a busy machine.
		b.ReportMetric(float64(cpu.Nanoseconds())/events, "cpu-ns/event")
	}
}
