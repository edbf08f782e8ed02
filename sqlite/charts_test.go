package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/sqlite"
	"github.com/touchpointhq/touchpoint/storetest"
)

// TestChartLoadsInParts: the charts' columns loaded in parts (events,
// users' property versions, revenue) scan the same as loaded in one.
func TestChartLoadsInParts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "touchpoint.db")
	now := storetest.Start
	db := sqlite.NewDB(path)
	db.Clock = func() time.Time { return now }
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	p := &touchpoint.Project{Name: "Game", Limits: touchpoint.IngestLimits{HTTPEPS: 1000, BatchEPS: 1000}}
	if err := db.CreateProject(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	sources := []string{"examplenet", "othernet", "organic"}
	for i := range 60 {
		var events []string
		for j := range 5 {
			e := fmt.Sprintf(`{"device_id":"device-%03d","event_type":"e%d","time":%d`, i%23, j%3, now.Add(-time.Duration(i*5+j)*time.Minute).UnixMilli())
			if j == 0 {
				e += fmt.Sprintf(`,"user_properties":{"$set":{"source":%q,"n":%d}}`, sources[(i+j)%3], i)
			}
			if j == 4 {
				e += fmt.Sprintf(`,"price":%d.5`, i)
			}
			events = append(events, e+"}")
		}
		recordJSON(t, db, p, now, events...)
	}
	scan := func(db *sqlite.DB) []string {
		var out []string
		s := &touchpoint.EventScan{Start: 0, End: math.MaxInt64, Props: []touchpoint.PropertyRef{
			{Name: "source", User: true}, {Name: "n", User: true}, {Name: "revenue", Top: true}}}
		err := db.ScanEvents(context.Background(), p.ID, s, func(b *touchpoint.EventBatch) error {
			for i := range b.Len() {
				out = append(out, fmt.Sprintf("%d %s %d %v %v %v", b.User[i], b.TypeNames[b.Type[i]], b.Time[i],
					b.Dicts[0].Value(b.Props[0][i]), b.Dicts[1].Value(b.Props[1][i]), b.Dicts[2].Value(b.Props[2][i])))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(out)
		return out
	}
	if n := len(scan(db)); n != 300 {
		t.Fatalf("%d events scanned, want 300", n)
	}
	// Events written once the columns are loaded join them as they are
	// committed (the same as read from the tables: below).
	recordJSON(t, db, p, now, `{"device_id":"device-new","event_type":"new type","revenue":3,"user_properties":{"$set":{"source":"late"}}}`,
		`{"device_id":"device-001","event_type":"e1","price":1.25}`)
	whole := scan(db)
	if len(whole) != 302 || !slices.ContainsFunc(whole, func(e string) bool {
		return strings.HasSuffix(e, "new type "+fmt.Sprint(now.UnixMilli())+" late <nil> 3")
	}) {
		t.Fatalf("after two more events: %d, %v", len(whole), whole[len(whole)-3:])
	}
	db.Close()
	for _, parts := range []int{2, 3, 7} {
		restore := sqlite.SplitLoads(0, parts)
		db := sqlite.NewDB(path)
		db.Clock = func() time.Time { return now }
		if err := db.Open(); err != nil {
			t.Fatal(err)
		}
		got := scan(db)
		db.Close()
		restore()
		if !slices.Equal(got, whole) {
			t.Fatalf("loaded in %d parts:\n%v\nin one:\n%v", parts, got[:5], whole[:5])
		}
	}
}

// TestChartScansWhileWriting: scans run while events are written, some
// of them given up by their callers midway, and every event a scan
// returns carries its own values (each event sets a property of its
// own, so a version read for the wrong event shows).
func TestChartScansWhileWriting(t *testing.T) {
	now := storetest.Start
	db, p := chartStore(t, now)
	const uploads, per = 150, 20
	scan := func(ctx context.Context) (int, error) {
		s := &touchpoint.EventScan{Start: 0, End: math.MaxInt64, Props: []touchpoint.PropertyRef{{Name: "n", User: true}, {Name: "revenue", Top: true}}}
		n := 0
		err := db.ScanEvents(ctx, p.ID, s, func(b *touchpoint.EventBatch) error {
			for i := range b.Len() {
				want := float64(now.UnixMilli()-b.Time[i]) / 1000 // the event's own number
				if got := b.Dicts[0].Value(b.Props[0][i]); got != want {
					return fmt.Errorf("event of %s carries n = %v", time.UnixMilli(b.Time[i]).UTC(), got)
				}
				if got := b.Dicts[1].Value(b.Props[1][i]); got != 1.5 {
					return fmt.Errorf("event of %s has revenue %v", time.UnixMilli(b.Time[i]).UTC(), got)
				}
				n++
			}
			return nil
		})
		return n, err
	}
	done := make(chan struct{})
	errs := make(chan error, 2)
	for _, giveUp := range []bool{false, true} {
		go func() {
			for {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				ctx, cancel := context.WithCancel(context.Background())
				if giveUp {
					time.AfterFunc(time.Millisecond, cancel)
				}
				_, err := scan(ctx)
				cancel()
				if err != nil && !errors.Is(err, context.Canceled) {
					errs <- err
					return
				}
			}
		}()
	}
	for u := range uploads {
		var events []string
		for j := range per {
			i := u*per + j + 1
			events = append(events, fmt.Sprintf(`{"device_id":"device-%03d","event_type":"e%d","time":%d,"price":1.5,"user_properties":{"$set":{"n":%d}}}`,
				i%37, i%5, now.Add(-time.Duration(i)*time.Second).UnixMilli(), i))
		}
		recordJSON(t, db, p, now, events...)
	}
	close(done)
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n, err := scan(context.Background()); err != nil || n != uploads*per {
		t.Fatalf("after the writes: %d events, %v; want %d", n, err, uploads*per)
	}
}

// TestChartPropertyColumnsDropped: asking for more user properties than
// the store keeps columns of drops the least recent, and a property asked
// for again is worked out again, the same.
func TestChartPropertyColumnsDropped(t *testing.T) {
	now := storetest.Start
	db, p := chartStore(t, now)
	var set []string
	for i := range 40 {
		set = append(set, fmt.Sprintf(`"p%d":"v%d"`, i, i))
	}
	recordJSON(t, db, p, now, `{"device_id":"device-1","event_type":"open","user_properties":{"$set":{`+strings.Join(set, ",")+`}}}`)
	value := func(name string) any {
		var got any
		s := &touchpoint.EventScan{Start: 0, End: math.MaxInt64, Props: []touchpoint.PropertyRef{{Name: name, User: true}}}
		if err := db.ScanEvents(context.Background(), p.ID, s, func(b *touchpoint.EventBatch) error {
			got = b.Dicts[0].Value(b.Props[0][0])
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	for round := range 2 {
		for i := range 40 {
			if got := value(fmt.Sprintf("p%d", i)); got != fmt.Sprintf("v%d", i) {
				t.Fatalf("round %d: p%d = %v", round, i, got)
			}
		}
	}
}

// chartStore opens a new store whose clock stands at now, with a project
// whose limits no test reaches.
func chartStore(t *testing.T, now time.Time) (*sqlite.DB, *touchpoint.Project) {
	t.Helper()
	db := sqlite.NewDB(filepath.Join(t.TempDir(), "touchpoint.db"))
	db.Clock = func() time.Time { return now }
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	p := &touchpoint.Project{Name: "Game", Limits: touchpoint.IngestLimits{HTTPEPS: 100000, BatchEPS: 100000}}
	if err := db.CreateProject(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	return db, p
}
