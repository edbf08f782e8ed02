// Package appsflyer speaks to AppsFlyer for analytics destinations. It
// streams analytics events to the S2S in-app events API (spec/appsflyer.md
// §5) as Amplitude's "Send events to AppsFlyer" destination does
// (spec/amplitude-adjust.md §4.4): one event per request, with the user id
// as customer_user_id, every event, user and group property inside
// eventValue, os always, and the device ids the event has. And it is the
// client of the Audiences APIs (spec/appsflyer.md §6) that cohort syncs
// use (audience.go).
package appsflyer

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/touchpointhq/touchpoint"
)

// MaxBody is the S2S API's limit on a request body: 1 KB.
const MaxBody = 1024

// Stream is a destination of kind appsflyer-events, compiled: it is a
// touchpoint.Streamer.
type Stream struct {
	d         *touchpoint.Destination
	url, host string
	pid       string
	types     map[string]bool // nil: every type
}

var _ touchpoint.Streamer = (*Stream)(nil)

// NewStream compiles a destination. self is this server's base URL, the
// target of a destination with no URL.
func NewStream(d *touchpoint.Destination, self string) *Stream {
	base, host := touchpoint.IntegrationTarget(d.URL, self)
	s := &Stream{d: d, url: base + "/inappevent/" + url.PathEscape(d.AppsFlyerAppID), host: host,
		pid: "destination/" + strconv.FormatInt(d.ID, 10)}
	if len(d.Filter.EventTypes) > 0 {
		s.types = make(map[string]bool, len(d.Filter.EventTypes))
		for _, t := range d.Filter.EventTypes {
			s.types[t] = true
		}
	}
	return s
}

// PID is the name of the destination's deliveries: destination/<id>.
func (s *Stream) PID() string { return s.pid }

// Wants reports whether the filter lets events of a type through.
func (s *Stream) Wants(eventType string) bool {
	return s.types == nil || s.types[eventType]
}

// TimeLayout is eventTime's form: yyyy-mm-dd hh:mm:ss.sss, UTC.
const TimeLayout = "2006-01-02 15:04:05.000"

// stored is what the stream reads of a stored event: its top-level
// strings (raw, quoted), revenue (a raw number), and the members of
// event_properties (raw values).
type stored struct {
	strs    map[string]jsontext.Value
	revenue jsontext.Value
	props   []member
}

type member struct {
	key string
	raw jsontext.Value
}

// streamedFields are the top-level members the stream reads.
var streamedFields = map[string]bool{"currency": true, "library": true, "os_name": true, "os_version": true,
	"platform": true, "device_brand": true, "ip": true, "idfa": true, "idfv": true, "adid": true,
	"android_id": true, "oaid": true, "amazon_aid": true, "app_version": true}

// scan reads a stored event in one pass, skipping what the stream does not
// send.
func scan(data []byte) (*stored, error) {
	st := &stored{strs: make(map[string]jsontext.Value, 16)}
	dec := jsontext.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return nil, fmt.Errorf("not an object")
	}
	for dec.PeekKind() != '}' {
		name, err := dec.ReadToken()
		if err != nil {
			return nil, err
		}
		key := name.String()
		switch {
		case key == "event_properties" && dec.PeekKind() == '{':
			dec.ReadToken()
			for dec.PeekKind() != '}' {
				k, err := dec.ReadToken()
				if err != nil {
					return nil, err
				}
				key := k.String() // before the next read voids k
				v, err := dec.ReadValue()
				if err != nil {
					return nil, err
				}
				st.props = append(st.props, member{key, bytes.Clone(v)})
			}
			dec.ReadToken()
		case key == "revenue" && dec.PeekKind() == '0':
			v, err := dec.ReadValue()
			if err != nil {
				return nil, err
			}
			st.revenue = bytes.Clone(v)
		case streamedFields[key] && dec.PeekKind() == '"':
			v, err := dec.ReadValue()
			if err != nil {
				return nil, err
			}
			st.strs[key] = bytes.Clone(v)
		default:
			if err := dec.SkipValue(); err != nil {
				return nil, err
			}
		}
	}
	return st, nil
}

// str returns a top-level string member, unquoted.
func (st *stored) str(key string) string {
	v, ok := st.strs[key]
	if !ok {
		return ""
	}
	b, _ := jsontext.AppendUnquote(nil, v)
	return string(b)
}

// prop returns an event property's raw value.
func (st *stored) prop(key string) (jsontext.Value, bool) {
	for _, m := range st.props {
		if m.key == key {
			return m.raw, true
		}
	}
	return nil, false
}

var currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)

// Delivery returns the event's delivery, or nil when the filter's
// condition excludes it or the event came from an analytics forward
// (sending it back would count it twice).
func (s *Stream) Delivery(e *touchpoint.StreamedEvent) *touchpoint.Delivery {
	st, err := scan(e.Data)
	if err != nil {
		return nil // the store wrote it; it is an object
	}
	if st.str("library") == touchpoint.ForwardLibrary {
		return nil
	}
	if c := s.d.Filter.Where; c != nil && !s.holds(c, st, e.UserProperties) {
		return nil
	}
	f := fields{
		"customer_user_id": e.UserID, "eventName": e.EventType,
		"eventTime": time.UnixMilli(e.Time).UTC().Format(TimeLayout), "os": st.str("os_version"), "ip": st.str("ip"),
		"idfa": st.str("idfa"), "idfv": st.str("idfv"), "android_id": st.str("android_id"), "oaid": st.str("oaid"),
		"amazon_aid": st.str("amazon_aid"), "app_version_name": st.str("app_version"),
	}
	if id, ok := e.UserProperties[s.d.AppsFlyerIDProperty].(string); ok && s.d.AppsFlyerIDProperty != "" {
		f["appsflyer_id"] = id
	}
	// Amplitude's adid is Google's advertising id, or Amazon's on Fire
	// devices.
	if adid := st.str("adid"); adid != "" {
		if amazon(st) {
			f["amazon_aid"] = cmp.Or(f["amazon_aid"], adid)
		} else {
			f["advertising_id"] = adid
		}
	}
	// Every event, user and group property: an event property wins over a
	// user property of the same name, and a user property over a group's.
	values := make([]member, 0, len(st.props)+len(e.UserProperties)+len(e.GroupProperties)+1)
	seen := make(map[string]bool, cap(values))
	add := func(key string, raw jsontext.Value) {
		if !seen[key] {
			seen[key] = true
			values = append(values, member{key, raw})
		}
	}
	if st.revenue != nil {
		add("af_revenue", quoteRaw(st.revenue)) // AppsFlyer's example sends it as a string
		f["eventCurrency"] = "USD"
		for _, c := range []jsontext.Value{propOf(st, "currency"), propOf(st, "af_currency"), st.strs["currency"]} {
			if c, err := jsontext.AppendUnquote(nil, c); err == nil && currencyRE.Match(c) {
				f["eventCurrency"] = string(c)
				break
			}
		}
	}
	for _, m := range st.props {
		add(m.key, m.raw)
	}
	for _, m := range []map[string]any{e.UserProperties, e.GroupProperties} {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if !seen[k] {
				add(k, encode(m[k]))
			}
		}
	}
	body, note := fit(f, values)
	return &touchpoint.Delivery{Project: e.Project, PID: s.pid, Kind: touchpoint.KindEventStream, Method: "POST",
		URL: s.url, Body: string(body), ContentType: "application/json", Host: s.host,
		Headers: map[string]string{"authentication": s.d.Key}, MaxTries: touchpoint.StreamTries, Note: note}
}

func propOf(st *stored, key string) jsontext.Value {
	v, _ := st.prop(key)
	return v
}

// quoteRaw turns a raw number into a JSON string of its text.
func quoteRaw(v jsontext.Value) jsontext.Value {
	b, _ := jsontext.AppendQuote(nil, v)
	return b
}

// encode writes a property value as JSON, without HTML escaping.
func encode(v any) jsontext.Value {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if enc.Encode(v) != nil {
		return jsontext.Value("null")
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func amazon(st *stored) bool {
	for _, k := range []string{"os_name", "platform", "device_brand"} {
		v := strings.ToLower(st.str(k))
		if strings.Contains(v, "amazon") || strings.Contains(v, "fire") {
			return true
		}
	}
	return false
}

// fields are the members of an S2S body (spec/appsflyer.md §5) but
// eventValue; empty ones are left out, but os, which is always sent.
type fields map[string]string

// bodyOrder is the order members are written in.
var bodyOrder = []string{"appsflyer_id", "customer_user_id", "eventName", "eventValue", "eventTime", "eventCurrency",
	"os", "ip", "idfa", "idfv", "advertising_id", "oaid", "android_id", "amazon_aid", "app_version_name"}

// appendBody writes the body: eventValue is the values as a JSON object
// in a string, or "" when there are none.
func appendBody(b []byte, f fields, values []member) []byte {
	b = append(b, '{')
	for _, name := range bodyOrder {
		v := f[name]
		if name == "eventValue" {
			var obj []byte
			if len(values) > 0 {
				obj = appendObject(obj, values)
			}
			v = string(obj)
		} else if v == "" && name != "os" && name != "eventName" && name != "eventTime" {
			continue
		}
		if len(b) > 1 {
			b = append(b, ',')
		}
		b, _ = jsontext.AppendQuote(b, name)
		b = append(b, ':')
		b, _ = jsontext.AppendQuote(b, v)
	}
	return append(b, '}')
}

func appendObject(b []byte, values []member) []byte {
	b = append(b, '{')
	for i, m := range values {
		if i > 0 {
			b = append(b, ',')
		}
		b, _ = jsontext.AppendQuote(b, m.key)
		b = append(b, ':')
		b = append(b, m.raw...)
	}
	return append(b, '}')
}

// fit writes the body, dropping values, largest first (by the bytes each
// takes in the body), until it fits MaxBody; the note names what was
// dropped. A body that does not fit with no values at all is sent as it
// is: the receiver refuses it and the delivery records the answer.
func fit(f fields, values []member) ([]byte, string) {
	body := appendBody(make([]byte, 0, 1024), f, values)
	if len(body) <= MaxBody {
		return body, ""
	}
	type sized struct {
		key  string
		size int
	}
	order := make([]sized, 0, len(values))
	for _, m := range values {
		one, _ := jsontext.AppendQuote(nil, appendObject(nil, []member{m}))
		order = append(order, sized{m.key, len(one)})
	}
	slices.SortFunc(order, func(a, b sized) int { return cmp.Or(b.size-a.size, strings.Compare(a.key, b.key)) })
	var dropped []string
	for _, o := range order {
		if len(body) <= MaxBody {
			break
		}
		values = slices.DeleteFunc(values, func(m member) bool { return m.key == o.key })
		dropped = append(dropped, o.key)
		body = appendBody(body[:0], f, values)
	}
	note := fmt.Sprintf("dropped %d of the event's properties, largest first, to fit the S2S API's 1 KB limit: %s",
		len(dropped), strings.Join(dropped, ", "))
	if len(body) > MaxBody {
		note = fmt.Sprintf("the event is %d bytes with no properties at all, over the S2S API's 1 KB limit", len(body))
	}
	return body, note
}

// holds reports whether a filter condition holds for an event.
func (s *Stream) holds(c *touchpoint.PropertyCondition, st *stored, userProps map[string]any) bool {
	var v string
	var ok bool
	if c.On == touchpoint.OnUser {
		var x any
		if x, ok = userProps[c.Property]; ok {
			v = text(x)
		}
	} else {
		var raw jsontext.Value
		if raw, ok = st.prop(c.Property); ok {
			v = rawText(raw)
		}
	}
	in := ok && slices.Contains(c.Values, v)
	if c.Op == touchpoint.OpIsNot {
		return !in
	}
	return in
}

// text is a property value as a condition compares it: a string as it
// is, anything else as JSON.
func text(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	}
	return string(encode(v))
}

// rawText is text for a raw JSON value.
func rawText(raw jsontext.Value) string {
	if raw.Kind() == '"' {
		b, _ := jsontext.AppendUnquote(nil, raw)
		return string(b)
	}
	return string(raw)
}
