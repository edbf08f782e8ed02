package service

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/postback"
)

// Sources of conversions.
const (
	// SourceSDK is an event the app's SDK sent.
	SourceSDK = "SDK"
	// SourceS2S is an event of AppsFlyer's S2S in-app events API.
	SourceS2S = "S2S"
)

// MaxEventIDLength bounds an event id (ours).
const MaxEventIDLength = 128

// Event is an in-app event to be stored as a conversion of its device.
type Event struct {
	// DeviceID is the device's id, as a launch answered it.
	DeviceID string
	// Device is the device when the caller found it already (S2S finds it
	// by other ids); nil: DeviceID's.
	Device *touchpoint.Device
	// EventID is the sender's id of the event, the same on every retry: a
	// device's event id is stored once.
	EventID string
	Name    string
	// Value is the event's value, a JSON value (null: none).
	Value    json.RawMessage
	Revenue  touchpoint.Amount
	Currency string
	// Time is when the event happened (zero, or ahead of the app's clock:
	// now).
	Time time.Time
	// Source is SourceSDK or SourceS2S. S2S events may be refunds
	// (negative revenue) and have no name limit but their body's.
	Source string
	// SharingFilter names the partners that may not get the event (see
	// postback.Blocked).
	SharingFilter []string
}

// ConvertResult is what storing an event did.
type ConvertResult struct {
	// Conversion is what was stored (its ID is set unless Duplicate).
	Conversion *touchpoint.Conversion
	// Duplicate is the id of the conversion stored before under the same
	// event id: nothing was stored again. Zero otherwise.
	Duplicate int64
}

var currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)

// Convert stores an event as a conversion of its device, with the
// device's attribution at the event's time, and the postbacks and forward
// it owes.
func (s *Service) Convert(ctx context.Context, ca *CatalogApp, ev *Event) (*ConvertResult, error) {
	c, dev, err := s.conversion(ctx, ca.App, ev)
	if err != nil {
		return nil, err
	}
	c.SharingFilter = ev.SharingFilter
	ds, err := s.conversionDeliveries(ctx, ca, dev, c)
	if err != nil {
		return nil, err
	}
	cw := &touchpoint.ConversionWrite{Conversion: c, Deliveries: ds}
	if err := s.conversions.Add(cw); err != nil {
		return nil, err
	}
	s.publishConversion(cw)
	return &ConvertResult{Conversion: c, Duplicate: cw.Duplicate}, nil
}

// conversion validates an event into a conversion of its device.
func (s *Service) conversion(ctx context.Context, app *touchpoint.App, ev *Event) (*touchpoint.Conversion, *touchpoint.Device, error) {
	now := s.Now(app)
	sdk := ev.Source == SourceSDK
	switch {
	case ev.DeviceID == "" && ev.Device == nil:
		return nil, nil, touchpoint.Errorf(touchpoint.EINVALID, "device_id is required: send the device_id the launch answered")
	case ev.Name == "":
		return nil, nil, touchpoint.Errorf(touchpoint.EINVALID, "event_name is required")
	case len(ev.Name) > touchpoint.MaxEventNameLength && sdk: // S2S: the 1 KB body bounds it
		return nil, nil, touchpoint.Errorf(touchpoint.EINVALID, "event_name is longer than %d characters", touchpoint.MaxEventNameLength)
	case len(ev.EventID) > MaxEventIDLength:
		return nil, nil, touchpoint.Errorf(touchpoint.EINVALID, "event_id is longer than %d characters", MaxEventIDLength)
	case len(ev.Value) > touchpoint.MaxEventValueLength:
		return nil, nil, touchpoint.Errorf(touchpoint.EINVALID, "event_value is longer than %d characters", touchpoint.MaxEventValueLength)
	case ev.Revenue < 0 && sdk: // S2S takes refunds as negative revenue
		return nil, nil, touchpoint.Errorf(touchpoint.EINVALID, "revenue %s is negative", ev.Revenue)
	}
	cur := strings.ToUpper(strings.TrimSpace(ev.Currency))
	switch {
	case cur == "" && ev.Revenue != 0:
		cur = "USD" // AppsFlyer's default revenue currency
	case cur != "" && !currencyRE.MatchString(cur):
		return nil, nil, touchpoint.Errorf(touchpoint.EINVALID, "currency %q: want an ISO-4217 code such as USD or EUR", ev.Currency)
	}
	value := strings.TrimSpace(string(ev.Value))
	if value == "null" {
		value = ""
	}
	dev := ev.Device
	if dev == nil {
		var err error
		dev, err = s.Store.FindDevice(ctx, app.ID, ev.DeviceID)
		if touchpoint.ErrorCode(err) == touchpoint.ENOTFOUND {
			return nil, nil, touchpoint.Errorf(touchpoint.EINVALID, "device_id %q is not a device of app %s: report the launch first", ev.DeviceID, app.ID)
		} else if err != nil {
			return nil, nil, err
		}
	}
	t := ev.Time
	if err := touchpoint.CheckTime("event_time", t); err != nil {
		return nil, nil, err
	}
	if t.IsZero() || t.After(now) {
		t = now
	}
	t = t.Truncate(time.Millisecond)
	return &touchpoint.Conversion{App: app.ID, DeviceID: dev.ID, EventID: ev.EventID, Name: ev.Name, Value: value,
		Revenue: ev.Revenue, Currency: cur, Time: t, Source: ev.Source, InstallID: dev.InstallID,
		Attribution: dev.Attribution, Reengagement: dev.ReengagementAt(t), CountryCode: dev.CountryCode, CreatedAt: now}, dev, nil
}

// FindDeviceForS2S finds an S2S event's device: by appsflyer_id (our
// device id), or else by customer_user_id. A device must exist: an event
// of no known device is refused.
func (s *Service) FindDeviceForS2S(ctx context.Context, app, appsflyerID, customerUserID string) (*touchpoint.Device, error) {
	if appsflyerID != "" {
		dev, err := s.Store.FindDevice(ctx, app, appsflyerID)
		if touchpoint.ErrorCode(err) == touchpoint.ENOTFOUND {
			return nil, touchpoint.Errorf(touchpoint.EINVALID, "appsflyer_id %q is not a device of app %s: the app must have launched on it", appsflyerID, app)
		}
		return dev, err
	}
	dev, err := s.Store.FindDeviceByCustomerUserID(ctx, app, customerUserID)
	if touchpoint.ErrorCode(err) == touchpoint.ENOTFOUND {
		return nil, touchpoint.Errorf(touchpoint.EINVALID, "customer_user_id %q matches no device of app %s: the app must launch with this customer user id before events can be sent for it", customerUserID, app)
	}
	return dev, err
}

// conversionDeliveries are what a conversion owes: its postbacks and,
// when the app forwards its in-app events, the forward.
func (s *Service) conversionDeliveries(ctx context.Context, ca *CatalogApp, dev *touchpoint.Device, c *touchpoint.Conversion) ([]*touchpoint.Delivery, error) {
	ds, err := s.conversionPostbacks(ctx, ca, dev, c)
	if err != nil {
		return nil, err
	}
	if ca.forward != nil {
		if d := ca.forward.Conversion(ca.App, dev, c); d != nil {
			ds = append(ds, d)
		}
	}
	return ds, nil
}

// conversionPostbacks returns the postbacks a conversion owes (read the
// device's install only when some partner has in-app templates).
func (s *Service) conversionPostbacks(ctx context.Context, ca *CatalogApp, dev *touchpoint.Device, c *touchpoint.Conversion) ([]*touchpoint.Delivery, error) {
	if !ca.postbacks.WantsEvents() {
		return nil, nil
	}
	var in *touchpoint.Install
	if dev.InstallID != 0 {
		var err error
		if in, err = s.Store.FindInstall(ctx, ca.App.ID, dev.InstallID); err != nil {
			return nil, err
		}
	}
	rev, err := s.usdRevenue(ctx, c)
	if err != nil {
		return nil, err
	}
	return ca.postbacks.ForConversion(ca.App, dev, in, c, rev), nil
}

// usdRevenue is a conversion's revenue in US dollars at the rate of its
// day (see touchpoint.RateFallbackDays); with no rate, the postback
// carries the original value and currency, and the delivery says so.
func (s *Service) usdRevenue(ctx context.Context, c *touchpoint.Conversion) (postback.Revenue, error) {
	if c.Revenue == 0 || c.Currency == "USD" {
		r := c.Revenue
		return postback.Revenue{USD: &r}, nil
	}
	rate, _, err := s.Store.USDRate(ctx, c.Currency, c.Time)
	switch touchpoint.ErrorCode(err) {
	case "":
		usd := c.Revenue.ToUSD(rate)
		return postback.Revenue{USD: &usd}, nil
	case touchpoint.ENOTFOUND:
		return postback.Revenue{Note: fmt.Sprintf("no USD exchange rate for %s on %s: (monetary) carries the value in %s",
			c.Currency, c.Time.Format(time.DateOnly), c.Currency)}, nil
	}
	return postback.Revenue{}, err
}
