package service

import (
	"context"
	"slices"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/attribution"
)

// MaxLaunchAge is how late a launch may reach us: an SDK queues launches
// while offline, but a launch is not taken later than touches are worth
// looking for.
const MaxLaunchAge = attribution.MaxLookback

// LaunchResult is what a launch decided.
type LaunchResult struct {
	// Device is the device after the launch.
	Device *touchpoint.Device
	// Install is the decision recorded (an install, reinstall,
	// re-attribution or re-engagement); nil for an ordinary later launch.
	Install *touchpoint.Install
	// FirstLaunch is true on the device's first launch.
	FirstLaunch bool
	// Repeated is true when this launch had been decided already (a
	// retry): the result is the first try's.
	Repeated bool
}

// Type is the launch's type: the install's, or launch (an ordinary later
// launch).
func (r *LaunchResult) Type() string {
	if r.Install != nil {
		return string(r.Install.Type)
	}
	return "launch"
}

// Attribution is what the device is attributed to after the launch: the
// install's when one was decided, else the device's.
func (r *LaunchResult) Attribution() *touchpoint.Attribution {
	if r.Install != nil {
		return &r.Install.Attribution
	}
	return &r.Device.Attribution
}

// Launch decides a launch of an app and writes the decision with what it
// owes (postbacks, the analytics forward). l is a parsed launch; its time
// is taken by the app's clock: none, or one ahead of it, is now, one older
// than MaxLaunchAge is refused. The device and the candidate touches are
// read, attribution decides, and the write is committed; when another
// launch of the device was written meanwhile, it decides again. A retried
// launch is answered as its first try was.
func (s *Service) Launch(ctx context.Context, ca *CatalogApp, l *touchpoint.Launch) (*LaunchResult, error) {
	app := ca.App
	now := s.Now(app)
	switch {
	case l.Time.IsZero() || l.Time.After(now):
		// No launch time, or one from a device clock ahead of ours: now.
		l.Time = now
	case now.Sub(l.Time) > MaxLaunchAge:
		return nil, touchpoint.Errorf(touchpoint.EINVALID, "launch_time %s is more than %d days ago", l.Time.Format(time.RFC3339), int(MaxLaunchAge/(24*time.Hour)))
	}
	l.Time = l.Time.Truncate(time.Millisecond)
	for attempt := 0; ; attempt++ {
		var dev *touchpoint.Device
		var err error
		if l.DeviceID != "" {
			if dev, err = s.Store.FindDevice(ctx, app.ID, l.DeviceID); touchpoint.ErrorCode(err) == touchpoint.ENOTFOUND {
				return nil, touchpoint.Errorf(touchpoint.EINVALID, "device_id %q is not a device of app %s: send no device_id on a first launch", l.DeviceID, app.ID)
			}
		} else {
			dev, err = s.Store.FindDeviceByIDs(ctx, app.ID, l.IDs)
		}
		if err != nil {
			return nil, err
		}
		touches, err := s.candidates(ctx, app, l, dev)
		if err != nil {
			return nil, err
		}
		res := attribution.Decide(attribution.Input{App: app, Partner: ca.Configured, Launch: l, Device: dev,
			Touches: touches, Now: s.Now(app)})
		lw := &touchpoint.LaunchWrite{Key: l.IdempotencyKey(), Seen: dev, Device: res.Device, Install: res.Install}
		if res.Install != nil {
			lw.Deliveries = ca.postbacks.ForInstall(app, res.Device, res.Install)
			if ca.forward != nil {
				in := res.Install
				if d := ca.forward.Install(app, res.Device, in, ca.Restricted(in.Attribution.MediaSource)); d != nil {
					lw.Deliveries = append(lw.Deliveries, d)
				}
			}
		}
		if dev != nil {
			lw.Version = dev.Launches
		}
		if err := s.launches.Add(lw); err != nil {
			return nil, err
		}
		switch {
		case lw.Duplicate != 0:
			return s.repeatLaunch(ctx, app, lw.Duplicate)
		case lw.Stale && attempt < 5:
			continue
		case lw.Stale:
			return nil, touchpoint.Errorf(touchpoint.ECONFLICT, "the device is launching concurrently; retry this launch")
		}
		s.publishInstall(res.Install)
		return &LaunchResult{Device: res.Device, Install: res.Install, FirstLaunch: res.FirstLaunch}, nil
	}
}

// repeatLaunch answers a retried launch as the first try was answered.
func (s *Service) repeatLaunch(ctx context.Context, app *touchpoint.App, installID int64) (*LaunchResult, error) {
	in, err := s.Store.FindInstall(ctx, app.ID, installID)
	if err != nil {
		return nil, err
	}
	dev, err := s.Store.FindDevice(ctx, app.ID, in.DeviceID)
	if err != nil {
		return nil, err
	}
	return &LaunchResult{Device: dev, Install: in, FirstLaunch: in.Launch.DeviceID == "", Repeated: true}, nil
}

// candidates finds the touches that may have brought a launch about: by
// the launch's device ids, the touches its referrer names, and its IP when
// probabilistic matching may apply. A later launch only looks at touches
// since the device's previous launch.
func (s *Service) candidates(ctx context.Context, app *touchpoint.App, l *touchpoint.Launch, dev *touchpoint.Device) ([]*touchpoint.Touch, error) {
	since := l.Time.Add(-attribution.MaxLookback)
	if l.DeviceID != "" && dev != nil && dev.LastLaunch.After(since) {
		since = dev.LastLaunch
	}
	var keys []touchpoint.LookupKey
	for _, typ := range touchpoint.MatchIDTypes {
		if raw := l.IDs[typ].Raw; raw != "" {
			keys = append(keys, touchpoint.DeviceKeys(app.ID, raw)...)
		}
	}
	ref := attribution.ParseReferrer(l.Referrer)
	keys = append(keys, ref.Keys(app.ID)...)
	if !ref.Names() && !l.HasAdID() && l.DeviceID == "" && l.IP != "" {
		keys = append(keys, touchpoint.IPKey(app.ID, l.IP))
	}
	touches, err := s.Store.TouchesByKeys(ctx, app.ID, keys, since)
	if err != nil {
		return nil, err
	}
	if ref.TouchID != 0 && !slices.ContainsFunc(touches, func(t *touchpoint.Touch) bool { return t.ID == ref.TouchID }) {
		t, err := s.Store.FindTouch(ctx, app.ID, ref.TouchID)
		if err == nil {
			touches = append(touches, t)
		} else if touchpoint.ErrorCode(err) != touchpoint.ENOTFOUND {
			return nil, err
		}
	}
	return touches, nil
}
