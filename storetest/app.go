package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
)

func ctxb() context.Context { return context.Background() }

func ptr[T any](v T) *T { return &v }

var appTests = []part[touchpoint.AppStore]{
	{"App/CreateFindList", func(t *testing.T, s touchpoint.AppStore, c *Clock) {
		a := MustCreateApp(t, s, "com.example.game")
		if len(a.DevKey) != 22 || len(a.APIToken) != 40 {
			t.Fatalf("dev key %q, API token %q: want 22 and 40 characters", a.DevKey, a.APIToken)
		}
		if !a.DevKeyHash.Matches(a.DevKey) || !a.APITokenHash.Matches(a.APIToken) ||
			a.DevKeyLast4 != a.DevKey[18:] || a.APITokenLast4 != a.APIToken[36:] {
			t.Fatalf("created app's key hashes and hints do not match its keys: %+v", a)
		}
		if !a.CreatedAt.Equal(Start) {
			t.Fatalf("CreatedAt = %v, want %v", a.CreatedAt, Start)
		}
		ios := &touchpoint.App{ID: "id123456789", Platform: touchpoint.IOS, Name: "Game iOS",
			StoreURL: touchpoint.DefaultStoreURL(touchpoint.IOS, "id123456789"), Windows: touchpoint.DefaultWindows()}
		if err := s.CreateApp(ctxb(), ios); err != nil {
			t.Fatal(err)
		}
		got, err := s.FindApp(ctxb(), "com.example.game")
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "Game" || got.Platform != touchpoint.Android ||
			got.Windows != touchpoint.DefaultWindows() || got.StoreURL != a.StoreURL || !got.CreatedAt.Equal(a.CreatedAt) {
			t.Fatalf("FindApp = %+v, want %+v", got, a)
		}
		// Only the hashes and last four characters are kept: the keys are
		// never read back.
		if got.DevKey != "" || got.APIToken != "" {
			t.Fatalf("FindApp gives back keys %q and %q: only their hashes are kept", got.DevKey, got.APIToken)
		}
		if !got.DevKeyHash.Matches(a.DevKey) || !got.APITokenHash.Matches(a.APIToken) || got.DevKeyHash.Matches(a.APIToken) ||
			got.DevKeyLast4 != a.DevKeyLast4 || got.APITokenLast4 != a.APITokenLast4 {
			t.Fatalf("FindApp's key hashes or hints do not match the keys made: %+v, want %+v", got, a)
		}
		apps, err := s.ListApps(ctxb())
		if err != nil {
			t.Fatal(err)
		}
		if len(apps) != 2 || apps[0].ID != "com.example.game" || apps[1].ID != "id123456789" {
			t.Fatalf("ListApps = %v", apps)
		}
		if apps[0].DevKeyHash == apps[1].DevKeyHash || apps[0].APITokenHash == apps[1].APITokenHash {
			t.Fatal("two apps share a key")
		}
		if apps[0].DevKey != "" || !apps[0].DevKeyHash.Matches(a.DevKey) || !apps[1].DevKeyHash.Matches(ios.DevKey) {
			t.Fatalf("ListApps keys: %+v", apps)
		}
	}},
	{"App/RotateKey", func(t *testing.T, s touchpoint.AppStore, c *Clock) {
		a := MustCreateApp(t, s, "com.example.game")
		c.Add(time.Hour)
		for _, kind := range []touchpoint.KeyKind{touchpoint.DevKey, touchpoint.APIToken} {
			before, err := s.FindApp(ctxb(), a.ID)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.RotateAppKey(ctxb(), a.ID, kind)
			if err != nil {
				t.Fatalf("RotateAppKey(%s): %v", kind, err)
			}
			now, old, other, otherHash := got.DevKey, a.DevKey, got.APIToken, before.APITokenHash
			hash, want := got.DevKeyHash, touchpoint.DevKeyLength
			if kind == touchpoint.APIToken {
				now, old, other, otherHash = got.APIToken, a.APIToken, got.DevKey, before.DevKeyHash
				hash, want = got.APITokenHash, touchpoint.APITokenLength
			}
			if len(now) != want || now == old || other != "" || !hash.Matches(now) || !got.UpdatedAt.Equal(c.Now()) {
				t.Fatalf("RotateAppKey(%s) = %+v: want a new %d-character key, only it shown, updated now", kind, got, want)
			}
			found, err := s.FindApp(ctxb(), a.ID)
			if err != nil {
				t.Fatal(err)
			}
			h, last4, keep := found.DevKeyHash, found.DevKeyLast4, found.APITokenHash
			if kind == touchpoint.APIToken {
				h, last4, keep = found.APITokenHash, found.APITokenLast4, found.DevKeyHash
			}
			if !h.Matches(now) || h.Matches(old) || last4 != now[len(now)-4:] || keep != otherHash || found.DevKey != "" || found.APIToken != "" {
				t.Fatalf("after RotateAppKey(%s), FindApp = %+v: want the new key's hash only, the other key unchanged", kind, found)
			}
		}
		last, err := s.FindApp(ctxb(), a.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, kind := range []touchpoint.KeyKind{"", "api_key", "secret_key", "DEV_KEY"} {
			if _, err := s.RotateAppKey(ctxb(), a.ID, kind); code(err) != touchpoint.EINVALID {
				t.Errorf("RotateAppKey(%q): err = %v, want invalid", kind, err)
			}
		}
		if got, err := s.FindApp(ctxb(), a.ID); err != nil || got.DevKeyHash != last.DevKeyHash || got.APITokenHash != last.APITokenHash {
			t.Fatalf("a refused rotation changed the app's keys: %+v, %v", got, err)
		}
		if _, err := s.RotateAppKey(ctxb(), "com.example.missing", touchpoint.DevKey); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("RotateAppKey of a missing app: err = %v, want not found", err)
		}
	}},
	{"App/ErrExists", func(t *testing.T, s touchpoint.AppStore, c *Clock) {
		MustCreateApp(t, s, "com.example.game")
		a := &touchpoint.App{ID: "com.example.game", Platform: touchpoint.Android, Name: "Again", StoreURL: "https://example.com", Windows: touchpoint.DefaultWindows()}
		if err := s.CreateApp(ctxb(), a); code(err) != touchpoint.ECONFLICT {
			t.Fatalf("err = %v, want conflict", err)
		}
	}},
	{"App/ErrInvalid", func(t *testing.T, s touchpoint.AppStore, c *Clock) {
		valid := touchpoint.App{ID: "com.example.game", Platform: touchpoint.Android, Name: "Game",
			StoreURL: "https://example.com", Windows: touchpoint.DefaultWindows()}
		for name, change := range map[string]func(a *touchpoint.App){
			"one-segment package":  func(a *touchpoint.App) { a.ID = "game" },
			"package on iOS":       func(a *touchpoint.App) { a.Platform = touchpoint.IOS },
			"iOS id without id":    func(a *touchpoint.App) { a.ID, a.Platform = "123456789", touchpoint.IOS },
			"iOS id on Android":    func(a *touchpoint.App) { a.ID = "id123456789" },
			"unknown platform":     func(a *touchpoint.App) { a.Platform = "windows" },
			"no name":              func(a *touchpoint.App) { a.Name = "" },
			"NUL in the name":      func(a *touchpoint.App) { a.Name = "Ga\x00me" },
			"two-line name":        func(a *touchpoint.App) { a.Name = "Game\nTwo" },
			"201-character name":   func(a *touchpoint.App) { a.Name = strings.Repeat("é", 201) },
			"javascript store url": func(a *touchpoint.App) { a.StoreURL = "javascript:alert(1)" },
			"click lookback 31d":   func(a *touchpoint.App) { a.Windows.ClickLookback = 31 * touchpoint.Day },
			"view-through 8d":      func(a *touchpoint.App) { a.Windows.ViewThroughLookback = 8 * touchpoint.Day },
			"probabilistic 25h":    func(a *touchpoint.App) { a.Windows.ProbabilisticWindow = 25 * touchpoint.Hour },
			"reattribution 0":      func(a *touchpoint.App) { a.Windows.Reattribution = 0 },
			"unknown time zone":    func(a *touchpoint.App) { a.TimeZone = "Mars/Olympus" },
			"Local time zone":      func(a *touchpoint.App) { a.TimeZone = "Local" },
		} {
			a := valid
			change(&a)
			if err := s.CreateApp(ctxb(), &a); code(err) != touchpoint.EINVALID {
				t.Errorf("%s: err = %v, want invalid", name, err)
			}
		}
		if apps, _ := s.ListApps(ctxb()); len(apps) != 0 {
			t.Fatalf("invalid apps were stored: %v", apps)
		}
	}},
	{"App/Update", func(t *testing.T, s touchpoint.AppStore, c *Clock) {
		MustCreateApp(t, s, "com.example.game")
		c.Add(time.Hour)
		got, err := s.UpdateApp(ctxb(), "com.example.game", touchpoint.AppUpdate{
			Name:    ptr("Renamed"),
			Windows: touchpoint.WindowsUpdate{ClickLookback: ptr(10 * touchpoint.Day)},
		})
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "Renamed" || got.Windows.ClickLookback != 10*touchpoint.Day || got.Windows.ViewThroughLookback != touchpoint.DefaultViewThroughLookback {
			t.Fatalf("UpdateApp = %+v", got)
		}
		if !got.UpdatedAt.Equal(Start.Add(time.Hour)) || !got.CreatedAt.Equal(Start) {
			t.Fatalf("times: created %v updated %v", got.CreatedAt, got.UpdatedAt)
		}
		found, _ := s.FindApp(ctxb(), "com.example.game")
		if found.Name != "Renamed" || found.Windows.ClickLookback != 10*touchpoint.Day {
			t.Fatalf("FindApp after update = %+v", found)
		}
		// A bad update changes nothing.
		if _, err := s.UpdateApp(ctxb(), "com.example.game", touchpoint.AppUpdate{Name: ptr("ok"), StoreURL: ptr("ftp://x")}); code(err) != touchpoint.EINVALID {
			t.Fatalf("bad store url: err = %v", err)
		}
		found, _ = s.FindApp(ctxb(), "com.example.game")
		if found.Name != "Renamed" {
			t.Fatalf("a rejected update changed the name to %q", found.Name)
		}
		// The time zone: UTC unless named, kept, refused when unknown, and
		// back to UTC when cleared.
		if found.TimeZone != "UTC" || found.Location() != time.UTC {
			t.Fatalf("new app's time zone = %q", found.TimeZone)
		}
		if got, err := s.UpdateApp(ctxb(), "com.example.game", touchpoint.AppUpdate{TimeZone: ptr("America/Santiago")}); err != nil || got.TimeZone != "America/Santiago" {
			t.Fatalf("set time zone: %+v, %v", got, err)
		}
		if _, err := s.UpdateApp(ctxb(), "com.example.game", touchpoint.AppUpdate{TimeZone: ptr("Europe/Nowhere")}); code(err) != touchpoint.EINVALID {
			t.Fatalf("unknown time zone: err = %v", err)
		}
		if found, _ = s.FindApp(ctxb(), "com.example.game"); found.TimeZone != "America/Santiago" || found.Location().String() != "America/Santiago" {
			t.Fatalf("time zone after a refused change = %q", found.TimeZone)
		}
		if got, err := s.UpdateApp(ctxb(), "com.example.game", touchpoint.AppUpdate{TimeZone: ptr("")}); err != nil || got.TimeZone != "UTC" {
			t.Fatalf("clear time zone: %+v, %v", got, err)
		}
		if _, err := s.UpdateApp(ctxb(), "com.nope.app", touchpoint.AppUpdate{}); code(err) != touchpoint.ENOTFOUND {
			t.Fatalf("unknown app: err = %v", err)
		}
	}},
	{"App/ErrNotFound", func(t *testing.T, s touchpoint.AppStore, c *Clock) {
		if _, err := s.FindApp(ctxb(), "com.nope.app"); code(err) != touchpoint.ENOTFOUND {
			t.Fatalf("err = %v, want not_found", err)
		}
	}},
	{"App/TestClock", func(t *testing.T, s touchpoint.AppStore, c *Clock) {
		live := MustCreateApp(t, s, "com.example.live")
		test := &touchpoint.App{ID: "com.example.test", Platform: touchpoint.Android, Name: "Test", TestMode: true,
			StoreURL: touchpoint.DefaultStoreURL(touchpoint.Android, "com.example.test"), Windows: touchpoint.DefaultWindows()}
		if err := s.CreateApp(ctxb(), test); err != nil {
			t.Fatal(err)
		}
		if test.TestClock == nil || !test.TestClock.Equal(Start) {
			t.Fatalf("a test-mode app's clock starts at the store's time: %v", test.TestClock)
		}
		later := Start.Add(90 * time.Minute)
		a, err := s.SetTestClock(ctxb(), test.ID, later)
		if err != nil || !a.TestClock.Equal(later) {
			t.Fatalf("SetTestClock: %+v, %v", a, err)
		}
		if got, _ := s.FindApp(ctxb(), test.ID); !got.TestMode || !got.TestClock.Equal(later) {
			t.Fatalf("after SetTestClock, FindApp: %+v", got)
		}
		if _, err := s.SetTestClock(ctxb(), test.ID, Start); code(err) != touchpoint.EINVALID {
			t.Errorf("moving the clock back: %v, want EINVALID", err)
		}
		if _, err := s.SetTestClock(ctxb(), live.ID, later); code(err) != touchpoint.EINVALID {
			t.Errorf("a production app's clock: %v, want EINVALID", err)
		}
		if _, err := s.SetTestClock(ctxb(), "com.example.none", later); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("no app: %v, want ENOTFOUND", err)
		}
		if got, _ := s.FindApp(ctxb(), live.ID); got.TestMode || got.TestClock != nil {
			t.Fatalf("a production app has a clock: %+v", got)
		}
	}},
}
