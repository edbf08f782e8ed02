package service

import (
	"context"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// Changes to what the catalog holds (apps, partners, secrets, forwards,
// destinations) go through the service, which reloads the catalog after
// each, so that the hot paths see them at once.

// changed reloads the catalog after a change. The change is made: a
// failed reload is logged, and the periodic reload catches up.
func (s *Service) changed(ctx context.Context) {
	if err := s.ReloadCatalog(ctx); err != nil {
		s.Logger.Error("reload catalog", "err", err)
	}
}

// CreateApp creates an app. A test-mode app's clock starts at a.TestClock,
// or now when unset (no other app may have a test clock); an app with no
// store URL gets its platform's default one when its id allows.
func (s *Service) CreateApp(ctx context.Context, a *touchpoint.App) error {
	if a.TestClock != nil && !a.TestMode {
		return touchpoint.Errorf(touchpoint.EINVALID, "test_clock is only for apps with test_mode true")
	}
	if a.TestMode {
		t := s.Store.Now().UTC().Truncate(time.Millisecond)
		if a.TestClock != nil {
			t = a.TestClock.UTC().Truncate(time.Millisecond)
			if err := touchpoint.CheckTime("test_clock", t); err != nil {
				return err
			}
		}
		a.TestClock = &t
	}
	if a.StoreURL == "" && touchpoint.ValidateAppID(a.Platform, a.ID) == nil {
		a.StoreURL = touchpoint.DefaultStoreURL(a.Platform, a.ID)
	}
	if err := s.Store.CreateApp(ctx, a); err != nil {
		return err
	}
	s.changed(ctx)
	return nil
}

// UpdateApp changes an app.
func (s *Service) UpdateApp(ctx context.Context, id string, upd touchpoint.AppUpdate) (*touchpoint.App, error) {
	a, err := s.Store.UpdateApp(ctx, id, upd)
	if err != nil {
		return nil, err
	}
	s.changed(ctx)
	return a, nil
}

// RotateAppKey gives an app a new key of this kind; the old one stops
// working at once.
func (s *Service) RotateAppKey(ctx context.Context, id string, kind touchpoint.KeyKind) (*touchpoint.App, error) {
	a, err := s.Store.RotateAppKey(ctx, id, kind)
	if err != nil {
		return nil, err
	}
	s.changed(ctx)
	return a, nil
}

// MoveTestClock sets a test-mode app's clock to *to, or, when to is nil,
// advances it by step (which needs the app to have a test clock).
func (s *Service) MoveTestClock(ctx context.Context, id string, to *time.Time, step time.Duration) (*touchpoint.App, error) {
	app, err := s.Store.FindApp(ctx, id)
	if err != nil {
		return nil, err
	}
	t, ok := clockTarget(app.TestClock, to, step)
	if !ok {
		return nil, app.NextTestClock(time.Time{})
	}
	a, err := s.Store.SetTestClock(ctx, app.ID, t)
	if err != nil {
		return nil, err
	}
	s.changed(ctx)
	return a, nil
}

// clockTarget is where a test clock at cur moves: to *to, or cur advanced by
// step when to is nil; false when there is no clock to advance (not in
// test mode).
func clockTarget(cur, to *time.Time, step time.Duration) (time.Time, bool) {
	switch {
	case to != nil:
		return to.UTC().Truncate(time.Millisecond), true
	case cur == nil:
		return time.Time{}, false
	}
	return cur.Add(step).Truncate(time.Millisecond), true
}
