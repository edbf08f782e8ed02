package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/touchpointhq/touchpoint"
)

var _ touchpoint.DeliveryStore = (*DB)(nil)

const deliveryColumns = `d.id, coalesce(a.id, ''), d.project, d.pid, d.kind, d.source, d.method, d.url, d.body, d.content_type, d.host,
	d.state, d.tries, d.max_tries, d.retry_interval, d.next_at, d.lease, d.reason, d.note, d.created_at, d.updated_at, d.headers`

// insertDeliveries prepares deliveries (touchpoint.Delivery.Prepare) and
// writes them with one INSERT, on q: the pool, or the transaction that
// writes the fact they are owed for. Their ids are reserved first, in
// order, so that each delivery learns its own.
func (db *DB) insertDeliveries(ctx context.Context, q querier, ds []*touchpoint.Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	seqs, err := appSeqs(ctx, q, ds)
	if err != nil {
		return err
	}
	rows, err := q.Query(ctx, `/* insertDeliveries */ SELECT nextval(pg_get_serial_sequence('deliveries', 'id'))
		FROM generate_series(1, $1)`, len(ds))
	if err != nil {
		return err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return err
	}
	slices.Sort(ids)
	now := db.Now()
	n := len(ds)
	appSeq := make([]*int64, n)
	project, maxTries, interval, nextAt := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	pid, kind, source, method, url := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	contentType, headers, host, state := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	reason, note := make([]string, n), make([]string, n)
	body := make([][]byte, n)
	for i, d := range ds {
		d.Prepare(now)
		if d.App != "" {
			seq := seqs[d.App]
			appSeq[i] = &seq
		}
		if len(d.Headers) > 0 {
			b, err := json.Marshal(d.Headers)
			if err != nil {
				return fmt.Errorf("delivery headers: %w", err)
			}
			headers[i] = string(b)
		}
		project[i], maxTries[i], interval[i], nextAt[i] = d.Project, int64(d.MaxTries), d.RetryInterval.Milliseconds(), d.NextAt.UnixMilli()
		pid[i], kind[i], source[i], method[i], url[i] = d.PID, string(d.Kind), d.Source, d.Method, d.URL
		contentType[i], host[i], state[i], reason[i], note[i] = d.ContentType, d.Host, string(d.State), d.Reason, d.Note
		body[i] = []byte(d.Body)
	}
	rows, err = q.Query(ctx, `/* insertDeliveries */ INSERT INTO deliveries (id, app_seq, project, pid, kind, source, method, url, body,
		content_type, headers, host, state, tries, max_tries, retry_interval, next_at, reason, note, created_at, updated_at)
		SELECT id, app_seq, project, pid, kind, source, method, url, coalesce(body, ''), content_type, headers, host, state, 0,
			max_tries, retry_interval, next_at, reason, note, $19, $19
		FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bytea[],
			$10::text[], $11::text[], $12::text[], $13::text[], $14::bigint[], $15::bigint[], $16::bigint[], $17::text[], $18::text[])
			AS u (id, app_seq, project, pid, kind, source, method, url, body, content_type, headers, host, state, max_tries,
				retry_interval, next_at, reason, note)`,
		ids, appSeq, project, pid, kind, source, method, url, body, contentType, headers, host, state, maxTries, interval, nextAt,
		reason, note, now.UnixMilli())
	if err != nil {
		return err
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for i, d := range ds {
		d.ID = ids[i]
	}
	return nil
}

// appSeqs returns the seq of each app deliveries are owed for; ENOTFOUND
// names an unknown one.
func appSeqs(ctx context.Context, q querier, ds []*touchpoint.Delivery) (map[string]int64, error) {
	ids := map[string]bool{}
	for _, d := range ds {
		if d.App != "" {
			ids[d.App] = true
		}
	}
	seqs := make(map[string]int64, len(ids))
	if len(ids) == 0 {
		return seqs, nil
	}
	rows, err := q.Query(ctx, `/* appSeqs */ SELECT id, seq FROM apps WHERE id = ANY($1)`, slices.Collect(maps.Keys(ids)))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var seq int64
		if err := rows.Scan(&id, &seq); err != nil {
			return nil, err
		}
		seqs[id] = seq
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, d := range ds {
		if _, ok := seqs[d.App]; d.App != "" && !ok {
			return nil, touchpoint.Errorf(touchpoint.ENOTFOUND, "app %s not found", d.App)
		}
	}
	return seqs, nil
}

// EnqueueDeliveries writes deliveries in one statement.
func (db *DB) EnqueueDeliveries(ctx context.Context, ds []*touchpoint.Delivery) error {
	return db.insertDeliveries(ctx, db.pool, ds)
}

// qClaim leases due deliveries in one statement. It walks the hosts with
// pending deliveries (a recursive skip scan of deliveries_due, one seek a
// host) and takes the oldest due of each, up to the host's free capacity
// ($4 less what the sender has in flight there, from the arrays $5 and $6;
// any number when $4 is 0) and $3 in all. FOR UPDATE SKIP LOCKED makes
// claims on other nodes pass over the rows this one is taking instead of
// waiting for them, and a row another claim took after this statement's
// snapshot is read again once locked and dropped, its lease no longer
// lapsed: no delivery goes to two claims. The claim's token comes from a
// sequence, so no two claims anywhere share one.
const qClaim = `/* DB.ClaimDeliveries */ WITH RECURSIVE hosts (host) AS (
		(SELECT host FROM deliveries WHERE state = 'pending' ORDER BY host LIMIT 1)
		UNION ALL
		SELECT (SELECT d.host FROM deliveries d WHERE d.state = 'pending' AND d.host > h.host ORDER BY d.host LIMIT 1)
		FROM hosts h WHERE h.host IS NOT NULL
	), picked AS (
		SELECT p.id FROM hosts h
		LEFT JOIN unnest($5::text[], $6::bigint[]) AS f (host, n) ON f.host = h.host
		CROSS JOIN LATERAL (SELECT d.id FROM deliveries d
			WHERE d.host = h.host AND d.state = 'pending' AND d.next_at <= $1 AND d.lease_until <= $1
			ORDER BY d.next_at
			LIMIT CASE WHEN $4::bigint > 0 THEN greatest($4::bigint - coalesce(f.n, 0), 0) ELSE $3::bigint END
			FOR UPDATE SKIP LOCKED) p
		WHERE h.host IS NOT NULL
		LIMIT $3::bigint
	), token AS (
		SELECT nextval('delivery_claims') AS lease
	), claimed AS (
		UPDATE deliveries d SET lease_until = $2, lease = token.lease FROM picked, token WHERE d.id = picked.id
		RETURNING d.*
	)
	SELECT ` + deliveryColumns + ` FROM claimed d LEFT JOIN apps a ON a.seq = d.app_seq ORDER BY d.next_at, d.id`

// ClaimDeliveries leases due deliveries, oldest first per host, in one
// statement (qClaim): two nodes claiming at once never get one delivery
// both.
func (db *DB) ClaimDeliveries(ctx context.Context, c touchpoint.Claim) ([]*touchpoint.Delivery, error) {
	if c.Limit <= 0 {
		return nil, nil
	}
	hosts := make([]string, 0, len(c.InFlight))
	inFlight := make([]int64, 0, len(c.InFlight))
	for h, n := range c.InFlight {
		hosts, inFlight = append(hosts, h), append(inFlight, int64(n))
	}
	now := c.Now.UnixMilli()
	return findDeliveries(ctx, db.pool, qClaim, now, c.Now.Add(c.Lease).UnixMilli(), c.Limit, c.PerHost, hosts, inFlight)
}

// FinishDeliveries records results in one transaction; each applies only
// while its claim is the delivery's current one: the row must still hold
// the claim's token. A result recorded, or a claim another sender took
// when it lapsed, has another token (or none), so a late or repeated
// result changes nothing. Each attempt is written by the statement that
// finishes its delivery, and only when it does, into the partition of
// its week, made first if need be (withAttemptPartitions).
func (db *DB) FinishDeliveries(ctx context.Context, rs []*touchpoint.DeliveryResult) error {
	const (
		qFinish = `/* DB.FinishDeliveries */ WITH done AS (
			UPDATE deliveries SET state = $3, tries = $4, next_at = $5, lease_until = 0, lease = 0, reason = $6, updated_at = $7
			WHERE id = $1 AND lease = $2 AND lease <> 0
			RETURNING id, app_seq, pid)
			INSERT INTO delivery_attempts (delivery_id, n, app_seq, pid, at, status, latency, body, error)
			SELECT id, $4, app_seq, pid, $8, $9, $10, $11, $12 FROM done
			ON CONFLICT DO NOTHING`
		qRelease = `/* DB.FinishDeliveries */ UPDATE deliveries SET lease_until = 0, lease = 0
			WHERE id = $1 AND lease = $2 AND lease <> 0`
	)
	if len(rs) == 0 {
		return nil
	}
	// In id order, so that two transactions finishing overlapping
	// deliveries lock them in one order and cannot deadlock.
	rs = slices.SortedStableFunc(slices.Values(rs), func(a, b *touchpoint.DeliveryResult) int {
		return cmp.Compare(a.Delivery.ID, b.Delivery.ID)
	})
	now := db.Now().UnixMilli()
	var ats []int64
	for _, r := range rs {
		if r.Attempt != nil {
			ats = append(ats, r.Attempt.Time.UnixMilli())
		}
	}
	return db.withAttemptPartitions(ctx, ats, func() error {
		batch := &pgx.Batch{}
		for _, r := range rs {
			d := r.Delivery
			if r.Attempt == nil {
				batch.Queue(qRelease, d.ID, d.Lease)
				continue
			}
			a := r.Attempt
			batch.Queue(qFinish, d.ID, d.Lease, string(r.State), int64(a.N), r.NextAt.UnixMilli(), r.Reason, now,
				a.Time.UnixMilli(), int64(a.Status), a.Latency.Microseconds(), []byte(a.Body), []byte(a.Error))
		}
		return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
			return tx.SendBatch(ctx, batch).Close()
		})
	})
}

// FindDelivery returns one delivery with its attempts.
func (db *DB) FindDelivery(ctx context.Context, id int64) (*touchpoint.Delivery, error) {
	ds, err := findDeliveries(ctx, db.pool, `/* DB.FindDelivery */ SELECT `+deliveryColumns+`
		FROM deliveries d LEFT JOIN apps a ON a.seq = d.app_seq WHERE d.id = $1`, id)
	if err != nil {
		return nil, err
	}
	if len(ds) == 0 {
		return nil, touchpoint.Errorf(touchpoint.ENOTFOUND, "delivery %d not found", id)
	}
	d := ds[0]
	// Its attempts were made after it was written: the weeks before its
	// creation's are not read. A week of slack covers the clocks of the
	// node that wrote it and of the nodes that sent it disagreeing.
	rows, err := db.pool.Query(ctx, `/* DB.FindDelivery */ SELECT n, at, status, latency, body, error
		FROM delivery_attempts WHERE delivery_id = $1 AND at >= $2 ORDER BY n`, id, d.CreatedAt.UnixMilli()-weekMillis)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var a touchpoint.Attempt
		var n, at, status, latency int64
		var body, msg []byte
		if err := rows.Scan(&n, &at, &status, &latency, &body, &msg); err != nil {
			return nil, err
		}
		a.N, a.Status, a.Body, a.Error = int(n), int(status), string(body), string(msg)
		a.Time, a.Latency = touchpoint.StoredTime(at), time.Duration(latency)*time.Microsecond
		d.Attempts = append(d.Attempts, a)
	}
	return d, rows.Err()
}

// ListDeliveries returns a page of deliveries, newest first.
func (db *DB) ListDeliveries(ctx context.Context, f touchpoint.DeliveryFilter) ([]*touchpoint.Delivery, int64, error) {
	limit := f.PageSize()
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.App != "" {
		if _, err := findApp(ctx, db.pool, f.App, ""); err != nil {
			return nil, 0, err
		}
		add("d.app_seq = (SELECT seq FROM apps WHERE id = $%d)", f.App)
	}
	if f.Project != 0 {
		add("d.project = $%d", f.Project)
	}
	for _, c := range []struct{ col, v string }{{"d.pid", f.PID}, {"d.kind", string(f.Kind)}, {"d.state", string(f.State)}} {
		if c.v != "" {
			add(c.col+" = $%d", c.v)
		}
	}
	if !f.From.IsZero() {
		add("d.created_at >= $%d", f.From.UnixMilli())
	}
	if !f.To.IsZero() {
		add("d.created_at < $%d", f.To.UnixMilli())
	}
	if f.Before != 0 {
		add("d.id < $%d", f.Before)
	}
	q := ""
	if len(where) > 0 {
		q = "WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, limit+1)
	ds, err := findDeliveries(ctx, db.pool, `/* DB.ListDeliveries */ SELECT `+deliveryColumns+`
		FROM deliveries d LEFT JOIN apps a ON a.seq = d.app_seq `+q+fmt.Sprintf(` ORDER BY d.id DESC LIMIT $%d`, len(args)), args...)
	if err != nil {
		return nil, 0, err
	}
	ds, next := touchpoint.CutPage(ds, limit, func(x *touchpoint.Delivery) int64 { return x.ID })
	return ds, next, nil
}

// RetryDelivery makes a given-up delivery pending again, due at now.
func (db *DB) RetryDelivery(ctx context.Context, id int64, now time.Time) (*touchpoint.Delivery, error) {
	tag, err := db.pool.Exec(ctx, `/* DB.RetryDelivery */ UPDATE deliveries SET state = 'pending', next_at = $1,
		max_tries = tries + max_tries, reason = '', updated_at = $2 WHERE id = $3 AND state = 'failed'`,
		now.UnixMilli(), db.Now().UnixMilli(), id)
	if err != nil {
		return nil, err
	}
	d, err := db.FindDelivery(ctx, id)
	if err != nil {
		return nil, err
	}
	if tag.RowsAffected() == 0 {
		return nil, touchpoint.Errorf(touchpoint.ECONFLICT, "delivery %d is %s: only a failed delivery can be retried", id, d.State)
	}
	return d, nil
}

// DeliveryHealth sums up a partner's attempts in [from, to) (one range of
// delivery_attempts_partner in each week the range spans: the others are
// not read) and its backlog. The percentiles are the
// nearest-rank ones, as the embedded store's: percentile_disc.
func (db *DB) DeliveryHealth(ctx context.Context, app, pid string, from, to time.Time) (*touchpoint.DeliveryHealth, error) {
	if _, err := findApp(ctx, db.pool, app, ""); err != nil {
		return nil, err
	}
	h := &touchpoint.DeliveryHealth{App: app, PID: pid, From: from, To: to}
	var p50, p99 int64
	if err := db.pool.QueryRow(ctx, `/* DB.DeliveryHealth */ SELECT count(*), count(*) FILTER (WHERE status BETWEEN 200 AND 399),
		coalesce(percentile_disc(0.50) WITHIN GROUP (ORDER BY latency), 0),
		coalesce(percentile_disc(0.99) WITHIN GROUP (ORDER BY latency), 0)
		FROM delivery_attempts WHERE app_seq = (SELECT seq FROM apps WHERE id = $1) AND pid = $2 AND at >= $3 AND at < $4`,
		app, pid, from.UnixMilli(), to.UnixMilli()).Scan(&h.Attempts, &h.Succeeded, &p50, &p99); err != nil {
		return nil, err
	}
	if h.Attempts > 0 {
		h.SuccessRate = float64(h.Succeeded) / float64(h.Attempts)
		h.P50Ms, h.P99Ms = float64(p50)/1000, float64(p99)/1000
	}
	if err := db.pool.QueryRow(ctx, `/* DB.DeliveryHealth */ SELECT count(*) FILTER (WHERE state = 'pending'),
		count(*) FILTER (WHERE state = 'failed' AND created_at >= $3 AND created_at < $4)
		FROM deliveries WHERE app_seq = (SELECT seq FROM apps WHERE id = $1) AND pid = $2 AND state IN ('pending', 'failed')`,
		app, pid, from.UnixMilli(), to.UnixMilli()).Scan(&h.Backlog, &h.GivenUp); err != nil {
		return nil, err
	}
	return h, nil
}

// DeliveryBacklog counts pending deliveries by app and partner (a walk of
// the pending ones only: deliveries_pending is partial).
func (db *DB) DeliveryBacklog(ctx context.Context) ([]touchpoint.Backlog, error) {
	rows, err := db.pool.Query(ctx, `/* DB.DeliveryBacklog */ SELECT coalesce(a.id, '') AS app, b.pid, b.n FROM
		(SELECT app_seq, pid, count(*) AS n FROM deliveries WHERE state = 'pending' GROUP BY app_seq, pid) b
		LEFT JOIN apps a ON a.seq = b.app_seq
		ORDER BY coalesce(a.id, '') COLLATE "C", b.pid COLLATE "C"`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []touchpoint.Backlog
	for rows.Next() {
		var b touchpoint.Backlog
		if err := rows.Scan(&b.App, &b.PID, &b.Pending); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// findDeliveries runs a query that selects deliveryColumns.
func findDeliveries(ctx context.Context, q querier, query string, args ...any) ([]*touchpoint.Delivery, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*touchpoint.Delivery
	for rows.Next() {
		var d touchpoint.Delivery
		var kind, state, headers string
		var body []byte
		var tries, maxTries, interval, next, created, updated int64
		if err := rows.Scan(&d.ID, &d.App, &d.Project, &d.PID, &kind, &d.Source, &d.Method, &d.URL, &body, &d.ContentType, &d.Host,
			&state, &tries, &maxTries, &interval, &next, &d.Lease, &d.Reason, &d.Note, &created, &updated, &headers); err != nil {
			return nil, err
		}
		if headers != "" {
			if err := json.Unmarshal([]byte(headers), &d.Headers); err != nil {
				return nil, fmt.Errorf("delivery %d headers: %w", d.ID, err)
			}
		}
		d.Body, d.Tries, d.MaxTries = string(body), int(tries), int(maxTries)
		d.Kind, d.State = touchpoint.DeliveryKind(kind), touchpoint.DeliveryState(state)
		d.RetryInterval = time.Duration(interval) * time.Millisecond
		d.CreatedAt, d.UpdatedAt = touchpoint.StoredTime(created), touchpoint.StoredTime(updated)
		if d.State == touchpoint.DeliveryPending {
			d.NextAt = touchpoint.StoredTime(next)
		}
		out = append(out, &d)
	}
	return out, rows.Err()
}

// Attempts live in weekly partitions of their time, at (see the migration
// 2026-12-03-14-delivery-attempts-by-week.sql): weeks of Unix milliseconds
// counted from the epoch, as the touches' and the events'.

// attemptWeekLock is the advisory lock key that creating and dropping
// attempt partitions hold ("tpattwk" in ASCII), so that two nodes never
// race on one week's DDL.
const attemptWeekLock = 0x7470617474776b

func attemptTable(w int64) string { return weekTable("delivery_attempts", w) }

// attemptTableWeek returns the week of an attempt partition's name.
func attemptTableWeek(name string) (int64, bool) {
	s, neg := strings.TrimPrefix(name, "delivery_attempts_"), false
	if rest, ok := strings.CutPrefix(s, "m"); ok {
		s, neg = rest, true
	}
	w, err := strconv.ParseInt(s, 10, 64)
	if err != nil || s == name {
		return 0, false
	}
	if neg {
		w = -w
	}
	return w, attemptTable(w) == name
}

// attemptPartitions makes sure the partitions of delivery_attempts exist
// for attempts made at ats (Unix milliseconds): it creates the missing
// weeks in one transaction under attemptWeekLock (createPartitions) and
// remembers them, so that the weeks this node knows cost nothing. Call it
// before a transaction that inserts attempts, never inside one: creating
// a partition locks the table every writer of attempts uses.
//
// What it remembers can be wrong once another node's purge dropped a
// week: an insert into that week then fails (isMissingPartition). Writers
// of attempts go through withAttemptPartitions, which forgets and tries
// again.
func (db *DB) attemptPartitions(ctx context.Context, ats []int64) error {
	if err := db.createWeeks(ctx, &db.attemptWeeks, "delivery_attempts", attemptWeekLock, ats); err != nil {
		return fmt.Errorf("delivery attempt partitions: %w", err)
	}
	return nil
}

// withAttemptPartitions runs write, a transaction that inserts attempts
// made at ats, once their partitions exist. When write fails because a
// week it wrote into was dropped meanwhile (another node purged it after
// this one remembered it), the weeks are forgotten, made again and write
// runs once more: write must build its statements afresh each time.
func (db *DB) withAttemptPartitions(ctx context.Context, ats []int64, write func() error) error {
	err := db.attemptPartitions(ctx, ats)
	if err == nil {
		err = write()
	}
	if isMissingPartition(err) {
		db.attemptWeeks.forget(-1)
		if err = db.attemptPartitions(ctx, ats); err == nil {
			err = write()
		}
	}
	return err
}

// deliveryPurgeBatch is the most deliveries, or attempts, one statement of
// PurgeDeliveries removes: each is its own transaction, so a purge of a
// long backlog holds no locks, and pins no snapshot, for long.
const deliveryPurgeBatch = 1000

// PurgeDeliveries is the outbox's retention (see touchpoint.DeliveryStore),
// in three steps, none of which holds a transaction for long:
//
//  1. it drops every week of attempts that ends at or before before, one
//     transaction each (dropAttemptWeek);
//  2. it deletes the finished deliveries last updated before before, with
//     their attempts, deliveryPurgeBatch a statement, found down
//     deliveries_finished. The rows are locked FOR UPDATE SKIP LOCKED
//     and checked again once locked: a delivery a RetryDelivery is
//     changing is passed over (it is pending once that commits), and one
//     it changed after the statement began is read again, pending, and
//     kept. A retry that comes after the delete finds nothing:
//     ENOTFOUND;
//  3. it deletes the attempts made before before in the week before falls
//     in (those of deliveries kept: tried again since, or still pending),
//     deliveryPurgeBatch a statement, found down delivery_attempts_at.
//
// Retention runs hourly, so step 2 deletes about an hour's deliveries
// and step 3 next to nothing; the weeks dropped whole in step 1 are what
// the deletes emptied, and a backlog (a first purge, or one after the
// purge was off) goes by whole weeks.
func (db *DB) PurgeDeliveries(ctx context.Context, before time.Time) (int64, error) {
	const qDeliveries = `/* DB.PurgeDeliveries */ WITH gone AS (
			DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries
				WHERE state <> 'pending' AND updated_at < $1 AND id < (SELECT max(id) FROM deliveries)
				ORDER BY updated_at LIMIT $2 FOR UPDATE SKIP LOCKED)
			RETURNING id
		), attempts AS (
			DELETE FROM delivery_attempts WHERE delivery_id = ANY (ARRAY(SELECT id FROM gone))
		)
		SELECT count(*) FROM gone`
	cut := before.UnixMilli()
	weeks, err := db.attemptWeeksInCatalog(ctx)
	if err != nil {
		return 0, err
	}
	for _, w := range weeks {
		if (w+1)*weekMillis <= cut {
			if err := db.dropAttemptWeek(ctx, w); err != nil {
				return 0, fmt.Errorf("drop %s: %w", attemptTable(w), err)
			}
		}
	}
	var total int64
	for {
		var n int64
		if err := db.pool.QueryRow(ctx, qDeliveries, cut, deliveryPurgeBatch).Scan(&n); err != nil {
			return total, fmt.Errorf("purge deliveries: %w", err)
		}
		total += n
		if n < deliveryPurgeBatch {
			break
		}
	}
	// The week the cut falls in, the only one left with attempts before
	// it, is read by its own name: a batch is one range of its index on
	// at, and the delete finds the rows by their ctid (a join back on the
	// primary key can be planned as a scan of the whole week).
	if w := millisWeek(cut); w*weekMillis < cut && slices.Contains(weeks, w) {
		table := pgx.Identifier{attemptTable(w)}.Sanitize()
		q := `/* DB.PurgeDeliveries */ DELETE FROM ` + table + ` WHERE ctid = ANY (ARRAY(
			SELECT ctid FROM ` + table + ` WHERE at < $1 ORDER BY at LIMIT $2))`
		for {
			tag, err := db.pool.Exec(ctx, q, cut, deliveryPurgeBatch)
			if isUndefinedTable(err) {
				break // another node's purge dropped it meanwhile
			}
			if err != nil {
				return total, fmt.Errorf("purge delivery attempts: %w", err)
			}
			if tag.RowsAffected() < deliveryPurgeBatch {
				break
			}
		}
	}
	return total, nil
}

// attemptWeeksInCatalog returns the weeks that have an attempt partition,
// oldest first.
func (db *DB) attemptWeeksInCatalog(ctx context.Context) ([]int64, error) {
	rows, err := db.pool.Query(ctx, `/* DB.PurgeDeliveries */ SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'delivery_attempts'::regclass`)
	if err != nil {
		return nil, fmt.Errorf("delivery attempt partitions: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("delivery attempt partitions: %w", err)
	}
	var weeks []int64
	for _, name := range names {
		if w, ok := attemptTableWeek(name); ok {
			weeks = append(weeks, w)
		}
	}
	slices.Sort(weeks)
	return weeks, nil
}

// isUndefinedTable reports whether err names a table that does not exist.
func isUndefinedTable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "42P01"
}

// dropAttemptWeek drops a week's attempt partition under the advisory lock
// that creating it holds. Dropping a partition locks the parent table
// (parent first, so it cannot deadlock with a reader): lock_timeout bounds
// how long reads and writes of attempts queue behind a drop that waits
// for a long query, and the purge is tried again later. A node that still
// remembers the week and writes into it makes it again
// (withAttemptPartitions).
func (db *DB) dropAttemptWeek(ctx context.Context, w int64) error {
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL lock_timeout = '10s'`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(attemptWeekLock)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DROP TABLE IF EXISTS `+pgx.Identifier{attemptTable(w)}.Sanitize())
		return err
	})
	db.attemptWeeks.forget(w)
	return err
}
