package analytics

import (
	"bytes"
	"crypto/md5"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"io"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// The legacy endpoint, POST / (api.amplitude.com/), which the legacy
// JavaScript SDK (amplitude-js, still widely deployed) and the old Android
// and iOS SDKs upload to. They post a form: client (the API key), e (a
// JSON array of events), v (2), upload_time (ms) and checksum
// (hex MD5 of v, client, e and upload_time, concatenated). amplitude-js
// sends it with XMLHttpRequest, or with navigator.sendBeacon and a
// URLSearchParams body.
//
// Its events are HTTP V2 events with older names: timestamp for time, uuid
// for insert_id, library as an object {name, version}, plus event_id,
// sequence_number and api_properties. DecodeLegacy renames them and decodes
// the result as an HTTP V2 upload: the same rules, the same stored form.
//
// Answers are plain text, as the legacy SDKs read them: "success" (200);
// "invalid_api_key" (400: client missing, empty or unknown); "bad_checksum"
// (400: a checksum was sent and does not match; none sent is not
// checked); 413 "Request Entity Too Large" past LegacyAPI's limits (the
// text amplitude-js compares on Internet Explorer, the status elsewhere,
// halving its batch); and, ours where the legacy SDKs read only the status
// (they keep the events and send them again later), a word and a sentence:
// "missing_event: …", "invalid_event_json: …", and "invalid_event: " with
// HTTP V2's answer for faulty fields. The legacy SDKs know these words
// from Amplitude: success, invalid_api_key, bad_checksum and
// request_db_write_failed (our 503).
//
// upload_time is used for the checksum only: event times are the
// timestamps sent, checked as HTTP V2 checks time.

// LegacyAPI is the legacy endpoint's limits: e holds at most 1 MB of JSON
// and 2,000 events, as HTTP V2.
var LegacyAPI = Endpoint{Path: "/", MaxBody: 1 << 20, MaxEvents: 2000}

// The legacy endpoint's answers.
const (
	LegacySuccess       = "success"
	LegacyInvalidAPIKey = "invalid_api_key"
	LegacyBadChecksum   = "bad_checksum"
	LegacyTooLarge      = "Request Entity Too Large"
	LegacyWriteFailed   = "request_db_write_failed"
)

// LegacyForm is a legacy upload's parameters.
type LegacyForm struct {
	Client     string // the API key
	Events     string // e
	Version    string // v
	UploadTime string // upload_time
	Checksum   string // "" when not sent
}

// LegacyError is a refused legacy upload: its status and text.
type LegacyError struct {
	Status int
	Text   string
}

func (e *LegacyError) Error() string { return e.Text }

// LegacyChecksum is the checksum the legacy SDKs send: hex MD5 of v,
// client, e and upload_time, concatenated.
func LegacyChecksum(f LegacyForm) string {
	h := md5.Sum([]byte(f.Version + f.Client + f.Events + f.UploadTime))
	return hex.EncodeToString(h[:])
}

// DecodeLegacy decodes a legacy upload. The checks run in this order:
// client, checksum, e, then HTTP V2's (API key, size, events). req's
// Endpoint is taken to be LegacyAPI.
func DecodeLegacy(f LegacyForm, req Request) (*Upload, *LegacyError) {
	if f.Client == "" {
		return nil, &LegacyError{400, LegacyInvalidAPIKey}
	}
	if f.Checksum != "" {
		want := LegacyChecksum(f)
		if subtle.ConstantTimeCompare([]byte(strings.ToLower(f.Checksum)), []byte(want)) != 1 {
			return nil, &LegacyError{400, LegacyBadChecksum}
		}
	}
	if strings.TrimSpace(f.Events) == "" {
		return nil, &LegacyError{400, "missing_event: the e parameter is required"}
	}
	if int64(len(f.Events)) > LegacyAPI.MaxBody {
		return nil, &LegacyError{413, LegacyTooLarge}
	}
	body, err := legacyBody(f.Client, f.Events)
	if err != nil {
		return nil, &LegacyError{400, "invalid_event_json: e must be a JSON array of event objects"}
	}
	req.Endpoint = LegacyAPI
	up, rej := DecodeUpload(body, req)
	if rej != nil {
		return nil, legacyRejection(rej)
	}
	return up, nil
}

// legacyRejection is HTTP V2's answer in the legacy endpoint's words.
func legacyRejection(r *Rejection) *LegacyError {
	switch {
	case strings.HasPrefix(r.Error, ErrInvalidAPIKey):
		return &LegacyError{400, LegacyInvalidAPIKey}
	case r.Code == 413:
		return &LegacyError{413, LegacyTooLarge}
	case r.MissingField == "events":
		return &LegacyError{400, "missing_event: e holds no event"}
	case r.Error == ErrInvalidJSON || r.Error == ErrInvalidEvent:
		return &LegacyError{400, "invalid_event_json: e must be a JSON array of event objects"}
	}
	b, _ := json.Marshal(r)
	return &LegacyError{r.Code, "invalid_event: " + string(b)}
}

// legacyBody turns the legacy parameters into an HTTP V2 body. An e that
// is not a JSON array is an error; what its elements hold is left to
// DecodeUpload.
func legacyBody(client, e string) ([]byte, error) {
	dec := jsontext.NewDecoder(strings.NewReader(e), decodeOptions...)
	if dec.PeekKind() != '[' {
		return nil, errNotArray
	}
	dec.ReadToken()
	b := make([]byte, 0, len(e)+len(client)+64)
	b = append(b, `{"api_key":`...)
	b, _ = jsontext.AppendQuote(b, client)
	b = append(b, `,"events":[`...)
	for n := 0; dec.PeekKind() != ']'; n++ {
		if n > 0 {
			b = append(b, ',')
		}
		val, err := dec.ReadValue()
		if err != nil {
			return nil, err
		}
		if val.Kind() != '{' {
			b = append(b, val...) // refused by DecodeUpload, which names it
			continue
		}
		if b, err = appendLegacyEvent(b, val); err != nil {
			return nil, err
		}
	}
	if _, err := dec.ReadToken(); err != nil {
		return nil, err
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return nil, errNotArray // something after the array
	}
	return append(b, "]}"...), nil
}

var errNotArray = &LegacyError{400, "e is not a JSON array"}

type legacyMember struct {
	name string
	val  jsontext.Value
}

// appendLegacyEvent writes a legacy event as an HTTP V2 event: timestamp
// becomes time and uuid insert_id (unless the event has those too),
// library {name, version} becomes "name/version", and the revenue of the
// deprecated logRevenue (api_properties with special "revenue_amount",
// productId, quantity, price) becomes the top-level revenue members. The
// rest is written as it came.
func appendLegacyEvent(b []byte, obj jsontext.Value) ([]byte, error) {
	dec := jsontext.NewDecoder(bytes.NewReader(obj), decodeOptions...)
	dec.ReadToken()
	var members []legacyMember
	has := map[string]bool{}
	for dec.PeekKind() != '}' {
		name, err := readName(dec)
		if err != nil {
			return nil, err
		}
		val, err := dec.ReadValue()
		if err != nil {
			return nil, err
		}
		members = append(members, legacyMember{name, bytes.Clone(val)}) // val is the decoder's until the next read
		has[name] = true
	}
	var extra []legacyMember
	for i, m := range members {
		switch m.name {
		case "timestamp":
			if !has["time"] {
				members[i].name = "time"
			}
		case "uuid":
			if !has["insert_id"] {
				members[i].name = "insert_id"
			}
		case "library":
			if m.val.Kind() == '{' {
				members[i].val = legacyLibrary(m.val)
			}
		case "api_properties":
			extra = legacyRevenue(m.val, has)
		}
	}
	b = append(b, '{')
	for i, m := range append(members, extra...) {
		if i > 0 {
			b = append(b, ',')
		}
		b, _ = jsontext.AppendQuote(b, m.name)
		b = append(b, ':')
		b = append(b, m.val...)
	}
	return append(b, '}'), nil
}

// legacyLibrary turns {"name":"amplitude-js","version":"8.21.10"} into
// "amplitude-js/8.21.10", the form of the newer SDKs; null when it names
// neither.
func legacyLibrary(obj jsontext.Value) jsontext.Value {
	var lib struct {
		Name    any `json:"name"`
		Version any `json:"version"`
	}
	if json.Unmarshal(obj, &lib) != nil {
		return obj // DecodeUpload reports it
	}
	name, _ := lib.Name.(string)
	version, _ := lib.Version.(string)
	switch {
	case name == "" && version == "":
		return jsontext.Value("null")
	case version == "":
		return quote(name)
	}
	return quote(name + "/" + version)
}

// legacyRevenue returns the top-level revenue members of the deprecated
// logRevenue(price, quantity, product): api_properties {special:
// "revenue_amount", price, quantity, productId}. Members the event has at
// the top level, and values of the wrong type, are left out.
func legacyRevenue(obj jsontext.Value, has map[string]bool) []legacyMember {
	if obj.Kind() != '{' || !bytes.Contains(obj, []byte(`"revenue_amount"`)) {
		return nil
	}
	var api map[string]json.RawMessage
	if json.Unmarshal(obj, &api) != nil || string(api["special"]) != `"revenue_amount"` {
		return nil
	}
	var out []legacyMember
	for _, m := range []struct {
		name string
		ok   func(jsontext.Value) bool
	}{
		{"price", func(v jsontext.Value) bool { return finite(v) != nil }},
		{"quantity", func(v jsontext.Value) bool { _, ok := parseInt(v); return ok && v.Kind() == '0' }},
		{"productId", func(v jsontext.Value) bool { return v.Kind() == '"' }},
		{"revenueType", func(v jsontext.Value) bool { return v.Kind() == '"' }},
	} {
		if v, ok := api[m.name]; ok && !has[m.name] && m.ok(jsontext.Value(v)) {
			out = append(out, legacyMember{m.name, jsontext.Value(v)})
		}
	}
	return out
}
