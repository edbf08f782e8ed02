// Package appsflyer speaks to AppsFlyer for analytics destinations. It
// streams analytics events to AppsFlyer's S2S in-app events API as
// Amplitude's "Send events to AppsFlyer" destination does
// (Amplitude's AppsFlyer event streaming documentation): one event per request, with the user's
// AppsFlyer id (a user property) as appsflyer_id, the user id as
// customer_user_id, every event, user and group property inside
// eventValue, and the device ids of the app's platform. Bodies follow
// AppsFlyer's OpenAPI file for the API (afspec checks them). And it is the
// client of the Audiences APIs (AppsFlyer's Audiences import API documentation) that cohort syncs
// use (audience.go).
package appsflyer

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
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
	// platform is the app's, from its id: the S2S API takes the device
	// ids of each platform under different names.
	platform touchpoint.Platform
	// idProperty is the user property holding the AppsFlyer id.
	idProperty string
}

var _ touchpoint.Streamer = (*Stream)(nil)

// NewStream compiles a destination. self is this server's base URL, the
// target of a destination with no URL.
func NewStream(d *touchpoint.Destination, self string) *Stream {
	base, host := touchpoint.IntegrationTarget(d.URL, self)
	s := &Stream{d: d, url: base + "/inappevent/" + url.PathEscape(d.AppsFlyerAppID), host: host,
		pid: "destination/" + strconv.FormatInt(d.ID, 10), platform: touchpoint.AppsFlyerAppPlatform(d.AppsFlyerAppID),
		idProperty: cmp.Or(d.AppsFlyerIDProperty, touchpoint.DefaultAppsFlyerIDProperty)}
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
	"oaid": true, "amazon_aid": true, "app_version": true}

// scan reads a stored event in one pass, skipping what the stream does not
// send. The stored form keeps the members as they came, a name repeated
// too (HTTP V2 takes that): the last one counts, as in JSON.parse.
func scan(data []byte) (*stored, error) {
	st := &stored{strs: make(map[string]jsontext.Value, 16)}
	var pos map[string]int // of each event property in st.props
	dec := jsontext.NewDecoder(bytes.NewReader(data), jsontext.AllowDuplicateNames(true))
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return nil, fmt.Errorf("not an object")
	}
	for dec.PeekKind() != '}' {
		name, err := dec.ReadToken()
		if err != nil {
			return nil, err
		}
		key := name.String()
		if key == "event_properties" {
			st.props, pos = st.props[:0], nil
		}
		delete(st.strs, key)
		if key == "revenue" {
			st.revenue = nil
		}
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
				if i, ok := pos[key]; ok {
					st.props[i].raw = bytes.Clone(v)
					continue
				}
				if pos == nil {
					pos = make(map[string]int)
				}
				pos[key] = len(st.props)
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

// AppsFlyer ids as the S2S API's branches take them: 13 digits (the first
// launch in Unix ms), a dash and 19 digits on Android; 7 digits on iOS,
// or 19 as our attribution plane makes them on either platform. (The
// file's patterns are unanchored; these are not.)
var (
	androidAFID = regexp.MustCompile(`^[0-9]{13}-[0-9]{19}$`)
	iosAFID     = regexp.MustCompile(`^[0-9]{13}-[0-9]{7}(?:[0-9]{12})?$`)
	// appleID is the S2S API's form of an IDFA or IDFV: an upper-case UUID.
	appleID = regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$`)
)

// Delivery returns the event's delivery, or nil when the filter's
// condition excludes it or the event came from an analytics forward
// (sending it back would count it twice).
//
// An event the S2S API cannot take is not sent: its delivery is written
// failed at once, its Reason saying why (the user has no AppsFlyer id,
// which the API requires; or the body is over 1 KB with no properties
// left to drop), so it is counted and visible with the destination's
// deliveries (state=failed) and nothing is sent. What was changed or left
// out to make a valid body is in the delivery's Note.
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
	var notes []string
	f := fields{"customer_user_id": e.UserID, "eventName": e.EventType,
		"eventTime": time.UnixMilli(e.Time).UTC().Format(TimeLayout), "app_version_name": st.str("app_version")}
	// os is the OS version; AppsFlyer takes a missing one as iOS 14.5 on
	// iOS, so an event without one says so rather than send "".
	if os := strings.TrimSpace(st.str("os_version")); os != "" {
		f["os"] = os
	} else {
		notes = append(notes, "the event has no os_version: os is left out")
	}
	// ip: the file's pattern takes IPv4 only.
	if ip := st.str("ip"); ip != "" {
		if a, err := netip.ParseAddr(ip); err == nil && a.Is4() {
			f["ip"] = a.String()
		} else {
			notes = append(notes, fmt.Sprintf("ip %q is not an IPv4 address: left out", ip))
		}
	}
	s.deviceIDs(f, st, &notes)
	failed := ""
	id, _ := e.UserProperties[s.idProperty].(string)
	switch id = strings.TrimSpace(id); {
	case id == "":
		failed = fmt.Sprintf("not sent: the user has no AppsFlyer id (user property %q), which the S2S API requires", s.idProperty)
	case !s.afID(id):
		failed = fmt.Sprintf("not sent: appsflyer_id %q (user property %q) is not an AppsFlyer id of an %s app", id, s.idProperty, s.platform)
	default:
		f["appsflyer_id"] = id
	}
	// Every event, user and group property: an event property wins over a
	// user property of the same name, and a user property over a group's.
	// The AppsFlyer id's property is sent as appsflyer_id, not again here.
	values := make([]member, 0, len(st.props)+len(e.UserProperties)+len(e.GroupProperties)+1)
	seen := make(map[string]bool, cap(values))
	add := func(key string, raw jsontext.Value) {
		if !seen[key] {
			seen[key] = true
			values = append(values, member{key, raw})
		}
	}
	// af_revenue is the revenue, else an af_revenue event property, as a
	// plain decimal in a string (AppsFlyer's example); with it goes
	// eventCurrency.
	rev, ok := "", false
	if st.revenue != nil {
		if rev, ok = plainDecimal(string(st.revenue)); !ok {
			return nil // the store wrote a JSON number
		}
	} else if raw, has := st.prop("af_revenue"); has && raw.Kind() != 'n' {
		text := strings.TrimSpace(rawText(raw))
		if rev, ok = plainDecimal(text); !ok {
			seen["af_revenue"] = true
			notes = append(notes, fmt.Sprintf("af_revenue %s is not a decimal number: left out", raw))
		}
	}
	if ok {
		add("af_revenue", quote(rev))
		f["eventCurrency"] = s.currency(st, &notes)
	}
	for _, m := range st.props {
		add(m.key, m.raw)
	}
	for _, m := range []map[string]any{e.UserProperties, e.GroupProperties} {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if !seen[k] && k != s.idProperty {
				add(k, encode(m[k]))
			}
		}
	}
	body, dropped, fits := fit(f, values)
	if dropped != "" {
		notes = append(notes, dropped)
	}
	if !fits && failed == "" {
		failed = fmt.Sprintf("not sent: the event is %d bytes with no properties but af_revenue, over the S2S API's 1 KB limit", len(body))
	}
	d := &touchpoint.Delivery{Project: e.Project, PID: s.pid, Kind: touchpoint.KindEventStream, Method: "POST",
		URL: s.url, Body: string(body), ContentType: "application/json", Host: s.host,
		Headers: map[string]string{"authentication": s.d.Key}, MaxTries: touchpoint.StreamTries, Note: strings.Join(notes, "; ")}
	if failed != "" {
		d.State, d.Reason = touchpoint.DeliveryFailed, failed
	}
	return d
}

// afID reports whether id is an AppsFlyer id of the app's platform.
func (s *Stream) afID(id string) bool {
	if s.platform == touchpoint.IOS {
		return iosAFID.MatchString(id)
	}
	return androidAFID.MatchString(id)
}

// deviceIDs adds the device ids of the app's platform. On iOS: idfa and
// idfv, in upper case (an id that is no UUID is left out). On Android:
// Amplitude's adid as advertising_id (as amazon_aid when the OS, platform
// or brand says Amazon or Fire: Amplitude's adid is Amazon's advertising
// id on Fire devices), oaid and amazon_aid. The S2S API has no android_id.
func (s *Stream) deviceIDs(f fields, st *stored, notes *[]string) {
	if s.platform == touchpoint.IOS {
		for _, k := range []string{"idfa", "idfv"} {
			v := strings.ToUpper(strings.TrimSpace(st.str(k)))
			switch {
			case v == "":
			case appleID.MatchString(v):
				f[k] = v
			default:
				*notes = append(*notes, fmt.Sprintf("%s %q is not a UUID: left out", k, st.str(k)))
			}
		}
		return
	}
	f["oaid"], f["amazon_aid"] = st.str("oaid"), st.str("amazon_aid")
	if adid := st.str("adid"); adid != "" {
		if amazon(st) {
			f["amazon_aid"] = cmp.Or(f["amazon_aid"], adid)
		} else {
			f["advertising_id"] = adid
		}
	}
}

// currency is the eventCurrency of an event with revenue: the first of
// the event properties currency and af_currency and the top-level
// currency that is an ISO 4217 code the S2S API takes, in upper case
// ("eur" is EUR); USD, AppsFlyer's default, when there is none. A code it
// cannot take is noted, with the currency sent instead.
func (s *Stream) currency(st *stored, notes *[]string) string {
	var bad []string
	cur := ""
	for _, raw := range []jsontext.Value{propOf(st, "currency"), propOf(st, "af_currency"), st.strs["currency"]} {
		if raw == nil || raw.Kind() == 'n' {
			continue
		}
		text := rawText(raw)
		if c, ok := Currency(text); ok {
			cur = c
			break
		}
		bad = append(bad, strconv.Quote(text))
	}
	if len(bad) > 0 {
		*notes = append(*notes, fmt.Sprintf("currency %s is not an ISO 4217 code the S2S API takes: eventCurrency is %s",
			strings.Join(bad, ", "), cmp.Or(cur, "USD (AppsFlyer's default)")))
	}
	return cmp.Or(cur, "USD")
}

// plainDecimal writes a JSON number as a plain decimal, with no exponent
// (1e+21 is 1000000000000000000000, 1.5E-3 is 0.0015), exactly: the S2S
// API wants af_revenue as digits with at most a decimal point and a
// leading "-".
func plainDecimal(num string) (string, bool) {
	neg := strings.HasPrefix(num, "-")
	num = strings.TrimPrefix(num, "-")
	mant, exp := num, 0
	if i := strings.IndexAny(num, "eE"); i >= 0 {
		e, err := strconv.Atoi(strings.TrimPrefix(num[i+1:], "+"))
		if err != nil || e > 400 || e < -400 {
			return "", false
		}
		mant, exp = num[:i], e
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	digits := intPart + frac
	if digits == "" || strings.Trim(digits, "0123456789") != "" {
		return "", false
	}
	point := len(intPart) + exp // where the point goes in digits
	switch {
	case point <= 0:
		digits = strings.Repeat("0", 1-point) + digits
		point = 1
	case point > len(digits):
		digits += strings.Repeat("0", point-len(digits))
	}
	i, fr := strings.TrimLeft(digits[:point], "0"), digits[point:]
	if exp != 0 {
		fr = strings.TrimRight(fr, "0") // the exponent's shift adds no precision
	}
	out := cmp.Or(i, "0")
	if fr != "" {
		out += "." + fr
	}
	if neg && strings.Trim(out, "0.") != "" {
		out = "-" + out
	}
	return out, true
}

// quote is s as a JSON string.
func quote(s string) jsontext.Value {
	b, _ := jsontext.AppendQuote(nil, s)
	return b
}

func propOf(st *stored, key string) jsontext.Value {
	v, _ := st.prop(key)
	return v
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

// fields are the members of an S2S body (AppsFlyer's S2S in-app events API documentation) but
// eventValue; empty ones are left out, but eventName.
type fields map[string]string

// bodyOrder is the order members are written in.
var bodyOrder = []string{"appsflyer_id", "customer_user_id", "eventName", "eventValue", "eventTime", "eventCurrency",
	"os", "ip", "idfa", "idfv", "advertising_id", "oaid", "amazon_aid", "app_version_name"}

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
		} else if v == "" && name != "eventName" {
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
// takes in the body), until it fits MaxBody, as the S2S API limits bodies
// to 1 KB. af_revenue is never dropped: an event's revenue is what it is
// sent for. It returns the body, a note naming what was dropped, and
// whether the body fits.
func fit(f fields, values []member) ([]byte, string, bool) {
	body := appendBody(make([]byte, 0, 1024), f, values)
	if len(body) <= MaxBody {
		return body, "", true
	}
	type sized struct {
		key  string
		size int
	}
	order := make([]sized, 0, len(values))
	for _, m := range values {
		if m.key == "af_revenue" {
			continue
		}
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
	note := ""
	if len(dropped) > 0 {
		note = fmt.Sprintf("dropped %d of the event's properties, largest first, to fit the S2S API's 1 KB limit: %s",
			len(dropped), strings.Join(dropped, ", "))
	}
	return body, note, len(body) <= MaxBody
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
