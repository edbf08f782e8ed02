package httpapi

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// AppsFlyer's S2S in-app events API, v3 (spec/appsflyer.md §5): one event
// per request, authenticated by the app's dev key in an "authentication"
// header, answered in plain text.
func (s *Server) registerS2SRoutes(mux *http.ServeMux) {
	s.handle(mux, "POST /inappevent/{app_id}", s.handleInAppEvent)
}

// The S2S API's answers (spec §5). A "Bad request" says what was wrong
// after a colon (ours: AppsFlyer's says nothing more).
const (
	s2sOK            = "ok"
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
	// The device ids and bundleIdentifier are accepted; a conversion's
	// postbacks carry the ids of its device's install (AppsFlyer fills
	// missing ids from the install).
	BundleIdentifier string `json:"bundleIdentifier"`
}

// POST /inappevent/{app_id}
func (s *Server) handleInAppEvent(w http.ResponseWriter, r *http.Request) {
	cat := s.catalog.Load()
	ca := cat.apps[r.PathValue("app_id")]
	key := strings.TrimSpace(r.Header.Get("authentication"))
	switch {
	case ca != nil && key != "" && subtle.ConstantTimeCompare([]byte(key), []byte(ca.app.DevKey)) == 1:
	case key == "":
		writeS2S(w, http.StatusBadRequest, s2sNoAuth)
		return
	case cat.devKeyOfAnotherApp(key):
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
	app := ca.app
	now := app.Now(s.Store.Now)
	req, status, msg := ev.request(now)
	if msg != "" {
		writeS2S(w, status, msg)
		return
	}
	dev, err := s.s2sDevice(r.Context(), app.ID, &ev)
	if err != nil {
		s.writeS2SError(w, r, err)
		return
	}
	req.DeviceID = dev.ID
	c, dev, err := s.conversion(r.Context(), app, req, "S2S", dev)
	if err != nil {
		s.writeS2SError(w, r, err)
		return
	}
	ds, err := s.conversionDeliveries(r.Context(), ca, dev, c)
	if err != nil {
		s.writeS2SError(w, r, err)
		return
	}
	cw := &touchpoint.ConversionWrite{Conversion: c, Deliveries: ds}
	if err := s.conversions.Add(cw); err != nil {
		s.writeS2SError(w, r, err)
		return
	}
	s.Metrics.conversionStored(false)
	writeS2S(w, http.StatusOK, s2sOK)
}

// request checks an S2S event and turns it into the SDK event it amounts
// to; or returns the status and message of its refusal.
func (ev *S2SEvent) request(now time.Time) (*EventRequest, int, string) {
	bad := func(why string) (*EventRequest, int, string) {
		return nil, http.StatusBadRequest, s2sBadRequest + ": " + why
	}
	if ev.AppsFlyerID == "" && ev.CustomerUserID == "" {
		return nil, http.StatusBadRequest, s2sMandatoryID
	}
	switch {
	case ev.EventName == "":
		return bad("eventName is required")
	case len(ev.EventName) > touchpoint.MaxEventNameLength:
		return bad(fmt.Sprintf("eventName is longer than %d characters", touchpoint.MaxEventNameLength))
	case ev.EventCurrency != "" && !currencyRE.MatchString(ev.EventCurrency):
		return bad(fmt.Sprintf("eventCurrency %q: want an ISO-4217 code such as USD or EUR", ev.EventCurrency))
	}
	req := &EventRequest{EventName: ev.EventName}
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
		if rev, ok := props["af_revenue"]; ok {
			if err := req.Revenue.UnmarshalJSON(rev); err != nil || req.Revenue < 0 {
				return bad("af_revenue " + string(rev) + " is not a decimal number of at least 0")
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
		// day; a later one is stamped at arrival (spec §5).
		if day := t.Truncate(24 * time.Hour); !now.After(day.Add(26 * time.Hour)) {
			req.EventTime.Time = t
		}
	}
	if ev.IP != "" {
		if _, err := netip.ParseAddr(ev.IP); err != nil {
			return bad("ip " + ev.IP + " is not an IP address")
		}
	}
	return req, 0, ""
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

// s2sDevice finds the event's device: by appsflyer_id (our device id), or
// by customer_user_id. A user must exist (seed 002): an event of no known
// device is refused.
func (s *Server) s2sDevice(ctx context.Context, app string, ev *S2SEvent) (*touchpoint.Device, error) {
	if ev.AppsFlyerID != "" {
		dev, err := s.Store.FindDevice(ctx, app, ev.AppsFlyerID)
		if touchpoint.ErrorCode(err) == touchpoint.ENOTFOUND {
			return nil, touchpoint.Errorf(touchpoint.EINVALID, "appsflyer_id %q is not a device of app %s: the app must have launched on it", ev.AppsFlyerID, app)
		}
		return dev, err
	}
	dev, err := s.Store.FindDeviceByCustomerUserID(ctx, app, ev.CustomerUserID)
	if touchpoint.ErrorCode(err) == touchpoint.ENOTFOUND {
		return nil, touchpoint.Errorf(touchpoint.EINVALID, "customer_user_id %q matches no device of app %s: the app must launch with this customer user id before events can be sent for it", ev.CustomerUserID, app)
	}
	return dev, err
}

// devKeyOfAnotherApp reports whether key is some app's dev key.
func (c *catalog) devKeyOfAnotherApp(key string) bool {
	for _, ca := range c.apps {
		if subtle.ConstantTimeCompare([]byte(key), []byte(ca.app.DevKey)) == 1 {
			return true
		}
	}
	return false
}

// writeS2SError answers an error as the S2S API does: what the client
// can fix is a Bad request; anything else is ours.
func (s *Server) writeS2SError(w http.ResponseWriter, r *http.Request, err error) {
	switch touchpoint.ErrorCode(err) {
	case touchpoint.EINVALID, touchpoint.ENOTFOUND:
		writeS2S(w, http.StatusBadRequest, s2sBadRequest+": "+touchpoint.ErrorMessage(err))
		return
	}
	s.Logger.Error("s2s event", "path", r.URL.Path, "err", err)
	writeS2S(w, http.StatusInternalServerError, s2sInternalError)
}

func writeS2S(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	io.WriteString(w, msg)
}
