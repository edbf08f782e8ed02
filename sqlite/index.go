package sqlite

import (
	"context"
	"database/sql"
	"slices"
	"sync"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// The lookup index is built behind the durable append. RecordTouches commits
// touch rows only (appends to an id-ordered table: cheap) and puts their
// lookup keys in the tail, an in-memory map. The indexer wakes every
// IndexInterval, sorts what accumulated and writes it to the key tables in
// key order, which touches each index page once per batch instead of once
// per click. Lookups read the tail, then the key tables. The meta row
// touch_index_hwm is the highest touch id whose keys are all committed; on
// start, touches above it are read back into the tail, so a crash loses no
// key (re-inserting one is harmless: INSERT OR IGNORE).

const (
	hwmKey = "touch_index_hwm"
	// indexChunk bounds the keys written by one index transaction, so a
	// click commit never waits long behind one.
	indexChunk = 2048
	// keysPerInsert bounds the rows of one multi-row INSERT of keys.
	keysPerInsert = 128
)

type entry struct {
	k  touchpoint.LookupKey
	id int64
}

// tail holds the lookup keys of touches committed but not yet indexed.
type tail struct {
	mu      sync.RWMutex
	byKey   map[touchpoint.LookupKey][]int64 // ids ascending
	pending []entry                          // in commit order
	maxID   int64                            // highest id added
}

func newTail() *tail {
	return &tail{byKey: make(map[touchpoint.LookupKey][]int64)}
}

// add records the keys of committed touches; ids ascend.
func (t *tail) add(ids []int64, keys [][]touchpoint.LookupKey) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, id := range ids {
		for _, k := range keys[i] {
			t.byKey[k] = append(t.byKey[k], id)
			t.pending = append(t.pending, entry{k, id})
		}
		t.maxID = max(t.maxID, id)
	}
}

// find returns the ids with any of keys at or above minID.
func (t *tail) find(keys []touchpoint.LookupKey, minID int64) []int64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var out []int64
	for _, k := range keys {
		for _, id := range t.byKey[k] {
			if id >= minID {
				out = append(out, id)
			}
		}
	}
	return out
}

// take hands the pending entries to the indexer, with the id up to which
// every touch is then covered.
func (t *tail) take() ([]entry, int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.pending
	t.pending = make([]entry, 0, cap(p))
	return p, t.maxID
}

// drop forgets entries once they are committed to the key tables. They are
// the oldest entries of their keys (take hands them out in commit order), so
// each key loses a prefix of its ids.
func (t *tail) drop(es []entry) {
	n := make(map[touchpoint.LookupKey]int, len(es))
	for _, e := range es {
		n[e.k]++
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, c := range n {
		ids := t.byKey[k]
		if c >= len(ids) {
			delete(t.byKey, k)
		} else {
			t.byKey[k] = slices.Clone(ids[c:])
		}
	}
}

// size returns the number of keys waiting.
func (t *tail) size() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.pending)
}

func (db *DB) runIndexer(ctx context.Context) {
	defer db.wg.Done()
	interval := db.IndexInterval
	if interval <= 0 {
		interval = time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			// Index what is left so the next start has nothing to read back.
			if err := db.indexPending(context.Background()); err != nil {
				db.Logger.Error("index touches at close", "err", err)
			}
			return
		case <-t.C:
		}
		if err := db.indexPending(ctx); err != nil && ctx.Err() == nil {
			db.Logger.Error("index touches", "err", err)
		}
	}
}

// IndexPending writes every pending lookup key to the key tables now. The
// indexer calls it on its own; tests and benchmarks call it to settle.
func (db *DB) IndexPending(ctx context.Context) error { return db.indexPending(ctx) }

func (db *DB) indexPending(ctx context.Context) error {
	es, hwm := db.tail.take()
	if len(es) == 0 {
		return nil
	}
	sorted := slices.Clone(es)
	slices.SortFunc(sorted, func(a, b entry) int {
		da, dbb := day(touchpoint.TouchIDTime(a.id)), day(touchpoint.TouchIDTime(b.id))
		switch {
		case da != dbb:
			return da - dbb
		case a.k != b.k:
			if a.k < b.k {
				return -1
			}
			return 1
		case a.id < b.id:
			return -1
		case a.id > b.id:
			return 1
		}
		return 0
	})
	// Chunks of consecutive keys: each commit writes its own stretch of the
	// index; the last one also moves the high-water mark.
	for i := 0; i < len(sorted); i += indexChunk {
		chunk := sorted[i:min(i+indexChunk, len(sorted))]
		last := i+indexChunk >= len(sorted)
		if err := db.indexChunk(ctx, chunk, last, hwm); err != nil {
			db.tail.requeue(es)
			return err
		}
	}
	db.tail.drop(es)
	return nil
}

// requeue puts entries back in front after a failed index round.
func (t *tail) requeue(es []entry) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pending = append(es, t.pending...)
}

func (db *DB) indexChunk(ctx context.Context, chunk []entry, setHWM bool, hwm int64) error {
	db.writeMu.Lock()
	defer db.writeMu.Unlock()
	// Runs of one day, at most keysPerInsert long; statements are prepared
	// before the transaction holds the one write connection.
	var spans []span
	for i, e := range chunk {
		d := day(touchpoint.TouchIDTime(e.id))
		if n := len(spans); n == 0 || spans[n-1].day != d || spans[n-1].j-spans[n-1].i == keysPerInsert {
			spans = append(spans, span{d, i, i})
		}
		spans[len(spans)-1].j++
	}
	stmts := make([]*sql.Stmt, len(spans))
	for n, sp := range spans {
		if !db.hasPartition(sp.day) {
			continue // the day was purged meanwhile
		}
		var err error
		if stmts[n], err = db.stmt(ctx, `INSERT OR IGNORE INTO `+keyTable(sp.day)+` (k, id) VALUES `+placeholders(sp.j-sp.i, 2)); err != nil {
			return err
		}
	}
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
	return tx.Commit()
}

// loadTail reads back the keys of touches above the high-water mark, and
// the last touch id given.
func (db *DB) loadTail(ctx context.Context) error {
	var hwm int64
	err := db.read.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, hwmKey).Scan(&hwm)
	if err != nil && err != sql.ErrNoRows {
		return err
	}
	appBySeq := make(map[int64]string)
	db.mu.RLock()
	for id, seq := range db.apps {
		appBySeq[seq] = id
	}
	db.mu.RUnlock()
	days := db.partitions(touchpoint.TouchIDTime(hwm))
	slices.Sort(days)
	for _, d := range days {
		rows, err := db.read.QueryContext(ctx, `SELECT id, app_seq, data FROM `+touchTable(d)+` WHERE id > ? ORDER BY id`, hwm)
		if err != nil {
			return err
		}
		var ids []int64
		var keys [][]touchpoint.LookupKey
		for rows.Next() {
			var id, seq int64
			var data []byte
			if err := rows.Scan(&id, &seq, &data); err != nil {
				rows.Close()
				return err
			}
			t := touchpoint.Touch{ID: id, App: appBySeq[seq]}
			if err := t.UnmarshalBinary(data); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
			keys = append(keys, t.Keys())
		}
		if err := rows.Close(); err != nil {
			return err
		}
		db.tail.add(ids, keys)
	}
	if newest := db.partitions(time.Time{}); len(newest) > 0 {
		var last sql.NullInt64
		if err := db.read.QueryRowContext(ctx, `SELECT max(id) FROM `+touchTable(newest[0])).Scan(&last); err != nil {
			return err
		}
		db.lastID = last.Int64
	}
	db.tail.maxID = max(db.tail.maxID, db.lastID)
	if n := db.tail.size(); n > 0 {
		db.Logger.Info("touch keys to index after restart", "keys", n)
	}
	return nil
}
