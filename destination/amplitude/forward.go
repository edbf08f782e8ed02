// Package amplitude sends the attribution plane's installs and in-app
// events to an analytics project the way AppsFlyer and Adjust send theirs
// to Amplitude (AppsFlyer's Amplitude integration and Amplitude's Attribution API documentation): to the
// Attribution API (installs, matched on advertising ids, held up to 72 h
// by the receiver) or to the HTTP V2 API (installs and in-app events,
// matched on user id, then device id).
package amplitude

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// PID names the forward's deliveries (touchpoint.Delivery.PID).
const PID = "analytics-forward"

// Forward is an app's analytics forward, ready to build deliveries.
type Forward struct {
	*touchpoint.AnalyticsForward
	base, host string
}

// NewForward resolves a forward's target: its URL, or self (this
// server's base URL) when it has none.
func NewForward(f *touchpoint.AnalyticsForward, self string) *Forward {
	base, host := touchpoint.IntegrationTarget(f.URL, self)
	return &Forward{AnalyticsForward: f, base: base, host: host}
}

// AppsFlyerIDName is the AppsFlyer style's user property of the device
// id, after its company's bracket: "[AppsFlyer] appsflyer_id" by default
// (AppsFlyer's own name for the field).
const AppsFlyerIDName = "appsflyer_id"

// afTime is AppsFlyer's date-time form.
const afTime = "2006-01-02 15:04:05.000"

// Install returns the delivery that forwards a new install, or nil: the
// forward is off, or the launch was not a new install (a reinstall,
// re-attribution or re-engagement is not forwarded: AppsFlyer's Amplitude
// integration sends installs). An install a restricted (SRN) partner won
// is sent as organic, with no media source.
func (f *Forward) Install(app *touchpoint.App, dev *touchpoint.Device, in *touchpoint.Install, restricted bool) *touchpoint.Delivery {
	if !f.Enabled || in.Type != touchpoint.TypeInstall {
		return nil
	}
	a := in.Attribution
	if restricted {
		a = touchpoint.OrganicAttribution()
	}
	e := map[string]any{
		"event_type":      "[" + f.Company + "] Install",
		"platform":        string(app.Platform),
		"time":            in.Time.UnixMilli(),
		"user_properties": f.properties(&a, dev, in.Time),
	}
	f.addIDs(e, app, dev)
	if f.Mode == touchpoint.ForwardAttributionAPI {
		return f.attribution(app, e)
	}
	f.addUser(e, dev)
	e["insert_id"] = insertID("install", app.ID, dev.ID, strconv.FormatInt(in.Time.UnixMilli(), 10))
	l := &in.Launch
	for k, v := range map[string]string{"ip": l.IP, "os_version": l.OSVersion, "device_model": l.DeviceModel,
		"language": l.Language, "app_version": l.AppVersion} {
		if v != "" {
			e[k] = v
		}
	}
	return f.httpV2(app, e)
}

// Conversion returns the delivery that forwards an in-app event, or nil:
// only in http-v2 mode, and only the events the app's SDK reported. S2S
// events are not forwarded: in Touchpoint they usually came from an
// analytics event stream, and forwarding them would count them twice.
func (f *Forward) Conversion(app *touchpoint.App, dev *touchpoint.Device, c *touchpoint.Conversion) *touchpoint.Delivery {
	if !f.Enabled || f.Mode != touchpoint.ForwardHTTPV2 || c.Source != "SDK" {
		return nil
	}
	props := map[string]any{}
	if c.Value != "" {
		if err := json.Unmarshal([]byte(c.Value), &props); err != nil || props == nil {
			props = map[string]any{"af_value": c.Value}
		}
	}
	e := map[string]any{
		"event_type": c.Name,
		"platform":   string(app.Platform),
		"time":       c.Time.UnixMilli(),
		"insert_id":  insertID("event", app.ID, dev.ID, c.Name, strconv.FormatInt(c.Time.UnixMilli(), 10), c.EventID),
	}
	if c.Revenue != 0 {
		e["revenue"] = json.Number(c.Revenue.String())
		if _, ok := props["currency"]; !ok {
			props["currency"] = c.Currency
		}
	}
	if len(props) > 0 {
		e["event_properties"] = props
	}
	f.addIDs(e, app, dev)
	f.addUser(e, dev)
	return f.httpV2(app, e)
}

// properties are the user properties an install sets, named in the
// forward's style. Besides the attribution, they carry our device id,
// which is an AppsFlyer id in form: "[AppsFlyer] appsflyer_id" in the
// AppsFlyer style (touchpoint.DefaultAppsFlyerIDProperty, which an event
// stream to AppsFlyer sends as appsflyer_id), "[adjust] adid" in the
// Adjust style (Adjust's name for its device id), each under the
// forward's company name. The id is not attribution: an install a
// restricted partner won, sent as organic, carries it too.
func (f *Forward) properties(a *touchpoint.Attribution, dev *touchpoint.Device, installTime time.Time) map[string]any {
	props := map[string]any{}
	add := func(name string, v any) {
		if s, ok := v.(string); ok && s == "" {
			return
		}
		props[name] = v
	}
	p := a.Params
	organic := a.IsOrganic()
	if f.Style == touchpoint.StyleAdjust {
		pre := "[" + strings.ToLower(f.Company) + "] "
		if !organic {
			add(pre+"network", a.MediaSource)
			add(pre+"campaign", p.Campaign)
			add(pre+"adgroup", p.Adset)
			add(pre+"creative", p.Ad)
			add(pre+"site_id", p.SiteID)
			add(pre+"channel", p.Channel)
			add(pre+"match_type", string(a.MatchType))
			add(pre+"impression_based", a.TouchType == touchpoint.Impression)
		}
		add(pre+"installed_at", installTime.UTC().Format("2006-01-02T15:04:05.000Z"))
		add(pre+"is_organic", organic)
		add(pre+"adid", dev.ID)
		return props
	}
	pre := "[" + f.Company + "] "
	if !organic {
		add(pre+"media source", a.MediaSource)
		add(pre+"campaign", p.Campaign)
		add(pre+"campaign id", p.CampaignID)
		add(pre+"adset", p.Adset)
		add(pre+"adset id", p.AdsetID)
		add(pre+"ad", p.Ad)
		add(pre+"ad id", p.AdID)
		add(pre+"site id", p.SiteID)
		add(pre+"channel", p.Channel)
		add(pre+"keywords", p.Keywords)
		add(pre+"match type", string(a.MatchType))
		add(pre+"touch type", a.TouchType.String())
		add(pre+"touch time", a.TouchTime.UTC().Format(afTime))
		add(pre+"is retargeting", a.Retargeting)
	}
	add(pre+"install time", installTime.UTC().Format(afTime))
	add(pre+"is organic", organic)
	add(pre+AppsFlyerIDName, dev.ID)
	return props
}

// addIDs adds the device's advertising ids under Amplitude's names:
// idfa and idfv on iOS; adid (Google's, else Amazon's) and android_id on
// Android.
func (f *Forward) addIDs(e map[string]any, app *touchpoint.App, dev *touchpoint.Device) {
	set := func(name string, typ touchpoint.DeviceIDType) bool {
		if v := dev.IDs[typ].Raw; v != "" {
			e[name] = v
			return true
		}
		return false
	}
	if app.Platform == touchpoint.IOS {
		set("idfa", touchpoint.IDFA)
		set("idfv", touchpoint.IDFV)
		return
	}
	if !set("adid", touchpoint.GAID) {
		set("adid", touchpoint.AmazonAID)
	}
	set("android_id", touchpoint.AndroidID)
}

// addUser adds the ids HTTP V2 matches users on: the customer user id as
// user_id, and our device id (the AppsFlyer id) as device_id. An app that
// sets its analytics SDK's device id to the AppsFlyer id is matched on it
// too.
func (f *Forward) addUser(e map[string]any, dev *touchpoint.Device) {
	if dev.CustomerUserID != "" {
		e["user_id"] = dev.CustomerUserID
	}
	e["device_id"] = dev.ID
	e["library"] = touchpoint.ForwardLibrary
}

// attribution is a POST /attribution: form-encoded api_key and event.
func (f *Forward) attribution(app *touchpoint.App, e map[string]any) *touchpoint.Delivery {
	ev, _ := json.Marshal(e)
	body := url.Values{"api_key": {f.APIKey}, "event": {string(ev)}}.Encode()
	return f.delivery(app, "/attribution", body, "application/x-www-form-urlencoded")
}

// httpV2 is a POST /2/httpapi with one event.
func (f *Forward) httpV2(app *touchpoint.App, e map[string]any) *touchpoint.Delivery {
	body, _ := json.Marshal(map[string]any{"api_key": f.APIKey, "events": []any{e}})
	return f.delivery(app, "/2/httpapi", string(body), "application/json")
}

func (f *Forward) delivery(app *touchpoint.App, path, body, contentType string) *touchpoint.Delivery {
	return &touchpoint.Delivery{App: app.ID, PID: PID, Kind: touchpoint.KindAnalyticsForward, Method: "POST",
		URL: f.base + path, Body: body, ContentType: contentType, Host: f.host, MaxTries: touchpoint.StreamTries}
}

// insertID is a stable insert_id for a forwarded event, so a delivery
// sent twice (at least once) is stored once.
func insertID(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return "tp-" + hex.EncodeToString(h[:12])
}
