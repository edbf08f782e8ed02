package migrate

import (
	"encoding/json"
	"fmt"

	"github.com/touchpointhq/touchpoint/sqlite"
)

// row is a source row being converted into a target's: its accessors read
// a column as the target wants it. The first column that is not what its
// table says is the row's error, and the row is not copied.
type row struct {
	vals []any
	err  error
}

func (r *row) fail(i int, want string) {
	if r.err == nil {
		r.err = fmt.Errorf("column %d is %T, want %s", i, r.vals[i], want)
	}
}

// int is an INTEGER column.
func (r *row) int(i int) int64 {
	v, ok := r.vals[i].(int64)
	if !ok {
		r.fail(i, "an integer")
	}
	return v
}

// nullInt is a nullable INTEGER column: int64 or nil.
func (r *row) nullInt(i int) any {
	if r.vals[i] == nil {
		return nil
	}
	return r.int(i)
}

// float is a REAL column.
func (r *row) float(i int) float64 {
	switch v := r.vals[i].(type) {
	case float64:
		return v
	case int64: // SQLite keeps a REAL without a fraction as an integer
		return float64(v)
	}
	r.fail(i, "a number")
	return 0
}

// bool is an INTEGER column of 0 or 1.
func (r *row) bool(i int) bool { return r.int(i) != 0 }

// text is a TEXT column.
func (r *row) text(i int) string {
	switch v := r.vals[i].(type) {
	case string:
		return v
	case []byte:
		return string(v)
	}
	r.fail(i, "text")
	return ""
}

// nullText is a nullable TEXT column: string or nil.
func (r *row) nullText(i int) any {
	if r.vals[i] == nil {
		return nil
	}
	return r.text(i)
}

// bytes is a TEXT or BLOB column, as bytes (for a BYTEA or JSONB column):
// never nil, which would be NULL.
func (r *row) bytes(i int) []byte {
	switch v := r.vals[i].(type) {
	case string:
		return []byte(v)
	case []byte:
		if v == nil {
			return []byte{}
		}
		return v
	}
	r.fail(i, "text or bytes")
	return nil
}

// nullBytes is a nullable TEXT or BLOB column, as bytes or nil.
func (r *row) nullBytes(i int) any {
	if r.vals[i] == nil {
		return nil
	}
	return r.bytes(i)
}

// key is a key hash as the embedded store keeps it, as the 32 bytes the
// PostgreSQL store keeps.
func (r *row) key(i int) []byte {
	h, err := sqlite.ParseStoredKey(r.text(i))
	if err != nil && r.err == nil {
		r.err = fmt.Errorf("column %d: %w", i, err)
	}
	return h[:]
}

// json decodes a JSON column into v.
func (r *row) json(i int, v any) {
	if err := json.Unmarshal(r.bytes(i), v); err != nil && r.err == nil {
		r.err = fmt.Errorf("column %d: %w", i, err)
	}
}

// marshal encodes v as JSON (for a JSONB column).
func (r *row) marshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil && r.err == nil {
		r.err = err
	}
	return b
}

// found is column i, looked up in another table by column name: NULL when
// the lookup found nothing, which is an error naming what.
func (r *row) found(i int, what string, name int) any {
	if r.vals[i] == nil {
		if r.err == nil {
			r.err = fmt.Errorf("no %s %v", what, r.vals[name])
		}
		return nil
	}
	return r.int(i)
}
