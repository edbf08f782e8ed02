package analytics

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/touchpointhq/touchpoint"
)

// Limits of the form endpoints (Amplitude's Identify and Group Identify API documentation).
const (
	MaxIdentifications = 2000
	MaxGroupIdentifies = 1024
)

// The plain-text answers of the form endpoints. Amplitude documents the
// status codes only (UNCONFIRMED bodies): ours are "success" and, for a 400,
// a sentence saying what is wrong.
const FormSuccess = "success"

// FormError is a refused form request: the 400 body.
type FormError struct{ Message string }

func (e *FormError) Error() string { return e.Message }

func formErr(format string, args ...any) *FormError {
	return &FormError{Message: fmt.Sprintf(format, args...)}
}

// objects decodes a parameter that holds one JSON object or an array of
// them.
func objects(param, s string, max int) ([]map[string]json.RawMessage, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, formErr("missing_event: the %s parameter is required", param)
	}
	var list []map[string]json.RawMessage
	if strings.HasPrefix(s, "[") {
		if err := json.Unmarshal([]byte(s), &list); err != nil {
			return nil, formErr("missing_event: %s is not a JSON array of objects: %v", param, err)
		}
	} else {
		var one map[string]json.RawMessage
		if err := json.Unmarshal([]byte(s), &one); err != nil || one == nil {
			return nil, formErr("missing_event: %s is not a JSON object or array of objects", param)
		}
		list = []map[string]json.RawMessage{one}
	}
	if len(list) == 0 {
		return nil, formErr("missing_event: %s holds no object", param)
	}
	if len(list) > max {
		return nil, formErr("%s holds %d objects: at most %d per request", param, len(list), max)
	}
	return list, nil
}

// stringField returns a string member; a member of another type is an
// error.
func stringField(m map[string]json.RawMessage, name string) (string, error) {
	raw, ok := m[name]
	if !ok || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("%s must be a string", name)
	}
	return truncate(s, MaxStringLength), nil
}

// propsField decodes an operations object and checks it.
func propsField(m map[string]json.RawMessage, name string) (map[string]any, error) {
	raw, ok := m[name]
	if !ok {
		return nil, nil
	}
	sh := shapeOf(raw)
	if _, ok := checkObject(jsontext.Value(raw), sh); !ok && bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		return nil, touchpoint.Errorf(touchpoint.EINVALID, "%s is nested deeper than %d levels", name, MaxPropertyDepth)
	}
	props, err := touchpoint.DecodeProperties(raw)
	if err != nil {
		return nil, touchpoint.Errorf(touchpoint.EINVALID, "%s must be an object", name)
	}
	if !sh.finite {
		return nil, touchpoint.Errorf(touchpoint.EINVALID, "%s holds a number too large for a float64", name)
	}
	return props, touchpoint.CheckUserProperties(props)
}

// DecodeIdentify decodes the identification parameter of POST /identify:
// user property changes (no event) for each user or device named.
func DecodeIdentify(identification string, now time.Time) ([]*touchpoint.IncomingEvent, error) {
	list, err := objects("identification", identification, MaxIdentifications)
	if err != nil {
		return nil, err
	}
	events := make([]*touchpoint.IncomingEvent, len(list))
	for i, m := range list {
		e := &touchpoint.IncomingEvent{Kind: touchpoint.IdentifyEvent, EventType: "$identify", Time: now.UnixMilli()}
		uid, err1 := stringField(m, "user_id")
		did, err2 := stringField(m, "device_id")
		if err := firstErr(err1, err2); err != nil {
			return nil, formErr("identification %d: %v", i, err)
		}
		var uok, dok bool
		e.UserID, uok = validID(uid, DefaultMinIDLength, false)
		e.DeviceID, dok = validID(did, DefaultMinIDLength, true)
		if !uok && !dok {
			return nil, formErr("missing_event: identification %d needs a user_id or device_id of at least %d characters", i, DefaultMinIDLength)
		}
		if !dok {
			e.DeviceID = DeviceIDForUser(e.UserID)
		}
		if e.UserProperties, err = propsField(m, "user_properties"); err != nil {
			return nil, formErr("identification %d: %v", i, touchpoint.ErrorMessage(err))
		}
		if raw, ok := m["groups"]; ok && string(raw) != "null" {
			if e.Groups, err = trimGroups(raw); err != nil {
				return nil, formErr("identification %d: groups must be an object of strings or lists of strings", i)
			}
		}
		events[i] = e
	}
	return events, nil
}

// DecodeGroupIdentify decodes the identification parameter of POST
// /groupidentify: property changes of groups.
func DecodeGroupIdentify(identification string, now time.Time) ([]*touchpoint.IncomingEvent, error) {
	list, err := objects("identification", identification, MaxGroupIdentifies)
	if err != nil {
		return nil, err
	}
	events := make([]*touchpoint.IncomingEvent, len(list))
	for i, m := range list {
		typ, err1 := stringField(m, "group_type")
		val, err2 := stringField(m, "group_value")
		if err := firstErr(err1, err2); err != nil {
			return nil, formErr("identification %d: %v", i, err)
		}
		if typ == "" || val == "" {
			return nil, formErr("missing_event: identification %d needs group_type and group_value", i)
		}
		e := &touchpoint.IncomingEvent{Kind: touchpoint.GroupIdentifyEvent, EventType: "$groupidentify", Time: now.UnixMilli(),
			Groups: map[string]any{typ: val}}
		if e.GroupProperties, err = propsField(m, "group_properties"); err != nil {
			return nil, formErr("identification %d: %v", i, touchpoint.ErrorMessage(err))
		}
		events[i] = e
	}
	return events, nil
}

// DecodeAttribution decodes the event parameter of POST /attribution
// (Amplitude's Attribution API documentation): an MMP's attribution event, matched on advertising id. The
// ids are kept only as hashes: the stored event has them null, and lists
// the hashes in amplitude_attribution_ids (Amplitude's Attribution API documentation, "Stored ad ids are
// removed from raw data").
func DecodeAttribution(event string, now time.Time) (*touchpoint.IncomingEvent, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(event), &m); err != nil || m == nil {
		if strings.TrimSpace(event) == "" {
			return nil, formErr("missing_event: the event parameter is required")
		}
		return nil, formErr("event is not a JSON object")
	}
	if !utf8.ValidString(event) {
		// Its members are stored as they came: refused, as HTTP V2
		// refuses a body that is not UTF-8.
		return nil, formErr("event is not UTF-8")
	}
	if !shapeOf([]byte(event)).finite {
		return nil, formErr("event holds a number too large for a float64")
	}
	e := &touchpoint.IncomingEvent{Kind: touchpoint.AttributionEvent}
	var platform string
	var errs []error
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{"event_type", &e.EventType}, {"platform", &platform}, {"idfa", &e.AdIDs.IDFA}, {"idfv", &e.AdIDs.IDFV},
		{"adid", &e.AdIDs.ADID}, {"android_app_set_id", &e.AdIDs.AppSetID},
	} {
		var err error
		*f.dst, err = stringField(m, f.name)
		errs = append(errs, err)
	}
	if err := firstErr(errs...); err != nil {
		return nil, formErr("%v", err)
	}
	switch p := strings.ToLower(platform); {
	case e.EventType == "":
		return nil, formErr("event_type is required (by convention \"[Partner] Install\")")
	case p == "":
		return nil, formErr("platform is required: ios or android")
	case p == "ios":
		if e.AdIDs.IDFA == "" && e.AdIDs.IDFV == "" {
			return nil, formErr("an ios attribution needs idfa or idfv")
		}
		e.AdIDs.ADID, e.AdIDs.AppSetID = "", ""
	case p == "android":
		if e.AdIDs.ADID == "" && e.AdIDs.AppSetID == "" {
			return nil, formErr("an android attribution needs adid or android_app_set_id")
		}
		e.AdIDs.IDFA, e.AdIDs.IDFV = "", ""
	default:
		return nil, formErr("platform %q: use ios or android", platform)
	}
	e.Time = now.UnixMilli()
	if raw, ok := m["time"]; ok && string(raw) != "null" {
		var t int64
		if err := json.Unmarshal(raw, &t); err != nil || t < 0 {
			return nil, formErr("time must be milliseconds since the epoch")
		}
		if err := touchpoint.CheckMillis("time", t); t > 0 && err != nil {
			return nil, formErr("%s", touchpoint.ErrorMessage(err))
		}
		if t > 0 && t <= now.Add(touchpoint.MaxClockSkew).UnixMilli() {
			e.Time = t
		}
	}
	var err error
	if e.UserProperties, err = propsField(m, "user_properties"); err != nil {
		return nil, formErr("%v", touchpoint.ErrorMessage(err))
	}
	// The stored form: every member but the ids, which become hashes.
	for _, k := range []string{"idfa", "idfv", "adid", "android_app_set_id", "user_properties", "time"} {
		delete(m, k)
	}
	m["time"], _ = json.Marshal(e.Time)
	for _, k := range []string{"idfa", "idfv", "adid", "android_app_set_id"} {
		m[k] = json.RawMessage("null")
	}
	var hashes []string
	for _, k := range e.AdIDs.Keys() {
		hashes = append(hashes, k.String())
	}
	sort.Strings(hashes)
	m["amplitude_attribution_ids"], _ = json.Marshal(hashes)
	e.Data, _ = json.Marshal(m)
	return e, nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
