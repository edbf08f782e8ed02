package touchpoint_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// fullTouch returns a touch with every field set to a value that differs
// from the zero value.
func fullTouch() *touchpoint.Touch {
	t := &touchpoint.Touch{
		ID:           1<<50 | 7,
		App:          testApp,
		Kind:         touchpoint.Impression,
		Time:         time.Date(2026, 11, 23, 12, 34, 56, 123456789, time.FixedZone("CET", 3600)),
		PID:          "network_int",
		CustomSource: true,
		Params: touchpoint.LinkParams{
			Incentivized:        ptr(false),
			Retargeting:         true,
			ReengagementWindow:  30 * touchpoint.Day,
			ClickLookback:       7 * touchpoint.Day,
			ViewThroughLookback: 36 * touchpoint.Hour,
			Expires:             1900000000,
			Redirect:            ptr(false),
		},
		Extra: []touchpoint.Param{
			{Key: "my_param", Value: "x y"},
			{Key: "empty", Value: ""},
			{Key: "my_param", Value: "second"},
			{Key: "", Value: "no key"},
			{Key: "", Value: ""},
			{Key: " spaced ", Value: " padded\t"},
			{Key: "ünï", Value: "çødé\x00\xff"},
		},
		IP:          "2001:db8::1",
		UA:          "Mozilla/5.0 (Linux; Android 14; Pixel 8) — ü",
		Language:    "fr-FR",
		CountryCode: "FR",
		City:        "Saint-Étienne",
		Verdict:     touchpoint.VerdictClickExpired,
		Rejected:    true,
		OverCap:     true,
		Notes:       []string{"af_sub1 dropped: too long", "", "af_r dropped: \"ftp://x\" is not http"},
	}
	for i, p := range touchpoint.StringParams {
		*p.Field(&t.Params) = fmt.Sprintf("%s-value-%d", p.Name, i)
	}
	for typ := range t.Device {
		t.Device[typ] = touchpoint.DeviceID{
			Raw:  fmt.Sprintf("raw-%d", typ),
			SHA1: sha1Hex(fmt.Sprint("sha1-", typ)),
			MD5:  md5Hex(fmt.Sprint("md5-", typ)),
		}
	}
	return t
}

// checkAllSet fails when a field of v (recursively through structs, arrays
// and pointers) is zero, so that a field added to Touch or LinkParams
// without a codec tag cannot go unnoticed.
func checkAllSet(t *testing.T, path string, v reflect.Value) {
	t.Helper()
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			if v.Interface().(time.Time).IsZero() {
				t.Fatalf("%s is zero", path)
			}
			return
		}
		for i := 0; i < v.NumField(); i++ {
			checkAllSet(t, path+"."+v.Type().Field(i).Name, v.Field(i))
		}
	case reflect.Array:
		for i := 0; i < v.Len(); i++ {
			checkAllSet(t, fmt.Sprintf("%s[%d]", path, i), v.Index(i))
		}
	case reflect.Pointer:
		if v.IsNil() {
			t.Fatalf("%s is nil", path)
		}
	default:
		if v.IsZero() {
			t.Fatalf("%s is zero", path)
		}
	}
}

// decode unmarshals b into a fresh touch.
func decode(t testing.TB, b []byte) *touchpoint.Touch {
	t.Helper()
	var got touchpoint.Touch
	if err := got.UnmarshalBinary(b); err != nil {
		t.Fatalf("UnmarshalBinary: %v", err)
	}
	return &got
}

// equalTouch compares a decoded touch with the original: ID and App are not
// encoded, and times are compared as instants.
func equalTouch(t *testing.T, got, want *touchpoint.Touch) {
	t.Helper()
	g := *got
	g.ID, g.App = want.ID, want.App
	if !g.Time.Equal(want.Time) {
		t.Fatalf("Time = %v, want %v", g.Time, want.Time)
	}
	g.Time = want.Time
	if !reflect.DeepEqual(&g, want) {
		t.Fatalf("decoded touch differs:\n got %+v\nwant %+v", &g, want)
	}
}

func TestTouchCodecRoundTrip(t *testing.T) {
	t.Run("Full", func(t *testing.T) {
		want := fullTouch()
		checkAllSet(t, "Touch", reflect.ValueOf(*want))
		b := want.AppendBinary(nil)
		got := decode(t, b)
		if got.ID != 0 || got.App != "" {
			t.Fatalf("ID/App decoded as %d/%q, want them left alone", got.ID, got.App)
		}
		equalTouch(t, got, want)
		if got.Params.Incentivized == nil || *got.Params.Incentivized {
			t.Fatalf("Incentivized = %v, want pointer to false", got.Params.Incentivized)
		}
		if got.Params.Redirect == nil || *got.Params.Redirect {
			t.Fatalf("Redirect = %v, want pointer to false", got.Params.Redirect)
		}
		// The encoding is deterministic.
		if b2 := got.AppendBinary(nil); !bytes.Equal(b2, b) {
			t.Fatalf("re-encoding differs:\n%x\n%x", b2, b)
		}
	})
	t.Run("Variants", func(t *testing.T) {
		for name, mod := range map[string]func(*touchpoint.Touch){
			"IncentivizedTrue": func(t *touchpoint.Touch) { t.Params.Incentivized = ptr(true); t.Params.Redirect = ptr(true) },
			"NilPointers":      func(t *touchpoint.Touch) { t.Params.Incentivized = nil; t.Params.Redirect = nil },
			"NegativeExpires":  func(t *touchpoint.Touch) { t.Params.Expires = -1 },
			"HugeExpires":      func(t *touchpoint.Touch) { t.Params.Expires = 1<<63 - 1 },
			"MinExpires":       func(t *touchpoint.Touch) { t.Params.Expires = -1 << 63 },
			"Before1970":       func(t *touchpoint.Touch) { t.Time = time.Date(1969, 12, 31, 23, 59, 59, 1, time.UTC) },
			"Epoch":            func(t *touchpoint.Touch) { t.Time = time.Unix(0, 0) },
			"Year2300":         func(t *touchpoint.Touch) { t.Time = time.Date(2300, 1, 1, 0, 0, 0, 7, time.UTC) },
			"Year1":            func(t *touchpoint.Touch) { t.Time = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC) },
			"Click":            func(t *touchpoint.Touch) { t.Kind = touchpoint.Click },
			"EveryVerdict":     func(t *touchpoint.Touch) { t.Verdict = touchpoint.VerdictNoActiveSecrets },
			"FalseBools": func(t *touchpoint.Touch) {
				t.CustomSource, t.Rejected, t.OverCap, t.Params.Retargeting = false, false, false, false
			},
			"NoWindows": func(t *touchpoint.Touch) {
				t.Params.ClickLookback, t.Params.ViewThroughLookback, t.Params.ReengagementWindow = 0, 0, 0
			},
			"LongWindow": func(t *touchpoint.Touch) { t.Params.ReengagementWindow = 100000 * touchpoint.Day },
			"HashedOnlyDevices": func(t *touchpoint.Touch) {
				t.Device = touchpoint.DeviceIDs{touchpoint.IDFA: {SHA1: "s"}, touchpoint.IMEI: {MD5: "m"}}
			},
			"LongStrings": func(t *touchpoint.Touch) {
				t.UA = string(bytes.Repeat([]byte("u"), 300))
				t.Params.Campaign = string(bytes.Repeat([]byte("c"), 20000))
				t.Extra = append(t.Extra, touchpoint.Param{Key: string(bytes.Repeat([]byte("k"), 200)), Value: string(bytes.Repeat([]byte("v"), 70000))})
			},
		} {
			t.Run(name, func(t *testing.T) {
				want := fullTouch()
				mod(want)
				equalTouch(t, decode(t, want.AppendBinary(nil)), want)
			})
		}
	})
	t.Run("Minimal", func(t *testing.T) {
		want := &touchpoint.Touch{Kind: touchpoint.Click, Time: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), PID: "net"}
		got := decode(t, want.AppendBinary(nil))
		if got.Params.Incentivized != nil || got.Params.Redirect != nil {
			t.Fatalf("nil pointers decoded as %v, %v", got.Params.Incentivized, got.Params.Redirect)
		}
		if got.Notes != nil || got.Extra != nil {
			t.Fatalf("nil slices decoded as %#v, %#v", got.Notes, got.Extra)
		}
		equalTouch(t, got, want)
	})
	t.Run("KeepsIDAndApp", func(t *testing.T) {
		src := fullTouch()
		got := touchpoint.Touch{ID: 42, App: "com.example.kept"}
		if err := got.UnmarshalBinary(src.AppendBinary(nil)); err != nil {
			t.Fatal(err)
		}
		if got.ID != 42 || got.App != "com.example.kept" {
			t.Fatalf("ID/App = %d/%q, want 42/com.example.kept", got.ID, got.App)
		}
	})
}

func TestTouchCodecAppend(t *testing.T) {
	src := fullTouch()
	alone := src.AppendBinary(nil)
	prefix := []byte("prefix\x00\xff")
	buf := make([]byte, len(prefix), len(prefix)+3) // small capacity: append must grow
	copy(buf, prefix)
	out := src.AppendBinary(buf)
	if got, want := out[:len(prefix)], prefix; !bytes.Equal(got, want) {
		t.Fatalf("prefix = %q, want %q", got, want)
	}
	if got, want := out[len(prefix):], alone; !bytes.Equal(got, want) {
		t.Fatalf("appended encoding differs from the encoding alone")
	}
	equalTouch(t, decode(t, out[len(prefix):]), src)

	// With room to spare, the bytes beyond the prefix are the only ones
	// written.
	big := make([]byte, len(prefix), 4096)
	copy(big, prefix)
	out = src.AppendBinary(big)
	if got, want := out[:len(prefix)], prefix; !bytes.Equal(got, want) {
		t.Fatalf("prefix = %q, want %q", got, want)
	}
	if &out[0] != &big[0] {
		t.Fatalf("AppendBinary reallocated although the buffer had room")
	}
	// Two touches back to back.
	two := src.AppendBinary(src.AppendBinary(nil))
	if got, want := len(two), 2*len(alone); got != want {
		t.Fatalf("len = %d, want %d", got, want)
	}
	if !bytes.Equal(two[:len(alone)], two[len(alone):]) {
		t.Fatalf("second encoding differs from the first")
	}
}

// field encodes one field: tag, uvarint length, payload.
func field(tag byte, payload []byte) []byte {
	b := []byte{tag}
	b = binary.AppendUvarint(b, uint64(len(payload)))
	return append(b, payload...)
}

func TestTouchCodecErrors(t *testing.T) {
	valid := fullTouch().AppendBinary(nil)
	t.Run("ErrEmpty", func(t *testing.T) {
		for _, b := range [][]byte{nil, {}} {
			var tc touchpoint.Touch
			if err := tc.UnmarshalBinary(b); err == nil {
				t.Fatalf("UnmarshalBinary(%v) succeeded", b)
			}
		}
	})
	t.Run("ErrVersion", func(t *testing.T) {
		for _, v := range []byte{0, 2, 255} {
			b := append([]byte{v}, valid[1:]...)
			var tc touchpoint.Touch
			if err := tc.UnmarshalBinary(b); err == nil {
				t.Fatalf("version %d accepted", v)
			}
		}
	})
	t.Run("OnlyVersion", func(t *testing.T) {
		var tc touchpoint.Touch
		if err := tc.UnmarshalBinary([]byte{1}); err != nil {
			t.Fatalf("UnmarshalBinary(version only): %v", err)
		}
	})
	t.Run("ErrTruncated", func(t *testing.T) {
		// Every prefix must either fail or decode (when it ends on a field
		// boundary), never panic.
		failed := 0
		for n := 1; n < len(valid); n++ {
			var tc touchpoint.Touch
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("UnmarshalBinary(valid[:%d]) panicked: %v", n, r)
					}
				}()
				if tc.UnmarshalBinary(valid[:n]) != nil {
					failed++
				}
			}()
		}
		if failed == 0 {
			t.Fatalf("no prefix failed")
		}
		// A lone tag byte after the version: no length.
		var tc touchpoint.Touch
		if err := tc.UnmarshalBinary(valid[:2]); err == nil {
			t.Fatalf("UnmarshalBinary(version+tag) succeeded")
		}
		// Cut inside the PID string.
		want := fullTouch()
		pid := field(66, []byte(want.PID))
		i := bytes.Index(valid, pid)
		if i < 0 {
			t.Fatalf("PID field %x not found in the encoding", pid)
		}
		for _, cut := range []int{i + 1, i + 2, i + 5, i + len(pid) - 1} {
			var tc touchpoint.Touch
			if err := tc.UnmarshalBinary(valid[:cut]); err == nil {
				t.Fatalf("UnmarshalBinary cut at %d (PID field at %d..%d) succeeded", cut, i, i+len(pid))
			}
		}
	})
	t.Run("ErrLength", func(t *testing.T) {
		for name, b := range map[string][]byte{
			"Overlong":          append([]byte{1}, field(66, []byte("abc"))[:4]...),
			"LengthPastEnd":     {1, 66, 10, 'a', 'b'},
			"HugeLength":        {1, 66, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 'a'},
			"UvarintOverflow":   {1, 66, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
			"UnterminatedLen":   {1, 66, 0x80},
			"ExtraKeyTooLong":   append([]byte{1}, field(81, []byte{5, 'a', 'b'})...),
			"ExtraKeyBadVarint": append([]byte{1}, field(81, []byte{0x80})...),
			"ExtraEmpty":        append([]byte{1}, field(81, nil)...),
		} {
			t.Run(name, func(t *testing.T) {
				var tc touchpoint.Touch
				if err := tc.UnmarshalBinary(b); err == nil {
					t.Fatalf("UnmarshalBinary(%x) succeeded: %+v", b, tc)
				}
			})
		}
	})
}

func TestTouchCodecUnknownTag(t *testing.T) {
	want := fullTouch()
	valid := want.AppendBinary(nil)
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"End", append(append([]byte(nil), valid...), field(200, []byte("future field"))...)},
		{"EndEmpty", append(append([]byte(nil), valid...), field(200, nil)...)},
		{"Middle", append(append([]byte{1}, field(63, bytes.Repeat([]byte{0xab}, 300))...), valid[1:]...)},
		{"Tag0", append(append([]byte(nil), valid...), field(0, []byte{1, 2, 3})...)},
		{"Tag255", append(append([]byte(nil), valid...), field(255, []byte{9})...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			equalTouch(t, decode(t, tc.b), want)
		})
	}
}

// smallTouch is a touch with every field set, to short values: a seed
// small enough for the fuzzer to minimize its finds quickly.
func smallTouch() *touchpoint.Touch {
	t := &touchpoint.Touch{Kind: touchpoint.Click, Time: time.Unix(1800000000, 1), PID: "p", CustomSource: true,
		Extra: []touchpoint.Param{{Key: "k", Value: "v"}, {Key: "k", Value: ""}}, IP: "i", UA: "u", Language: "l",
		Verdict: touchpoint.VerdictValid, Rejected: true, Notes: []string{"n", ""}}
	t.Params.Incentivized, t.Params.Redirect = ptr(false), ptr(true)
	t.Params.Retargeting, t.Params.ReengagementWindow, t.Params.ClickLookback, t.Params.ViewThroughLookback = true, touchpoint.Day, touchpoint.Hour, 2*touchpoint.Hour
	t.Params.Expires = -3
	for i, p := range touchpoint.StringParams[:4] {
		*p.Field(&t.Params) = string(rune('a' + i))
	}
	t.Params.Ref = "r"
	t.Device[touchpoint.GAID] = touchpoint.DeviceID{Raw: "g", SHA1: "s", MD5: "m"}
	t.Device[touchpoint.AmazonAID].MD5 = "a"
	return t
}

func FuzzTouchCodec(f *testing.F) {
	f.Add(smallTouch().AppendBinary(nil))
	f.Add((&touchpoint.Touch{Kind: touchpoint.Click, Time: time.Unix(1800000000, 5), PID: "net"}).AppendBinary(nil))
	hashed := &touchpoint.Touch{Kind: touchpoint.Impression, Time: time.Unix(-5, 0), Verdict: touchpoint.VerdictValid, Notes: []string{"n"}}
	hashed.Device[touchpoint.IDFA].SHA1 = sha1Hex("x")
	hashed.Params.Incentivized = ptr(true)
	f.Add(hashed.AppendBinary(nil))
	f.Add([]byte{1})
	f.Add(append(smallTouch().AppendBinary(nil), field(200, []byte("x"))...))
	f.Fuzz(func(t *testing.T, b []byte) {
		var t1 touchpoint.Touch
		if err := t1.UnmarshalBinary(b); err != nil {
			return
		}
		// Skipped: data without a time field decodes to the zero time,
		// which comes back as the same instant in UTC (Equal, not
		// DeepEqual); and window hour counts that overflow a
		// time.Duration decode to windows that are not a whole number of
		// hours, which AppendBinary truncates.
		if !representable(&t1) {
			return
		}
		b2 := t1.AppendBinary(nil)
		var t2 touchpoint.Touch
		if err := t2.UnmarshalBinary(b2); err != nil {
			t.Fatalf("re-encoding %x of %x does not decode: %v", b2, b, err)
		}
		if !reflect.DeepEqual(t1, t2) {
			t.Fatalf("decode(encode(decode(%x))) differs:\n got %+v\nwant %+v", b, t2, t1)
		}
		if b3 := t2.AppendBinary(nil); !bytes.Equal(b3, b2) {
			t.Fatalf("encoding is not stable: %x then %x", b2, b3)
		}
	})
}

// representable reports whether AppendBinary can encode t exactly.
func representable(t *touchpoint.Touch) bool {
	// A decoded time is always in UTC, unless the data had no time field.
	if t.Time.IsZero() {
		return false
	}
	for _, w := range []touchpoint.Window{t.Params.ClickLookback, t.Params.ViewThroughLookback, t.Params.ReengagementWindow} {
		if w%touchpoint.Hour != 0 {
			return false
		}
	}
	return true
}
