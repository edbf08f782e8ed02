package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/destination/appsflyer"
	"github.com/touchpointhq/touchpoint/service"
)

// AppsFlyer's S2S in-app events API, v3 (as its documentation has it): one event
// per request, authenticated by the app's dev key in an "authentication"
// header, answered as AppsFlyer's OpenAPI file for it says: a JSON string
// (application/json), "OK" or the message of a refusal.
func (s *Server) registerS2SRoutes(mux *http.ServeMux) {
	s.handle(mux, "POST /inappevent/{app_id}", s.handleInAppEvent)
}

// The S2S API's answers (AppsFlyer's S2S documentation and its OpenAPI file's examples). A "Bad request"
// says what was wrong after a colon (ours: AppsFlyer's says nothing more).
const (
	s2sOK            = "OK"
	s2sNoAuth        = "Failed to Authenticate"
	s2sUnauthorized  = "Unauthorized"
	s2sKeyMismatch   = "app_id does not match the key"
	s2sMandatoryID   = "appsflyer_id is a mandatory field"
	s2sBadRequest    = "Bad request"
	s2sPayload       = "Payload is missing or failed to parse"
	s2sInternalError = "Internal Server Error"
	// maxS2SBody is the API's limit: 1 KB.
	maxS2SBody = 1024
)

// S2SEvent is the body of POST /inappevent/{app_id}.
type S2SEvent struct {
	AppsFlyerID    string          `json:"appsflyer_id"`
	CustomerUserID string          `json:"customer_user_id"`
	EventName      string          `json:"eventName"`
	EventValue     json.RawMessage `json:"eventValue"`
	EventTime      string          `json:"eventTime"`
	EventCurrency  string          `json:"eventCurrency"`
	IP             string          `json:"ip"`
	OS             string          `json:"os"`
	// SharingFilter is "all" or a list of partner ids: the partners that
	// may not get the event (see postback.Blocked).
	SharingFilter json.RawMessage `json:"sharing_filter"`
	// ATT (iOS, 0 to 3) and AppType ("" or app_clip) are checked against
	// the file's enums and otherwise unused.
	ATT     *int    `json:"att"`
	AppType *string `json:"app_type"`
	// The device ids and bundleIdentifier are accepted; a conversion's
	// postbacks carry the ids of its device's install (AppsFlyer fills
	// missing ids from the install).
	BundleIdentifier string `json:"bundleIdentifier"`
}

// POST /inappevent/{app_id}
func (s *Server) handleInAppEvent(w http.ResponseWriter, r *http.Request) {
	ca := s.svc.App(r.PathValue("app_id"))
	key := strings.TrimSpace(r.Header.Get("authentication"))
	switch {
	case ca != nil && key != "" && ca.App.DevKeyHash.Matches(key):
	case key == "":
		writeS2S(w, http.StatusBadRequest, s2sNoAuth)
		return
	case s.svc.AppByDevKey(key) != nil: // another app's key
		writeS2S(w, http.StatusBadRequest, s2sKeyMismatch)
		return
	default:
		writeS2S(w, http.StatusUnauthorized, s2sUnauthorized)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxS2SBody+1))
	if err != nil {
		writeS2S(w, http.StatusBadRequest, s2sPayload)
		return
	}
	if len(body) > maxS2SBody {
		writeS2S(w, http.StatusBadRequest, s2sBadRequest+": the body is over the 1 KB limit of the S2S API")
		return
	}
	var ev S2SEvent
	if len(bytes.TrimSpace(body)) == 0 || json.Unmarshal(body, &ev) != nil {
		writeS2S(w, http.StatusBadRequest, s2sPayload)
		return
	}
	app := ca.App
	e, status, msg := ev.event(s.svc.Now(app))
	if msg != "" {
		writeS2S(w, status, msg)
		return
	}
	sharing, msg := ev.sharingFilter()
	if msg != "" {
		writeS2S(w, http.StatusBadRequest, s2sBadRequest+": "+msg)
		return
	}
	dev, err := s.svc.FindDeviceForS2S(r.Context(), app.ID, ev.AppsFlyerID, ev.CustomerUserID)
	if err != nil {
		s.writeS2SError(w, r, err)
		return
	}
	e.DeviceID, e.Device, e.SharingFilter = dev.ID, dev, sharing
	if _, err := s.svc.Convert(r.Context(), ca, e); err != nil {
		s.writeS2SError(w, r, err)
		return
	}
	s.Metrics.conversionStored(false)
	writeS2S(w, http.StatusOK, s2sOK)
}

// event checks an S2S event and turns it into the service's event it
// amounts to (its device left to find); or returns the status and message
// of its refusal. now is the app's clock.
func (ev *S2SEvent) event(now time.Time) (*service.Event, int, string) {
	bad := func(why string) (*service.Event, int, string) {
		return nil, http.StatusBadRequest, s2sBadRequest + ": " + why
	}
	if ev.AppsFlyerID == "" && ev.CustomerUserID == "" {
		return nil, http.StatusBadRequest, s2sMandatoryID
	}
	// eventName has no length limit but the body's 1 KB.
	switch {
	case ev.EventName == "":
		return bad("eventName is required")
	case ev.EventCurrency != "" && !s2sCurrency(ev.EventCurrency):
		return bad(fmt.Sprintf("eventCurrency %q: want an ISO-4217 code in upper case, such as USD or EUR", ev.EventCurrency))
	case ev.ATT != nil && (*ev.ATT < 0 || *ev.ATT > 3):
		return bad(fmt.Sprintf("att %d: want 0 (not determined), 1 (restricted), 2 (denied) or 3 (authorized)", *ev.ATT))
	case ev.AppType != nil && *ev.AppType != "" && *ev.AppType != "app_clip":
		return bad(fmt.Sprintf("app_type %q: want app_clip, or none", *ev.AppType))
	}
	req := &service.Event{Name: ev.EventName, Source: service.SourceS2S}
	// eventValue is a JSON object in a string, or "" for none.
	var value string
	if err := json.Unmarshal(ev.EventValue, &value); err != nil {
		return bad(`eventValue must be a string holding a JSON object, such as "{\"af_revenue\":\"6\"}", or "" for none`)
	}
	if value = strings.TrimSpace(value); value != "" {
		var props map[string]json.RawMessage
		if err := json.Unmarshal([]byte(value), &props); err != nil || props == nil {
			return bad("eventValue does not hold a JSON object")
		}
		req.Value = json.RawMessage(value)
		// A refund is negative revenue, "preceded by a -".
		if rev, ok := props["af_revenue"]; ok {
			if err := req.Revenue.UnmarshalJSON(rev); err != nil {
				return bad("af_revenue " + string(rev) + " is not a decimal number")
			}
		}
	}
	req.Currency = ev.EventCurrency
	if ev.EventTime != "" {
		t, err := parseS2STime(ev.EventTime)
		if err != nil {
			return bad("eventTime " + ev.EventTime + ": want yyyy-mm-dd hh:mm:ss.sss in UTC")
		}
		// An event keeps its time if it arrives by 02:00 UTC the next
		// day; a later one is stamped at arrival (AppsFlyer's S2S in-app events API documentation).
		if day := t.Truncate(24 * time.Hour); !now.After(day.Add(26 * time.Hour)) {
			req.Time = t
		}
	}
	if ev.IP != "" {
		if _, err := netip.ParseAddr(ev.IP); err != nil {
			return bad("ip " + ev.IP + " is not an IP address")
		}
	}
	return req, 0, ""
}

// s2sCurrency reports whether code is an eventCurrency the S2S API takes
// (its file's enum: ISO 4217, upper case).
func s2sCurrency(code string) bool {
	c, ok := appsflyer.Currency(code)
	return ok && c == code
}

// sharingFilter reads sharing_filter as the file's description gives it:
// "all" (every partner blocked) or a non-empty list of partner ids. The
// file types it as an array only, yet its example is the string "all";
// both are taken. A list holding "all" blocks every partner too.
func (ev *S2SEvent) sharingFilter() ([]string, string) {
	raw := bytes.TrimSpace(ev.SharingFilter)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, ""
	}
	const want = `sharing_filter: want "all" or a list of partner ids, such as ["googleadwords_int"]`
	var all string
	if json.Unmarshal(raw, &all) == nil {
		if all != touchpoint.SharingAll {
			return nil, want
		}
		return []string{touchpoint.SharingAll}, ""
	}
	var ids []string
	if json.Unmarshal(raw, &ids) != nil || len(ids) == 0 || slices.Contains(ids, "") {
		return nil, want
	}
	return ids, ""
}

// parseS2STime reads an eventTime: yyyy-mm-dd hh:mm:ss.sss, UTC (the
// fraction may be left out).
func parseS2STime(s string) (time.Time, error) {
	t, err := time.Parse("2006-01-02 15:04:05.999", s)
	if err != nil {
		return t, err
	}
	return t.UTC(), nil
}

// writeS2SError answers an error as the S2S API does: what the client
// can fix is a Bad request; a store that cannot write now (its disk is
// full) is 503 with its message, as every other write answers it (the
// file lists no 503: ours, so that the sender retries); anything else is
// ours.
func (s *Server) writeS2SError(w http.ResponseWriter, r *http.Request, err error) {
	switch touchpoint.ErrorCode(err) {
	case touchpoint.EINVALID, touchpoint.ENOTFOUND:
		writeS2S(w, http.StatusBadRequest, s2sBadRequest+": "+touchpoint.ErrorMessage(err))
		return
	case touchpoint.EUNAVAILABLE:
		writeS2S(w, http.StatusServiceUnavailable, touchpoint.ErrorMessage(err))
		return
	}
	s.Logger.Error("s2s event", "path", r.URL.Path, "err", err)
	writeS2S(w, http.StatusInternalServerError, s2sInternalError)
}

// writeS2S answers as the file says: application/json, the message as a
// JSON string (its ErrorResponse is "type: string"; its 200's example is
// "OK").
func writeS2S(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(msg)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}
