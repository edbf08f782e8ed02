package service

import (
	"context"

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
