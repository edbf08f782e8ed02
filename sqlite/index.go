package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"sort"

	"github.com/touchpointhq/touchpoint"
)

// The lookup index is built behind the durable append. RecordTouches puts
// the touches' lookup keys in the key tail, in memory (tail.go). The
// indexer writes the tail to the key tables in large sorted rounds: inserting N random keys
// into a B-tree one commit at a time dirties about N pages per commit, while
// a round sorted by key dirties each page once however many of its keys it
// carries (measured: 14 µs per key in rounds of 20,000 keys, 1.6 µs in
// rounds of 600,000). A round starts when IndexBatch keys wait or the
// oldest has waited IndexInterval.
//
// Lookups read the tail, then the key tables. The meta row touch_index_hwm
// is the highest touch id whose keys are all committed; on start, the keys of
// touches above it are read back into the tail, so a crash loses no key
// (writing one twice is harmless: INSERT OR IGNORE).

const (
	hwmKey = "touch_index_hwm"
	// indexChunk bounds the keys written by one index transaction, so a
	// click commit never waits long behind one.
	indexChunk = 4096
	// keysPerInsert bounds the rows of one multi-row INSERT of keys.
	keysPerInsert = 128
)

// Settle loads every touch still in the journal into the touch log and
// writes every waiting lookup key to the index.
func (db *DB) Settle(ctx context.Context) error {
	if err := db.LoadPending(ctx); err != nil {
		return err
	}
	return db.IndexPending(ctx)
}

// IndexPending writes every waiting lookup key to the key tables now. The
// indexer runs on its own; tests and benchmarks call this to settle.
func (db *DB) IndexPending(ctx context.Context) error {
	for db.keyTail.pending() > 0 {
		if err := db.indexRound(ctx); err != nil {
			return err
		}
	}
	return nil
}

// indexRound writes one segment of the key tail. Rounds run one at a time
// (the background indexer and IndexPending may both call it): a second
// round on the taken segment would mark it done while the first still
// writes it, and a later one's segment with it.
func (db *DB) indexRound(ctx context.Context) error {
	db.indexMu.Lock()
	defer db.indexMu.Unlock()
	seg, hwm := db.keyTail.take()
	if seg == nil {
		return nil
	}
	// Entries come in id order, so each week is one stretch of them; sort
	// each stretch by key.
	sorted := make([]entry, len(seg.entries))
	for i, e := range seg.entries {
		sorted[i] = e.entry
	}
	for i := 0; i < len(sorted); {
		w := week(touchpoint.TouchIDTime(sorted[i].id))
		end := weekStart(w + 1)
		j := i + sort.Search(len(sorted)-i, func(n int) bool { return !touchpoint.TouchIDTime(sorted[i+n].id).Before(end) })
		slices.SortFunc(sorted[i:j], func(a, b entry) int {
			switch {
			case a.k < b.k:
				return -1
			case a.k > b.k:
				return 1
			}
			return cmp.Compare(a.id, b.id)
		})
		i = j
	}
	// Chunks of consecutive keys: each commit writes its own stretch of the
	// index; the last one also moves the high-water mark.
	for i := 0; i < len(sorted); i += indexChunk {
		chunk := sorted[i:min(i+indexChunk, len(sorted))]
		if err := db.indexChunk(ctx, chunk, i+indexChunk >= len(sorted), hwm); err != nil {
			return err // the segment stays taken and is retried whole
		}
	}
	db.keyTail.done()
	return nil
}

func (db *DB) indexChunk(ctx context.Context, chunk []entry, setHWM bool, hwm int64) error {
	// Runs of one week, at most keysPerInsert long; statements are prepared
	// before the transaction holds the one write connection.
	type span struct{ week, i, j int }
	var spans []span
	for i, e := range chunk {
		w := week(touchpoint.TouchIDTime(e.id))
		if n := len(spans); n == 0 || spans[n-1].week != w || spans[n-1].j-spans[n-1].i == keysPerInsert {
			spans = append(spans, span{w, i, i})
		}
		spans[len(spans)-1].j++
	}
	stmts := make([]*sql.Stmt, len(spans))
	db.stmtMu.Lock()
	for n, sp := range spans {
		if db.wasPurged(sp.week) {
			continue // the week was purged meanwhile
		}
		var err error
		if !db.hasPartition(sp.week) {
			err = db.createPartition(ctx, sp.week)
		}
		if err == nil {
			stmts[n], err = db.stmt(ctx, `INSERT OR IGNORE INTO `+keyTable(sp.week)+` (k, id) VALUES `+placeholders(sp.j-sp.i, 2))
		}
		if err != nil {
			db.stmtMu.Unlock()
			return err
		}
	}
	db.stmtMu.Unlock()
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	args := make([]any, 0, 2*keysPerInsert)
	for n, sp := range spans {
		if stmts[n] == nil {
			continue
		}
		args = args[:0]
		for _, e := range chunk[sp.i:sp.j] {
			args = append(args, int64(e.k), e.id)
		}
		if _, err := tx.StmtContext(ctx, stmts[n]).ExecContext(ctx, args...); err != nil {
			return err
		}
	}
	if setHWM {
		if _, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?)
			ON CONFLICT DO UPDATE SET value = max(value, excluded.value)`, hwmKey, hwm); err != nil {
			return err
		}
	}
	return db.commit(tx)
}
