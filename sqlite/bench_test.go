package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/storetest"
)

// BenchmarkRecordTouches measures the durable append per touch by group
// size (the lookup index is built later, by IndexPending, measured apart).
func BenchmarkRecordTouches(b *testing.B) {
	for _, size := range []int{1, 4, 16, 64} {
		b.Run(fmt.Sprintf("group=%d", size), func(b *testing.B) {
			db := MustOpen(b, filepath.Join(b.TempDir(), "t.db"), time.Now)
			storetest.MustCreateApp(b, db, "com.example.game")
			ts := make([]*touchpoint.Touch, size)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i += size {
				now := time.Now()
				for j := range ts {
					ts[j] = storetest.NewTouch("com.example.game", "examplenet_int", now)
					ts[j].Device[touchpoint.GAID].Raw = fmt.Sprintf("38400000-8cf0-11bd-b23e-%012d", i+j)
					ts[j].Params.ClickID = fmt.Sprintf("click%d", i+j)
				}
				if err := db.RecordTouches(context.Background(), ts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkIndexPending measures building the lookup index, per touch
// (three keys each), in rounds of 100,000 touches.
func BenchmarkIndexPending(b *testing.B) {
	db := MustOpen(b, filepath.Join(b.TempDir(), "t.db"), time.Now)
	storetest.MustCreateApp(b, db, "com.example.game")
	const round = 100_000
	b.ResetTimer()
	for done := 0; done < b.N; done += round {
		b.StopTimer()
		ts := make([]*touchpoint.Touch, 64)
		for i := 0; i < round; i += len(ts) {
			for j := range ts {
				ts[j] = storetest.NewTouch("com.example.game", "examplenet_int", time.Now())
				ts[j].Device = touchpoint.DeviceIDs{}
				ts[j].Device[touchpoint.GAID].Raw = fmt.Sprintf("38400000-8cf0-11bd-b23e-%012d", done+i+j)
				ts[j].Params.ClickID = fmt.Sprintf("click%d", done+i+j)
			}
			if err := db.RecordTouches(context.Background(), ts); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		if err := db.IndexPending(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
