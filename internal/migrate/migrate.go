// Package migrate copies an embedded (SQLite) installation into an empty
// PostgreSQL database: touchpoint migrate-data. It joins the two stores'
// halves of the work (sqlite.Export reads the embedded store out,
// postgres.DB's Import methods write it in) with the one thing neither
// knows: how each table of one maps onto the other's.
//
// Every row keeps its ids. What the PostgreSQL store derives on its own
// writes (the lookup keys of touches, the insert ids of events, the keys of
// held attribution events) it derives here too, with its own code. When
// the copy is done the counters move past the largest ids copied, and each
// table's rows are counted on both sides.
package migrate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/touchpointhq/touchpoint"
	amp "github.com/touchpointhq/touchpoint/analytics"
	"github.com/touchpointhq/touchpoint/postgres"
	"github.com/touchpointhq/touchpoint/sqlite"
)

// Config is what to copy where.
type Config struct {
	// From is the data directory of the embedded store (its database is
	// touchpoint.db in it); To the PostgreSQL URL to copy it into.
	From, To string
	// Progress receives a line per table (and the embedded store's log);
	// nil: none. Terminal redraws each line as it goes, with \r.
	Progress io.Writer
	Terminal bool
	// Batch is the rows of one COPY (DefaultBatch when 0).
	Batch int
}

// DefaultBatch is the rows one COPY writes.
const DefaultBatch = 20_000

// Count is a table's rows (or, where the two stores shape it
// differently, its entities: touches, events, exchange rates) on each
// side.
type Count struct {
	Table          string
	Source, Target int64
}

// Result is what a run copied.
type Result struct {
	Counts []Count
	// Rows is the rows read from the source and written, Took the time
	// the copy took (the counting after it aside).
	Rows int64
	Took time.Duration
}

// Mismatches returns the counts that differ.
func (r *Result) Mismatches() []Count {
	var out []Count
	for _, c := range r.Counts {
		if c.Source != c.Target {
			out = append(out, c)
		}
	}
	return out
}

// DatabaseFile is the embedded store's database in a data directory.
const DatabaseFile = "touchpoint.db"

// Run copies the embedded store in cfg.From into the PostgreSQL database
// cfg.To. It refuses, changing nothing, a source that does not exist or
// that a running server holds (the store's lock), and a target that holds
// data. A copy that fails part way empties the target again. The result's
// counts may differ: the caller reports the tables that do.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Batch <= 0 {
		cfg.Batch = DefaultBatch
	}
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	path := filepath.Join(cfg.From, DatabaseFile)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s holds no Touchpoint data: %s does not exist", cfg.From, path)
	} else if err != nil {
		return nil, err
	}
	// The target first: refusing it changes nothing anywhere, while
	// opening the source may load its journal.
	if err := postgres.CheckEmpty(ctx, cfg.To); err != nil {
		return nil, fmt.Errorf("the target: %w", err)
	}
	src := sqlite.NewDB(path)
	src.ExternalTasks = true // nothing runs but the copy
	// Its log says what it recovered from the journal.
	src.Logger = slog.New(slog.NewTextHandler(cfg.Progress, nil))
	if err := src.Open(); errors.Is(err, sqlite.ErrInUse) {
		return nil, fmt.Errorf("the source %s: %w: stop the server that runs on it first", cfg.From, err)
	} else if err != nil {
		return nil, fmt.Errorf("the source %s: %w", cfg.From, err)
	}
	defer src.Close()
	x, err := src.Export(ctx)
	if err != nil {
		return nil, fmt.Errorf("the source %s: %w", cfg.From, err)
	}
	defer x.Close()
	if err := checkSource(ctx, x); err != nil {
		return nil, err
	}
	dst, err := postgres.Open(ctx, cfg.To)
	if err != nil {
		return nil, fmt.Errorf("the target: %w", err)
	}
	defer dst.Close()
	// Again, migrated: the first check read no lock, and its answer may be
	// a moment old.
	if err := dst.CheckEmpty(ctx); err != nil {
		return nil, fmt.Errorf("the target: %w", err)
	}
	if err := checkTarget(ctx, dst); err != nil {
		return nil, err
	}
	m := &migration{cfg: cfg, x: x, db: dst, progress: &progress{w: cfg.Progress, term: cfg.Terminal}}
	began := time.Now()
	if err := m.copy(ctx); err != nil {
		if cerr := dst.ClearImport(context.WithoutCancel(ctx)); cerr != nil {
			return nil, fmt.Errorf("%w (and emptying the target again failed: %v: drop its tables before trying again)", err, cerr)
		}
		return nil, fmt.Errorf("%w (the target was emptied again)", err)
	}
	res := &Result{Rows: m.rows, Took: time.Since(began)}
	for _, c := range m.counts {
		n, err := dst.ImportCount(ctx, c.Table)
		if err != nil {
			return nil, fmt.Errorf("counting %s in the target: %w", c.Table, err)
		}
		c.Target = n
		res.Counts = append(res.Counts, c)
	}
	return res, nil
}

// migration is one run's copy.
type migration struct {
	cfg      Config
	x        *sqlite.Export
	db       *postgres.DB
	progress *progress
	counts   []Count // the source's, in the order copied
	rows     int64
}

// copy copies every table, then moves the target's counters past the
// ids copied.
func (m *migration) copy(ctx context.Context) error {
	for _, s := range steps {
		if err := m.step(ctx, s); err != nil {
			return fmt.Errorf("copying %s: %w", s.table, err)
		}
	}
	next, err := m.x.Sequences(ctx)
	if err != nil {
		return err
	}
	return m.db.FinishImport(ctx, next)
}

// step copies one step's table(s).
func (m *migration) step(ctx context.Context, s step) error {
	var total int64
	var err error
	if s.total != nil {
		total, err = s.total(ctx, m.x)
	} else {
		total, err = m.x.Int(ctx, `SELECT count(*) FROM `+s.source)
	}
	if err != nil {
		return err
	}
	m.counts = append(m.counts, Count{Table: s.table, Source: total})
	bar := m.progress.start(s.table, total)
	if s.copy != nil {
		err = s.copy(ctx, m, s, bar)
	} else {
		err = m.copyRows(ctx, s, bar, m.db.ImportRows)
	}
	if err != nil {
		bar.fail()
		return err
	}
	bar.done()
	m.rows += bar.n
	return nil
}

// copyRows copies the rows of a step's query, converted, a batch a call of
// write (a COPY).
func (m *migration) copyRows(ctx context.Context, s step, bar *bar,
	write func(ctx context.Context, table string, columns []string, rows [][]any) error) error {
	return pipe(ctx, func(send func([][]any) error) error {
		batch := make([][]any, 0, m.cfg.Batch)
		err := m.x.Rows(ctx, s.query, nil, func(vals []any) error {
			r := &row{vals: vals}
			out := s.convert(r)
			if r.err != nil {
				return fmt.Errorf("%s row %v: %w", s.source, vals[0], r.err)
			}
			batch = append(batch, out)
			if len(batch) < cap(batch) {
				return nil
			}
			err := send(batch)
			batch = make([][]any, 0, m.cfg.Batch)
			return err
		})
		if err != nil || len(batch) == 0 {
			return err
		}
		return send(batch)
	}, func(batch [][]any) error {
		if err := write(ctx, s.table, s.columns, batch); err != nil {
			return err
		}
		bar.add(len(batch))
		return nil
	})
}

// pipe calls produce, which hands batches to send, and consume with each
// batch in another goroutine: reading the source and writing the target
// overlap, a batch apart. The first error of either stops both and is
// returned.
func pipe[T any](ctx context.Context, produce func(send func(T) error) error, consume func(T) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan T)
	consumed := make(chan error, 1)
	go func() {
		var err error
		for b := range batches {
			if err == nil {
				if err = consume(b); err != nil {
					cancel() // the producer's next send gives up
				}
			}
		}
		consumed <- err
	}()
	perr := produce(func(b T) error {
		select {
		case batches <- b:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	close(batches)
	if err := <-consumed; err != nil {
		return err
	}
	return perr
}

// derived records the count of a table written with another (the lookup
// keys with the touches, …): source is what the source holds of it.
func (m *migration) derived(table string, source int64) {
	m.counts = append(m.counts, Count{Table: table, Source: source})
}

// step is the copy of one table of the target. Most are a query of the
// source whose rows convert one to one into the target's; the others copy
// themselves.
type step struct {
	table   string // the target's table
	source  string // the source's table, whose rows are counted
	columns []string
	query   string
	convert func(*row) []any
	// total, when set, counts the source instead.
	total func(context.Context, *sqlite.Export) (int64, error)
	copy  func(context.Context, *migration, step, *bar) error
}

// The steps in order: a table after those its foreign keys name. Each
// query reads its table's every row (LEFT JOIN where it looks up another's),
// so that a row that cannot be copied fails the copy rather than be left
// behind.
var steps = []step{
	{table: "leases", source: "leases", columns: []string{"name", "holder", "until"},
		query:   `SELECT name, holder, until FROM leases`,
		convert: func(r *row) []any { return []any{r.text(0), r.text(1), r.int(2)} }},
	{table: "apps", source: "apps",
		columns: []string{"seq", "id", "platform", "name", "store_url", "dev_key", "dev_key_last4", "api_token", "api_token_last4",
			"click_lookback", "view_through_lookback", "probabilistic_window", "reattribution_window", "reengagement_window", "min_ctit",
			"test_clock", "time_zone", "created_at", "updated_at"},
		query: `SELECT seq, id, platform, name, store_url, dev_key, dev_key_last4, api_token, api_token_last4, click_lookback,
			view_through_lookback, probabilistic_window, reattribution_window, reengagement_window, min_ctit, test_clock, time_zone,
			created_at, updated_at FROM apps ORDER BY seq`,
		convert: func(r *row) []any {
			return []any{r.int(0), r.text(1), r.text(2), r.text(3), r.text(4), r.key(5), r.text(6), r.key(7), r.text(8),
				r.int(9), r.int(10), r.int(11), r.int(12), r.int(13), r.int(14), r.nullInt(15), r.text(16), r.int(17), r.int(18)}
		}},
	{table: "partners", source: "partners",
		columns: []string{"app_seq", "pid", "click_signing", "click_lookback", "view_through_lookback", "probabilistic_window",
			"allow_ip_ua", "restricted", "daily_click_cap", "send_all_installs", "in_app_window", "postback_retries",
			"postback_retry_minutes", "postbacks", "created_at", "updated_at"},
		query: `SELECT app_seq, pid, click_signing, click_lookback, view_through_lookback, probabilistic_window, allow_ip_ua, restricted,
			daily_click_cap, send_all_installs, in_app_window, postback_retries, postback_retry_minutes, postbacks, created_at, updated_at
			FROM partners`,
		convert: func(r *row) []any {
			return []any{r.int(0), r.text(1), r.text(2), r.int(3), r.int(4), r.int(5), r.bool(6), r.bool(7), r.int(8), r.bool(9),
				r.int(10), r.int(11), r.int(12), r.bytes(13), r.int(14), r.int(15)}
		}},
	{table: "signing_secrets", source: "signing_secrets",
		columns: []string{"id", "app_seq", "pid", "secret", "created_at", "expires_at", "revoked_at"},
		query:   `SELECT id, app_seq, pid, secret, created_at, expires_at, revoked_at FROM signing_secrets`,
		convert: func(r *row) []any {
			return []any{r.text(0), r.int(1), r.text(2), r.text(3), r.int(4), r.int(5), r.nullInt(6)}
		}},
	// Hours in Unix seconds there, milliseconds here.
	{table: "signing_counts", source: "signing_counts", columns: []string{"app_seq", "pid", "hour", "verdict", "n"},
		query: `SELECT app_seq, pid, hour, verdict, n FROM signing_counts`,
		convert: func(r *row) []any {
			return []any{r.int(0), r.text(1), r.int(2) * 1000, int16(r.int(3)), r.int(4)}
		}},
	{table: "projects", source: "projects",
		columns: []string{"id", "name", "api_key", "api_key_last4", "secret_key", "secret_key_last4", "http_eps", "batch_eps",
			"attributions_dropped", "test_clock", "time_zone", "created_at", "updated_at"},
		query: `SELECT id, name, api_key, api_key_last4, secret_key, secret_key_last4, http_eps, batch_eps, attributions_dropped,
			test_clock, time_zone, created_at, updated_at FROM projects ORDER BY id`,
		convert: func(r *row) []any {
			return []any{r.int(0), r.text(1), r.key(2), r.text(3), r.key(4), r.text(5), r.int(6), r.int(7), r.int(8), r.nullInt(9),
				r.text(10), r.int(11), r.int(12)}
		}},
	// Apps by id there, by seq here.
	{table: "project_apps", source: "project_apps", columns: []string{"project", "app_seq"},
		query:   `SELECT pa.project, a.seq, pa.app_id FROM project_apps pa LEFT JOIN apps a ON a.id = pa.app_id`,
		convert: func(r *row) []any { return []any{r.int(0), r.found(1, "app", 2)} }},
	{table: "exchange_rates", source: "exchange_rates", query: `SELECT day, currency, rate FROM exchange_rates ORDER BY day, currency`,
		copy: copyRates},
	{table: "analytics_forwards", source: "analytics_forwards",
		columns: []string{"app_seq", "url", "api_key", "mode", "style", "company", "enabled", "created_at", "updated_at"},
		query:   `SELECT a.seq, f.data, f.app_id FROM analytics_forwards f LEFT JOIN apps a ON a.id = f.app_id`,
		convert: func(r *row) []any {
			var f touchpoint.AnalyticsForward
			r.json(1, &f)
			return []any{r.found(0, "app", 2), f.URL, f.APIKey, string(f.Mode), string(f.Style), f.Company, f.Enabled,
				f.CreatedAt.UnixMilli(), f.UpdatedAt.UnixMilli()}
		}},
	{table: "destinations", source: "destinations",
		columns: []string{"id", "project", "kind", "name", "appsflyer_app_id", "key", "url", "filter", "appsflyer_id_property",
			"api_token", "platform", "identifier", "enabled", "created_at", "updated_at"},
		query: `SELECT id, project, data FROM destinations ORDER BY id`,
		convert: func(r *row) []any {
			var d touchpoint.Destination
			r.json(2, &d)
			return []any{r.int(0), r.int(1), string(d.Kind), d.Name, d.AppsFlyerAppID, d.Key, d.URL, r.marshal(d.Filter),
				d.AppsFlyerIDProperty, d.APIToken, string(d.Platform), d.Identifier, d.Enabled, d.CreatedAt.UnixMilli(), d.UpdatedAt.UnixMilli()}
		}},
	// A project's delivery has app_seq 0 there, NULL here.
	{table: "deliveries", source: "deliveries",
		columns: []string{"id", "app_seq", "project", "pid", "kind", "source", "method", "url", "body", "content_type", "headers", "host",
			"state", "tries", "max_tries", "retry_interval", "next_at", "lease_until", "lease", "reason", "note", "created_at", "updated_at"},
		query: `SELECT id, nullif(app_seq, 0), project, pid, kind, source, method, url, body, content_type, headers, host, state, tries,
			max_tries, retry_interval, next_at, lease_until, lease, reason, note, created_at, updated_at FROM deliveries ORDER BY id`,
		convert: func(r *row) []any {
			return []any{r.int(0), r.nullInt(1), r.int(2), r.text(3), r.text(4), r.text(5), r.text(6), r.text(7), r.bytes(8), r.text(9),
				r.text(10), r.text(11), r.text(12), r.int(13), r.int(14), r.int(15), r.int(16), r.int(17), r.int(18), r.text(19), r.text(20),
				r.int(21), r.int(22)}
		}},
	// Attempts carry their delivery's app and partner here (an attempt
	// whose delivery is gone keeps none).
	{table: "delivery_attempts", source: "delivery_attempts",
		columns: []string{"delivery_id", "n", "app_seq", "pid", "at", "status", "latency", "body", "error"},
		query: `SELECT a.delivery_id, a.n, nullif(d.app_seq, 0), coalesce(d.pid, ''), a.at, a.status, a.latency, a.body, a.error
			FROM delivery_attempts a LEFT JOIN deliveries d ON d.id = a.delivery_id`,
		convert: func(r *row) []any {
			return []any{r.int(0), r.int(1), r.nullInt(2), r.text(3), r.int(4), r.int(5), r.int(6), r.bytes(7), r.bytes(8)}
		},
		copy: copyAttempts},
	{table: "report", source: "report",
		columns: []string{"app_seq", "day", "media_source", "campaign", "campaign_id", "adset", "ad", "site_id", "country", "metric", "currency", "n", "amount"},
		query:   `SELECT app_seq, day, media_source, campaign, campaign_id, adset, ad, site_id, country, metric, currency, n, amount FROM report`,
		convert: func(r *row) []any {
			return []any{r.int(0), r.int(1), r.text(2), r.text(3), r.text(4), r.text(5), r.text(6), r.text(7), r.text(8), r.text(9),
				r.text(10), r.int(11), r.int(12)}
		}},
	{table: "touches", total: func(ctx context.Context, x *sqlite.Export) (int64, error) { return x.CountTouches(ctx) },
		copy: copyTouches},
	{table: "devices", source: "devices", columns: []string{"app_seq", "id", "launches", "data"},
		query:   `SELECT app_seq, id, launches, data FROM devices`,
		convert: func(r *row) []any { return []any{r.int(0), r.text(1), r.int(2), r.bytes(3)} }},
	{table: "device_keys", source: "device_keys", columns: []string{"app_seq", "k", "device_id"},
		query:   `SELECT app_seq, k, device_id FROM device_keys`,
		convert: func(r *row) []any { return []any{r.int(0), r.int(1), r.text(2)} }},
	// The install's type is a column here, read from its record.
	{table: "installs", source: "installs", columns: []string{"id", "app_seq", "device_id", "type", "data"},
		query: `SELECT id, app_seq, device_id, data FROM installs ORDER BY id`,
		convert: func(r *row) []any {
			var in struct {
				Type touchpoint.InstallType `json:"type"`
			}
			r.json(3, &in)
			return []any{r.int(0), r.int(1), r.text(2), string(in.Type), r.bytes(3)}
		}},
	{table: "launch_keys", source: "launch_keys", columns: []string{"app_seq", "key", "install_id"},
		query:   `SELECT app_seq, key, install_id FROM launch_keys`,
		convert: func(r *row) []any { return []any{r.int(0), r.text(1), r.int(2)} }},
	{table: "conversions", source: "conversions", columns: []string{"id", "app_seq", "device_id", "event_id", "data"},
		query: `SELECT id, app_seq, device_id, event_id, data FROM conversions ORDER BY id`,
		convert: func(r *row) []any {
			return []any{r.int(0), r.int(1), r.text(2), r.nullText(3), r.bytes(4)}
		}},
	// Audiences name their app by id there, by seq here.
	{table: "audiences", source: "audiences",
		columns: []string{"id", "app_seq", "name", "platform", "import_key", "size", "created_at", "updated_at"},
		query: `SELECT au.id, a.seq, au.name, au.platform, au.import_key, au.size, au.created_at, au.updated_at, au.app_id
			FROM audiences au LEFT JOIN apps a ON a.id = au.app_id ORDER BY au.id`,
		convert: func(r *row) []any {
			return []any{r.int(0), r.found(1, "app", 8), r.text(2), r.text(3), r.text(4), r.int(5), r.int(6), r.int(7)}
		}},
	{table: "audience_members", source: "audience_members", columns: []string{"audience", "identifier", "value", "app_id", "added_at"},
		query: `SELECT audience, identifier, value, app_id, added_at FROM audience_members`,
		convert: func(r *row) []any {
			return []any{r.int(0), r.text(1), r.text(2), r.text(3), r.int(4)}
		}},
	// A cohort is the JSON of touchpoint.Cohort there, columns here.
	{table: "cohorts", source: "cohorts",
		columns: []string{"id", "project", "name", "description", "definition", "version", "created_at", "updated_at", "size", "computed_at"},
		query:   `SELECT id, project, data, size, computed_at FROM cohorts ORDER BY id`,
		convert: func(r *row) []any {
			var c touchpoint.Cohort
			r.json(2, &c)
			return []any{r.int(0), r.int(1), c.Name, c.Description, r.marshal(c.Definition), int32(c.Version), c.CreatedAt.UnixMilli(),
				c.UpdatedAt.UnixMilli(), r.int(3), r.nullInt(4)}
		}},
	{table: "cohort_versions", source: "cohort_versions", columns: []string{"cohort", "version", "name", "definition", "created_at"},
		query: `SELECT cohort, version, name, definition, created_at FROM cohort_versions`,
		convert: func(r *row) []any {
			return []any{r.int(0), int32(r.int(1)), r.text(2), r.bytes(3), r.int(4)}
		}},
	{table: "cohort_members", source: "cohort_members", columns: []string{"cohort", "amplitude_id"},
		query:   `SELECT cohort, user FROM cohort_members`,
		convert: func(r *row) []any { return []any{r.int(0), r.int(1)} }},
	{table: "cohort_computations", source: "cohort_computations",
		columns: []string{"id", "cohort", "version", "computed_at", "size", "entered", "left_count", "took_ms"},
		query:   `SELECT id, cohort, version, computed_at, size, entered, left, took_ms FROM cohort_computations ORDER BY id`,
		convert: func(r *row) []any {
			return []any{r.int(0), r.int(1), int32(r.int(2)), r.int(3), r.int(4), r.int(5), r.int(6), r.int(7)}
		}},
	// A sync is the JSON of touchpoint.CohortSync there (its claim aside),
	// columns here.
	{table: "cohort_syncs", source: "cohort_syncs",
		columns: []string{"id", "cohort", "destination", "cadence", "batch_size", "enabled", "audience_id", "audience_name", "import_key",
			"next_run", "last_run", "claimed_until", "created_at", "updated_at"},
		query: `SELECT id, cohort, claimed_until, data FROM cohort_syncs ORDER BY id`,
		convert: func(r *row) []any {
			var s touchpoint.CohortSync
			r.json(3, &s)
			return []any{r.int(0), r.int(1), s.Destination, s.Cadence, int32(s.BatchSize), s.Enabled, s.AudienceID, s.AudienceName,
				s.ImportKey, millis(s.NextRun), millis(s.LastRun), r.int(2), s.CreatedAt.UnixMilli(), s.UpdatedAt.UnixMilli()}
		}},
	{table: "cohort_sync_members", source: "cohort_sync_members", columns: []string{"sync", "amplitude_id", "identifier"},
		query:   `SELECT sync, user, identifier FROM cohort_sync_members`,
		convert: func(r *row) []any { return []any{r.int(0), r.int(1), r.text(2)} }},
	{table: "sync_runs", source: "sync_runs",
		columns: []string{"id", "sync", "started_at", "finished_at", "status", "size", "added", "removed", "skipped", "failed", "error", "responses"},
		query:   `SELECT id, sync, data FROM sync_runs ORDER BY id`,
		convert: func(r *row) []any {
			var s touchpoint.SyncRun
			r.json(2, &s)
			if s.Responses == nil {
				s.Responses = []touchpoint.SyncResponse{} // as RecordSyncRun stores none
			}
			return []any{r.int(0), r.int(1), s.StartedAt.UnixMilli(), s.FinishedAt.UnixMilli(), s.Status, s.Size, s.Added, s.Removed,
				s.Skipped, s.Failed, s.Error, r.marshal(s.Responses)}
		}},
	// The analytics plane keeps what clients send as bytes here.
	{table: "users", source: "users",
		columns: []string{"id", "project", "user_id", "merged_into", "props_version", "first_seen", "platform", "country", "idfa", "idfv", "adid"},
		query:   `SELECT id, project, user_id, merged_into, props_version, first_seen, platform, country, idfa, idfv, adid FROM users ORDER BY id`,
		convert: func(r *row) []any {
			return []any{r.int(0), r.int(1), r.nullBytes(2), r.nullInt(3), r.int(4), r.int(5), r.nullBytes(6), r.nullBytes(7),
				r.nullBytes(8), r.nullBytes(9), r.nullBytes(10)}
		}},
	{table: "user_devices", source: "user_devices", columns: []string{"project", "device_id", "amplitude_id"},
		query:   `SELECT project, device_id, user FROM user_devices`,
		convert: func(r *row) []any { return []any{r.int(0), r.bytes(1), r.int(2)} }},
	{table: "user_adids", source: "user_adids", columns: []string{"project", "key", "amplitude_id"},
		query:   `SELECT project, key, user FROM user_adids`,
		convert: func(r *row) []any { return []any{r.int(0), r.bytes(1), r.int(2)} }},
	{table: "user_props", source: "user_props", columns: []string{"version", "amplitude_id", "props"},
		query:   `SELECT version, user, props FROM user_props ORDER BY version`,
		convert: func(r *row) []any { return []any{r.int(0), r.int(1), r.bytes(2)} }},
	{table: "groups", source: "groups", columns: []string{"project", "type", "value", "props", "updated_at"},
		query: `SELECT project, type, value, props, updated_at FROM groups`,
		convert: func(r *row) []any {
			return []any{r.int(0), r.bytes(1), r.bytes(2), r.bytes(3), r.int(4)}
		}},
	{table: "event_types", source: "event_types", columns: []string{"id", "project", "name"},
		query:   `SELECT id, project, name FROM event_types ORDER BY id`,
		convert: func(r *row) []any { return []any{r.int(0), r.int(1), r.bytes(2)} }},
	{table: "events", source: "events", copy: copyEvents},
	// An applied attribution carries its event's time here (to find the
	// event in its partition).
	{table: "user_attributions", source: "user_attributions", columns: []string{"amplitude_id", "event", "time"},
		query:   `SELECT ua.user, ua.event, e.time, ua.event FROM user_attributions ua LEFT JOIN events e ON e.id = ua.event`,
		convert: func(r *row) []any { return []any{r.int(0), r.int(1), r.found(2, "event", 3)} }},
	{table: "pending_attributions", source: "pending_attributions", copy: copyHeld},
}

// sourceOnly are the source's tables no step copies: what the embedded
// store keeps for itself (its migrations, the loader's and indexers'
// marks in meta, its sequences, which FinishImport carries over), and
// what the steps read with another table (the events' blocks) or the
// target derives (the events' index by user).
var sourceOnly = map[string]bool{"migrations": true, "meta": true, "sequences": true, "event_blocks": true, "event_users": true}

// targetDerived are the target's tables no step names: written with
// another table's rows, counters, or left empty (report_deltas: additions
// to the report not folded into it yet; the report is copied whole).
var targetDerived = map[string]bool{"schema_migrations": true, "sequences": true, "touch_ids": true, "touch_keys": true,
	"insert_ids": true, "pending_attribution_keys": true, "report_deltas": true}

// checkSource refuses a source with a table the steps do not copy: a newer
// store's, whose rows would be left behind.
func checkSource(ctx context.Context, x *sqlite.Export) error {
	names, err := x.Tables(ctx)
	if err != nil {
		return err
	}
	for _, name := range names {
		if !sourceOnly[name] && !slices.ContainsFunc(steps, func(s step) bool { return s.source == name }) {
			return fmt.Errorf("the source has a table this version cannot copy (%s): use the touchpoint that wrote it", name)
		}
	}
	return nil
}

// checkTarget refuses a target with a table the steps do not fill: a
// newer store's, which would be left empty.
func checkTarget(ctx context.Context, db *postgres.DB) error {
	names, err := db.Tables(ctx)
	if err != nil {
		return err
	}
	for _, name := range names {
		if !targetDerived[name] && !slices.ContainsFunc(steps, func(s step) bool { return s.table == name }) {
			return fmt.Errorf("the target has a table this version does not fill (%s): migrate with the touchpoint that made it", name)
		}
	}
	return nil
}

// copyRates copies the exchange rates: a row per currency and day there,
// a row per day (its table of rates) here.
func copyRates(ctx context.Context, m *migration, s step, bar *bar) error {
	var rows [][]any
	var day int64
	var rates map[string]float64
	flush := func() error {
		if rates == nil {
			return nil
		}
		b, err := json.Marshal(rates)
		if err != nil {
			return err
		}
		rows = append(rows, []any{day * 1000, b})
		bar.add(len(rates))
		rates = nil
		return nil
	}
	err := m.x.Rows(ctx, s.query, nil, func(vals []any) error {
		r := &row{vals: vals}
		d, cur, rate := r.int(0), r.text(1), r.float(2)
		if r.err != nil {
			return r.err
		}
		if rates != nil && d != day {
			if err := flush(); err != nil {
				return err
			}
		}
		if rates == nil {
			day, rates = d, map[string]float64{}
		}
		rates[cur] = rate
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return err
	}
	return m.db.ImportRows(ctx, s.table, []string{"day", "rates"}, rows)
}

// copyAttempts copies the delivery attempts into the partitions of their
// weeks.
func copyAttempts(ctx context.Context, m *migration, s step, bar *bar) error {
	return m.copyRows(ctx, s, bar, func(ctx context.Context, _ string, columns []string, rows [][]any) error {
		return m.db.ImportAttempts(ctx, columns, rows)
	})
}

// copyTouches copies the touches, decoded, with the lookup keys the
// target derives from them.
func copyTouches(ctx context.Context, m *migration, _ step, bar *bar) error {
	keys, err := m.x.CountTouchKeys(ctx)
	if err != nil {
		return err
	}
	m.derived("touch_keys", keys)
	return pipe(ctx, func(send func([]*touchpoint.Touch) error) error {
		return m.x.Touches(ctx, m.cfg.Batch, send)
	}, func(ts []*touchpoint.Touch) error {
		if err := m.db.ImportTouches(ctx, ts); err != nil {
			return err
		}
		bar.add(len(ts))
		return nil
	})
}

// copyEvents copies the events, with the insert ids the target derives
// from them.
func copyEvents(ctx context.Context, m *migration, _ step, bar *bar) error {
	ids, err := m.x.Int(ctx, `SELECT count(*) FROM (SELECT DISTINCT project, dedup FROM events WHERE dedup != 0)`)
	if err != nil {
		return err
	}
	m.derived("insert_ids", ids)
	return pipe(ctx, func(send func([]amp.Event) error) error {
		return m.x.Events(ctx, m.cfg.Batch, send)
	}, func(es []amp.Event) error {
		if err := m.db.ImportEvents(ctx, es); err != nil {
			return err
		}
		bar.add(len(es))
		return nil
	})
}

// copyHeld copies the held attribution events, with the keys the target
// finds them by.
func copyHeld(ctx context.Context, m *migration, _ step, bar *bar) error {
	held, err := m.x.Held(ctx)
	if err != nil {
		return err
	}
	var keys int64
	for _, h := range held {
		ks := slices.Clone(h.Keys)
		slices.SortFunc(ks, func(a, b touchpoint.AdIDKey) int { return strings.Compare(string(a[:]), string(b[:])) })
		keys += int64(len(slices.Compact(ks)))
	}
	m.derived("pending_attribution_keys", keys)
	for len(held) > 0 {
		n := min(len(held), m.cfg.Batch)
		if err := m.db.ImportHeld(ctx, held[:n]); err != nil {
			return err
		}
		bar.add(n)
		held = held[n:]
	}
	return nil
}

// millis is a nullable time as Unix milliseconds, or NULL.
func millis(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMilli()
}
