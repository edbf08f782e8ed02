package sqlite

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// The loader moves touches from the journal (via the touch tail) into the
// touch log tables, many at a time: a transaction per loadChunk touches,
// packed into rows of up to rowTouches consecutive touches of one app. Each
// transaction also adds the chunk's click-signing counts and moves the
// loaded high-water mark (meta touch_loaded_hwm), so a round that fails half
// way resumes where it stopped. Once a round has committed, its journal
// segments are deleted.

// A row of rowTouches touches (some 200 bytes each) fits in one 4 KB page,
// so reading a touch by id (attribution reads ten or so per launch, each in
// another row) reads one page rather than a chain of overflow pages.
const (
	loadedKey  = "touch_loaded_hwm"
	loadChunk  = 8192
	rowTouches = 16
)

type countKey struct {
	app     int64
	pid     string
	hour    int64
	verdict touchpoint.Verdict
}

// LoadPending moves every touch still in the journal into the touch log now.
// The loader runs on its own; Close and tests call this to settle.
func (db *DB) LoadPending(ctx context.Context) error {
	for {
		if n, _ := db.touchTail.size(); n == 0 {
			return nil
		}
		if err := db.loadRound(ctx); err != nil {
			return err
		}
	}
}

func (db *DB) loadRound(ctx context.Context) error {
	db.loadMu.Lock()
	defer db.loadMu.Unlock()
	// Close the journal segment being written, so that the segment taken
	// holds exactly the journal's closed segments.
	db.writeMu.Lock()
	var seg *touchSegment
	var err error
	if db.journal == nil {
		err = errors.New("sqlite: store is closed")
	} else if _, taken := db.touchTail.size(); taken {
		seg = db.touchTail.take(0)
	} else {
		var closed uint64
		if closed, err = db.journal.rotate(); err == nil {
			seg = db.touchTail.take(closed)
		}
	}
	db.writeMu.Unlock()
	if err != nil || seg == nil {
		return err
	}
	hwm, err := readMeta(ctx, db.read, loadedKey)
	if err != nil {
		return err
	}
	for i := 0; i < len(seg.touches); i += loadChunk {
		chunk := seg.touches[i:min(i+loadChunk, len(seg.touches))]
		if chunk[len(chunk)-1].id <= hwm {
			continue // loaded by an earlier, interrupted round
		}
		if err := db.loadChunk(ctx, chunk, hwm); err != nil {
			return err
		}
	}
	db.touchTail.done()
	if seg.journal > 0 {
		db.writeMu.Lock()
		err = db.journal.remove(seg.journal)
		db.writeMu.Unlock()
	}
	return err
}

func (db *DB) loadChunk(ctx context.Context, chunk []tailTouch, hwm int64) error {
	// Rows: runs of consecutive ids of one app and one week, at most
	// rowTouches long.
	type row struct {
		week, i, j int
		app        int64
	}
	var rows []row
	for i, tt := range chunk {
		if tt.id <= hwm {
			continue
		}
		w := week(touchpoint.TouchIDTime(tt.id))
		if n := len(rows); n == 0 || rows[n-1].week != w || rows[n-1].app != tt.app || rows[n-1].j != i ||
			rows[n-1].j-rows[n-1].i == rowTouches || chunk[i-1].id != tt.id-1 {
			rows = append(rows, row{w, i, i, tt.app})
		}
		rows[len(rows)-1].j++
	}
	// New weeks get their tables, and statements are prepared, before the
	// transaction: the one write connection is busy while it is open.
	db.stmtMu.Lock()
	stmts := make([]*sql.Stmt, len(rows))
	var err error
	for n, r := range rows {
		if !db.hasPartition(r.week) {
			if err = db.createPartition(ctx, r.week); err != nil {
				break
			}
		}
		if stmts[n], err = db.stmt(ctx, `INSERT INTO `+logTable(r.week)+` (first_id, last_id, app_seq, data) VALUES (?, ?, ?, ?)`); err != nil {
			break
		}
	}
	var reportStmt *sql.Stmt
	if err == nil {
		reportStmt, err = db.stmt(ctx, qReport)
	}
	db.stmtMu.Unlock()
	if err != nil {
		return err
	}

	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	counts := map[countKey]int64{}
	report := touchpoint.ReportSums{}
	var data []byte
	for n, r := range rows {
		data = data[:0]
		for _, tt := range chunk[r.i:r.j] {
			data = binary.AppendUvarint(data, uint64(len(tt.rec)))
			data = append(data, tt.rec...)
			var t touchpoint.Touch
			if err := t.UnmarshalBinary(tt.rec); err != nil {
				return fmt.Errorf("touch %d: %w", tt.id, err)
			}
			if t.Verdict != touchpoint.VerdictUnchecked {
				counts[countKey{tt.app, t.PID, t.Time.Truncate(time.Hour).Unix(), t.Verdict}]++
			}
			report.Add(tt.app, touchpoint.TouchDeltas(&t, db.zone(tt.app)))
		}
		if _, err := tx.StmtContext(ctx, stmts[n]).ExecContext(ctx, chunk[r.i].id, chunk[r.j-1].id, r.app, data); err != nil {
			return err
		}
	}
	for k, n := range counts {
		if _, err := tx.ExecContext(ctx, `/* DB.loadChunk */ INSERT INTO signing_counts (app_seq, pid, hour, verdict, n)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET n = n + excluded.n`, k.app, k.pid, k.hour, int64(k.verdict), n); err != nil {
			return err
		}
	}
	if err := writeReport(ctx, tx.StmtContext(ctx, reportStmt), report); err != nil {
		return err
	}
	if err := writeMeta(ctx, tx, loadedKey, chunk[len(chunk)-1].id); err != nil {
		return err
	}
	return db.commit(tx)
}

func readMeta(ctx context.Context, q querier, key string) (int64, error) {
	var v int64
	err := q.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return v, err
}

func writeMeta(ctx context.Context, q querier, key string, v int64) error {
	_, err := q.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?)
		ON CONFLICT DO UPDATE SET value = max(value, excluded.value)`, key, v)
	return err
}
