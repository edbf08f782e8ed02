package analytics

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"sort"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/touchpointhq/touchpoint"
)

// shape is what one pass over a JSON value (valid JSON) tells: how deep
// it nests, the bytes of its longest string, and whether every number in
// it fits a float64. 1e999 is valid JSON but no number a reader can hold or
// add up (JavaScript reads it as Infinity; Go's encoding/json refuses it):
// an event or property holding one is refused, as a price of 1e999 is.
type shape struct {
	depth, longest int
	finite         bool
}

func shapeOf(val []byte) shape {
	sh := shape{finite: true}
	depth := 0
	inString, escaped, start := false, false, 0
	for i := 0; i < len(val); i++ {
		c := val[i]
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
				sh.longest = max(sh.longest, i-start)
			}
		case c == '"':
			inString, start = true, i
		case c == '{' || c == '[':
			depth++
			sh.depth = max(sh.depth, depth)
		case c == '}' || c == ']':
			depth--
		case c == '-' || '0' <= c && c <= '9':
			j := i + 1
			for j < len(val) && (val[j] >= '0' && val[j] <= '9' || val[j] == '.' || val[j] == 'e' || val[j] == 'E' || val[j] == '+' || val[j] == '-') {
				j++
			}
			// Without an exponent, only 309 digits or more overflow.
			if n := val[i:j]; len(n) > 308 || bytes.ContainsAny(n, "eE") {
				if f, err := strconv.ParseFloat(string(n), 64); err != nil || math.IsInf(f, 0) {
					sh.finite = false
				}
			}
			i = j - 1
		}
	}
	return sh
}

// checkObject checks a property object, of shape sh (shapeOf(val)):
// nested no deeper than MaxPropertyDepth. Strings longer than
// MaxStringLength characters are cut; the object is returned as it came
// when none is.
func checkObject(val jsontext.Value, sh shape) (jsontext.Value, bool) {
	// The object itself is depth 1: its values may nest 40 more.
	if sh.depth > MaxPropertyDepth+1 {
		return nil, false
	}
	if sh.longest <= MaxStringLength {
		// No string has more bytes, so none has more characters.
		return val, true
	}
	return cutStrings(val)
}

// cutStrings re-encodes val with every string (names included) cut to
// MaxStringLength characters.
func cutStrings(val jsontext.Value) (jsontext.Value, bool) {
	dec := jsontext.NewDecoder(bytes.NewReader(val), decodeOptions...)
	var out bytes.Buffer
	enc := jsontext.NewEncoder(&out, decodeOptions...)
	for {
		tok, err := dec.ReadToken()
		if err != nil {
			break
		}
		if tok.Kind() == '"' {
			if s := tok.String(); len(s) > MaxStringLength {
				tok = jsontext.String(truncate(s, MaxStringLength))
			}
		}
		if err := enc.WriteToken(tok); err != nil {
			return nil, false
		}
	}
	return bytes.TrimSpace(out.Bytes()), true
}

// trimGroups decodes an event's groups and keeps the first MaxGroupTypes
// group types (by name) and MaxGroupValues values of each (Amplitude's HTTP V2 API documentation: extra
// ones are dropped). A value is a string or a list of strings.
func trimGroups(raw []byte) (map[string]any, error) {
	m, err := touchpoint.DecodeProperties(raw)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	for i, k := range names {
		if i >= MaxGroupTypes {
			delete(m, k)
			continue
		}
		switch v := m[k].(type) {
		case string:
		case []any:
			for _, x := range v {
				if _, ok := x.(string); !ok {
					return nil, errors.New("group values are strings")
				}
			}
			if len(v) > MaxGroupValues {
				m[k] = v[:MaxGroupValues]
			}
		default:
			return nil, errors.New("group values are strings")
		}
	}
	return m, nil
}

// appendJSON appends v encoded (keys sorted).
func appendJSON(b []byte, v any) []byte {
	j, err := json.Marshal(v)
	if err != nil {
		return append(b, "null"...)
	}
	return append(b, j...)
}
