package postgres

import (
	"bytes"
	"context"
	"errors"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/jackc/pgx/v5"
	"github.com/touchpointhq/touchpoint"
)

// Charts read the events with plain scans (touchpoint.ChartSource): the
// events of a project in the range and types, from their weekly
// partitions, in a read-only transaction that also reads the project's
// merges, so that every event counts for the survivor of the merges
// committed with it. A user property is read from the version of the
// user's properties the event was stored with, each version once per
// scan; other properties from the stored event. Nothing is kept in memory
// between scans: another node's writes are in the next scan.

var _ touchpoint.ChartSource = (*DB)(nil)

// chartBatch is how many events or users a batch holds at most, as the
// embedded store's.
const chartBatch = 1 << 16

// checkProject is ENOTFOUND for a project that is not there.
func checkProject(ctx context.Context, tx pgx.Tx, project int64) error {
	var one int
	err := tx.QueryRow(ctx, `/* chart project */ SELECT 1 FROM projects WHERE id = $1`, project).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return touchpoint.Errorf(touchpoint.ENOTFOUND, "project %d not found", project)
	}
	return err
}

// chartMerges returns a project's merged users mapped to the users they
// were merged into (touchpoint.Survivor follows them).
func chartMerges(ctx context.Context, q querier, project int64) (map[int64]int64, error) {
	rows, err := q.Query(ctx, `/* chart merged users */ SELECT id, merged_into FROM users WHERE project = $1 AND merged_into IS NOT NULL`, project)
	if err != nil {
		return nil, err
	}
	merged := map[int64]int64{}
	var id, into int64
	_, err = pgx.ForEachRow(rows, []any{&id, &into}, func() error {
		merged[id] = into
		return nil
	})
	return merged, err
}

// versionProps reads named user properties from versions of users'
// properties, each version once: their codes in the scan's dictionaries.
type versionProps struct {
	names []string
	cols  []int // the scan's column of each name
	dec   *jsontext.Decoder
	codes map[int64][]int32 // version → code of each name; 0: none
}

func newVersionProps(names []string, cols []int) *versionProps {
	return &versionProps{names: names, cols: cols, dec: jsontext.NewDecoder(bytes.NewReader(nil)),
		codes: map[int64][]int32{0: make([]int32, len(names))}}
}

// load reads the versions a query gives (rows of version, props),
// coding their values in dicts (by the scan's column).
func (v *versionProps) load(ctx context.Context, q querier, dicts []*touchpoint.Dict, query string, args ...any) error {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return err
	}
	var ver int64
	var props []byte
	_, err = pgx.ForEachRow(rows, []any{&ver, &props}, func() error {
		// A version is an object of properties: each name a member.
		codes := make([]int32, len(v.names))
		for j, name := range v.names {
			codes[j] = dicts[v.cols[j]].Code(topLevel(v.dec, props, name))
		}
		v.codes[ver] = codes
		return nil
	})
	return err
}

// of returns the codes of a version's values (none for a version not
// found).
func (v *versionProps) of(ver int64) []int32 {
	if c := v.codes[ver]; c != nil {
		return c
	}
	return v.codes[0]
}

// ScanEvents scans a project's events (touchpoint.ChartSource).
func (db *DB) ScanEvents(ctx context.Context, project int64, scan *touchpoint.EventScan, fn func(*touchpoint.EventBatch) error) error {
	// Where each column comes from: user properties from their versions,
	// the rest from the stored event (revenue: its top-level revenue, a
	// number).
	var userNames []string
	var userCols, eventCols []int
	for i, p := range scan.Props {
		if p.Versioned() {
			userNames, userCols = append(userNames, p.Name), append(userCols, i)
		} else {
			eventCols = append(eventCols, i)
		}
	}
	var reader *touchpoint.PropReader
	revenue := make([]bool, len(eventCols))
	if len(eventCols) > 0 {
		names := make([]string, len(eventCols))
		top := make([]bool, len(eventCols))
		for j, i := range eventCols {
			p := scan.Props[i]
			names[j], top[j] = p.Name, p.TopOnly()
			revenue[j] = p.Top && p.Name == "revenue"
		}
		reader = touchpoint.NewPropReader(names, top)
	}
	// Events without a revenue member have no revenue: when the scan
	// requires it, the database leaves them out.
	requireRevenue := false
	for _, i := range scan.Require {
		if p := scan.Props[i]; p.Top && p.Name == "revenue" {
			requireRevenue = true
		}
	}
	return db.readTx(ctx, func(tx pgx.Tx) error {
		if err := checkProject(ctx, tx, project); err != nil {
			return err
		}
		merged, err := chartMerges(ctx, tx, project)
		if err != nil {
			return err
		}
		// The types asked for, by id: their index in TypeNames.
		want := map[int64]int32{}
		names := scan.Types
		rows, err := tx.Query(ctx, `/* chart event types */ SELECT id, name FROM event_types WHERE project = $1 ORDER BY id`, project)
		if err != nil {
			return err
		}
		var id int64
		var name []byte
		_, err = pgx.ForEachRow(rows, []any{&id, &name}, func() error {
			if len(scan.Types) == 0 {
				names = append(names, string(name))
				want[id] = int32(len(names) - 1)
				return nil
			}
			for i, t := range scan.Types {
				if t == string(name) {
					want[id] = int32(i)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(want) == 0 {
			return nil // none of the types has events yet
		}
		ids := make([]int64, 0, len(want))
		for id := range want {
			ids = append(ids, id)
		}
		where := `project = $1 AND time >= $2 AND time < $3 AND type = ANY($4)`
		args := []any{project, scan.Start, scan.End, ids}
		if requireRevenue {
			where += ` AND position($5::bytea IN data) > 0`
			args = append(args, []byte(`"revenue"`))
		}
		b := &touchpoint.EventBatch{TypeNames: names, Props: make([][]int32, len(scan.Props)), Dicts: make([]*touchpoint.Dict, len(scan.Props))}
		for i := range b.Dicts {
			b.Dicts[i] = &touchpoint.Dict{}
		}
		// The versions of the events scanned, read first, in the same
		// snapshot, each once.
		var versions *versionProps
		if len(userNames) > 0 {
			versions = newVersionProps(userNames, userCols)
			err := versions.load(ctx, tx, b.Dicts, `/* chart user properties */ SELECT version, props FROM user_props
				WHERE version IN (SELECT props FROM events WHERE `+where+`)`, args...)
			if err != nil {
				return err
			}
		}
		flush := func() error {
			if b.Len() == 0 {
				return nil
			}
			if len(scan.Require) > 0 {
				b.Keep(func(i int) bool {
					for _, j := range scan.Require {
						if b.Props[j][i] == 0 {
							return false
						}
					}
					return true
				})
			}
			if err := fn(b); err != nil {
				return err
			}
			b.User, b.Type, b.Time = b.User[:0], b.Type[:0], b.Time[:0]
			for i := range b.Props {
				b.Props[i] = b.Props[i][:0]
			}
			return ctx.Err()
		}
		rows, err = tx.Query(ctx, `/* chart events */ SELECT amplitude_id, type, time, props, `+orEmpty(reader != nil, "data")+` FROM events WHERE `+where, args...)
		if err != nil {
			return err
		}
		var user, typ, t, ver int64
		var data []byte
		dest := []any{&user, &typ, &t, &ver, &data}
		var raw []byte
		_, err = pgx.ForEachRow(rows, dest, func() error {
			b.User = append(b.User, touchpoint.Survivor(merged, user))
			b.Type = append(b.Type, want[typ])
			b.Time = append(b.Time, t)
			if versions != nil {
				for j, c := range versions.of(ver) {
					i := userCols[j]
					b.Props[i] = append(b.Props[i], c)
				}
			}
			if reader != nil {
				for j, v := range reader.ReadRaw(data) {
					if revenue[j] {
						raw = raw[:0]
						if f, ok := touchpoint.NumberOf(touchpoint.ParseJSONValue(v)); ok {
							raw = strconv.AppendFloat(raw, f, 'g', -1, 64)
						}
						v = raw
					}
					i := eventCols[j]
					b.Props[i] = append(b.Props[i], b.Dicts[i].Code(v))
				}
			}
			if b.Len() < chartBatch {
				return nil
			}
			return flush()
		})
		if err != nil {
			return err
		}
		return flush()
	})
}

// orEmpty is what when cond holds, else an empty BYTEA (a column the
// scan does not read).
func orEmpty(cond bool, what string) string {
	if cond {
		return what
	}
	return `''::bytea`
}

// CountUsers counts a project's users that are not merged into another.
func (db *DB) CountUsers(ctx context.Context, project int64) (int64, error) {
	var n int64
	err := db.readTx(ctx, func(tx pgx.Tx) error {
		if err := checkProject(ctx, tx, project); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `/* chart count users */ SELECT count(*) FROM users WHERE project = $1 AND merged_into IS NULL`, project).Scan(&n)
	})
	return n, err
}

// ScanUsers scans a project's users not merged into another
// (touchpoint.ChartSource), from one snapshot: a user's first seen is the
// earliest over the users merged into it, and its platform and country
// its own, else one of its merged users'.
func (db *DB) ScanUsers(ctx context.Context, project int64, props []string, fn func(*touchpoint.UserBatch) error) error {
	builtin := make([]int, len(props)) // index in BuiltinUserProperties+1; 0: a stored property
	var stored []string
	var storedCols []int
	for i, p := range props {
		if (touchpoint.PropertyRef{Name: p, User: true}).Versioned() {
			stored, storedCols = append(stored, p), append(storedCols, i)
			continue
		}
		for j, name := range touchpoint.BuiltinUserProperties {
			if name == p {
				builtin[i] = j + 1
			}
		}
	}
	type user struct {
		id, first, version int64
		builtins           [2][]byte // platform, country
	}
	var users []*user
	b := &touchpoint.UserBatch{Props: make([][]int32, len(props)), Dicts: make([]*touchpoint.Dict, len(props))}
	for i := range b.Dicts {
		b.Dicts[i] = &touchpoint.Dict{}
	}
	var versions *versionProps
	if len(stored) > 0 {
		versions = newVersionProps(stored, storedCols)
	}
	err := db.readTx(ctx, func(tx pgx.Tx) error {
		if err := checkProject(ctx, tx, project); err != nil {
			return err
		}
		if versions != nil {
			err := versions.load(ctx, tx, b.Dicts, `/* chart user properties */ SELECT version, props FROM user_props
				WHERE version IN (SELECT props_version FROM users WHERE project = $1 AND merged_into IS NULL)`, project)
			if err != nil {
				return err
			}
		}
		// Users not merged first: a merged user's row adds to its
		// survivor's.
		rows, err := tx.Query(ctx, `/* chart users */ SELECT id, merged_into, first_seen, props_version, platform, country FROM users
			WHERE project = $1 ORDER BY merged_into IS NOT NULL, id`, project)
		if err != nil {
			return err
		}
		index := map[int64]*user{}
		merged := map[int64]int64{}
		type mergedUser struct {
			id, first int64
			builtins  [2][]byte
		}
		var mergedUsers []mergedUser
		var u user
		var into *int64
		_, err = pgx.ForEachRow(rows, []any{&u.id, &into, &u.first, &u.version, &u.builtins[0], &u.builtins[1]}, func() error {
			if into != nil {
				merged[u.id] = *into
				mergedUsers = append(mergedUsers, mergedUser{u.id, u.first, u.builtins})
				return nil
			}
			nu := u
			index[nu.id] = &nu
			users = append(users, &nu)
			return nil
		})
		if err != nil {
			return err
		}
		for _, m := range mergedUsers {
			s := index[touchpoint.Survivor(merged, m.id)]
			if s == nil {
				continue
			}
			s.first = min(s.first, m.first)
			for j := range s.builtins {
				if s.builtins[j] == nil {
					s.builtins[j] = m.builtins[j]
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	var raw []byte
	for lo := 0; lo < len(users); lo += chartBatch {
		part := users[lo:min(lo+chartBatch, len(users))]
		b.Reset()
		for _, u := range part {
			b.User = append(b.User, u.id)
			b.FirstSeen = append(b.FirstSeen, u.first)
			for i := range props {
				var c int32
				if builtin[i] > 0 {
					if s := u.builtins[builtin[i]-1]; s != nil {
						raw, _ = jsontext.AppendQuote(raw[:0], string(s))
						c = b.Dicts[i].Code(raw)
					}
				}
				b.Props[i] = append(b.Props[i], c)
			}
			if versions != nil {
				for j, c := range versions.of(u.version) {
					b.Props[storedCols[j]][len(b.User)-1] = c
				}
			}
		}
		if err := fn(b); err != nil {
			return err
		}
	}
	return nil
}
