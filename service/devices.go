package service

import (
	"context"
	"strings"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/attribution"
)

// DeviceHistory is a device's attribution explained.
type DeviceHistory struct {
	Device *touchpoint.Device
	// Summary says in a sentence or two what was decided and why.
	Summary string
	// Installs are the device's decided launches, newest first, each with
	// its candidates and why they lost.
	Installs []*touchpoint.Install
	// Conversions are the device's conversions (never nil).
	Conversions []*touchpoint.Conversion
	// FoundBy names the id the device was found by, when it was searched
	// by any id (FindDeviceHistory): device_id (ours), one of
	// touchpoint.DeviceIDParams (advertising_id, idfa, …), or
	// customer_user_id.
	FoundBy string
}

// FindDeviceHistory is DeviceHistory of the device of an app that used id
// (FindDeviceByAnyID), saying which of its ids it is.
func (s *Service) FindDeviceHistory(ctx context.Context, app, id string) (*DeviceHistory, error) {
	dev, err := s.FindDeviceByAnyID(ctx, app, id)
	if err != nil {
		return nil, err
	}
	h, err := s.DeviceHistory(ctx, app, dev.ID)
	if err != nil {
		return nil, err
	}
	h.FoundBy = foundBy(dev, strings.TrimSpace(id))
	return h, nil
}

// foundBy names the id of dev that id is, in FindDeviceByAnyID's order.
func foundBy(dev *touchpoint.Device, id string) string {
	if dev.ID == id {
		return "device_id"
	}
	for _, typ := range touchpoint.IdentityIDTypes {
		if strings.EqualFold(dev.IDs[typ].Raw, id) {
			return touchpoint.DeviceIDParams[typ]
		}
	}
	return "customer_user_id"
}

// DeviceHistory returns a device of an app with its installs and
// conversions.
func (s *Service) DeviceHistory(ctx context.Context, app, deviceID string) (*DeviceHistory, error) {
	dev, err := s.Store.FindDevice(ctx, app, deviceID)
	if err != nil {
		return nil, err
	}
	ins, err := s.Store.ListInstalls(ctx, app, deviceID)
	if err != nil {
		return nil, err
	}
	convs, err := s.Store.ListConversions(ctx, app, deviceID)
	if err != nil {
		return nil, err
	}
	if convs == nil {
		convs = []*touchpoint.Conversion{}
	}
	return &DeviceHistory{Device: dev, Summary: attribution.Summary(dev, ins), Installs: ins, Conversions: convs}, nil
}

// maxDeviceSearch bounds the id a device is searched by (the longest id an
// SDK may send is 256 characters: a customer user id).
const maxDeviceSearch = 256

// FindDeviceByAnyID finds a device of an app by any id it used: our device
// id (its AppsFlyer id), one of its device ids (advertising id, IDFA, IDFV,
// OAID, Android id, IMEI, Amazon advertising id; compared case-
// insensitively), or the customer user id the app set on it. Our device id
// is tried first, then the device ids, then the customer user id. ENOTFOUND
// saying what was searched when no device has it.
func (s *Service) FindDeviceByAnyID(ctx context.Context, app, id string) (*touchpoint.Device, error) {
	id = strings.TrimSpace(id)
	switch {
	case id == "":
		return nil, touchpoint.Errorf(touchpoint.EINVALID, "id is required: give a device id, an advertising id (GAID), IDFA, IDFV or a customer user id")
	case len(id) > maxDeviceSearch:
		return nil, touchpoint.Errorf(touchpoint.EINVALID, "id is longer than %d characters: no device has such an id", maxDeviceSearch)
	}
	// The app first: an unknown app is not a device that was not found.
	if _, err := s.Store.FindApp(ctx, app); err != nil {
		return nil, err
	}
	dev, err := s.Store.FindDevice(ctx, app, id)
	if touchpoint.ErrorCode(err) != touchpoint.ENOTFOUND {
		return dev, err
	}
	var ids touchpoint.DeviceIDs
	for _, typ := range touchpoint.IdentityIDTypes {
		ids[typ] = touchpoint.DeviceID{Raw: id}
	}
	if dev, err = s.Store.FindDeviceByIDs(ctx, app, ids); dev != nil || err != nil {
		return dev, err
	}
	dev, err = s.Store.FindDeviceByCustomerUserID(ctx, app, id)
	if touchpoint.ErrorCode(err) == touchpoint.ENOTFOUND {
		return nil, touchpoint.Errorf(touchpoint.ENOTFOUND, "no device of app %s has used the id %q: searched device ids (AppsFlyer ids), "+
			"advertising ids (GAID), IDFAs, IDFVs, OAIDs, Android ids, IMEIs, Amazon advertising ids and customer user ids", app, id)
	}
	return dev, err
}
