package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// The lookup index is built behind the durable append. RecordTouches commits
// log rows only (appends at the end of an id-ordered table: cheap) and puts
// the touches' lookup keys in the tail, in memory. The indexer writes the
// tail to the key tables in large sorted rounds: inserting N random keys
// into a B-tree one commit at a time dirties about N pages per commit, while
// a round sorted by key dirties each page once however many of its keys it
// carries (measured: 14 µs per key in rounds of 20,000 keys, 1.6 µs in
// rounds of 600,000). A round starts when IndexBatch keys wait or the
// oldest has waited IndexInterval.
//
// Lookups read the tail, then the key tables. The tail has two segments:
// the one filling, and the one a round is writing, which stays searchable
// until its keys are committed. The meta row touch_index_hwm is the highest
// touch id whose keys are all committed; on start, touches above it are read
// back into the tail, so a crash loses no key (writing one twice is
// harmless: INSERT OR IGNORE).

const (
	hwmKey = "touch_index_hwm"
	// indexChunk bounds the keys written by one index transaction, so a
	// click commit never waits long behind one.
	indexChunk = 4096
	// keysPerInsert bounds the rows of one multi-row INSERT of keys.
	keysPerInsert = 128
)

type entry struct {
	k  touchpoint.LookupKey
	id int64
}

// segment is a set of keys of committed touches: a hash of chains through
// entries, newest first.
type segment struct {
	head    map[touchpoint.LookupKey]int32 // newest entry of each key
	entries []chained
	since   time.Time // when the first entry came
}

type chained struct {
	entry
	prev int32 // previous entry of the same key, or -1
}

func newSegment(size int) *segment {
	return &segment{head: make(map[touchpoint.LookupKey]int32, size), entries: make([]chained, 0, size)}
}

// tail holds the lookup keys of touches committed but not yet indexed.
type tail struct {
	mu    sync.RWMutex
	cur   *segment // filling
	old   *segment // being written by the indexer; nil when none
	maxID int64    // highest id added
	size  int      // keys a segment is made for
}

// newTail returns a tail whose segments are made for about size keys, so
// that they rarely grow while clicks wait.
func newTail(size int) *tail {
	return &tail{cur: newSegment(size), size: size}
}

// add records the keys of committed touches; ids ascend.
func (t *tail) add(ids []int64, keys [][]touchpoint.LookupKey) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.cur
	if len(s.entries) == 0 {
		s.since = time.Now()
	}
	for i, id := range ids {
		for _, k := range keys[i] {
			prev, ok := s.head[k]
			if !ok {
				prev = -1
			}
			s.head[k] = int32(len(s.entries))
			s.entries = append(s.entries, chained{entry{k, id}, prev})
		}
		t.maxID = max(t.maxID, id)
	}
}

// find returns the ids with any of keys at or above minID.
func (t *tail) find(keys []touchpoint.LookupKey, minID int64) []int64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var out []int64
	for _, s := range []*segment{t.cur, t.old} {
		if s == nil {
			continue
		}
		for _, k := range keys {
			i, ok := s.head[k]
			for ok && i >= 0 && s.entries[i].id >= minID {
				out = append(out, s.entries[i].id)
				i = s.entries[i].prev
			}
		}
	}
	return out
}

// due reports whether a round should start.
func (t *tail) due(batch int, age time.Duration) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.old != nil || len(t.cur.entries) >= batch || len(t.cur.entries) > 0 && time.Since(t.cur.since) >= age
}

// take hands a segment to the indexer, with the id up to which every touch
// is then covered: the one left by a failed round, or the filling one.
func (t *tail) take() (*segment, int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.old == nil {
		if len(t.cur.entries) == 0 {
			return nil, 0
		}
		t.old, t.cur = t.cur, newSegment(t.size)
	}
	return t.old, t.maxID
}

// done forgets the taken segment once its keys are committed.
func (t *tail) done() {
	t.mu.Lock()
	t.old = nil
	t.mu.Unlock()
}

// pending returns the number of keys waiting.
func (t *tail) pending() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	n := len(t.cur.entries)
	if t.old != nil {
		n += len(t.old.entries)
	}
	return n
}

func (db *DB) runIndexer(ctx context.Context) {
	defer db.wg.Done()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			// Index what is left so the next start has nothing to read back.
			if err := db.IndexPending(context.Background()); err != nil {
				db.Logger.Error("index touches at close", "err", err)
			}
			return
		case <-t.C:
		}
		if !db.tail.due(db.IndexBatch, db.IndexInterval) {
			continue
		}
		if err := db.indexRound(ctx); err != nil && ctx.Err() == nil {
			db.Logger.Error("index touches", "err", err)
		}
	}
}

// IndexPending writes every waiting lookup key to the key tables now. The
// indexer runs on its own; tests and benchmarks call this to settle.
func (db *DB) IndexPending(ctx context.Context) error {
	for db.tail.pending() > 0 {
		if err := db.indexRound(ctx); err != nil {
			return err
		}
	}
	return nil
}

func (db *DB) indexRound(ctx context.Context) error {
	seg, hwm := db.tail.take()
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
	db.tail.done()
	return nil
}

func (db *DB) indexChunk(ctx context.Context, chunk []entry, setHWM bool, hwm int64) error {
	db.writeMu.Lock()
	defer db.writeMu.Unlock()
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
	for n, sp := range spans {
		if !db.hasPartition(sp.week) {
			continue // the week was purged meanwhile
		}
		var err error
		if stmts[n], err = db.stmt(ctx, `INSERT OR IGNORE INTO `+keyTable(sp.week)+` (k, id) VALUES `+placeholders(sp.j-sp.i, 2)); err != nil {
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
	weeks := db.partitions(touchpoint.TouchIDTime(hwm))
	slices.Sort(weeks)
	for _, w := range weeks {
		rows, err := db.read.QueryContext(ctx, `SELECT first_id, app_seq, data FROM `+logTable(w)+` WHERE last_id > ? ORDER BY first_id`, hwm)
		if err != nil {
			return err
		}
		var ids []int64
		var keys [][]touchpoint.LookupKey
		for rows.Next() {
			var first, seq int64
			var data []byte
			if err := rows.Scan(&first, &seq, &data); err != nil {
				rows.Close()
				return err
			}
			var derr error
			err := eachRecord(first, data, func(id int64, rec []byte) bool {
				if id <= hwm {
					return true
				}
				t, err := decodeTouch(id, appBySeq[seq], rec)
				if err != nil {
					derr = err
					return false
				}
				ids = append(ids, id)
				keys = append(keys, t.Keys())
				return true
			})
			if err == nil {
				err = derr
			}
			if err != nil {
				rows.Close()
				return err
			}
		}
		if err := rows.Close(); err != nil {
			return err
		}
		db.tail.add(ids, keys)
	}
	if newest := db.partitions(time.Time{}); len(newest) > 0 {
		var last sql.NullInt64
		if err := db.read.QueryRowContext(ctx, `SELECT max(last_id) FROM `+logTable(newest[0])).Scan(&last); err != nil {
			return err
		}
		db.lastID = last.Int64
	}
	db.tail.maxID = max(db.tail.maxID, db.lastID)
	if n := db.tail.pending(); n > 0 {
		db.Logger.Info("touch keys to index after restart", "keys", n)
	}
	return nil
}
