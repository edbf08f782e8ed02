package touchpoint

import (
	"bytes"

	"github.com/go-json-experiment/json/jsontext"
)

// PropReader finds named properties of stored events (an event's JSON as
// the store keeps it): a name is looked up in the event's
// event_properties, then among its top-level fields (revenue, platform,
// productId…), as EventCondition.Where and chart properties read them. A
// stored event keeps its members as they came, a name repeated too (HTTP
// V2 takes that): the last one counts, as in JSON.parse. A reader reuses
// its buffers from event to event: one goroutine uses it at a time.
type PropReader struct {
	names []string
	// topOnly[i]: names[i] is read among the top-level fields only.
	topOnly []bool
	// top and props hold a read event's values of names[i] at the top
	// level and in event_properties (a decoder's values last only until
	// its next read).
	top   []jsontext.Value
	props []jsontext.Value
	found []bool
	raws  [][]byte
	rd    bytes.Reader
	dec   *jsontext.Decoder
}

// readOptions read stored events, whose names may repeat.
var readOptions = []jsontext.Options{jsontext.AllowDuplicateNames(true)}

// NewPropReader returns a reader of names. topOnly (nil: none) marks the
// names read among the top-level fields only, event_properties aside.
func NewPropReader(names []string, topOnly []bool) *PropReader {
	r := &PropReader{names: names, top: make([]jsontext.Value, len(names)), found: make([]bool, len(names)),
		props: make([]jsontext.Value, len(names)), raws: make([][]byte, len(names)), topOnly: make([]bool, len(names))}
	copy(r.topOnly, topOnly)
	r.dec = jsontext.NewDecoder(&r.rd, readOptions...)
	return r
}

// Read sets vals[i] to the value of names[i] in the event, as
// ValueCondition.Match takes it (nil when missing).
func (r *PropReader) Read(data []byte, vals []any) {
	for j, raw := range r.ReadRaw(data) {
		vals[j] = ParseJSONValue(raw)
	}
}

// ReadRaw returns the JSON of each name in the event (empty when
// missing), valid until the next read.
func (r *PropReader) ReadRaw(data []byte) [][]byte {
	raws := r.raws
	clear(raws)
	clear(r.found)
	for j := range r.top {
		r.top[j] = r.top[j][:0]
	}
	r.rd.Reset(data)
	dec := r.dec
	dec.Reset(&r.rd, readOptions...)
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return raws
	}
	for dec.PeekKind() == '"' {
		tok, err := dec.ReadToken()
		if err != nil {
			return raws
		}
		key := tok.String()
		if key == "event_properties" && dec.PeekKind() == '{' {
			dec.ReadToken()
			for dec.PeekKind() == '"' {
				t, err := dec.ReadToken()
				if err != nil {
					return raws
				}
				name := t.String()
				v, err := dec.ReadValue()
				if err != nil {
					return raws
				}
				for j := range r.names {
					if r.names[j] == name && !r.topOnly[j] {
						r.props[j], r.found[j] = append(r.props[j][:0], v...), true
					}
				}
			}
			dec.ReadToken()
			continue
		}
		v, err := dec.ReadValue()
		if err != nil {
			return raws
		}
		for j := range r.names {
			if r.names[j] == key {
				r.top[j] = append(r.top[j][:0], v...)
			}
		}
	}
	for j := range r.names {
		if r.found[j] {
			raws[j] = r.props[j]
		} else if len(r.top[j]) > 0 {
			raws[j] = r.top[j]
		}
	}
	return raws
}

// UnquoteJSON returns the string a JSON string value holds ("" for a value
// that is not a valid string), without copying twice when it has no escape.
func UnquoteJSON(v []byte) string {
	if len(v) >= 2 && bytes.IndexByte(v, '\\') < 0 {
		return string(v[1 : len(v)-1])
	}
	b, err := jsontext.AppendUnquote(nil, v)
	if err != nil {
		return ""
	}
	return string(b)
}
