// Package appsflyer streams analytics events to AppsFlyer's S2S in-app
// events API (spec/appsflyer.md §5) as Amplitude's "Send events to
// AppsFlyer" destination does (spec/amplitude-adjust.md §4.4): one event
// per request, with the user id as customer_user_id, every event, user and
// group property inside eventValue, os always, and the device ids the
// event has.
package appsflyer

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

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
	base := strings.TrimRight(cmp.Or(d.URL, self), "/")
	s := &Stream{d: d, url: base + "/inappevent/" + url.PathEscape(d.AppsFlyerAppID), host: base,
		pid: "destination/" + strconv.FormatInt(d.ID, 10)}
	if u, err := url.Parse(base); err == nil {
		s.host = u.Host
	}
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

// Event is an S2S in-app event (spec/appsflyer.md §5), the body the
// stream sends.
type Event struct {
	AppsFlyerID    string `json:"appsflyer_id,omitempty"`
	CustomerUserID string `json:"customer_user_id,omitempty"`
	EventName      string `json:"eventName"`
	// EventValue is a JSON object as a string, or "".
	EventValue     string `json:"eventValue"`
	EventTime      string `json:"eventTime"`
	EventCurrency  string `json:"eventCurrency,omitempty"`
	OS             string `json:"os"`
	IP             string `json:"ip,omitempty"`
	IDFA           string `json:"idfa,omitempty"`
	IDFV           string `json:"idfv,omitempty"`
	AdvertisingID  string `json:"advertising_id,omitempty"`
	OAID           string `json:"oaid,omitempty"`
	AndroidID      string `json:"android_id,omitempty"`
	AmazonAID      string `json:"amazon_aid,omitempty"`
	AppVersionName string `json:"app_version_name,omitempty"`
}

// TimeLayout is eventTime's form: yyyy-mm-dd hh:mm:ss.sss, UTC.
const TimeLayout = "2006-01-02 15:04:05.000"

// stored is what the stream reads of a stored event.
type stored struct {
	EventProperties json.RawMessage `json:"event_properties"`
	Revenue         *json.Number    `json:"revenue"`
	Currency        string          `json:"currency"`
	Library         string          `json:"library"`
	OSName          string          `json:"os_name"`
	OSVersion       string          `json:"os_version"`
	Platform        string          `json:"platform"`
	DeviceBrand     string          `json:"device_brand"`
	IP              string          `json:"ip"`
	IDFA            string          `json:"idfa"`
	IDFV            string          `json:"idfv"`
	ADID            string          `json:"adid"`
	AndroidID       string          `json:"android_id"`
	OAID            string          `json:"oaid"`
	AmazonAID       string          `json:"amazon_aid"`
	AppVersion      string          `json:"app_version"`
}

var currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)

// Delivery returns the event's delivery, or nil when the filter's
// condition excludes it or the event came from an analytics forward
// (sending it back would count it twice).
func (s *Stream) Delivery(e *touchpoint.StreamedEvent) *touchpoint.Delivery {
	var st stored
	if err := json.Unmarshal(e.Data, &st); err != nil {
		return nil // the store wrote it; it is an object
	}
	if st.Library == touchpoint.ForwardLibrary {
		return nil
	}
	eventProps, _ := touchpoint.DecodeProperties(st.EventProperties)
	if c := s.d.Filter.Where; c != nil && !holds(c, eventProps, e.UserProperties) {
		return nil
	}
	ev := Event{CustomerUserID: e.UserID, EventName: e.EventType,
		EventTime: time.UnixMilli(e.Time).UTC().Format(TimeLayout), OS: st.OSVersion, IP: st.IP,
		IDFA: st.IDFA, IDFV: st.IDFV, AndroidID: st.AndroidID, OAID: st.OAID, AmazonAID: st.AmazonAID,
		AppVersionName: st.AppVersion}
	if id, ok := e.UserProperties[s.d.AppsFlyerIDProperty].(string); ok && s.d.AppsFlyerIDProperty != "" {
		ev.AppsFlyerID = id
	}
	// Amplitude's adid is Google's advertising id, or Amazon's on Fire
	// devices.
	if st.ADID != "" {
		if amazon(st) {
			ev.AmazonAID = cmp.Or(ev.AmazonAID, st.ADID)
		} else {
			ev.AdvertisingID = st.ADID
		}
	}
	// Every group, user and event property, in that order: an event
	// property wins over a user property of the same name, and a user
	// property over a group's.
	values := make(map[string]any, len(e.GroupProperties)+len(e.UserProperties)+len(eventProps))
	for _, m := range []map[string]any{e.GroupProperties, e.UserProperties, eventProps} {
		for k, v := range m {
			values[k] = v
		}
	}
	if st.Revenue != nil {
		values["af_revenue"] = st.Revenue.String()
		ev.EventCurrency = "USD"
		for _, c := range []any{eventProps["currency"], eventProps["af_currency"], st.Currency} {
			if c, ok := c.(string); ok && currencyRE.MatchString(c) {
				ev.EventCurrency = c
				break
			}
		}
	}
	body, note := fit(&ev, values)
	return &touchpoint.Delivery{Project: e.Project, PID: s.pid, Kind: touchpoint.KindEventStream, Method: "POST",
		URL: s.url, Body: string(body), ContentType: "application/json", Host: s.host,
		Headers: map[string]string{"authentication": s.d.Key}, MaxTries: touchpoint.StreamTries, Note: note}
}

func amazon(st stored) bool {
	for _, v := range []string{st.OSName, st.Platform, st.DeviceBrand} {
		v = strings.ToLower(v)
		if strings.Contains(v, "amazon") || strings.Contains(v, "fire") {
			return true
		}
	}
	return false
}

// fit writes the event with its values, dropping values, largest first,
// until the body fits MaxBody; the note names what was dropped. A body
// that does not fit with no values at all is sent as it is: the receiver
// refuses it and the delivery records the answer.
func fit(ev *Event, values map[string]any) ([]byte, string) {
	type sized struct {
		key  string
		size int
	}
	encode := func() []byte {
		ev.EventValue = ""
		if len(values) > 0 {
			v, _ := json.Marshal(values)
			ev.EventValue = string(v)
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.Encode(ev)
		return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	}
	body := encode()
	if len(body) <= MaxBody {
		return body, ""
	}
	order := make([]sized, 0, len(values))
	for k, v := range values {
		b, _ := json.Marshal(v)
		order = append(order, sized{k, len(k) + len(b)})
	}
	slices.SortFunc(order, func(a, b sized) int { return cmp.Or(b.size-a.size, strings.Compare(a.key, b.key)) })
	var dropped []string
	for _, o := range order {
		if len(body) <= MaxBody {
			break
		}
		delete(values, o.key)
		dropped = append(dropped, o.key)
		body = encode()
	}
	note := fmt.Sprintf("dropped %d of the event's properties, largest first, to fit the S2S API's 1 KB limit: %s",
		len(dropped), strings.Join(dropped, ", "))
	if len(body) > MaxBody {
		note = fmt.Sprintf("the event is %d bytes with no properties at all, over the S2S API's 1 KB limit", len(body))
	}
	return body, note
}

// holds reports whether a filter condition holds for an event.
func holds(c *touchpoint.PropertyCondition, eventProps, userProps map[string]any) bool {
	props := eventProps
	if c.On == touchpoint.OnUser {
		props = userProps
	}
	v, ok := props[c.Property]
	in := ok && slices.Contains(c.Values, text(v))
	if c.Op == touchpoint.OpIsNot {
		return !in
	}
	return in
}

// text is a property value as a condition compares it.
func text(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case nil:
		return "null"
	}
	b, _ := json.Marshal(v)
	return string(b)
}
