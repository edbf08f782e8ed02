package sqlite

import (
	"math/rand/v2"
	"testing"

	"github.com/touchpointhq/touchpoint"
)

func BenchmarkKeyTailAdd(b *testing.B) {
	t := newKeyTail(550_000)
	ids := make([]int64, 1)
	keys := [][]touchpoint.LookupKey{make([]touchpoint.LookupKey, 3)}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%170_000 == 0 {
			t.take()
			t.done()
		}
		ids[0] = int64(i)
		for j := range keys[0] {
			keys[0][j] = touchpoint.LookupKey(rand.Int64())
		}
		t.add(ids, keys)
	}
}
