package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/touchpointhq/touchpoint"
)

var _ touchpoint.InstallStore = (*DB)(nil)

// FindDeviceByIDs returns the device of an app that carries one of the ids
// (IdentityIDTypes, compared case-insensitively), the most recently
// launched if several do.
func (db *DB) FindDeviceByIDs(ctx context.Context, app string, ids touchpoint.DeviceIDs) (*touchpoint.Device, error) {
	seq, _, err := appZone(ctx, db.pool, app)
	if err != nil {
		return nil, err
	}
	keys := touchpoint.IdentityKeys(app, ids)
	if len(keys) == 0 {
		return nil, nil
	}
	rows, err := db.pool.Query(ctx, `/* DB.FindDeviceByIDs */ SELECT id, data FROM devices
		WHERE app_seq = $1 AND id IN (SELECT device_id FROM device_keys WHERE app_seq = $1 AND k = ANY($2))`, seq, lookupKeys(keys))
	if err != nil {
		return nil, err
	}
	// The keys are hashes: compare the ids themselves.
	return lastLaunched(rows, func(d *touchpoint.Device) bool { return touchpoint.SameDevice(d.IDs, ids) })
}

// FindDeviceByCustomerUserID returns the device with a customer user id,
// the most recently launched if several have it.
func (db *DB) FindDeviceByCustomerUserID(ctx context.Context, app, cuid string) (*touchpoint.Device, error) {
	seq, _, err := appZone(ctx, db.pool, app)
	if err != nil {
		return nil, err
	}
	rows, err := db.pool.Query(ctx, `/* DB.FindDeviceByCustomerUserID */ SELECT d.id, d.data FROM device_keys k
		JOIN devices d ON d.app_seq = k.app_seq AND d.id = k.device_id
		WHERE k.app_seq = $1 AND k.k = $2`, seq, int64(touchpoint.CustomerUserKey(app, cuid)))
	if err != nil {
		return nil, err
	}
	// A device's customer user id may have changed since its key was
	// written: compare.
	best, err := lastLaunched(rows, func(d *touchpoint.Device) bool { return d.CustomerUserID == cuid })
	if err != nil {
		return nil, err
	}
	if best == nil {
		return nil, touchpoint.Errorf(touchpoint.ENOTFOUND, "no device of app %s has customer_user_id %q", app, cuid)
	}
	return best, nil
}

// FindDevice returns a device by our id.
func (db *DB) FindDevice(ctx context.Context, app, id string) (*touchpoint.Device, error) {
	seq, _, err := appZone(ctx, db.pool, app)
	if err != nil {
		return nil, err
	}
	rows, err := db.pool.Query(ctx, `/* DB.FindDevice */ SELECT id, data FROM devices WHERE app_seq = $1 AND id = $2`, seq, id)
	if err != nil {
		return nil, err
	}
	d, err := lastLaunched(rows, func(*touchpoint.Device) bool { return true })
	if err != nil {
		return nil, err
	}
	if d == nil {
		return nil, touchpoint.Errorf(touchpoint.ENOTFOUND, "device %s of app %s not found", id, app)
	}
	return d, nil
}

// lastLaunched reads rows of (id, device data) and closes them: of the
// devices that are, it returns the most recently launched, or nil.
func lastLaunched(rows pgx.Rows, are func(*touchpoint.Device) bool) (*touchpoint.Device, error) {
	defer rows.Close()
	var best *touchpoint.Device
	for rows.Next() {
		var id string
		var data []byte
		if err := rows.Scan(&id, &data); err != nil {
			return nil, err
		}
		d := new(touchpoint.Device)
		if err := json.Unmarshal(data, d); err != nil {
			return nil, fmt.Errorf("device %s: %w", id, err)
		}
		if are(d) && (best == nil || d.LastLaunch.After(best.LastLaunch)) {
			best = d
		}
	}
	return best, rows.Err()
}

func lookupKeys(keys []touchpoint.LookupKey) []int64 {
	out := make([]int64, len(keys))
	for i, k := range keys {
		out[i] = int64(k)
	}
	return out
}

// launchKeyLock is the advisory lock of a first launch's idempotency key.
func launchKeyLock(app, key string) int64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "launch\x00%s\x00%s", app, key)
	return int64(h.Sum64())
}

// WriteLaunches writes a group of decided launches in one transaction.
// Each is checked against what was committed since its decision was made:
// a retried first launch finds its install (Duplicate); a device that
// changed, or a device that appeared with the same ids, makes the decision
// Stale. Neither writes anything.
//
// Nodes write at once, so the checks hold locks until the commit: first
// the transaction's advisory locks on every launch key and device id of
// the group (all at once, in one order), so that a first launch and
// another of the same device, or a retry of it, wait for each other and
// the second then sees what the first wrote; then the rows of the devices
// the decisions were made on (in one order too), so that two later
// launches of one device cannot both find the version they were decided
// on.
func (db *DB) WriteLaunches(ctx context.Context, ws []*touchpoint.LaunchWrite) error {
	if len(ws) == 0 {
		return nil
	}
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		return db.writeLaunches(ctx, tx, ws)
	})
}

// appCache resolves apps' seqs and zones once a transaction.
type appCache map[string]struct {
	seq int64
	loc *time.Location
}

func (c appCache) get(ctx context.Context, q querier, app string) (int64, *time.Location, error) {
	if a, ok := c[app]; ok {
		return a.seq, a.loc, nil
	}
	seq, loc, err := appZone(ctx, q, app)
	if err != nil {
		return 0, nil, err
	}
	c[app] = struct {
		seq int64
		loc *time.Location
	}{seq, loc}
	return seq, loc, nil
}

func (db *DB) writeLaunches(ctx context.Context, tx pgx.Tx, ws []*touchpoint.LaunchWrite) error {
	apps := appCache{}
	var locks []int64
	var seenSeqs []int64
	var seenIDs []string
	for _, w := range ws {
		w.Duplicate, w.Stale = 0, false
		app := w.Device.App
		seq, _, err := apps.get(ctx, tx, app)
		if err != nil {
			return err
		}
		if w.Key != "" {
			locks = append(locks, launchKeyLock(app, w.Key))
		}
		locks = append(locks, lookupKeys(touchpoint.IdentityKeys(app, w.Device.IDs))...)
		if w.Seen != nil {
			locks = append(locks, lookupKeys(touchpoint.IdentityKeys(app, w.Seen.IDs))...)
			seenSeqs, seenIDs = append(seenSeqs, seq), append(seenIDs, w.Seen.ID)
		}
	}
	slices.Sort(locks)
	locks = slices.Compact(locks)
	if len(locks) > 0 {
		// unnest returns the sorted keys in their order: every
		// transaction takes its locks in one order.
		if _, err := tx.Exec(ctx, `/* WriteLaunches */ SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) AS k`, locks); err != nil {
			return err
		}
	}
	if len(seenIDs) > 0 {
		if _, err := tx.Exec(ctx, `/* WriteLaunches */ SELECT 1 FROM devices
			WHERE (app_seq, id) IN (SELECT * FROM unnest($1::bigint[], $2::text[]))
			ORDER BY app_seq, id FOR UPDATE`, seenSeqs, seenIDs); err != nil {
			return err
		}
	}
	// The checks, all in one round trip: each launch's key, and the
	// device it was decided on or the devices that appeared with its ids.
	type check struct {
		seq      int64
		loc      *time.Location
		dup      int64 // the install of the launch key, committed
		version  int64 // the Seen device's launches; -1: gone
		appeared bool  // a device with the ids exists
	}
	checks := make([]check, len(ws))
	var b pgx.Batch
	for i, w := range ws {
		seq, loc, err := apps.get(ctx, tx, w.Device.App)
		if err != nil {
			return err
		}
		c := &checks[i]
		c.seq, c.loc = seq, loc
		if w.Key != "" {
			b.Queue(`/* WriteLaunches */ SELECT install_id FROM launch_keys WHERE app_seq = $1 AND key = $2`, seq, w.Key).QueryRow(func(r pgx.Row) error {
				if err := r.Scan(&c.dup); err != nil && !errors.Is(err, pgx.ErrNoRows) {
					return err
				}
				return nil
			})
		}
		if w.Seen != nil {
			c.version = -1
			b.Queue(`/* WriteLaunches */ SELECT launches FROM devices WHERE app_seq = $1 AND id = $2`, seq, w.Seen.ID).QueryRow(func(r pgx.Row) error {
				if err := r.Scan(&c.version); err != nil && !errors.Is(err, pgx.ErrNoRows) {
					return err
				}
				return nil
			})
		} else if keys := touchpoint.IdentityKeys(w.Device.App, w.Device.IDs); len(keys) > 0 {
			ids := w.Device.IDs
			b.Queue(`/* WriteLaunches */ SELECT id, data FROM devices
				WHERE app_seq = $1 AND id IN (SELECT device_id FROM device_keys WHERE app_seq = $1 AND k = ANY($2))`, seq, lookupKeys(keys)).Query(func(rows pgx.Rows) error {
				d, err := lastLaunched(rows, func(d *touchpoint.Device) bool { return touchpoint.SameDevice(d.IDs, ids) })
				c.appeared = d != nil
				return err
			})
		}
	}
	if b.Len() > 0 {
		if err := tx.SendBatch(ctx, &b).Close(); err != nil {
			return err
		}
	}
	// The decisions, in order, each also checked against what the group
	// writes before it, as if each were checked after the last was
	// written: a retry of a first launch in the group is a Duplicate of
	// it, and a launch of a device the group changed or made is Stale.
	type devKey struct {
		seq int64
		id  string
	}
	keyOwner := map[devKey]*touchpoint.LaunchWrite{}   // launch keys of the group's installs
	written := map[devKey]bool{}                       // devices the group writes
	var made []int                                     // the launches that make devices
	owners := make([]*touchpoint.LaunchWrite, len(ws)) // ws[i] is a Duplicate of owners[i]'s install
	var writes []int
	for i, w := range ws {
		c := checks[i]
		if w.Key != "" {
			if c.dup != 0 {
				w.Duplicate = c.dup
				continue
			}
			if o := keyOwner[devKey{c.seq, w.Key}]; o != nil {
				owners[i] = o
				continue
			}
		}
		if w.Seen != nil {
			if c.version != w.Version || written[devKey{c.seq, w.Seen.ID}] {
				w.Stale = true
				continue
			}
		} else if c.appeared || slices.ContainsFunc(made, func(j int) bool {
			return checks[j].seq == c.seq && touchpoint.SameDevice(ws[j].Device.IDs, w.Device.IDs)
		}) {
			w.Stale = true
			continue
		}
		written[devKey{c.seq, w.Device.ID}] = true
		if w.Seen == nil {
			made = append(made, i)
		}
		if w.Key != "" && w.Install != nil {
			keyOwner[devKey{c.seq, w.Key}] = w
		}
		writes = append(writes, i)
	}

	// The installs, in one round trip: their ids go into the devices.
	report := touchpoint.ReportSums{}
	var deliveries []*touchpoint.Delivery // owed by what this transaction writes
	b = pgx.Batch{}
	for _, i := range writes {
		w, c := ws[i], checks[i]
		in := w.Install
		if in == nil {
			continue
		}
		// The id is not in the stored JSON: readers take it from its column.
		in.ID = 0
		data, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("install: %w", err)
		}
		b.Queue(`/* WriteLaunches */ INSERT INTO installs (app_seq, device_id, type, data) VALUES ($1, $2, $3, $4) RETURNING id`,
			c.seq, in.DeviceID, string(in.Type), data).QueryRow(func(r pgx.Row) error {
			if err := r.Scan(&in.ID); err != nil {
				return err
			}
			switch in.Type {
			case touchpoint.TypeInstall:
				w.Device.InstallID = in.ID
			case touchpoint.TypeReengagement, touchpoint.TypeReattribution:
				w.Device.ReengagementID = in.ID
			}
			report.Add(c.seq, touchpoint.InstallDeltas(in, c.loc))
			for _, d := range w.Deliveries {
				d.Source = "install/" + strconv.FormatInt(in.ID, 10)
			}
			deliveries = append(deliveries, w.Deliveries...)
			return nil
		})
	}
	if b.Len() > 0 {
		if err := tx.SendBatch(ctx, &b).Close(); err != nil {
			return err
		}
	}
	for i, o := range owners {
		if o != nil {
			ws[i].Duplicate = o.Install.ID
		}
	}

	// The launch keys, devices and their keys, in one round trip.
	b = pgx.Batch{}
	for _, i := range writes {
		w, seq := ws[i], checks[i].seq
		if w.Key != "" && w.Install != nil {
			b.Queue(`/* WriteLaunches */ INSERT INTO launch_keys (app_seq, key, install_id) VALUES ($1, $2, $3)`, seq, w.Key, w.Install.ID)
		}
		data, err := json.Marshal(w.Device)
		if err != nil {
			return fmt.Errorf("device: %w", err)
		}
		b.Queue(`/* WriteLaunches */ INSERT INTO devices (app_seq, id, launches, data) VALUES ($1, $2, $3, $4)
			ON CONFLICT (app_seq, id) DO UPDATE SET launches = excluded.launches, data = excluded.data`,
			seq, w.Device.ID, w.Device.Launches, data)
		keys := touchpoint.IdentityKeys(w.Device.App, w.Device.IDs)
		if w.Device.CustomerUserID != "" {
			keys = append(keys, touchpoint.CustomerUserKey(w.Device.App, w.Device.CustomerUserID))
		}
		if len(keys) > 0 {
			b.Queue(`/* WriteLaunches */ INSERT INTO device_keys (app_seq, k, device_id)
				SELECT $1, k, $3 FROM unnest($2::bigint[]) AS k ON CONFLICT DO NOTHING`, seq, lookupKeys(keys), w.Device.ID)
		}
	}
	if b.Len() > 0 {
		if err := tx.SendBatch(ctx, &b).Close(); err != nil {
			return err
		}
	}
	if err := writeReport(ctx, tx, report); err != nil {
		return err
	}
	return db.insertDeliveries(ctx, tx, deliveries)
}

// FindInstall returns a decided launch by id.
func (db *DB) FindInstall(ctx context.Context, app string, id int64) (*touchpoint.Install, error) {
	seq, _, err := appZone(ctx, db.pool, app)
	if err != nil {
		return nil, err
	}
	ins, err := findInstalls(ctx, db.pool, `WHERE app_seq = $1 AND id = $2`, seq, id)
	if err != nil {
		return nil, err
	}
	if len(ins) == 0 {
		return nil, touchpoint.Errorf(touchpoint.ENOTFOUND, "install %d of app %s not found", id, app)
	}
	return ins[0], nil
}

// ListInstalls returns a device's decided launches, newest first.
func (db *DB) ListInstalls(ctx context.Context, app, deviceID string) ([]*touchpoint.Install, error) {
	seq, _, err := appZone(ctx, db.pool, app)
	if err != nil {
		return nil, err
	}
	return findInstalls(ctx, db.pool, `WHERE app_seq = $1 AND device_id = $2 ORDER BY id DESC`, seq, deviceID)
}

// LatestInstall returns the app's newest new install: one seek of
// installs_latest.
func (db *DB) LatestInstall(ctx context.Context, app string) (*touchpoint.Install, error) {
	seq, _, err := appZone(ctx, db.pool, app)
	if err != nil {
		return nil, err
	}
	ins, err := findInstalls(ctx, db.pool, `WHERE app_seq = $1 AND type = 'install' ORDER BY id DESC LIMIT 1`, seq)
	if err != nil {
		return nil, err
	}
	if len(ins) == 0 {
		return nil, touchpoint.Errorf(touchpoint.ENOTFOUND, "app %s has no install yet", app)
	}
	return ins[0], nil
}

func findInstalls(ctx context.Context, q querier, where string, args ...any) ([]*touchpoint.Install, error) {
	rows, err := q.Query(ctx, `/* findInstalls */ SELECT id, data FROM installs `+where, args...)
	if err != nil {
		return nil, err
	}
	return scanJSON(rows, "install", func(in *touchpoint.Install, id int64) { in.ID = id })
}

// scanJSON reads rows of (id, JSON of T) and closes them; setID puts the
// id (kept in its column, not in the JSON) into each value.
func scanJSON[T any](rows pgx.Rows, what string, setID func(*T, int64)) ([]*T, error) {
	defer rows.Close()
	var out []*T
	for rows.Next() {
		var id int64
		var data []byte
		if err := rows.Scan(&id, &data); err != nil {
			return nil, err
		}
		v := new(T)
		if err := json.Unmarshal(data, v); err != nil {
			return nil, fmt.Errorf("%s %d: %w", what, id, err)
		}
		setID(v, id)
		out = append(out, v)
	}
	return out, rows.Err()
}

// WriteConversions stores conversions in one transaction; one whose device
// already has a conversion with its event id is a Duplicate and is not
// stored again. The unique index decides: a conversion another node is
// writing with the same event id waits for that node's commit, and is then
// its Duplicate.
func (db *DB) WriteConversions(ctx context.Context, ws []*touchpoint.ConversionWrite) error {
	if len(ws) == 0 {
		return nil
	}
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		return db.writeConversions(ctx, tx, ws)
	})
}

func (db *DB) writeConversions(ctx context.Context, tx pgx.Tx, ws []*touchpoint.ConversionWrite) error {
	apps := appCache{}
	report := touchpoint.ReportSums{}
	var deliveries []*touchpoint.Delivery // owed by what this transaction writes
	for _, w := range ws {
		c := w.Conversion
		w.Duplicate = 0
		seq, loc, err := apps.get(ctx, tx, c.App)
		if err != nil {
			return err
		}
		var eventID *string
		if c.EventID != "" {
			eventID = &c.EventID
		}
		// The id is not in the stored JSON: readers take it from its column.
		c.ID = 0
		data, err := json.Marshal(c)
		if err != nil {
			return fmt.Errorf("conversion: %w", err)
		}
		err = tx.QueryRow(ctx, `/* WriteConversions */ INSERT INTO conversions (app_seq, device_id, event_id, data)
			VALUES ($1, $2, $3, $4) ON CONFLICT (app_seq, device_id, event_id) WHERE event_id IS NOT NULL DO NOTHING
			RETURNING id`, seq, c.DeviceID, eventID, data).Scan(&c.ID)
		if errors.Is(err, pgx.ErrNoRows) {
			if err := tx.QueryRow(ctx, `/* WriteConversions */ SELECT id FROM conversions
				WHERE app_seq = $1 AND device_id = $2 AND event_id = $3`, seq, c.DeviceID, c.EventID).Scan(&w.Duplicate); err != nil {
				return err
			}
			continue
		} else if err != nil {
			return err
		}
		report.Add(seq, touchpoint.ConversionDeltas(c, loc))
		for _, d := range w.Deliveries {
			d.Source = "conversion/" + strconv.FormatInt(c.ID, 10)
		}
		deliveries = append(deliveries, w.Deliveries...)
	}
	if err := writeReport(ctx, tx, report); err != nil {
		return err
	}
	return db.insertDeliveries(ctx, tx, deliveries)
}

// ListConversions returns a device's conversions, newest first.
func (db *DB) ListConversions(ctx context.Context, app, deviceID string) ([]*touchpoint.Conversion, error) {
	seq, _, err := appZone(ctx, db.pool, app)
	if err != nil {
		return nil, err
	}
	rows, err := db.pool.Query(ctx, `/* DB.ListConversions */ SELECT id, data FROM conversions
		WHERE app_seq = $1 AND device_id = $2 ORDER BY id DESC`, seq, deviceID)
	if err != nil {
		return nil, err
	}
	return scanJSON(rows, "conversion", func(c *touchpoint.Conversion, id int64) { c.ID = id })
}
