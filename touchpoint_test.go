package touchpoint_test

import (
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
)

const (
	testApp  = "com.example.game"
	otherApp = "com.example.other"
	gaid     = "38400000-8cf0-11bd-b23e-10b96e40000d"
)

func sha1Hex(s string) string {
	h := sha1.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

func md5Hex(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

func ptr[T any](v T) *T { return &v }

// intersects reports whether a and b share a key.
func intersects(a, b []touchpoint.LookupKey) bool {
	set := make(map[touchpoint.LookupKey]bool, len(a))
	for _, k := range a {
		set[k] = true
	}
	for _, k := range b {
		if set[k] {
			return true
		}
	}
	return false
}

func contains(keys []touchpoint.LookupKey, k touchpoint.LookupKey) bool {
	for _, x := range keys {
		if x == k {
			return true
		}
	}
	return false
}

func TestParseWindow(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		for _, tc := range []struct {
			in   string
			want touchpoint.Window
		}{
			{"24h", 24 * touchpoint.Hour},
			{"7d", 7 * touchpoint.Day},
			{"1H", touchpoint.Hour},
			{"30D", 30 * touchpoint.Day},
			{"1h", touchpoint.Window(time.Hour)},
			{"1d", touchpoint.Window(24 * time.Hour)},
			{"730d", 730 * touchpoint.Day},
			{"36h", 36 * touchpoint.Hour},
			{"007d", 7 * touchpoint.Day},
		} {
			got, err := touchpoint.ParseWindow(tc.in)
			if err != nil {
				t.Fatalf("ParseWindow(%q): %v", tc.in, err)
			}
			if got != tc.want {
				t.Fatalf("ParseWindow(%q) = %v, want %v", tc.in, time.Duration(got), time.Duration(tc.want))
			}
			if got, want := got.Duration(), time.Duration(tc.want); got != want {
				t.Fatalf("ParseWindow(%q).Duration() = %v, want %v", tc.in, got, want)
			}
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		for _, in := range []string{"", "7", "d", "h", "0d", "0h", "-1d", "+1d", "1.5d", "7w", "7m", "7s", "abc", " 7d", "7d ", "7 d", "1e3d", "0x10d", "7dd", "4294967296d", "106752d", "213506d", "2562048h", "100001h", "4167d"} {
			w, err := touchpoint.ParseWindow(in)
			if err == nil {
				t.Fatalf("ParseWindow(%q) = %v, want an error", in, time.Duration(w))
			}
			if got, want := touchpoint.ErrorCode(err), touchpoint.EINVALID; got != want {
				t.Fatalf("ParseWindow(%q) code = %q, want %q (err %v)", in, got, want, err)
			}
			if got, want := w, touchpoint.Window(0); got != want {
				t.Fatalf("ParseWindow(%q) window = %v on error, want 0", in, time.Duration(got))
			}
			if msg := touchpoint.ErrorMessage(err); !strings.Contains(msg, "24h") || !strings.Contains(msg, "7d") {
				t.Fatalf("ParseWindow(%q) message %q does not name the accepted forms", in, msg)
			}
		}
	})
}

func TestWindowString(t *testing.T) {
	for _, tc := range []struct {
		w    touchpoint.Window
		want string
	}{
		{7 * touchpoint.Day, "7d"},
		{24 * touchpoint.Hour, "1d"},
		{25 * touchpoint.Hour, "25h"},
		{touchpoint.Hour, "1h"},
		{48 * touchpoint.Hour, "2d"},
		{730 * touchpoint.Day, "730d"},
		{0, "0h"},
	} {
		if got, want := tc.w.String(), tc.want; got != want {
			t.Fatalf("Window(%v).String() = %q, want %q", time.Duration(tc.w), got, want)
		}
	}
	t.Run("RoundTrip", func(t *testing.T) {
		for _, tc := range []struct{ in, want string }{
			{"7d", "7d"},
			{"24h", "1d"},
			{"25h", "25h"},
			{"1h", "1h"},
			{"168h", "7d"},
			{"30D", "30d"},
		} {
			w, err := touchpoint.ParseWindow(tc.in)
			if err != nil {
				t.Fatalf("ParseWindow(%q): %v", tc.in, err)
			}
			if got, want := w.String(), tc.want; got != want {
				t.Fatalf("ParseWindow(%q).String() = %q, want %q", tc.in, got, want)
			}
			back, err := touchpoint.ParseWindow(w.String())
			if err != nil {
				t.Fatalf("ParseWindow(%q): %v", w.String(), err)
			}
			if got, want := back, w; got != want {
				t.Fatalf("ParseWindow(%q) = %v, want %v", w.String(), time.Duration(got), time.Duration(want))
			}
		}
	})
}

func TestWindowJSON(t *testing.T) {
	t.Run("Marshal", func(t *testing.T) {
		for _, tc := range []struct {
			w    touchpoint.Window
			want string
		}{
			{7 * touchpoint.Day, `"7d"`},
			{24 * touchpoint.Hour, `"1d"`},
			{36 * touchpoint.Hour, `"36h"`},
		} {
			b, err := json.Marshal(tc.w)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := string(b), tc.want; got != want {
				t.Fatalf("json.Marshal(%v) = %s, want %s", time.Duration(tc.w), got, want)
			}
		}
		b, err := json.Marshal(touchpoint.DefaultWindows())
		if err != nil {
			t.Fatal(err)
		}
		if got, want := string(b), `{"click_lookback":"7d","view_through_lookback":"1d","probabilistic_window":"1d","reattribution_window":"90d","reengagement_window":"30d"}`; got != want {
			t.Fatalf("json.Marshal(DefaultWindows()) = %s, want %s", got, want)
		}
	})
	t.Run("OK", func(t *testing.T) {
		for _, tc := range []struct {
			in   string
			want touchpoint.Window
		}{
			{`"48h"`, 2 * touchpoint.Day},
			{`"2d"`, 2 * touchpoint.Day},
			{`"7D"`, 7 * touchpoint.Day},
			{`36`, 36 * touchpoint.Hour},
			{`1`, touchpoint.Hour},
		} {
			w := touchpoint.Window(5 * time.Minute) // overwritten on success
			if err := json.Unmarshal([]byte(tc.in), &w); err != nil {
				t.Fatalf("json.Unmarshal(%s): %v", tc.in, err)
			}
			if got, want := w, tc.want; got != want {
				t.Fatalf("json.Unmarshal(%s) = %v, want %v", tc.in, time.Duration(got), time.Duration(want))
			}
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		for _, in := range []string{`"2x"`, `true`, `"7"`, `"0d"`, `-1`, `1.5`, `{}`, `[1]`, `"1.5d"`} {
			w := 3 * touchpoint.Hour
			err := json.Unmarshal([]byte(in), &w)
			if err == nil {
				t.Fatalf("json.Unmarshal(%s) = %v, want an error", in, time.Duration(w))
			}
			if got, want := touchpoint.ErrorCode(err), touchpoint.EINVALID; got != want {
				t.Fatalf("json.Unmarshal(%s) code = %q, want %q (err %v)", in, got, want, err)
			}
			if got, want := w, 3*touchpoint.Hour; got != want {
				t.Fatalf("json.Unmarshal(%s) changed the window to %v on error", in, time.Duration(got))
			}
		}
	})
	t.Run("InStruct", func(t *testing.T) {
		var ws touchpoint.Windows
		in := `{"click_lookback":"14d","view_through_lookback":12,"probabilistic_window":"6h","reattribution_window":"730d","reengagement_window":"2d"}`
		if err := json.Unmarshal([]byte(in), &ws); err != nil {
			t.Fatal(err)
		}
		want := touchpoint.Windows{
			ClickLookback:       14 * touchpoint.Day,
			ViewThroughLookback: 12 * touchpoint.Hour,
			ProbabilisticWindow: 6 * touchpoint.Hour,
			Reattribution:       730 * touchpoint.Day,
			Reengagement:        2 * touchpoint.Day,
		}
		if got := ws; got != want {
			t.Fatalf("Windows = %+v, want %+v", got, want)
		}
		b, err := json.Marshal(ws)
		if err != nil {
			t.Fatal(err)
		}
		var back touchpoint.Windows
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if got := back; got != want {
			t.Fatalf("round trip of %s = %+v, want %+v", b, got, want)
		}
	})
}

func TestWindowWithin(t *testing.T) {
	const field = "click_lookback"
	min, max := touchpoint.Day, 30*touchpoint.Day
	t.Run("OK", func(t *testing.T) {
		for _, w := range []touchpoint.Window{min, max, min + touchpoint.Hour, max - touchpoint.Hour, 7 * touchpoint.Day} {
			if err := w.Within(field, min, max); err != nil {
				t.Fatalf("Window(%v).Within: %v", w, err)
			}
		}
	})
	t.Run("ErrOutOfRange", func(t *testing.T) {
		for _, w := range []touchpoint.Window{min - touchpoint.Hour, max + touchpoint.Hour, min - 1, max + 1, 0, -touchpoint.Day} {
			err := w.Within(field, min, max)
			if got, want := touchpoint.ErrorCode(err), touchpoint.EINVALID; got != want {
				t.Fatalf("Window(%v).Within code = %q, want %q (err %v)", time.Duration(w), got, want, err)
			}
			msg := touchpoint.ErrorMessage(err)
			for _, s := range []string{field, "1d", "30d"} {
				if !strings.Contains(msg, s) {
					t.Fatalf("Window(%v).Within message %q does not contain %q", time.Duration(w), msg, s)
				}
			}
		}
	})
	t.Run("ErrNotWholeHours", func(t *testing.T) {
		w := 2*touchpoint.Day + touchpoint.Window(30*time.Minute)
		err := w.Within(field, min, max)
		if got, want := touchpoint.ErrorCode(err), touchpoint.EINVALID; got != want {
			t.Fatalf("code = %q, want %q (err %v)", got, want, err)
		}
		if msg := touchpoint.ErrorMessage(err); !strings.Contains(msg, field) || !strings.Contains(msg, "whole number of hours") {
			t.Fatalf("message %q does not name the field and the rule", msg)
		}
	})
}

func TestValidateAppID(t *testing.T) {
	long := "com." + strings.Repeat("a", 251) // 255 characters
	if len(long) != 255 {
		t.Fatalf("len(long) = %d", len(long))
	}
	t.Run("OK", func(t *testing.T) {
		for _, tc := range []struct {
			p  touchpoint.Platform
			id string
		}{
			{touchpoint.Android, "com.example.game"},
			{touchpoint.Android, "com.example"},
			{touchpoint.Android, "Com.Ex_ample.g4me"},
			{touchpoint.Android, "a.b"},
			{touchpoint.Android, "a_.b_1.c"},
			{touchpoint.Android, long},
			{touchpoint.IOS, "id123456"},
			{touchpoint.IOS, "id123456789"},
			{touchpoint.IOS, "id123456789012345"},
		} {
			if err := touchpoint.ValidateAppID(tc.p, tc.id); err != nil {
				t.Fatalf("ValidateAppID(%s, %q): %v", tc.p, tc.id, err)
			}
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		for _, tc := range []struct {
			p  touchpoint.Platform
			id string
		}{
			{touchpoint.Android, ""},
			{touchpoint.Android, "game"},
			{touchpoint.Android, "com.1example.game"},
			{touchpoint.Android, "1com.example"},
			{touchpoint.Android, "com.example game"},
			{touchpoint.Android, " com.example.game"},
			{touchpoint.Android, "com.example.game "},
			{touchpoint.Android, "com..example"},
			{touchpoint.Android, "com.example."},
			{touchpoint.Android, ".com.example"},
			{touchpoint.Android, "com.exa-mple"},
			{touchpoint.Android, "_com.example"},
			{touchpoint.Android, long + "a"},
			{touchpoint.Android, "id123456789"},
			{touchpoint.IOS, "123456789"},
			{touchpoint.IOS, "idabc"},
			{touchpoint.IOS, "id12345"},
			{touchpoint.IOS, "id1234567890123456"},
			{touchpoint.IOS, "ID123456789"},
			{touchpoint.IOS, "id123456789 "},
			{touchpoint.IOS, "com.example.game"},
			{touchpoint.IOS, ""},
			{"windows", "com.example.game"},
			{"", "com.example.game"},
			{"Android", "com.example.game"},
		} {
			err := touchpoint.ValidateAppID(tc.p, tc.id)
			if got, want := touchpoint.ErrorCode(err), touchpoint.EINVALID; got != want {
				t.Fatalf("ValidateAppID(%q, %q) code = %q, want %q (err %v)", tc.p, tc.id, got, want, err)
			}
		}
	})
	t.Run("ErrPlatformNamed", func(t *testing.T) {
		err := touchpoint.ValidateAppID("windows", "com.example.game")
		if msg := touchpoint.ErrorMessage(err); !strings.Contains(msg, `"windows"`) {
			t.Fatalf("message %q does not name the platform", msg)
		}
	})
}

func TestDefaultWindows(t *testing.T) {
	w := touchpoint.DefaultWindows()
	for _, tc := range []struct {
		name      string
		got, want touchpoint.Window
	}{
		{"ClickLookback", w.ClickLookback, 7 * touchpoint.Day},
		{"ViewThroughLookback", w.ViewThroughLookback, 24 * touchpoint.Hour},
		{"ProbabilisticWindow", w.ProbabilisticWindow, 24 * touchpoint.Hour},
		{"Reattribution", w.Reattribution, 90 * touchpoint.Day},
		{"Reengagement", w.Reengagement, 30 * touchpoint.Day},
	} {
		if tc.got != tc.want {
			t.Fatalf("DefaultWindows().%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	if err := w.Validate(); err != nil {
		t.Fatalf("DefaultWindows().Validate(): %v", err)
	}
}

func TestWindowsValidate(t *testing.T) {
	for _, tc := range []struct {
		field    string
		set      func(*touchpoint.Windows, touchpoint.Window)
		min, max touchpoint.Window
	}{
		{"click_lookback", func(w *touchpoint.Windows, v touchpoint.Window) { w.ClickLookback = v }, touchpoint.Day, 30 * touchpoint.Day},
		{"view_through_lookback", func(w *touchpoint.Windows, v touchpoint.Window) { w.ViewThroughLookback = v }, touchpoint.Hour, 7 * touchpoint.Day},
		{"probabilistic_window", func(w *touchpoint.Windows, v touchpoint.Window) { w.ProbabilisticWindow = v }, touchpoint.Hour, 24 * touchpoint.Hour},
		{"reattribution_window", func(w *touchpoint.Windows, v touchpoint.Window) { w.Reattribution = v }, touchpoint.Day, 730 * touchpoint.Day},
		{"reengagement_window", func(w *touchpoint.Windows, v touchpoint.Window) { w.Reengagement = v }, touchpoint.Day, 90 * touchpoint.Day},
	} {
		t.Run(tc.field, func(t *testing.T) {
			for _, v := range []touchpoint.Window{tc.min, tc.max} {
				w := touchpoint.DefaultWindows()
				tc.set(&w, v)
				if err := w.Validate(); err != nil {
					t.Fatalf("%s = %v: %v", tc.field, v, err)
				}
			}
			for _, v := range []touchpoint.Window{tc.min - touchpoint.Hour, tc.max + touchpoint.Hour, 0, tc.min + touchpoint.Window(time.Minute)} {
				w := touchpoint.DefaultWindows()
				tc.set(&w, v)
				err := w.Validate()
				if got, want := touchpoint.ErrorCode(err), touchpoint.EINVALID; got != want {
					t.Fatalf("%s = %v: code = %q, want %q (err %v)", tc.field, time.Duration(v), got, want, err)
				}
				if msg := touchpoint.ErrorMessage(err); !strings.Contains(msg, tc.field) {
					t.Fatalf("%s = %v: message %q does not name the field", tc.field, time.Duration(v), msg)
				}
			}
		})
	}
}

func TestAppValidate(t *testing.T) {
	valid := func() touchpoint.App {
		return touchpoint.App{ID: "com.example.game", Platform: touchpoint.Android, Name: "Game",
			StoreURL: "https://play.google.com/store/apps/details?id=com.example.game", Windows: touchpoint.DefaultWindows()}
	}
	t.Run("OK", func(t *testing.T) {
		a := valid()
		if err := a.Validate(); err != nil {
			t.Fatal(err)
		}
		a.Name = strings.Repeat("n", 200)
		if err := a.Validate(); err != nil {
			t.Fatalf("200-character name: %v", err)
		}
	})
	for name, mod := range map[string]func(*touchpoint.App){
		"ErrID":       func(a *touchpoint.App) { a.ID = "game" },
		"ErrPlatform": func(a *touchpoint.App) { a.Platform = touchpoint.IOS },
		"ErrNoName":   func(a *touchpoint.App) { a.Name = "" },
		"ErrTooLong":  func(a *touchpoint.App) { a.Name = strings.Repeat("n", 201) },
		"ErrStoreURL": func(a *touchpoint.App) { a.StoreURL = "play.google.com/store" },
		"ErrFTPURL":   func(a *touchpoint.App) { a.StoreURL = "ftp://example.com/x" },
		"ErrWindows":  func(a *touchpoint.App) { a.Windows.Reattribution = 731 * touchpoint.Day },
	} {
		t.Run(name, func(t *testing.T) {
			a := valid()
			mod(&a)
			if got, want := touchpoint.ErrorCode(a.Validate()), touchpoint.EINVALID; got != want {
				t.Fatalf("code = %q, want %q", got, want)
			}
		})
	}
}

func TestAppUpdateApply(t *testing.T) {
	a := touchpoint.App{ID: "com.example.game", Platform: touchpoint.Android, Name: "Old", StoreURL: "https://old.example", Windows: touchpoint.DefaultWindows()}
	got := touchpoint.AppUpdate{Name: ptr("New"), Windows: touchpoint.WindowsUpdate{ViewThroughLookback: ptr(2 * touchpoint.Hour)}}.Apply(a)
	want := a
	want.Name = "New"
	want.Windows.ViewThroughLookback = 2 * touchpoint.Hour
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Apply = %+v, want %+v", got, want)
	}
	if a.Name != "Old" || a.Windows.ViewThroughLookback != 24*touchpoint.Hour {
		t.Fatalf("Apply changed its argument: %+v", a)
	}
	if got := (touchpoint.AppUpdate{}).Apply(a); !reflect.DeepEqual(got, a) {
		t.Fatalf("empty update = %+v, want %+v", got, a)
	}
}

func TestDefaultStoreURL(t *testing.T) {
	if got, want := touchpoint.DefaultStoreURL(touchpoint.IOS, "id123456789"), "https://apps.apple.com/app/id123456789"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if got, want := touchpoint.DefaultStoreURL(touchpoint.Android, "com.example.game"), "https://play.google.com/store/apps/details?id=com.example.game"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func validPartner() touchpoint.Partner {
	return touchpoint.Partner{AppID: testApp, PID: "network_int", ClickSigning: touchpoint.SigningDisabled,
		ClickLookback: 7 * touchpoint.Day, ViewThroughLookback: 24 * touchpoint.Hour, ProbabilisticWindow: 24 * touchpoint.Hour,
		Postbacks: touchpoint.Postbacks{RetryMinutes: touchpoint.DefaultPostbackRetryMinutes}}
}

func TestPartnerValidate(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		for name, mod := range map[string]func(*touchpoint.Partner){
			"Defaults":       func(p *touchpoint.Partner) {},
			"ReportOnly":     func(p *touchpoint.Partner) { p.ClickSigning = touchpoint.SigningReportOnly },
			"Enabled":        func(p *touchpoint.Partner) { p.ClickSigning = touchpoint.SigningEnabled },
			"PID150Runes":    func(p *touchpoint.Partner) { p.PID = strings.Repeat("é", 150) },
			"ClickMin":       func(p *touchpoint.Partner) { p.ClickLookback = touchpoint.Day },
			"ClickMax":       func(p *touchpoint.Partner) { p.ClickLookback = 30 * touchpoint.Day },
			"ViewMin":        func(p *touchpoint.Partner) { p.ViewThroughLookback = touchpoint.Hour },
			"ViewMax":        func(p *touchpoint.Partner) { p.ViewThroughLookback = 7 * touchpoint.Day },
			"ProbabilistMin": func(p *touchpoint.Partner) { p.ProbabilisticWindow = touchpoint.Hour },
		} {
			t.Run(name, func(t *testing.T) {
				p := validPartner()
				mod(&p)
				if err := p.Validate(); err != nil {
					t.Fatal(err)
				}
			})
		}
	})
	for _, tc := range []struct {
		name, field string
		mod         func(*touchpoint.Partner)
	}{
		{"ErrNoPID", "pid", func(p *touchpoint.Partner) { p.PID = "" }},
		{"ErrTooLong", "pid", func(p *touchpoint.Partner) { p.PID = strings.Repeat("é", 151) }},
		{"ErrNoSigning", "click_signing", func(p *touchpoint.Partner) { p.ClickSigning = "" }},
		{"ErrSigning", "click_signing", func(p *touchpoint.Partner) { p.ClickSigning = "Enabled" }},
		{"ErrClickLow", "click_lookback", func(p *touchpoint.Partner) { p.ClickLookback = 23 * touchpoint.Hour }},
		{"ErrClickHigh", "click_lookback", func(p *touchpoint.Partner) { p.ClickLookback = 30*touchpoint.Day + touchpoint.Hour }},
		{"ErrViewZero", "view_through_lookback", func(p *touchpoint.Partner) { p.ViewThroughLookback = 0 }},
		{"ErrViewHigh", "view_through_lookback", func(p *touchpoint.Partner) { p.ViewThroughLookback = 7*touchpoint.Day + touchpoint.Hour }},
		{"ErrProbabilistHigh", "probabilistic_window", func(p *touchpoint.Partner) { p.ProbabilisticWindow = 25 * touchpoint.Hour }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := validPartner()
			tc.mod(&p)
			err := p.Validate()
			if got, want := touchpoint.ErrorCode(err), touchpoint.EINVALID; got != want {
				t.Fatalf("code = %q, want %q (err %v)", got, want, err)
			}
			if msg := touchpoint.ErrorMessage(err); !strings.Contains(msg, tc.field) {
				t.Fatalf("message %q does not name %s", msg, tc.field)
			}
		})
	}
}

func TestValidatePID(t *testing.T) {
	for _, tc := range []struct {
		pid  string
		want string
	}{
		{"a", ""},
		{strings.Repeat("x", 150), ""},
		{strings.Repeat("日", 150), ""},
		{"", touchpoint.EINVALID},
		{strings.Repeat("x", 151), touchpoint.EINVALID},
		{strings.Repeat("日", 151), touchpoint.EINVALID},
	} {
		if got, want := touchpoint.ErrorCode(touchpoint.ValidatePID(tc.pid)), tc.want; got != want {
			t.Fatalf("ValidatePID(%d runes) code = %q, want %q", len([]rune(tc.pid)), got, want)
		}
	}
}

func TestSigningModeValid(t *testing.T) {
	for _, tc := range []struct {
		m    touchpoint.SigningMode
		want bool
	}{
		{touchpoint.SigningDisabled, true},
		{touchpoint.SigningReportOnly, true},
		{touchpoint.SigningEnabled, true},
		{"", false},
		{"report_only", false},
		{"ENABLED", false},
	} {
		if got, want := tc.m.Valid(), tc.want; got != want {
			t.Fatalf("SigningMode(%q).Valid() = %v, want %v", tc.m, got, want)
		}
	}
}

func TestPartnerApplyDefaults(t *testing.T) {
	app := &touchpoint.App{ID: testApp, Platform: touchpoint.Android, Windows: touchpoint.Windows{
		ClickLookback: 3 * touchpoint.Day, ViewThroughLookback: 12 * touchpoint.Hour, ProbabilisticWindow: 6 * touchpoint.Hour,
		Reattribution: 90 * touchpoint.Day, Reengagement: 30 * touchpoint.Day,
	}}
	t.Run("Inherit", func(t *testing.T) {
		p := touchpoint.Partner{AppID: testApp, PID: "net"}
		p.ApplyDefaults(app)
		want := touchpoint.Partner{AppID: testApp, PID: "net", ClickSigning: touchpoint.SigningDisabled,
			ClickLookback: 3 * touchpoint.Day, ViewThroughLookback: 12 * touchpoint.Hour, ProbabilisticWindow: 6 * touchpoint.Hour,
			Postbacks: touchpoint.Postbacks{RetryMinutes: 15, Templates: []touchpoint.PostbackTemplate{}}}
		if !reflect.DeepEqual(p, want) {
			t.Fatalf("ApplyDefaults = %+v, want %+v", p, want)
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("Validate after ApplyDefaults: %v", err)
		}
	})
	t.Run("KeepSet", func(t *testing.T) {
		p := touchpoint.Partner{AppID: testApp, PID: "net", ClickSigning: touchpoint.SigningReportOnly,
			ClickLookback: 10 * touchpoint.Day, ViewThroughLookback: 2 * touchpoint.Hour, ProbabilisticWindow: 3 * touchpoint.Hour, AllowIPUA: true,
			Postbacks: touchpoint.Postbacks{RetryMinutes: 5, Templates: []touchpoint.PostbackTemplate{}}}
		want := p
		p.ApplyDefaults(app)
		if !reflect.DeepEqual(p, want) {
			t.Fatalf("ApplyDefaults = %+v, want %+v", p, want)
		}
	})
	t.Run("Partial", func(t *testing.T) {
		p := touchpoint.Partner{PID: "net", ViewThroughLookback: 2 * touchpoint.Hour}
		p.ApplyDefaults(app)
		if got, want := p.ClickLookback, 3*touchpoint.Day; got != want {
			t.Fatalf("ClickLookback = %v, want %v", got, want)
		}
		if got, want := p.ViewThroughLookback, 2*touchpoint.Hour; got != want {
			t.Fatalf("ViewThroughLookback = %v, want %v", got, want)
		}
		if got, want := p.ProbabilisticWindow, 6*touchpoint.Hour; got != want {
			t.Fatalf("ProbabilisticWindow = %v, want %v", got, want)
		}
	})
}

func TestPartnerUpdateApply(t *testing.T) {
	p := validPartner()
	mode := touchpoint.SigningEnabled
	got := touchpoint.PartnerUpdate{ClickSigning: &mode, ProbabilisticWindow: ptr(2 * touchpoint.Hour), AllowIPUA: ptr(true), Restricted: ptr(true)}.Apply(p)
	want := p
	want.ClickSigning, want.ProbabilisticWindow, want.AllowIPUA, want.Restricted = touchpoint.SigningEnabled, 2*touchpoint.Hour, true, true
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Apply = %+v, want %+v", got, want)
	}
	if p.ClickSigning != touchpoint.SigningDisabled {
		t.Fatalf("Apply changed its argument")
	}
}

func TestSigningSecretActive(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	s := touchpoint.SigningSecret{ExpiresAt: now.Add(time.Hour)}
	for _, tc := range []struct {
		at   time.Time
		want bool
	}{
		{now, true},
		{now.Add(time.Hour - time.Nanosecond), true},
		{now.Add(time.Hour), false},
		{now.Add(2 * time.Hour), false},
	} {
		if got, want := s.Active(tc.at), tc.want; got != want {
			t.Fatalf("Active(%v) = %v, want %v", tc.at, got, want)
		}
	}
	revoked := s
	revoked.RevokedAt = &now
	if revoked.Active(now) {
		t.Fatalf("revoked secret is active")
	}
}

func TestTouchID(t *testing.T) {
	base := time.Date(2026, 11, 23, 12, 34, 56, 789654321, time.UTC)
	first := touchpoint.FirstTouchID
	t.Run("TimeTruncatedToMillisecond", func(t *testing.T) {
		for _, tm := range []time.Time{
			base,
			base.In(time.FixedZone("X", -7*3600)),
			time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
			time.Date(2026, 1, 1, 0, 0, 0, 999999, time.UTC),
			time.UnixMilli(1),
		} {
			got := touchpoint.TouchIDTime(touchpoint.FirstTouchID(tm))
			if want := tm.Truncate(time.Millisecond); !got.Equal(want) {
				t.Fatalf("TouchIDTime(FirstTouchID(%v)) = %v, want %v", tm, got, want)
			}
			if got.Location() != time.UTC {
				t.Fatalf("TouchIDTime location = %v, want UTC", got.Location())
			}
		}
	})
	t.Run("Layout", func(t *testing.T) {
		id := touchpoint.FirstTouchID(base)
		if got, want := id, base.UnixMilli()<<touchpoint.TouchIDSeqBits; got != want {
			t.Fatalf("FirstTouchID = %d, want %d", got, want)
		}
		if got, want := touchpoint.FirstTouchID(base.Add(time.Millisecond))-id, int64(1)<<touchpoint.TouchIDSeqBits; got != want {
			t.Fatalf("ids per millisecond = %d, want %d", got, want)
		}
		last := id + 1<<touchpoint.TouchIDSeqBits - 1
		if got, want := touchpoint.TouchIDTime(last), base.Truncate(time.Millisecond); !got.Equal(want) {
			t.Fatalf("TouchIDTime(last id of the ms) = %v, want %v", got, want)
		}
	})
	t.Run("Next", func(t *testing.T) {
		first := first(base)
		for _, tc := range []struct {
			name string
			last int64
			at   time.Time
			want int64
		}{
			{"Empty", 0, base, first},
			{"Same", first, base, first + 1},
			{"SameMs", first + 5, base.Add(100 * time.Microsecond), first + 6},
			{"Earlier", first + 5, base.Add(-time.Second), first + 6},
			{"Later", first, base.Add(time.Millisecond), first + 1<<touchpoint.TouchIDSeqBits},
			{"LastBelow", first - 1, base, first},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if got, want := touchpoint.NextTouchID(tc.last, tc.at), tc.want; got != want {
					t.Fatalf("NextTouchID(%d, %v) = %d, want %d", tc.last, tc.at, got, want)
				}
			})
		}
	})
	t.Run("OutOfRange", func(t *testing.T) {
		// Times ids cannot hold are clamped, never shifted into an id of
		// another time (the zero time once made a year-2230 id).
		for _, tc := range []struct {
			at   time.Time
			want int64
		}{
			{time.Time{}, 0},
			{time.Unix(-1, 0), 0},
			{time.Unix(0, 0), 0},
			{time.Date(2249, 1, 1, 0, 0, 0, 0, time.UTC), math.MaxInt64 &^ (1<<touchpoint.TouchIDSeqBits - 1)},
			{time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), math.MaxInt64 &^ (1<<touchpoint.TouchIDSeqBits - 1)},
		} {
			if got := touchpoint.FirstTouchID(tc.at); got != tc.want {
				t.Errorf("FirstTouchID(%v) = %d (%v), want %d", tc.at, got, touchpoint.TouchIDTime(got), tc.want)
			}
		}
		if got, want := touchpoint.NextTouchID(first(base), time.Time{}), first(base)+1; got != want {
			t.Errorf("NextTouchID(last, zero time) = %d, want last+1 %d", got, want)
		}
	})
	t.Run("NextIncreasing", func(t *testing.T) {
		times := []time.Time{base, base, base.Add(-time.Hour), base.Add(time.Millisecond), base.Add(time.Millisecond),
			base.Add(-time.Millisecond), base.Add(time.Second), base, base.Add(time.Second + time.Microsecond)}
		var last int64
		for i, tm := range times {
			id := touchpoint.NextTouchID(last, tm)
			if id <= last {
				t.Fatalf("step %d: NextTouchID(%d, %v) = %d, not larger", i, last, tm, id)
			}
			if first := touchpoint.FirstTouchID(tm); id < first {
				t.Fatalf("step %d: NextTouchID(%d, %v) = %d < FirstTouchID %d", i, last, tm, id, first)
			}
			last = id
		}
	})
}

func TestErrorCode(t *testing.T) {
	e := touchpoint.Errorf(touchpoint.ENOTFOUND, "app %q not found", "x")
	for _, tc := range []struct {
		name      string
		err       error
		code, msg string
	}{
		{"Nil", nil, "", ""},
		{"Error", e, touchpoint.ENOTFOUND, `app "x" not found`},
		{"Wrapped", fmt.Errorf("x: %w", e), touchpoint.ENOTFOUND, `app "x" not found`},
		{"DoubleWrapped", fmt.Errorf("y: %w", fmt.Errorf("x: %w", e)), touchpoint.ENOTFOUND, `app "x" not found`},
		{"Joined", errors.Join(errors.New("a"), &touchpoint.Error{Code: touchpoint.ECONFLICT, Message: "taken"}), touchpoint.ECONFLICT, "taken"},
		{"Plain", errors.New("disk on fire"), touchpoint.EINTERNAL, "Internal error."},
		{"PlainWrapped", fmt.Errorf("x: %w", errors.New("disk on fire")), touchpoint.EINTERNAL, "Internal error."},
		{"NotWrapped", fmt.Errorf("x: %v", e), touchpoint.EINTERNAL, "Internal error."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, want := touchpoint.ErrorCode(tc.err), tc.code; got != want {
				t.Fatalf("ErrorCode = %q, want %q", got, want)
			}
			if got, want := touchpoint.ErrorMessage(tc.err), tc.msg; got != want {
				t.Fatalf("ErrorMessage = %q, want %q", got, want)
			}
		})
	}
	if got, want := e.Error(), `touchpoint: code=not_found message=app "x" not found`; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
}

func TestTouchKeys(t *testing.T) {
	upper := strings.ToUpper(gaid)
	rawTouch := func(app, raw string) *touchpoint.Touch {
		tc := &touchpoint.Touch{App: app}
		tc.Device[touchpoint.GAID].Raw = raw
		return tc
	}
	t.Run("Raw", func(t *testing.T) {
		for _, raw := range []string{gaid, upper, "38400000-8CF0-11bd-B23E-10b96e40000d"} {
			keys := rawTouch(testApp, raw).Keys()
			if got, want := len(keys), 1; got != want {
				t.Fatalf("raw %q: %d keys, want %d", raw, got, want)
			}
			for _, value := range []string{gaid, upper, " " + gaid + "\t", sha1Hex(gaid), strings.ToUpper(sha1Hex(gaid))} {
				if !intersects(keys, touchpoint.DeviceKeys(testApp, value)) {
					t.Fatalf("touch with raw %q not found by DeviceKeys(%q)", raw, value)
				}
			}
			if intersects(keys, touchpoint.DeviceKeys(otherApp, gaid)) {
				t.Fatalf("touch with raw %q found by the keys of another app", raw)
			}
			if intersects(keys, touchpoint.DeviceKeys(testApp, "38400000-8cf0-11bd-b23e-10b96e40000e")) {
				t.Fatalf("touch with raw %q found by the keys of another device", raw)
			}
		}
	})
	t.Run("RawOtherType", func(t *testing.T) {
		for typ := touchpoint.DeviceIDType(0); typ < touchpoint.NumDeviceIDTypes; typ++ {
			tc := &touchpoint.Touch{App: testApp}
			tc.Device[typ].Raw = gaid
			if !intersects(tc.Keys(), touchpoint.DeviceKeys(testApp, upper)) {
				t.Fatalf("%s: raw id not found", touchpoint.DeviceIDParams[typ])
			}
		}
	})
	t.Run("HashedOnly", func(t *testing.T) {
		for _, tc := range []struct {
			name      string
			sha1, md5 string
			nkeys     int
		}{
			{"SHA1OfUpper", sha1Hex(upper), "", 1},
			{"SHA1OfUpperHexUpper", strings.ToUpper(sha1Hex(upper)), "", 1},
			{"SHA1OfLower", sha1Hex(gaid), "", 1},
			{"MD5OfLower", "", md5Hex(gaid), 1},
			{"MD5OfUpperHexUpper", "", strings.ToUpper(md5Hex(upper)), 1},
			{"Both", sha1Hex(upper), md5Hex(upper), 2},
		} {
			t.Run(tc.name, func(t *testing.T) {
				touch := &touchpoint.Touch{App: testApp}
				touch.Device[touchpoint.IDFA] = touchpoint.DeviceID{SHA1: tc.sha1, MD5: tc.md5}
				keys := touch.Keys()
				if got, want := len(keys), tc.nkeys; got != want {
					t.Fatalf("%d keys, want %d", got, want)
				}
				// The network may have hashed the raw value upper- or
				// lower-case; a lookup by the raw value in any case finds it.
				for _, value := range []string{gaid, upper, "38400000-8Cf0-11bd-b23e-10B96E40000D"} {
					if !intersects(keys, touchpoint.DeviceKeys(testApp, value)) {
						t.Fatalf("not found by DeviceKeys(%q)", value)
					}
				}
				hash := tc.sha1
				if hash == "" {
					hash = tc.md5
				}
				for _, value := range []string{hash, strings.ToLower(hash), strings.ToUpper(hash)} {
					if !intersects(keys, touchpoint.DeviceKeys(testApp, value)) {
						t.Fatalf("not found by its hash DeviceKeys(%q)", value)
					}
				}
				if intersects(keys, touchpoint.DeviceKeys(otherApp, gaid)) {
					t.Fatalf("found by the keys of another app")
				}
				if intersects(keys, touchpoint.DeviceKeys(testApp, "00000000-0000-0000-0000-000000000000")) {
					t.Fatalf("found by the keys of another device")
				}
			})
		}
	})
	t.Run("RawWins", func(t *testing.T) {
		// A raw id is indexed under its own key only, whatever hashes came
		// with it.
		touch := &touchpoint.Touch{App: testApp}
		touch.Device[touchpoint.GAID] = touchpoint.DeviceID{Raw: gaid, SHA1: sha1Hex("something else"), MD5: md5Hex("something else")}
		keys := touch.Keys()
		if got, want := len(keys), 1; got != want {
			t.Fatalf("%d keys, want %d", got, want)
		}
		if !intersects(keys, touchpoint.DeviceKeys(testApp, gaid)) {
			t.Fatalf("not found by its raw value")
		}
	})
	t.Run("OtherKeys", func(t *testing.T) {
		const ip, clickID, ref = "198.51.100.7", "click-1", "NetworkA_123"
		touch := &touchpoint.Touch{App: testApp, IP: ip, Params: touchpoint.LinkParams{ClickID: clickID, Ref: ref}}
		touch.Device[touchpoint.GAID].Raw = gaid
		keys := touch.Keys()
		if got, want := len(keys), 4; got != want {
			t.Fatalf("%d keys, want %d", got, want)
		}
		for _, k := range []touchpoint.LookupKey{touchpoint.IPKey(testApp, ip), touchpoint.ClickIDKey(testApp, clickID), touchpoint.RefKey(testApp, ref)} {
			if !contains(keys, k) {
				t.Fatalf("Keys() = %v lacks %v", keys, k)
			}
		}
		for _, k := range []touchpoint.LookupKey{touchpoint.IPKey(otherApp, ip), touchpoint.ClickIDKey(otherApp, clickID), touchpoint.RefKey(otherApp, ref),
			touchpoint.IPKey(testApp, clickID), touchpoint.ClickIDKey(testApp, ref), touchpoint.RefKey(testApp, clickID), touchpoint.IPKey(testApp, "198.51.100.8")} {
			if contains(keys, k) {
				t.Fatalf("Keys() = %v has unrelated key %v", keys, k)
			}
		}
	})
	t.Run("Each", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			touch touchpoint.Touch
			want  touchpoint.LookupKey
		}{
			{"IP", touchpoint.Touch{App: testApp, IP: "v"}, touchpoint.IPKey(testApp, "v")},
			{"ClickID", touchpoint.Touch{App: testApp, Params: touchpoint.LinkParams{ClickID: "v"}}, touchpoint.ClickIDKey(testApp, "v")},
			{"Ref", touchpoint.Touch{App: testApp, Params: touchpoint.LinkParams{Ref: "v"}}, touchpoint.RefKey(testApp, "v")},
		} {
			t.Run(tc.name, func(t *testing.T) {
				keys := tc.touch.Keys()
				if got, want := len(keys), 1; got != want {
					t.Fatalf("%d keys, want %d", got, want)
				}
				if got, want := keys[0], tc.want; got != want {
					t.Fatalf("key = %v, want %v", got, want)
				}
			})
		}
	})
	t.Run("None", func(t *testing.T) {
		touch := &touchpoint.Touch{App: testApp, PID: "net", UA: "ua", Params: touchpoint.LinkParams{Campaign: "c"}}
		if got := touch.Keys(); len(got) != 0 {
			t.Fatalf("Keys() = %v, want none", got)
		}
	})
	t.Run("KindsDiffer", func(t *testing.T) {
		keys := []touchpoint.LookupKey{touchpoint.IPKey(testApp, "v"), touchpoint.ClickIDKey(testApp, "v"), touchpoint.RefKey(testApp, "v"),
			touchpoint.IPKey(otherApp, "v"), touchpoint.IPKey(testApp, "w")}
		seen := map[touchpoint.LookupKey]int{}
		for i, k := range keys {
			if j, ok := seen[k]; ok {
				t.Fatalf("keys %d and %d are equal", j, i)
			}
			seen[k] = i
		}
		if got, want := touchpoint.IPKey(testApp, "v"), touchpoint.IPKey(testApp, "v"); got != want {
			t.Fatalf("IPKey is not deterministic: %v != %v", got, want)
		}
	})
}

func TestDeviceKeys(t *testing.T) {
	t.Run("Empty", func(t *testing.T) {
		for _, v := range []string{"", " ", "\t\n"} {
			if got := touchpoint.DeviceKeys(testApp, v); got != nil {
				t.Fatalf("DeviceKeys(%q) = %v, want nil", v, got)
			}
		}
	})
	t.Run("Distinct", func(t *testing.T) {
		for _, v := range []string{gaid, "abc", "123456789012345", sha1Hex(gaid)} {
			keys := touchpoint.DeviceKeys(testApp, v)
			seen := map[touchpoint.LookupKey]bool{}
			for _, k := range keys {
				if seen[k] {
					t.Fatalf("DeviceKeys(%q) = %v repeats %v", v, keys, k)
				}
				seen[k] = true
			}
		}
		// Digits have no case: lower, upper and as-is are the same form.
		if got, want := len(touchpoint.DeviceKeys(testApp, "123456789012345")), 2; got != want {
			t.Fatalf("DeviceKeys(digits) has %d keys, want %d", got, want)
		}
		// A mixed-case value: three forms, two hashes each.
		if got, want := len(touchpoint.DeviceKeys(testApp, "AbC")), 6; got != want {
			t.Fatalf("DeviceKeys(mixed) has %d keys, want %d", got, want)
		}
	})
}

func TestHasDeviceID(t *testing.T) {
	upper := strings.ToUpper(gaid)
	other := "6d92078a-8246-4ba4-ae5b-76104861e7dc"
	t.Run("Raw", func(t *testing.T) {
		touch := &touchpoint.Touch{App: testApp}
		touch.Device[touchpoint.OAID].Raw = gaid
		for _, v := range []string{gaid, upper, " " + gaid + " ", sha1Hex(gaid), strings.ToUpper(sha1Hex(gaid)), md5Hex(gaid), strings.ToUpper(md5Hex(gaid))} {
			if !touch.HasDeviceID(v) {
				t.Fatalf("HasDeviceID(%q) = false, want true", v)
			}
		}
		for _, v := range []string{"", "  ", other, sha1Hex(other), md5Hex(other), gaid[:10], sha1Hex(gaid)[:32]} {
			if touch.HasDeviceID(v) {
				t.Fatalf("HasDeviceID(%q) = true, want false", v)
			}
		}
	})
	t.Run("RawMixedCase", func(t *testing.T) {
		const mixed = "38400000-8CF0-11bd-B23E-10b96e40000d"
		touch := &touchpoint.Touch{App: testApp}
		touch.Device[touchpoint.IDFV].Raw = mixed
		for _, v := range []string{gaid, upper, mixed, sha1Hex(mixed), md5Hex(mixed), sha1Hex(gaid), md5Hex(gaid)} {
			if !touch.HasDeviceID(v) {
				t.Fatalf("HasDeviceID(%q) = false, want true", v)
			}
		}
	})
	t.Run("SHA1", func(t *testing.T) {
		touch := &touchpoint.Touch{App: testApp}
		touch.Device[touchpoint.IDFA].SHA1 = strings.ToUpper(sha1Hex(upper))
		for _, v := range []string{gaid, upper, sha1Hex(upper), strings.ToUpper(sha1Hex(upper))} {
			if !touch.HasDeviceID(v) {
				t.Fatalf("HasDeviceID(%q) = false, want true", v)
			}
		}
		for _, v := range []string{other, sha1Hex(gaid), md5Hex(gaid)} {
			if touch.HasDeviceID(v) {
				t.Fatalf("HasDeviceID(%q) = true, want false", v)
			}
		}
	})
	t.Run("MD5", func(t *testing.T) {
		touch := &touchpoint.Touch{App: testApp}
		touch.Device[touchpoint.AmazonAID].MD5 = md5Hex(gaid)
		for _, v := range []string{gaid, upper, md5Hex(gaid), strings.ToUpper(md5Hex(gaid))} {
			if !touch.HasDeviceID(v) {
				t.Fatalf("HasDeviceID(%q) = false, want true", v)
			}
		}
		for _, v := range []string{other, md5Hex(other), sha1Hex(gaid)} {
			if touch.HasDeviceID(v) {
				t.Fatalf("HasDeviceID(%q) = true, want false", v)
			}
		}
	})
	t.Run("None", func(t *testing.T) {
		touch := &touchpoint.Touch{App: testApp, IP: gaid, Params: touchpoint.LinkParams{ClickID: gaid}}
		if touch.HasDeviceID(gaid) {
			t.Fatalf("HasDeviceID matched a touch without device ids")
		}
	})
}

func TestDeviceIDForms(t *testing.T) {
	for _, tc := range []struct {
		name     string
		in, want touchpoint.DeviceID
	}{
		{"Zero", touchpoint.DeviceID{}, touchpoint.DeviceID{}},
		{"Raw", touchpoint.DeviceID{Raw: "AbC"}, touchpoint.DeviceID{Raw: "AbC", SHA1: sha1Hex("AbC"), MD5: md5Hex("AbC")}},
		{"RawSHA1", touchpoint.DeviceID{Raw: "a", SHA1: "s"}, touchpoint.DeviceID{Raw: "a", SHA1: "s", MD5: md5Hex("a")}},
		{"HashedOnly", touchpoint.DeviceID{MD5: "m"}, touchpoint.DeviceID{MD5: "m"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, want := tc.in.Forms(), tc.want; got != want {
				t.Fatalf("Forms() = %+v, want %+v", got, want)
			}
			if got, want := tc.in.IsZero(), tc.in == (touchpoint.DeviceID{}); got != want {
				t.Fatalf("IsZero() = %v, want %v", got, want)
			}
		})
	}
}

func TestDeviceIDsJSON(t *testing.T) {
	var d touchpoint.DeviceIDs
	d[touchpoint.GAID].Raw = gaid
	d[touchpoint.IDFV].SHA1 = sha1Hex("idfv")
	d[touchpoint.OAID] = touchpoint.DeviceID{Raw: "oaid-1", MD5: "given-md5"}
	d[touchpoint.AmazonAID].MD5 = md5Hex("amazon")
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]string{
		"advertising_id": {"raw": gaid, "sha1": sha1Hex(gaid), "md5": md5Hex(gaid)},
		"idfv":           {"sha1": sha1Hex("idfv")},
		"oaid":           {"raw": "oaid-1", "sha1": sha1Hex("oaid-1"), "md5": "given-md5"},
		"amazon_aid":     {"md5": md5Hex("amazon")},
	}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("json.Marshal = %s\nwant %v", b, want)
	}

	t.Run("Unmarshal", func(t *testing.T) {
		var back touchpoint.DeviceIDs
		back[touchpoint.IMEI].Raw = "stale" // cleared by UnmarshalJSON
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		var want touchpoint.DeviceIDs
		for i := range d {
			want[i] = d[i].Forms()
		}
		if back != want {
			t.Fatalf("round trip = %+v, want %+v", back, want)
		}
	})
	t.Run("Empty", func(t *testing.T) {
		b, err := json.Marshal(touchpoint.DeviceIDs{})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := string(b), "{}"; got != want {
			t.Fatalf("json.Marshal(empty) = %s, want %s", got, want)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		var back touchpoint.DeviceIDs
		for _, in := range []string{`[]`, `"x"`, `{"idfa":"raw"}`} {
			if err := json.Unmarshal([]byte(in), &back); err == nil {
				t.Fatalf("json.Unmarshal(%s) succeeded: %+v", in, back)
			}
		}
	})
	t.Run("InTouch", func(t *testing.T) {
		tc := touchpoint.Touch{ID: 1 << 40, App: testApp, Kind: touchpoint.Click, Verdict: touchpoint.VerdictInvalidSignature}
		tc.Device[touchpoint.IDFA].Raw = "IDFA-1"
		b, err := json.Marshal(tc)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{`"id":"1099511627776"`, `"kind":"click"`, `"signature_verdict":"invalid_signature"`, `"device_ids":{"idfa":{"raw":"IDFA-1"`} {
			if !strings.Contains(string(b), s) {
				t.Fatalf("json.Marshal(touch) = %s, lacks %s", b, s)
			}
		}
		var back touchpoint.Touch
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if got, want := back.ID, tc.ID; got != want {
			t.Fatalf("ID = %d, want %d", got, want)
		}
		if got, want := back.Device[touchpoint.IDFA], tc.Device[touchpoint.IDFA].Forms(); got != want {
			t.Fatalf("IDFA = %+v, want %+v", got, want)
		}
		if back.Kind != touchpoint.Click || back.Verdict != touchpoint.VerdictInvalidSignature {
			t.Fatalf("kind %v, verdict %v", back.Kind, back.Verdict)
		}
	})
}

func TestTouchKindText(t *testing.T) {
	for _, tc := range []struct {
		k    touchpoint.TouchKind
		name string
	}{
		{touchpoint.Click, "click"},
		{touchpoint.Impression, "impression"},
	} {
		b, err := tc.k.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		if got, want := string(b), tc.name; got != want {
			t.Fatalf("MarshalText(%d) = %q, want %q", tc.k, got, want)
		}
		var k touchpoint.TouchKind
		if err := k.UnmarshalText(b); err != nil {
			t.Fatal(err)
		}
		if got, want := k, tc.k; got != want {
			t.Fatalf("UnmarshalText(%q) = %d, want %d", b, got, want)
		}
		if got, err := touchpoint.ParseTouchKind(tc.name); err != nil || got != tc.k {
			t.Fatalf("ParseTouchKind(%q) = %d, %v", tc.name, got, err)
		}
	}
	if got, want := touchpoint.TouchKind(0).String(), "unknown"; got != want {
		t.Fatalf("TouchKind(0).String() = %q, want %q", got, want)
	}
	// No kind (a record without a touch) round-trips as "".
	if b, err := touchpoint.TouchKind(0).MarshalText(); err != nil || len(b) != 0 {
		t.Fatalf("TouchKind(0).MarshalText() = %q, %v", b, err)
	}
	if k := touchpoint.Click; k.UnmarshalText(nil) != nil || k != 0 {
		t.Fatalf("UnmarshalText(\"\") = %d", k)
	}
	for _, in := range []string{"", "Click", "clicks", "unknown", "1"} {
		k := touchpoint.Click
		err := k.UnmarshalText([]byte(in))
		if got, want := touchpoint.ErrorCode(err), touchpoint.EINVALID; in != "" && got != want {
			t.Fatalf("UnmarshalText(%q) code = %q, want %q", in, got, want)
		}
		if _, err := touchpoint.ParseTouchKind(in); touchpoint.ErrorCode(err) != touchpoint.EINVALID {
			t.Fatalf("ParseTouchKind(%q) err = %v", in, err)
		}
	}
}

func TestVerdictText(t *testing.T) {
	names := []string{"unchecked", "valid", "missing_signature", "click_expired", "invalid_signature", "no_active_secrets"}
	vs := touchpoint.Verdicts()
	if got, want := len(vs), len(names); got != want {
		t.Fatalf("len(Verdicts()) = %d, want %d", got, want)
	}
	for i, v := range vs {
		if got, want := v, touchpoint.Verdict(i); got != want {
			t.Fatalf("Verdicts()[%d] = %d", i, got)
		}
		b, err := v.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		if got, want := string(b), names[i]; got != want {
			t.Fatalf("MarshalText(%d) = %q, want %q", v, got, want)
		}
		back := touchpoint.Verdict(99)
		if err := back.UnmarshalText(b); err != nil {
			t.Fatal(err)
		}
		if got, want := back, v; got != want {
			t.Fatalf("UnmarshalText(%q) = %d, want %d", b, got, want)
		}
	}
	for _, c := range []struct {
		v    touchpoint.Verdict
		name string
	}{
		{touchpoint.VerdictUnchecked, "unchecked"},
		{touchpoint.VerdictValid, "valid"},
		{touchpoint.VerdictMissingSignature, "missing_signature"},
		{touchpoint.VerdictClickExpired, "click_expired"},
		{touchpoint.VerdictInvalidSignature, "invalid_signature"},
		{touchpoint.VerdictNoActiveSecrets, "no_active_secrets"},
	} {
		if got, want := c.v.String(), c.name; got != want {
			t.Fatalf("String() = %q, want %q", got, want)
		}
	}
	if got, want := touchpoint.Verdict(len(names)).String(), "unknown"; got != want {
		t.Fatalf("out-of-range String() = %q, want %q", got, want)
	}
	for _, in := range []string{"", "VALID", "unknown", "Valid", "valid "} {
		v := touchpoint.VerdictValid
		err := v.UnmarshalText([]byte(in))
		if got, want := touchpoint.ErrorCode(err), touchpoint.EINVALID; got != want {
			t.Fatalf("UnmarshalText(%q) code = %q, want %q", in, got, want)
		}
	}
}

func TestSigningCountTotal(t *testing.T) {
	var c touchpoint.SigningCount
	if got, want := c.Total(), int64(0); got != want {
		t.Fatalf("Total() = %d, want %d", got, want)
	}
	c.Counts[touchpoint.VerdictValid] = 5
	c.Counts[touchpoint.VerdictNoActiveSecrets] = 2
	c.Counts[touchpoint.VerdictUnchecked] = 1
	if got, want := c.Total(), int64(8); got != want {
		t.Fatalf("Total() = %d, want %d", got, want)
	}
}

func TestStringParams(t *testing.T) {
	seen := map[string]bool{}
	var p touchpoint.LinkParams
	for i, sp := range touchpoint.StringParams {
		if seen[sp.Name] {
			t.Fatalf("StringParams repeats %q", sp.Name)
		}
		seen[sp.Name] = true
		*sp.Field(&p) = fmt.Sprint(i)
		if sp.Max == 0 {
			if got, want := sp.MaxLen(), touchpoint.MaxParamLength; got != want {
				t.Fatalf("%s MaxLen() = %d, want %d", sp.Name, got, want)
			}
		} else if got, want := sp.MaxLen(), sp.Max; got != want {
			t.Fatalf("%s MaxLen() = %d, want %d", sp.Name, got, want)
		}
	}
	// Every string field of LinkParams has its own entry, and the names
	// are the JSON names.
	rv := reflect.ValueOf(p)
	rt := rv.Type()
	nstr := 0
	for i := 0; i < rt.NumField(); i++ {
		if rt.Field(i).Type.Kind() != reflect.String {
			continue
		}
		nstr++
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		if !seen[name] {
			t.Fatalf("field %s (%s) has no StringParam", rt.Field(i).Name, name)
		}
		if rv.Field(i).String() == "" {
			t.Fatalf("field %s is set by no StringParam", rt.Field(i).Name)
		}
	}
	if got, want := nstr, len(touchpoint.StringParams); got != want {
		t.Fatalf("%d string fields, %d StringParams", got, want)
	}
}

func TestRandomString(t *testing.T) {
	isAlnum := func(s string) bool {
		for _, c := range []byte(s) {
			if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
				return false
			}
		}
		return true
	}
	for _, n := range []int{0, 1, 7, 22, 64, 1000} {
		s := touchpoint.RandomString(n)
		if got, want := len(s), n; got != want {
			t.Fatalf("len(RandomString(%d)) = %d", n, got)
		}
		if !isAlnum(s) {
			t.Fatalf("RandomString(%d) = %q has a character outside [0-9A-Za-z]", n, s)
		}
	}
	if a, b := touchpoint.RandomString(22), touchpoint.RandomString(22); a == b {
		t.Fatalf("two calls gave %q", a)
	}
	// Every one of the 62 characters shows up in a long string (the chance
	// that one is missing from 20000 is about 62·(61/62)^20000, nil).
	s := touchpoint.RandomString(20000)
	seen := map[rune]bool{}
	for _, c := range s {
		seen[c] = true
	}
	if got, want := len(seen), 62; got != want {
		t.Fatalf("RandomString(20000) uses %d distinct characters, want %d", got, want)
	}
}

func TestCheckName(t *testing.T) {
	for _, ok := range []string{"Game", "Spiel für Kinder", strings.Repeat("é", 200), "Facebook Ads (EU)"} {
		if err := touchpoint.CheckName("name", ok); err != nil {
			t.Errorf("CheckName(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a\x00b", "two\nlines", "tab\there", strings.Repeat("x", 201), "\xff\xfe"} {
		if err := touchpoint.CheckName("name", bad); touchpoint.ErrorCode(err) != touchpoint.EINVALID {
			t.Errorf("CheckName(%q) = %v, want invalid", bad, err)
		}
	}
}
