// Package analytics is the Amplitude-compatible ingestion of the analytics
// plane: it decodes and validates uploads to /2/httpapi and /batch, the
// /identify, /groupidentify and /attribution forms, and answers in
// Amplitude's shapes. It keeps per-device and per-user rates, and plans
// what an upload changes (plan.go): identity, insert-id dedup, user
// property versions and the hold of attribution events are decided here,
// over the state a store hands in, and the store executes the writes.
package analytics

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/touchpointhq/touchpoint"
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
)

// Endpoint is an ingestion endpoint's limits.
type Endpoint struct {
	Path string
	// MaxBody bounds the body in bytes, after gzip decompression (the
	// newer HTTP V2 page counts events after decompression; we count
	// bytes the same way, so a gzip bomb is no way around the limit).
	MaxBody int64
	// MaxEvents bounds the events of one request.
	MaxEvents int
	// Batch endpoints use the project's batch rate limit.
	Batch bool
}

// The two upload endpoints (Amplitude's HTTP V2 and Batch API documentation). "1 MB" is taken as 2^20
// bytes.
var (
	HTTPAPI  = Endpoint{Path: "/2/httpapi", MaxBody: 1 << 20, MaxEvents: 2000}
	BatchAPI = Endpoint{Path: "/batch", MaxBody: 20 << 20, MaxEvents: 2000, Batch: true}
)

// Amplitude's error strings (its HTTP V2 API documentation).
const (
	ErrInvalidPath     = "Invalid request path"
	ErrMissingBody     = "Missing request body"
	ErrInvalidJSON     = "Invalid JSON request body"
	ErrMissingField    = "Request missing required field"
	ErrInvalidEvent    = "Invalid event JSON"
	ErrInvalidAPIKey   = "Invalid API key" // followed by ": <key>" (InvalidAPIKey)
	ErrInvalidFields   = "Invalid field values on some events"
	ErrTooLarge        = "Payload too large"
	ErrTooManyRequests = "Too many requests for some devices and users"
)

// Limits on values (Amplitude's HTTP V2 API documentation).
const (
	DefaultMinIDLength = 5
	MaxStringLength    = 1024 // characters; longer strings are cut
	MaxPropertyDepth   = 40
	MaxGroupTypes      = 5
	MaxGroupValues     = 10
)

// Rejection is a 4xx answer in Amplitude's shape. Its fields are in the
// order Amplitude writes them.
type Rejection struct {
	Code                    int              `json:"code"`
	Error                   string           `json:"error"`
	MissingField            string           `json:"missing_field,omitempty"`
	EventsWithInvalidFields map[string][]int `json:"events_with_invalid_fields,omitempty"`
	EventsWithMissingFields map[string][]int `json:"events_with_missing_fields,omitempty"`
}

func reject(code int, msg string) *Rejection { return &Rejection{Code: code, Error: msg} }

// Success is the 200 answer, its keys in the order of a response captured
// from Amplitude (https://developers.qodex.ai, "HTTP API $identify").
type Success struct {
	Code             int   `json:"code"`
	ServerUploadTime int64 `json:"server_upload_time"`
	PayloadSizeBytes int   `json:"payload_size_bytes"`
	EventsIngested   int   `json:"events_ingested"`
}

// Upload is a decoded, valid upload.
type Upload struct {
	APIKey string
	Events []*touchpoint.IncomingEvent
}

// Request is what decoding needs besides the body.
type Request struct {
	Endpoint Endpoint
	Now      time.Time
	// RemoteIP replaces the ip "$remote".
	RemoteIP string
	// KnownKey reports whether an API key belongs to a project and, when
	// it does, the project's time (a test-mode project's clock), which
	// then stands for Now: events without a time, or from a clock ahead
	// of the project's, take it.
	KnownKey func(key string) (now time.Time, ok bool)
}

var decodeOptions = []jsontext.Options{jsontext.AllowDuplicateNames(true)}

// DecodeUpload decodes and validates an upload body. A request with any
// invalid event is refused whole. The checks run in this order: body,
// JSON, required fields, API key, size, events.
//
// An upload with a key that belongs to no project costs a scan of its
// body, not a decoding of its events: the key is looked for first (at
// once when it comes first, as every SDK writes it), and when it is
// unknown the events are only skipped over, to give the same answer.
func DecodeUpload(body []byte, req Request) (*Upload, *Rejection) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, reject(400, ErrMissingBody)
	}
	skipEvents := false
	if req.KnownKey != nil {
		if key, ok := findAPIKey(body); ok {
			_, known := req.KnownKey(key)
			skipEvents = !known
		}
	}
	dec := jsontext.NewDecoder(bytes.NewReader(body), decodeOptions...)
	if dec.PeekKind() != '{' {
		return nil, reject(400, ErrInvalidJSON)
	}
	dec.ReadToken()
	var (
		up          Upload
		hasKey      bool
		hasEvents   bool
		eventsValid = true
		minIDLength = DefaultMinIDLength
		drafts      []*draft
		skipped     int // events skipped over (skipEvents)
		v           = newValidator(req)
	)
	for dec.PeekKind() != '}' {
		name, err := readName(dec)
		if err != nil {
			return nil, reject(400, ErrInvalidJSON)
		}
		switch name {
		case "api_key":
			val, err := dec.ReadValue()
			if err != nil {
				return nil, reject(400, ErrInvalidJSON)
			}
			if val.Kind() == '"' {
				up.APIKey, hasKey = touchpoint.UnquoteJSON(val), true
			}
		case "events":
			if dec.PeekKind() != '[' {
				if _, err := dec.ReadValue(); err != nil {
					return nil, reject(400, ErrInvalidJSON)
				}
				hasEvents, eventsValid = true, false
				continue
			}
			hasEvents = true
			dec.ReadToken()
			for dec.PeekKind() != ']' {
				if dec.PeekKind() != '{' {
					if _, err := dec.ReadValue(); err != nil {
						return nil, reject(400, ErrInvalidJSON)
					}
					eventsValid = false
					continue
				}
				if skipEvents {
					if err := dec.SkipValue(); err != nil {
						return nil, reject(400, ErrInvalidJSON)
					}
					skipped++
					continue
				}
				d, err := v.decodeEvent(dec, len(drafts))
				if err != nil {
					return nil, reject(400, ErrInvalidJSON)
				}
				drafts = append(drafts, d)
			}
			if _, err := dec.ReadToken(); err != nil {
				return nil, reject(400, ErrInvalidJSON)
			}
		case "options":
			val, err := dec.ReadValue()
			if err != nil {
				return nil, reject(400, ErrInvalidJSON)
			}
			if n, ok := minIDLengthOption(val); ok {
				minIDLength = n
			}
		default:
			// client_upload_time, request_metadata and anything else: not
			// ours to judge.
			if err := dec.SkipValue(); err != nil {
				return nil, reject(400, ErrInvalidJSON)
			}
		}
	}
	if _, err := dec.ReadToken(); err != nil {
		return nil, reject(400, ErrInvalidJSON)
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		// Something after the object.
		return nil, reject(400, ErrInvalidJSON)
	}
	switch {
	case !hasKey || up.APIKey == "":
		return nil, &Rejection{Code: 400, Error: ErrMissingField, MissingField: "api_key"}
	case !hasEvents || (eventsValid && len(drafts)+skipped == 0):
		return nil, &Rejection{Code: 400, Error: ErrMissingField, MissingField: "events"}
	case req.KnownKey != nil && !v.known(up.APIKey):
		return nil, InvalidAPIKey(up.APIKey)
	case !eventsValid:
		return nil, reject(400, ErrInvalidEvent)
	case len(drafts) > req.Endpoint.MaxEvents:
		return nil, reject(413, ErrTooLarge)
	}
	if skipEvents {
		// The key belonged to no project when it was looked for, and it
		// does now: a project made meanwhile. Decode the events after all.
		return DecodeUpload(body, Request{Endpoint: req.Endpoint, Now: v.req.Now, RemoteIP: req.RemoteIP})
	}
	up.Events = make([]*touchpoint.IncomingEvent, len(drafts))
	for i, d := range drafts {
		up.Events[i] = v.finish(d, i, minIDLength)
	}
	if r := v.rejection(); r != nil {
		return nil, r
	}
	return &up, nil
}

func minIDLengthOption(val jsontext.Value) (int, bool) {
	if val.Kind() != '{' {
		return 0, false
	}
	dec := jsontext.NewDecoder(bytes.NewReader(val), decodeOptions...)
	dec.ReadToken()
	n, ok := 0, false
	for dec.PeekKind() != '}' {
		name, err := readName(dec)
		if err != nil {
			return 0, false
		}
		v, err := dec.ReadValue()
		if err != nil {
			return 0, false
		}
		if name == "min_id_length" && v.Kind() == '0' {
			if x, err := strconv.Atoi(string(v)); err == nil && x >= 0 {
				n, ok = x, true
			}
		}
	}
	return n, ok
}

// findAPIKey returns the api_key member of an upload's top-level object,
// skipping over the members before it without decoding them (api_key
// comes first in what SDKs send, so this usually reads one member). ok is
// false when there is no string api_key or the JSON before it is broken.
func findAPIKey(body []byte) (key string, ok bool) {
	dec := jsontext.NewDecoder(bytes.NewReader(body), decodeOptions...)
	if dec.PeekKind() != '{' {
		return "", false
	}
	dec.ReadToken()
	for dec.PeekKind() != '}' {
		name, err := readName(dec)
		if err != nil {
			return "", false
		}
		if name != "api_key" {
			if err := dec.SkipValue(); err != nil {
				return "", false
			}
			continue
		}
		val, err := dec.ReadValue()
		if err != nil || val.Kind() != '"' {
			return "", false
		}
		return touchpoint.UnquoteJSON(val), true
	}
	return "", false
}

// readName reads an object member name.
func readName(dec *jsontext.Decoder) (string, error) {
	v, err := dec.ReadValue()
	if err != nil {
		return "", err
	}
	return touchpoint.UnquoteJSON(v), nil
}

// The kinds of value an event key takes.
type fieldKind uint8

const (
	fString fieldKind = iota + 1
	fInt
	fNumber
	fObject
	fBool
)

// eventFields are the event keys of Amplitude's HTTP V2 API and what they take. Other keys are
// kept as they came.
var eventFields = map[string]fieldKind{
	"user_id": fString, "device_id": fString, "event_type": fString, "insert_id": fString,
	"app_version": fString, "platform": fString, "os_name": fString, "os_version": fString,
	"device_brand": fString, "device_manufacturer": fString, "device_model": fString, "carrier": fString,
	"country": fString, "region": fString, "city": fString, "dma": fString, "language": fString,
	"productId": fString, "revenueType": fString, "currency": fString, "ip": fString, "user_agent": fString,
	"idfa": fString, "idfv": fString, "adid": fString, "android_id": fString, "android_app_set_id": fString,
	"partner_id": fString, "library": fString, "version_name": fString,
	"time": fInt, "quantity": fInt, "event_id": fInt, "session_id": fInt,
	"price": fNumber, "revenue": fNumber, "location_lat": fNumber, "location_lng": fNumber,
	"event_properties": fObject, "user_properties": fObject, "groups": fObject, "group_properties": fObject,
	"plan": fObject, "ingestion_metadata": fObject,
	"$skip_user_properties_sync": fBool,
}

// invalidIDs are ids Amplitude treats as absent (Amplitude's HTTP V2 API documentation), compared
// without case.
var invalidIDs = map[string]bool{
	"anonymous": true, "nil": true, "none": true, "null": true, "n/a": true, "na": true, "undefined": true,
	"unknown": true, "": true, "00000000-0000-0000-0000-000000000000": true, "{}": true, "lmy47d": true,
	"0": true, "-1": true,
}

// draft is an event between the pass over its keys and the last checks,
// which need the request's options.
type draft struct {
	userID, deviceID  string
	hasUserID         bool
	hasDeviceID       bool
	eventType         string
	time              int64
	hasTime           bool
	price, revenue    *float64
	quantity          *int64
	insertID          string
	adIDs             touchpoint.AdIDs
	platform, country string
	userProps         []byte
	groups            []byte
	groupProps        []byte
	body              []byte // the other members, each followed by a comma
	rev               revenueDraft
}

// validator collects the events' faults.
type validator struct {
	req     Request
	invalid map[string][]int
	missing map[string][]int
	buf     []byte
}

func newValidator(req Request) *validator { return &validator{req: req} }

// known asks KnownKey of the upload's key, and takes the project's time
// as the upload's.
func (v *validator) known(key string) bool {
	now, ok := v.req.KnownKey(key)
	if ok {
		v.req.Now = now
	}
	return ok
}

func (v *validator) fault(m *map[string][]int, field string, i int) {
	if *m == nil {
		*m = make(map[string][]int)
	}
	l := (*m)[field]
	if len(l) == 0 || l[len(l)-1] != i {
		(*m)[field] = append(l, i)
	}
}

// isInvalid reports whether event i's field is invalid already (then it is
// not reported missing as well).
func (v *validator) isInvalid(field string, i int) bool {
	l := v.invalid[field]
	return len(l) > 0 && l[len(l)-1] == i
}

func (v *validator) rejection() *Rejection {
	if v.invalid == nil && v.missing == nil {
		return nil
	}
	// Type faults are found while reading, the others after: put each
	// field's indexes back in order.
	for _, m := range []map[string][]int{v.invalid, v.missing} {
		for _, l := range m {
			slices.Sort(l)
		}
	}
	r := &Rejection{Code: 400, Error: ErrInvalidFields, EventsWithInvalidFields: v.invalid, EventsWithMissingFields: v.missing}
	if v.invalid == nil {
		r.Error = ErrMissingField
	}
	return r
}

// decodeEvent reads one event object.
func (v *validator) decodeEvent(dec *jsontext.Decoder, i int) (*draft, error) {
	if _, err := dec.ReadToken(); err != nil {
		return nil, err
	}
	d := &draft{body: make([]byte, 0, 1024)}
	for dec.PeekKind() != '}' {
		rawName, err := dec.ReadValue()
		if err != nil {
			return nil, err
		}
		// The member is written to the body as it came (name first), and
		// taken back out when it is not kept there.
		mark := len(d.body)
		var name []byte
		if bytes.IndexByte(rawName, '\\') < 0 {
			d.body = append(d.body, rawName...)
			name = d.body[mark+1 : len(d.body)-1]
		} else {
			n := touchpoint.UnquoteJSON(rawName)
			d.body, _ = jsontext.AppendQuote(d.body, n)
			name = []byte(n)
		}
		d.body = append(d.body, ':')
		val, err := dec.ReadValue()
		if err != nil {
			return nil, err
		}
		if keep := v.member(d, name, val, i); keep != nil {
			d.body = append(d.body, keep...)
			d.body = append(d.body, ',')
		} else {
			d.body = d.body[:mark]
		}
	}
	_, err := dec.ReadToken()
	return d, err
}

// member takes one member of an event into d and returns the value to keep
// in the stored form, or nil when it is not kept there (null, invalid, or
// written elsewhere).
func (v *validator) member(d *draft, name []byte, val jsontext.Value, i int) jsontext.Value {
	if val.Kind() == 'n' {
		return nil // null: absent
	}
	kind := eventFields[string(name)]
	var sh shape
	if k := val.Kind(); k == '{' || k == '[' || k == '0' && kind == 0 {
		// One pass over the value: its numbers here, its depth and
		// strings for checkObject.
		if sh = shapeOf(val); !sh.finite {
			v.fault(&v.invalid, string(name), i) // a number no float64 holds
			return nil
		}
	}
	if kind == 0 && val.Kind() == '"' && len(val)-2 > MaxStringLength {
		// An unknown member: its strings are cut like every other's.
		if s := touchpoint.UnquoteJSON(val); utf8.RuneCountInString(s) > MaxStringLength {
			return quote(truncate(s, MaxStringLength))
		}
		return val
	}
	if !typeOK(kind, val) {
		v.fault(&v.invalid, string(name), i)
		return nil
	}
	switch kind {
	case fString:
		d.rev.sawTop(string(name))
		switch string(name) {
		case "user_id", "device_id", "event_type", "insert_id", "idfa", "idfv", "adid", "android_app_set_id", "ip", "language",
			"platform", "country":
		default:
			// A value the server does not read: unquoted only when it
			// may be too long.
			if len(val)-2 > MaxStringLength {
				if s := touchpoint.UnquoteJSON(val); utf8.RuneCountInString(s) > MaxStringLength {
					return quote(truncate(s, MaxStringLength))
				}
			}
			return val
		}
		s := touchpoint.UnquoteJSON(val)
		if len(s) > MaxStringLength && utf8.RuneCountInString(s) > MaxStringLength {
			s = truncate(s, MaxStringLength)
			val = quote(s)
		}
		switch string(name) {
		case "user_id":
			d.userID, d.hasUserID = s, true
			return nil
		case "device_id":
			d.deviceID, d.hasDeviceID = s, true
			return nil
		case "event_type":
			d.eventType = s
		case "insert_id":
			d.insertID = s
		case "idfa":
			d.adIDs.IDFA = s
		case "idfv":
			d.adIDs.IDFV = s
		case "adid":
			d.adIDs.ADID = s
		case "android_app_set_id":
			d.adIDs.AppSetID = s
		case "platform":
			d.platform = s
		case "country":
			d.country = s
		case "ip":
			if s == "$remote" {
				return quote(v.req.RemoteIP)
			}
		case "language":
			return quote(languageName(s))
		}
	case fInt:
		n, _ := parseInt(val)
		switch string(name) {
		case "time":
			d.time, d.hasTime = n, true
			return nil
		case "quantity":
			d.quantity = &n
		}
	case fNumber:
		switch string(name) {
		case "price":
			f, _ := strconv.ParseFloat(string(val), 64)
			d.price = &f
		case "revenue":
			f, _ := strconv.ParseFloat(string(val), 64)
			d.revenue = &f
			return nil // written in finish (price × quantity)
		}
	case fObject:
		cut, ok := checkObject(val, sh)
		if !ok {
			v.fault(&v.invalid, string(name), i)
			return nil
		}
		switch string(name) {
		case "user_properties":
			d.userProps = bytes.Clone(cut)
			return nil // the store writes the user's properties
		case "groups":
			d.groups = bytes.Clone(cut)
			return nil // written in finish (trimmed)
		case "group_properties":
			d.groupProps = bytes.Clone(cut)
		case "event_properties":
			d.rev.props = scanRevenueProps(cut)
		}
		return cut
	}
	return val
}

// parseInt parses a JSON number that is an integer written without
// fraction or exponent.
func parseInt(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	if n > 1<<63-1 {
		return 0, false
	}
	if neg {
		return -int64(n), true
	}
	return int64(n), true
}

// typeOK reports whether val has the kind a field takes.
func typeOK(kind fieldKind, val jsontext.Value) bool {
	switch kind {
	case fString:
		return val.Kind() == '"'
	case fInt:
		if val.Kind() != '0' {
			return false
		}
		_, ok := parseInt(val)
		return ok
	case fNumber:
		// A finite float64: 1e999 is valid JSON but no number we can
		// store or add up.
		_, err := strconv.ParseFloat(string(val), 64)
		return val.Kind() == '0' && err == nil
	case fObject:
		return val.Kind() == '{'
	case fBool:
		return val.Kind() == 't' || val.Kind() == 'f'
	}
	return true
}

// finish applies the checks that need the options and builds the stored
// form.
func (v *validator) finish(d *draft, i, minIDLength int) *touchpoint.IncomingEvent {
	e := &touchpoint.IncomingEvent{EventType: d.eventType, InsertID: d.insertID, AdIDs: d.adIDs, Platform: d.platform, Country: d.country}
	uid, uok := validID(d.userID, minIDLength, false)
	did, dok := validID(d.deviceID, minIDLength, true)
	if !uok && !dok {
		switch {
		case d.hasUserID || d.hasDeviceID:
			if d.hasUserID {
				v.fault(&v.invalid, "user_id", i)
			}
			if d.hasDeviceID {
				v.fault(&v.invalid, "device_id", i)
			}
		case !v.isInvalid("user_id", i) && !v.isInvalid("device_id", i):
			// Neither id was sent. Amplitude does not say which field it
			// names (UNCONFIRMED); we name user_id, the first in its list.
			v.fault(&v.missing, "user_id", i)
		}
	}
	if d.eventType == "" && !v.isInvalid("event_type", i) {
		v.fault(&v.missing, "event_type", i)
	}
	if rev, ok := d.topRevenue(); ok && math.IsInf(rev, 0) {
		v.fault(&v.invalid, "price", i) // price × quantity overflows
	}
	if d.hasTime && d.time != 0 && touchpoint.CheckMillis("time", d.time) != nil {
		// Before 2000 or after 9999: a broken clock (see
		// touchpoint.CheckTime). 0 means none, as Amplitude reads it.
		v.fault(&v.invalid, "time", i)
	}
	switch d.eventType {
	case "$identify":
		e.Kind = touchpoint.IdentifyEvent
	case "$groupidentify":
		e.Kind = touchpoint.GroupIdentifyEvent
	}
	var err error
	if d.userProps != nil {
		if e.UserProperties, err = touchpoint.DecodeProperties(d.userProps); err == nil {
			err = touchpoint.CheckUserProperties(e.UserProperties)
		}
		if err != nil {
			v.fault(&v.invalid, "user_properties", i)
		}
	}
	if d.groups != nil {
		if e.Groups, err = trimGroups(d.groups); err != nil {
			v.fault(&v.invalid, "groups", i)
		}
	}
	if d.groupProps != nil && e.Kind == touchpoint.GroupIdentifyEvent {
		if e.GroupProperties, err = touchpoint.DecodeProperties(d.groupProps); err == nil {
			err = touchpoint.CheckUserProperties(e.GroupProperties)
		}
		if err != nil {
			v.fault(&v.invalid, "group_properties", i)
		}
	}
	if e.Kind == touchpoint.GroupIdentifyEvent && len(e.Groups) == 0 {
		v.fault(&v.missing, "groups", i)
	}
	if v.invalid != nil || v.missing != nil {
		return e // the upload is refused: no need to build it
	}
	if uok {
		e.UserID = uid
	}
	if dok {
		e.DeviceID = did
	} else {
		// Amplitude's HTTP V2 documentation: without a device id, one is made from the user id.
		e.DeviceID = DeviceIDForUser(uid)
	}
	e.Time = d.time
	if !d.hasTime || d.time == 0 || d.time > v.req.Now.Add(touchpoint.MaxClockSkew).UnixMilli() {
		// None, or from a clock more than MaxClockSkew ahead of ours: the
		// time the upload was received, as Amplitude stamps an event sent
		// without a time.
		e.Time = v.req.Now.UnixMilli()
	}
	// The stored form: ids and time first, then the members as they came.
	b := make([]byte, 0, len(d.body)+128)
	b = append(b, '{')
	if e.UserID != "" {
		b = append(b, `"user_id":`...)
		b, _ = jsontext.AppendQuote(b, e.UserID)
		b = append(b, ',')
	}
	b = append(b, `"device_id":`...)
	b, _ = jsontext.AppendQuote(b, e.DeviceID)
	b = append(b, `,"time":`...)
	b = strconv.AppendInt(b, e.Time, 10)
	b = append(b, ',')
	b = d.appendRevenue(b) // revenue.go
	if e.Groups != nil {
		b = append(b, `"groups":`...)
		b = appendJSON(b, e.Groups)
		b = append(b, ',')
	}
	b = append(b, d.body...)
	b[len(b)-1] = '}'
	e.Data = b
	return e
}

// validID returns id if it is one Amplitude accepts: long enough and not
// one of the placeholders.
func validID(id string, minLength int, device bool) (string, bool) {
	if invalidIDs[strings.ToLower(id)] || utf8.RuneCountInString(id) < minLength {
		return "", false
	}
	if device && strings.Trim(id, "0-") == "" {
		return "", false // all zeros
	}
	return id, true
}

// DeviceIDForUser is the device id of an event that came with a user id
// only. Amplitude sets "a hash of user_id" without saying which
// (UNCONFIRMED): ours is the first 16 bytes of SHA-256, in hex.
func DeviceIDForUser(userID string) string {
	h := sha256.Sum256([]byte(userID))
	return hex.EncodeToString(h[:16])
}

// languageName turns a language tag into its English name, as Amplitude
// stores languages ("en-US" → "English"); anything else stays as it is.
func languageName(s string) string {
	if name, ok := languageNames.Load(s); ok {
		return name.(string)
	}
	name := parseLanguage(s)
	if languageCount.Add(1) <= 10_000 {
		languageNames.Store(s, name)
	}
	return name
}

// languageNames caches languageName: apps send a few dozen tags. The
// cache stops growing at 10,000 entries.
var (
	languageNames sync.Map
	languageCount atomic.Int64
)

func parseLanguage(s string) string {
	tag, err := language.Parse(s)
	if err != nil {
		return s
	}
	base, conf := tag.Base()
	if conf != language.Exact {
		return s // no language given ("und", "x-…"): Base would guess one
	}
	if name := display.English.Languages().Name(base); name != "" {
		return name
	}
	return s
}

func quote(s string) jsontext.Value {
	b, _ := jsontext.AppendQuote(nil, s)
	return b
}

// truncate cuts s to n characters.
func truncate(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}
