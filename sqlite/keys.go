package sqlite

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/touchpointhq/touchpoint"
)

// hashPrefix starts a stored key hash: the column holds "sha256:" and the
// hex SHA-256 of the key (touchpoint.KeyHash). A value without it is a
// key stored in plaintext by an older version, which the key-hashes
// migration hashes.
const hashPrefix = "sha256:"

// storedKey is the column value of a key hash.
func storedKey(h touchpoint.KeyHash) string {
	return hashPrefix + hex.EncodeToString(h[:])
}

// parseStoredKey reads a column written by storedKey. An empty column is
// no key (a zero hash, which matches nothing).
func parseStoredKey(s string) (touchpoint.KeyHash, error) {
	var h touchpoint.KeyHash
	if s == "" {
		return h, nil
	}
	hx, ok := strings.CutPrefix(s, hashPrefix)
	if !ok || len(hx) != 2*len(h) {
		return h, fmt.Errorf("a stored key is not a %s hash", strings.TrimSuffix(hashPrefix, ":"))
	}
	if _, err := hex.Decode(h[:], []byte(hx)); err != nil {
		return h, fmt.Errorf("a stored key is not a %s hash: %w", strings.TrimSuffix(hashPrefix, ":"), err)
	}
	return h, nil
}

// keyColumn is where a kind of key is kept: its table, the hash column and
// the column of its last four characters.
type keyColumn struct {
	table, hash, last4 string
}

// keyColumns are the columns of every kind of key.
var keyColumns = map[touchpoint.KeyKind]keyColumn{
	touchpoint.DevKey:    {"apps", "dev_key", "dev_key_last4"},
	touchpoint.APIToken:  {"apps", "api_token", "api_token_last4"},
	touchpoint.APIKey:    {"projects", "api_key", "api_key_last4"},
	touchpoint.SecretKey: {"projects", "secret_key", "secret_key_last4"},
}

// migrationSteps are the Go parts of migrations, for what SQL cannot do:
// each runs after its file's SQL, in the same transaction, so both happen
// once, or neither.
var migrationSteps = map[string]func(ctx context.Context, tx *sql.Tx) error{
	"migrations/2026-11-25-09-key-hashes.sql": hashStoredKeys,
}

// hashStoredKeys replaces every key stored in plaintext with its hash, and
// notes its last four characters. Values already hashed are left alone.
// SQLite's secure_delete is on meanwhile, so the space the plaintext (and
// its unique index entries) took is overwritten with zeros rather than
// left in free space in the file; the WAL pages holding the change are
// copied over the old ones at the next checkpoint.
func hashStoredKeys(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, `PRAGMA secure_delete = ON`); err != nil {
		return err
	}
	defer tx.ExecContext(context.WithoutCancel(ctx), `PRAGMA secure_delete = OFF`)
	for _, kind := range []touchpoint.KeyKind{touchpoint.DevKey, touchpoint.APIToken, touchpoint.APIKey, touchpoint.SecretKey} {
		c := keyColumns[kind]
		rows, err := tx.QueryContext(ctx, `SELECT rowid, `+c.hash+` FROM `+c.table+` WHERE `+c.hash+` != '' AND `+c.hash+` NOT LIKE 'sha256:%'`)
		if err != nil {
			return err
		}
		type plain struct {
			rowid int64
			key   string
		}
		var keys []plain
		for rows.Next() {
			var p plain
			if err := rows.Scan(&p.rowid, &p.key); err != nil {
				rows.Close()
				return err
			}
			keys = append(keys, p)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, p := range keys {
			if _, err := tx.ExecContext(ctx, `UPDATE `+c.table+` SET `+c.hash+` = ?, `+c.last4+` = ? WHERE rowid = ?`,
				storedKey(touchpoint.HashKey(p.key)), touchpoint.KeyLast4(p.key), p.rowid); err != nil {
				return err
			}
		}
	}
	return nil
}
