package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// TestKeyTailRetakeHWM checks that a segment taken again (after a failed
// round) covers only its own ids, not those added to the tail since.
func TestKeyTailRetakeHWM(t *testing.T) {
	kt := newKeyTail(16)
	kt.add([]int64{1, 2}, [][]touchpoint.LookupKey{{10}, {11}})
	if _, hwm := kt.take(); hwm != 2 {
		t.Fatalf("first take: hwm %d, want 2", hwm)
	}
	kt.add([]int64{3, 4}, [][]touchpoint.LookupKey{{12}, {13}})
	seg, hwm := kt.take() // the round failed: the same segment again
	if hwm != 2 || len(seg.entries) != 2 {
		t.Fatalf("retake: hwm %d with %d entries, want 2 with 2", hwm, len(seg.entries))
	}
	kt.done()
	if seg, hwm := kt.take(); hwm != 4 || len(seg.entries) != 2 {
		t.Fatalf("next take: hwm %d with %d entries, want 4 with 2", hwm, len(seg.entries))
	}
}

// TestSettleWithIndexer checks that Settle, running while the background
// indexer writes rounds, returns only when every key is in the key tables,
// and that no key is lost when the store closes right after.
func TestSettleWithIndexer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.db")
	db := NewDB(path)
	db.IndexBatch, db.IndexInterval = 20_000, time.Millisecond
	db.LoadBatch = 10_000
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	app := &touchpoint.App{ID: "com.example.game", Platform: touchpoint.Android, Name: "Game",
		Windows: touchpoint.DefaultWindows(), StoreURL: "https://play.google.com/store/apps/details?id=com.example.game"}
	if err := db.CreateApp(ctx, app); err != nil {
		t.Fatal(err)
	}
	const n = 300_000
	start := time.Now().Add(-10 * 24 * time.Hour) // two weeks of partitions
	step := 10 * 24 * time.Hour / n
	batch := make([]*touchpoint.Touch, 0, 1024)
	for i := range n {
		tc := &touchpoint.Touch{App: app.ID, Kind: touchpoint.Click, PID: "examplenet_int",
			Time: start.Add(time.Duration(i) * step), IP: fmt.Sprintf("10.0.%d.%d", i>>8&255, i&255)}
		tc.Params.ClickID = fmt.Sprint("click-", i)
		tc.Device[touchpoint.GAID].Raw = fmt.Sprintf("38400000-8cf0-11bd-b23e-%012d", i%5000)
		batch = append(batch, tc)
		if len(batch) == cap(batch) || i == n-1 {
			if err := db.RecordTouches(ctx, batch); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if err := db.Settle(ctx); err != nil {
		t.Fatal(err)
	}
	count := func(db *DB) int64 {
		var total int64
		for _, w := range db.partitions(time.Time{}) {
			var c int64
			if err := db.read.QueryRowContext(ctx, "SELECT count(*) FROM "+keyTable(w)).Scan(&c); err != nil {
				t.Fatal(err)
			}
			total += c
		}
		return total
	}
	if got := count(db); got != 3*n {
		t.Fatalf("after Settle: %d keys in the tables, want %d", got, 3*n)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = NewDB(path)
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	if got := count(db); got != 3*n {
		t.Fatalf("after reopening: %d keys in the tables, want %d", got, 3*n)
	}
}
