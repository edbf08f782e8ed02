package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/service"
)

// The SDK API: what an app's SDK calls. It is ours (AppsFlyer's SDK
// protocol is private); api/openapi.yaml describes it.
func (s *Server) registerSDKRoutes(mux *http.ServeMux) {
	s.handle(mux, "POST /sdk/v1/apps/{app_id}/launches", s.sdk(s.handleLaunch))
	s.handle(mux, "POST /sdk/v1/apps/{app_id}/events", s.sdk(s.handleEvent))
}

// maxSDKBody bounds SDK request bodies.
const maxSDKBody = 64 << 10

// sdk authenticates an SDK call with the app's dev key, sent as
// "Authorization: Bearer <dev key>" or, as AppsFlyer's S2S API does, in an
// "authentication" header.
func (s *Server) sdk(h func(http.ResponseWriter, *http.Request, *service.CatalogApp)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		app := s.svc.App(r.PathValue("app_id"))
		if app == nil {
			writeError(w, r, touchpoint.Errorf(touchpoint.ENOTFOUND, "app %q is not configured on this server", r.PathValue("app_id")))
			return
		}
		key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			key = r.Header.Get("authentication")
		}
		if key = strings.TrimSpace(key); key == "" || !app.App.DevKeyHash.Matches(key) {
			writeError(w, r, touchpoint.Errorf(touchpoint.EUNAUTHORIZED, "missing or wrong dev key: send the app's dev key as Authorization: Bearer <dev key>"))
			return
		}
		h(w, r, app)
	}
}

// decodeSDK reads an SDK body. Unknown fields are ignored (SDKs newer than
// the server may send more), but the body must be one JSON object.
func decodeSDK(r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxSDKBody))
	if err != nil {
		return touchpoint.Errorf(touchpoint.EINVALID, "the request body is larger than %d KB", maxSDKBody>>10)
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return touchpoint.Errorf(touchpoint.EINVALID, "the request body is empty: send a JSON object")
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *touchpoint.Error
		if errors.As(err, &te) {
			return te
		}
		return touchpoint.Errorf(touchpoint.EINVALID, "the request body is not valid JSON for this endpoint: %v", err)
	}
	return nil
}

// sdkTime is a time an SDK sends: Unix milliseconds (a number) or an RFC
// 3339 string.
type sdkTime struct{ time.Time }

func (t *sdkTime) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return touchpoint.Errorf(touchpoint.EINVALID, "time %s: want Unix milliseconds or RFC 3339", b)
		}
		t.Time = v.UTC()
		return nil
	}
	ms, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || ms <= 0 {
		return touchpoint.Errorf(touchpoint.EINVALID, "time %s: want Unix milliseconds or RFC 3339", b)
	}
	t.Time = time.UnixMilli(ms).UTC()
	return nil
}

// unixSeconds is a Play referrer timestamp: Unix seconds.
type unixSeconds struct{ time.Time }

func (t *unixSeconds) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	sec, err := strconv.ParseInt(strings.Trim(string(b), `"`), 10, 64)
	if err != nil || sec < 0 {
		return touchpoint.Errorf(touchpoint.EINVALID, "timestamp %s: want Unix seconds, as Google Play reports it", b)
	}
	if sec > 0 {
		t.Time = time.Unix(sec, 0).UTC()
	}
	return nil
}

// LaunchRequest is the body of POST /sdk/v1/apps/{app_id}/launches.
type LaunchRequest struct {
	DeviceID       string      `json:"device_id"`
	LaunchID       string      `json:"launch_id"`
	LaunchTime     sdkTime     `json:"launch_time"`
	IDFA           string      `json:"idfa"`
	IDFV           string      `json:"idfv"`
	AdvertisingID  string      `json:"advertising_id"`
	OAID           string      `json:"oaid"`
	AndroidID      string      `json:"android_id"`
	IMEI           string      `json:"imei"`
	AmazonAID      string      `json:"amazon_aid"`
	Referrer       string      `json:"referrer"`
	ClickTS        unixSeconds `json:"click_ts"`
	InstallBeginTS unixSeconds `json:"install_begin_ts"`
	IP             string      `json:"ip"`
	UserAgent      string      `json:"user_agent"`
	DeviceModel    string      `json:"device_model"`
	OSVersion      string      `json:"os_version"`
	Language       string      `json:"language"`
	AppVersion     string      `json:"app_version"`
	SDKVersion     string      `json:"sdk_version"`
	CustomerUserID string      `json:"customer_user_id"`
	ATT            string      `json:"att"`
}

// Limits of launch fields (ours).
const (
	maxIDLength       = 128
	maxFieldLength    = 256
	maxUALength       = 1024
	maxReferrerLength = 2048
)

var zeroAdID = regexp.MustCompile(`^[0-]+$`)

// launch validates a request into a Launch. Its time is left as sent: the
// service takes it by the app's clock (service.Launch); now is that clock,
// for the Play referrer's timestamps (a time far ahead of it is one sent
// in the wrong unit).
func (req *LaunchRequest) launch(app *touchpoint.App, now time.Time, connIP string) (*touchpoint.Launch, error) {
	l := &touchpoint.Launch{App: app.ID, DeviceID: req.DeviceID, LaunchID: req.LaunchID, Time: req.LaunchTime.Time,
		Referrer: req.Referrer, ClickTime: req.ClickTS.Time, InstallBeginTime: req.InstallBeginTS.Time, IP: req.IP, UA: req.UserAgent,
		DeviceModel: req.DeviceModel, OSVersion: req.OSVersion, Language: req.Language, AppVersion: req.AppVersion,
		SDKVersion: req.SDKVersion, CustomerUserID: req.CustomerUserID, ATT: req.ATT}
	for typ, v := range map[touchpoint.DeviceIDType]string{touchpoint.IDFA: req.IDFA, touchpoint.IDFV: req.IDFV,
		touchpoint.GAID: req.AdvertisingID, touchpoint.OAID: req.OAID, touchpoint.AndroidID: req.AndroidID,
		touchpoint.IMEI: req.IMEI, touchpoint.AmazonAID: req.AmazonAID} {
		v = strings.TrimSpace(v)
		if len(v) > maxIDLength {
			return nil, touchpoint.Errorf(touchpoint.EINVALID, "%s is longer than %d characters", touchpoint.DeviceIDParams[typ], maxIDLength)
		}
		// A device with ad tracking limited reports an all-zero id: none.
		if v != "" && !zeroAdID.MatchString(v) {
			l.IDs[typ] = touchpoint.DeviceID{Raw: v}
		}
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{{"device_id", l.DeviceID, maxIDLength}, {"launch_id", l.LaunchID, maxIDLength}, {"referrer", l.Referrer, maxReferrerLength},
		{"user_agent", l.UA, maxUALength}, {"device_model", l.DeviceModel, maxFieldLength}, {"os_version", l.OSVersion, maxFieldLength},
		{"language", l.Language, maxFieldLength}, {"app_version", l.AppVersion, maxFieldLength}, {"sdk_version", l.SDKVersion, maxFieldLength},
		{"customer_user_id", l.CustomerUserID, maxFieldLength}} {
		if len(f.v) > f.max {
			return nil, touchpoint.Errorf(touchpoint.EINVALID, "%s is longer than %d characters", f.name, f.max)
		}
	}
	for _, f := range []struct {
		name string
		t    time.Time
	}{{"click_ts", l.ClickTime}, {"install_begin_ts", l.InstallBeginTime}} {
		if err := touchpoint.CheckTime(f.name, f.t); err != nil {
			return nil, err
		}
		if f.t.After(now.Add(touchpoint.MaxClockSkew)) {
			return nil, touchpoint.Errorf(touchpoint.EINVALID, "%s %s is in the future: send the Play referrer's timestamp as Unix seconds", f.name, f.t.Format(time.RFC3339))
		}
	}
	if l.ATT != "" && !slices.Contains(touchpoint.ATTStatuses, l.ATT) {
		return nil, touchpoint.Errorf(touchpoint.EINVALID, "att %q: want one of %s", l.ATT, strings.Join(touchpoint.ATTStatuses, ", "))
	}
	if l.IP == "" {
		l.IP = connIP
	} else if a, err := netip.ParseAddr(l.IP); err != nil {
		return nil, touchpoint.Errorf(touchpoint.EINVALID, "ip %q is not an IP address", l.IP)
	} else {
		l.IP = a.Unmap().String()
	}
	return l, nil
}

// LaunchResponse is the answer to a launch.
type LaunchResponse struct {
	DeviceID    string `json:"device_id"`
	FirstLaunch bool   `json:"first_launch"`
	// Type is install, reinstall, re-attribution, re-engagement, or launch
	// (an ordinary later launch).
	Type string `json:"type"`
	// InstallID is the record of the decision (none for an ordinary launch).
	InstallID int64 `json:"install_id,string,omitempty"`
	// ConversionData is AppsFlyer-style conversion data for deferred deep
	// linking.
	ConversionData map[string]any `json:"conversion_data"`
}

// POST /sdk/v1/apps/{app_id}/launches
func (s *Server) handleLaunch(w http.ResponseWriter, r *http.Request, ca *service.CatalogApp) {
	var req LaunchRequest
	if err := decodeSDK(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	l, err := req.launch(ca.App, s.svc.Now(ca.App), s.clientIP(r))
	if err != nil {
		writeError(w, r, err)
		return
	}
	// Where the launch came from, by the launch's ip (the SDK's, else
	// the connection's): AppsFlyer's country_code and city.
	loc := s.GeoIP.Lookup(l.IP)
	l.CountryCode, l.City = loc.CountryCode, loc.City
	res, err := s.svc.Launch(r.Context(), ca, l)
	if err != nil {
		writeError(w, r, err)
		return
	}
	s.Metrics.launchDecided(res.Type())
	writeCompactJSON(w, http.StatusOK, launchResponse(res))
}

// launchResponse is the answer to a decided launch.
func launchResponse(res *service.LaunchResult) *LaunchResponse {
	resp := &LaunchResponse{DeviceID: res.Device.ID, FirstLaunch: res.FirstLaunch, Type: res.Type()}
	if res.Install != nil {
		resp.InstallID = res.Install.ID
	}
	resp.ConversionData = ConversionData(res.Attribution(), res.Device, res.FirstLaunch)
	return resp
}

// afTime is the date-time form of AppsFlyer's conversion data.
const afTime = "2006-01-02 15:04:05.000"

// ConversionData is what AppsFlyer's SDK hands an app as conversion data
// (onConversionDataSuccess): af_status, media_source, campaign, the af_*
// parameters of the winning touch, match_type, af_dp, deep_link_value,
// af_sub1..5, click and install times.
func ConversionData(a *touchpoint.Attribution, dev *touchpoint.Device, first bool) map[string]any {
	cd := map[string]any{"is_first_launch": first, "install_time": dev.InstallTime.UTC().Format(afTime)}
	if a.IsOrganic() {
		cd["af_status"] = "Organic"
		cd["af_message"] = "organic install"
		return cd
	}
	cd["af_status"] = "Non-organic"
	cd["media_source"] = a.MediaSource
	cd["match_type"] = string(a.MatchType)
	cd["is_retargeting"] = a.Retargeting
	cd["click_time"] = a.TouchTime.UTC().Format(afTime)
	if a.TouchType == touchpoint.Impression {
		cd["af_touch_type"] = "impression"
	}
	p := a.Params
	for _, sp := range touchpoint.StringParams {
		if v := *sp.Field(&p); v != "" && sp.Name != "signature" {
			name := sp.Name
			if name == "c" {
				name = "campaign"
			}
			cd[name] = v
		}
	}
	return cd
}

// EventRequest is the body of POST /sdk/v1/apps/{app_id}/events.
type EventRequest struct {
	DeviceID string `json:"device_id"`
	// EventID is the SDK's id of the event, the same on every retry: a
	// device's event id is stored once.
	EventID   string            `json:"event_id"`
	EventName string            `json:"event_name"`
	Value     json.RawMessage   `json:"event_value"`
	Revenue   touchpoint.Amount `json:"revenue"`
	Currency  string            `json:"currency"`
	EventTime sdkTime           `json:"event_time"`
}

// EventResponse is the answer to an event.
type EventResponse struct {
	ConversionID int64 `json:"conversion_id,string"`
	// Duplicate is true when the device had sent this event id already;
	// nothing was stored again.
	Duplicate bool `json:"duplicate"`
}

// POST /sdk/v1/apps/{app_id}/events
func (s *Server) handleEvent(w http.ResponseWriter, r *http.Request, ca *service.CatalogApp) {
	var req EventRequest
	if err := decodeSDK(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	res, err := s.svc.Convert(r.Context(), ca, &service.Event{DeviceID: req.DeviceID, EventID: req.EventID, Name: req.EventName,
		Value: req.Value, Revenue: req.Revenue, Currency: req.Currency, Time: req.EventTime.Time, Source: service.SourceSDK})
	if err != nil {
		writeError(w, r, err)
		return
	}
	s.Metrics.conversionStored(res.Duplicate != 0)
	if res.Duplicate != 0 {
		writeJSON(w, http.StatusOK, EventResponse{ConversionID: res.Duplicate, Duplicate: true})
		return
	}
	writeJSON(w, http.StatusOK, EventResponse{ConversionID: res.Conversion.ID})
}
