package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/touchpointhq/touchpoint"
)

var _ touchpoint.DeliveryStore = (*DB)(nil)

const deliveryColumns = `d.id, coalesce(a.id, ''), d.project, d.pid, d.kind, d.source, d.method, d.url, d.body, d.content_type, d.host, d.state,
	d.tries, d.max_tries, d.retry_interval, d.next_at, d.lease, d.reason, d.note, d.created_at, d.updated_at, d.headers`

// Deliveries are inserted deliveriesPerInsert rows per statement (the
// rest one by one); ids are consecutive within a statement (the rowid of
// each new row is the largest so far plus one, and only the writer
// inserts), so the last insert id gives them all.
const deliveriesPerInsert = 16

var (
	qInsertDelivery   = insertDeliveries(1)
	qInsertDeliveries = insertDeliveries(deliveriesPerInsert)
)

func insertDeliveries(rows int) string {
	return `/* deliveries */ INSERT INTO deliveries (app_seq, project, pid, kind, source, method, url, body, content_type,
	host, state, tries, max_tries, retry_interval, next_at, lease_until, lease, reason, note, created_at, updated_at, headers)
	VALUES ` + strings.TrimSuffix(strings.Repeat(`(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, 0, 0, ?, ?, ?, ?, ?),`, rows), ",")
}

// insertDeliveries writes deliveries inside a write transaction whose
// queries include qInsertDeliveries and qInsertDelivery (see DB.writeTx).
// Each is pending, but one handed in as failed with a Reason: a delivery
// its integration could not make valid, recorded and never sent.
func (db *DB) insertDeliveries(ctx context.Context, stmt func(string) *sql.Stmt, ds []*touchpoint.Delivery) error {
	now := db.now()
	args := make([]any, 0, 18*deliveriesPerInsert)
	for len(ds) > 0 {
		n, q := 1, qInsertDelivery
		if len(ds) >= deliveriesPerInsert {
			n, q = deliveriesPerInsert, qInsertDeliveries
		}
		args = args[:0]
		for _, d := range ds[:n] {
			var seq int64
			if d.App != "" {
				var err error
				if seq, err = db.appSeq(d.App); err != nil {
					return err
				}
			}
			headers := ""
			if len(d.Headers) > 0 {
				b, err := encodeJSON("delivery headers", d.Headers)
				if err != nil {
					return err
				}
				headers = string(b)
			}
			d.Prepare(now)
			args = append(args, seq, d.Project, d.PID, string(d.Kind), d.Source, d.Method, d.URL, d.Body, d.ContentType,
				d.Host, string(d.State), d.MaxTries, d.RetryInterval.Milliseconds(), d.NextAt.UnixMilli(), d.Reason, d.Note,
				now.UnixMilli(), now.UnixMilli(), headers)
		}
		res, err := stmt(q).ExecContext(ctx, args...)
		if err != nil {
			return err
		}
		last, err := res.LastInsertId()
		if err != nil {
			return err
		}
		for i, d := range ds[:n] {
			d.ID = last - int64(n-1-i)
		}
		ds = ds[n:]
	}
	return nil
}

// EnqueueDeliveries writes deliveries in one transaction.
func (db *DB) EnqueueDeliveries(ctx context.Context, ds []*touchpoint.Delivery) error {
	return db.writeTx(ctx, []string{qInsertDeliveries, qInsertDelivery}, func(stmt func(string) *sql.Stmt) error {
		return db.insertDeliveries(ctx, stmt, ds)
	})
}

// ClaimDeliveries leases due deliveries in one transaction on the write
// connection, so two claims never hand out one delivery. It walks the
// hosts with pending deliveries (a seek each in deliveries_due) and takes
// the oldest due of each, up to the host's free capacity: a busy host
// costs one seek, whatever its backlog.
func (db *DB) ClaimDeliveries(ctx context.Context, c touchpoint.Claim) ([]*touchpoint.Delivery, error) {
	token := rand.Int64N(1<<62) + 1
	now := c.Now.UnixMilli()
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	var ids []int64
	host := ""
	for len(ids) < c.Limit {
		var next sql.NullString
		if err := tx.QueryRowContext(ctx, `/* DB.ClaimDeliveries */ SELECT min(host) FROM deliveries
			WHERE state = 'pending' AND host > ?`, host).Scan(&next); err != nil {
			return nil, err
		}
		if !next.Valid {
			break
		}
		host = next.String
		free := c.Limit - len(ids)
		if c.PerHost > 0 {
			free = min(free, c.PerHost-c.InFlight[host])
		}
		if free <= 0 {
			continue
		}
		rows, err := tx.QueryContext(ctx, `/* DB.ClaimDeliveries */ UPDATE deliveries SET lease_until = ?, lease = ?
			WHERE id IN (SELECT id FROM deliveries WHERE host = ? AND state = 'pending' AND next_at <= ? AND lease_until <= ?
				ORDER BY next_at LIMIT ?)
			RETURNING id`, c.Now.Add(c.Lease).UnixMilli(), token, host, now, now, free)
		if err != nil {
			return nil, err
		}
		got, err := scanColumn[int64](rows)
		if err != nil {
			return nil, err
		}
		ids = append(ids, got...)
	}
	if len(ids) == 0 {
		return nil, db.commit(tx)
	}
	idArgs := make([]any, len(ids))
	for i, id := range ids {
		idArgs[i] = id
	}
	ds, err := db.findDeliveries(ctx, tx, `WHERE d.id IN (`+inList(len(ids))+`) ORDER BY d.next_at, d.id`, idArgs...)
	if err != nil {
		return nil, err
	}
	return ds, db.commit(tx)
}

func (db *DB) findDeliveries(ctx context.Context, q querier, where string, args ...any) ([]*touchpoint.Delivery, error) {
	rows, err := q.QueryContext(ctx, `/* deliveries */ SELECT `+deliveryColumns+` FROM deliveries d LEFT JOIN apps a ON a.seq = d.app_seq `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*touchpoint.Delivery
	for rows.Next() {
		var d touchpoint.Delivery
		var kind, state, headers string
		var interval, next, created, updated int64
		if err := rows.Scan(&d.ID, &d.App, &d.Project, &d.PID, &kind, &d.Source, &d.Method, &d.URL, &d.Body, &d.ContentType, &d.Host, &state,
			&d.Tries, &d.MaxTries, &interval, &next, &d.Lease, &d.Reason, &d.Note, &created, &updated, &headers); err != nil {
			return nil, err
		}
		if headers != "" {
			if err := json.Unmarshal([]byte(headers), &d.Headers); err != nil {
				return nil, fmt.Errorf("delivery %d headers: %w", d.ID, err)
			}
		}
		d.Kind, d.State = touchpoint.DeliveryKind(kind), touchpoint.DeliveryState(state)
		d.RetryInterval = time.Duration(interval) * time.Millisecond
		d.CreatedAt, d.UpdatedAt = fromMillis(created), fromMillis(updated)
		if d.State == touchpoint.DeliveryPending {
			d.NextAt = fromMillis(next)
		}
		out = append(out, &d)
	}
	return out, rows.Err()
}

// FinishDeliveries records results in one transaction; each applies only
// while its claim is the delivery's current one.
func (db *DB) FinishDeliveries(ctx context.Context, rs []*touchpoint.DeliveryResult) error {
	const (
		qAttempt = `/* DB.FinishDeliveries */ INSERT OR IGNORE INTO delivery_attempts (delivery_id, n, at, status, latency, body, error)
			VALUES (?, ?, ?, ?, ?, ?, ?)`
		qState = `/* DB.FinishDeliveries */ UPDATE deliveries SET state = ?, tries = ?, next_at = ?, lease_until = 0, lease = 0,
			reason = ?, updated_at = ? WHERE id = ? AND lease = ?`
		qRelease = `/* DB.FinishDeliveries */ UPDATE deliveries SET lease_until = 0, lease = 0 WHERE id = ? AND lease = ?`
	)
	now := db.now().UnixMilli()
	return db.writeTx(ctx, []string{qAttempt, qState, qRelease}, func(stmt func(string) *sql.Stmt) error {
		for _, r := range rs {
			d := r.Delivery
			if r.Attempt == nil {
				if _, err := stmt(qRelease).ExecContext(ctx, d.ID, d.Lease); err != nil {
					return err
				}
				continue
			}
			res, err := stmt(qState).ExecContext(ctx, string(r.State), r.Attempt.N, r.NextAt.UnixMilli(), r.Reason, now, d.ID, d.Lease)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 0 {
				continue // the claim lapsed; another sender has it
			}
			a := r.Attempt
			if _, err := stmt(qAttempt).ExecContext(ctx, d.ID, a.N, a.Time.UnixMilli(), a.Status,
				a.Latency.Microseconds(), a.Body, a.Error); err != nil {
				return err
			}
		}
		return nil
	})
}

// FindDelivery returns one delivery with its attempts.
func (db *DB) FindDelivery(ctx context.Context, id int64) (*touchpoint.Delivery, error) {
	ds, err := db.findDeliveries(ctx, db.read, `WHERE d.id = ?`, id)
	if err != nil {
		return nil, err
	}
	if len(ds) == 0 {
		return nil, touchpoint.Errorf(touchpoint.ENOTFOUND, "delivery %d not found", id)
	}
	d := ds[0]
	rows, err := db.read.QueryContext(ctx, `/* DB.FindDelivery */ SELECT n, at, status, latency, body, error
		FROM delivery_attempts WHERE delivery_id = ? ORDER BY n`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var a touchpoint.Attempt
		var at, latency int64
		if err := rows.Scan(&a.N, &at, &a.Status, &latency, &a.Body, &a.Error); err != nil {
			return nil, err
		}
		a.Time, a.Latency = fromMillis(at), time.Duration(latency)*time.Microsecond
		d.Attempts = append(d.Attempts, a)
	}
	return d, rows.Err()
}

// ListDeliveries returns a page of deliveries, newest first.
func (db *DB) ListDeliveries(ctx context.Context, f touchpoint.DeliveryFilter) ([]*touchpoint.Delivery, int64, error) {
	limit := f.PageSize()
	var where []string
	var args []any
	if f.App != "" {
		seq, err := db.appSeq(f.App)
		if err != nil {
			return nil, 0, err
		}
		where, args = append(where, "d.app_seq = ?"), append(args, seq)
	}
	if f.Project != 0 {
		where, args = append(where, "d.project = ?"), append(args, f.Project)
	}
	for _, c := range []struct {
		col, v string
	}{{"d.pid", f.PID}, {"d.kind", string(f.Kind)}, {"d.state", string(f.State)}} {
		if c.v != "" {
			where, args = append(where, c.col+" = ?"), append(args, c.v)
		}
	}
	if !f.From.IsZero() {
		where, args = append(where, "d.created_at >= ?"), append(args, f.From.UnixMilli())
	}
	if !f.To.IsZero() {
		where, args = append(where, "d.created_at < ?"), append(args, f.To.UnixMilli())
	}
	if f.Before != 0 {
		where, args = append(where, "d.id < ?"), append(args, f.Before)
	}
	q := ""
	if len(where) > 0 {
		q = "WHERE " + strings.Join(where, " AND ")
	}
	ds, err := db.findDeliveries(ctx, db.read, q+" ORDER BY d.id DESC LIMIT ?", append(args, limit+1)...)
	if err != nil {
		return nil, 0, err
	}
	ds, next := touchpoint.CutPage(ds, limit, func(x *touchpoint.Delivery) int64 { return x.ID })
	return ds, next, nil
}

// RetryDelivery makes a given-up delivery pending again, due at now.
func (db *DB) RetryDelivery(ctx context.Context, id int64, now time.Time) (*touchpoint.Delivery, error) {
	res, err := db.exec(ctx, `/* DB.RetryDelivery */ UPDATE deliveries SET state = 'pending', next_at = ?,
		max_tries = tries + max_tries, reason = '', updated_at = ? WHERE id = ? AND state = 'failed'`,
		now.UnixMilli(), db.now().UnixMilli(), id)
	if err != nil {
		return nil, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return nil, err
	}
	d, err := db.FindDelivery(ctx, id)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, touchpoint.Errorf(touchpoint.ECONFLICT, "delivery %d is %s: only a failed delivery can be retried", id, d.State)
	}
	return d, nil
}

// DeliveryHealth sums up a partner's attempts in [from, to) and its
// backlog.
func (db *DB) DeliveryHealth(ctx context.Context, app, pid string, from, to time.Time) (*touchpoint.DeliveryHealth, error) {
	seq, err := db.appSeq(app)
	if err != nil {
		return nil, err
	}
	h := &touchpoint.DeliveryHealth{App: app, PID: pid, From: from, To: to}
	const attempts = `FROM delivery_attempts t JOIN deliveries d ON d.id = t.delivery_id
		WHERE d.app_seq = ? AND d.pid = ? AND t.at >= ? AND t.at < ?`
	args := []any{seq, pid, from.UnixMilli(), to.UnixMilli()}
	if err := db.read.QueryRowContext(ctx, `/* DB.DeliveryHealth */ SELECT count(*),
		coalesce(sum(t.status BETWEEN 200 AND 399), 0) `+attempts, args...).Scan(&h.Attempts, &h.Succeeded); err != nil {
		return nil, err
	}
	if h.Attempts > 0 {
		h.SuccessRate = float64(h.Succeeded) / float64(h.Attempts)
		for _, p := range []struct {
			q   float64
			out *float64
		}{{0.50, &h.P50Ms}, {0.99, &h.P99Ms}} {
			var us int64
			// The nearest-rank percentile.
			rank := int64(math.Ceil(p.q*float64(h.Attempts))) - 1
			if err := db.read.QueryRowContext(ctx, `/* DB.DeliveryHealth */ SELECT t.latency `+attempts+`
				ORDER BY t.latency LIMIT 1 OFFSET ?`, append(args, rank)...).Scan(&us); err != nil {
				return nil, err
			}
			*p.out = float64(us) / 1000
		}
	}
	if err := db.read.QueryRowContext(ctx, `/* DB.DeliveryHealth */ SELECT
		coalesce(sum(state = 'pending'), 0), coalesce(sum(state = 'failed' AND created_at >= ? AND created_at < ?), 0)
		FROM deliveries WHERE app_seq = ? AND pid = ?`, from.UnixMilli(), to.UnixMilli(), seq, pid).Scan(&h.Backlog, &h.GivenUp); err != nil {
		return nil, err
	}
	return h, nil
}

// DeliveryBacklog counts pending deliveries by app and partner (a walk of
// the pending ones only: deliveries_due is partial).
func (db *DB) DeliveryBacklog(ctx context.Context) ([]touchpoint.Backlog, error) {
	rows, err := db.read.QueryContext(ctx, `/* DB.DeliveryBacklog */ SELECT a.id, b.pid, b.n FROM
		(SELECT app_seq, pid, count(*) AS n FROM deliveries INDEXED BY deliveries_due WHERE state = 'pending' GROUP BY app_seq, pid) b
		LEFT JOIN apps a ON a.seq = b.app_seq`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []touchpoint.Backlog
	for rows.Next() {
		var b touchpoint.Backlog
		var app sql.NullString
		if err := rows.Scan(&app, &b.PID, &b.Pending); err != nil {
			return nil, err
		}
		b.App = app.String
		out = append(out, b)
	}
	return out, rows.Err()
}

// deliveryPurgeBatch is the most deliveries, or attempts, one transaction of
// PurgeDeliveries removes: a few milliseconds of the single writer, which
// clicks, launches and senders wait for meanwhile.
const deliveryPurgeBatch = 500

// PurgeDeliveries removes the finished deliveries last updated before
// before (but the newest delivery of all: ids are the largest present plus
// one) with their attempts, then the attempts made before before (see
// touchpoint.DeliveryStore), deliveryPurgeBatch rows a transaction, each found by
// index (deliveries_finished, delivery_attempts_at). A batch's conditions
// are checked in its own transaction on the writer, so a delivery retried
// or finished meanwhile is judged as it is then: a retried one is pending
// and stays.
func (db *DB) PurgeDeliveries(ctx context.Context, before time.Time) (int64, error) {
	const (
		// The batch: the same rows for both statements of a transaction
		// (one order, nothing else writes between them).
		batch = `SELECT id FROM deliveries INDEXED BY deliveries_finished
			WHERE state <> 'pending' AND updated_at < ?1 AND id < (SELECT max(id) FROM deliveries)
			ORDER BY updated_at, id LIMIT ?2`
		qAttempts   = `/* DB.PurgeDeliveries */ DELETE FROM delivery_attempts WHERE delivery_id IN (` + batch + `)`
		qDeliveries = `/* DB.PurgeDeliveries */ DELETE FROM deliveries WHERE id IN (` + batch + `)`
		qOld        = `/* DB.PurgeDeliveries */ DELETE FROM delivery_attempts WHERE (delivery_id, n) IN (
			SELECT delivery_id, n FROM delivery_attempts INDEXED BY delivery_attempts_at WHERE at < ? ORDER BY at LIMIT ?)`
	)
	cut := before.UnixMilli()
	var total int64
	for {
		var n int64
		err := db.writeTx(ctx, []string{qAttempts, qDeliveries}, func(stmt func(string) *sql.Stmt) error {
			if _, err := stmt(qAttempts).ExecContext(ctx, cut, deliveryPurgeBatch); err != nil {
				return err
			}
			res, err := stmt(qDeliveries).ExecContext(ctx, cut, deliveryPurgeBatch)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return total, fmt.Errorf("purge deliveries: %w", err)
		}
		total += n
		if n < deliveryPurgeBatch {
			break
		}
	}
	for {
		res, err := db.exec(ctx, qOld, cut, deliveryPurgeBatch)
		if err != nil {
			return total, fmt.Errorf("purge delivery attempts: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return total, err
		} else if n < deliveryPurgeBatch {
			return total, nil
		}
	}
}
