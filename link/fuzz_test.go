package link_test

import (
	"encoding/json"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/link"
)

// The fuzz targets' fixed facts: a click at fuzzNow on an Android app.
var (
	fuzzNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	fuzzApp = &touchpoint.App{ID: "com.example.game", Platform: touchpoint.Android,
		StoreURL: "https://play.google.com/store/apps/details?id=com.example.game"}
)

// fuzzPartner is the partner of a fuzzed click: mode 0 is none (a custom
// media source), 1 a plain partner, 2 one allowed to send af_ip, af_ua and
// af_lang, 3 one with click signing enabled and one active secret.
func fuzzPartner(mode uint8) func(pid string) *link.Partner {
	if mode%4 == 0 {
		return func(string) *link.Partner { return nil }
	}
	return func(pid string) *link.Partner {
		p := &link.Partner{Partner: &touchpoint.Partner{PID: pid, ClickSigning: touchpoint.SigningDisabled}}
		switch mode % 4 {
		case 2:
			p.AllowIPUA = true
		case 3:
			p.ClickSigning = touchpoint.SigningEnabled
			p.Secrets = []*touchpoint.SigningSecret{{ID: "s1", Secret: "s3cret", ExpiresAt: fuzzNow.Add(time.Hour)}}
		}
		return p
	}
}

// FuzzNewTouch reads random link requests (query, User-Agent,
// Accept-Language) into touches. Besides never panicking: only a missing or
// over-long pid is an error; every value kept is within its length limit
// and valid UTF-8; the touch survives its stored form and JSON; a signing
// partner's verdict decides whether the touch is rejected.
func FuzzNewTouch(f *testing.F) {
	f.Fuzz(func(t *testing.T, rawQuery, userAgent, acceptLanguage string, mode uint8) {
		req := link.Request{Kind: touchpoint.Click, RawQuery: rawQuery, Time: fuzzNow, ClientIP: "198.51.100.7",
			UserAgent: userAgent, AcceptLanguage: acceptLanguage}
		tc, err := link.NewTouch(req, fuzzApp, fuzzPartner(mode))
		if err != nil {
			if touchpoint.ErrorCode(err) != touchpoint.EINVALID || tc != nil {
				t.Fatalf("NewTouch = %v, %v: want EINVALID and no touch", tc, err)
			}
			if touchpoint.ValidatePID(firstPID(rawQuery)) == nil {
				t.Fatalf("refused with a valid pid %q: %v", firstPID(rawQuery), err)
			}
			return
		}
		if err := touchpoint.ValidatePID(tc.PID); err != nil {
			t.Fatalf("accepted pid %q: %v", tc.PID, err)
		}
		if tc.App != fuzzApp.ID || !tc.Time.Equal(fuzzNow) || tc.Kind != touchpoint.Click {
			t.Fatalf("touch %+v: app, time or kind changed", tc)
		}
		for _, p := range touchpoint.StringParams {
			v := *p.Field(&tc.Params)
			if n := utf8.RuneCountInString(v); n > p.MaxLen() && v != "c_name_exceeded_max_length" {
				t.Errorf("%s is %d characters, over %d", p.Name, n, p.MaxLen())
			}
			checkUTF8(t, p.Name, v)
		}
		if len(tc.Extra) > link.MaxExtraParams {
			t.Errorf("%d extra parameters, over %d", len(tc.Extra), link.MaxExtraParams)
		}
		for _, x := range tc.Extra {
			checkUTF8(t, "extra key", x.Key)
			checkUTF8(t, "extra value", x.Value)
		}
		for typ, id := range tc.Device {
			checkUTF8(t, "device id", id.Raw)
			if len(id.Raw) > 128 || id.SHA1 != "" && len(id.SHA1) != 40 || id.MD5 != "" && len(id.MD5) != 32 {
				t.Errorf("device id %d: %+v", typ, id)
			}
		}
		checkUTF8(t, "pid", tc.PID)
		checkUTF8(t, "ip", tc.IP)
		checkUTF8(t, "user agent", tc.UA)
		checkUTF8(t, "language", tc.Language)
		if tc.Params.CostValue != "" && tc.Params.CostCurrency == "" {
			t.Errorf("a cost value %q without a currency", tc.Params.CostValue)
		}
		if tc.Params.RedirectURL != "" {
			if u, err := url.Parse(tc.Params.RedirectURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				t.Errorf("af_r %q kept: not an absolute http(s) URL", tc.Params.RedirectURL)
			}
		}
		switch {
		case mode%4 == 3:
			if tc.Rejected != (tc.Verdict != touchpoint.VerdictValid) {
				t.Errorf("verdict %s, rejected %v", tc.Verdict, tc.Rejected)
			}
		case tc.Verdict != touchpoint.VerdictUnchecked || tc.Rejected:
			t.Errorf("no signing, yet verdict %s, rejected %v", tc.Verdict, tc.Rejected)
		}

		// The stored form gives the touch back.
		var back touchpoint.Touch
		if err := back.UnmarshalBinary(tc.AppendBinary(nil)); err != nil {
			t.Fatalf("stored form: %v", err)
		}
		back.App = tc.App
		if !reflect.DeepEqual(&back, tc) {
			t.Errorf("stored form round trip:\n got %+v\nwant %+v", &back, tc)
		}
		if _, err := json.Marshal(tc); err != nil {
			t.Errorf("json: %v", err)
		}
	})
}

// firstPID is the first pid parameter of a query, decoded as a browser
// would, or "" when it has none or it does not decode.
func firstPID(rawQuery string) string {
	for _, pair := range strings.Split(rawQuery, "&") {
		k, v, _ := strings.Cut(pair, "=")
		if dk, err := url.QueryUnescape(k); err == nil && dk == "pid" {
			if dv, err := url.QueryUnescape(v); err == nil {
				return strings.ToValidUTF8(dv, "\uFFFD")
			}
			return ""
		}
	}
	return ""
}

func checkUTF8(t *testing.T, field, s string) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Errorf("%s %q is not valid UTF-8", field, s)
	}
}

// FuzzVerify checks click signatures over random queries and secrets. A
// query signed with SignURL verifies valid with its secret, until it
// expires; with another secret it is invalid; changing its signed part
// breaks it; and a click on it is accepted by a partner with signing
// enabled. Verifying any query never panics.
func FuzzVerify(f *testing.F) {
	f.Fuzz(func(t *testing.T, rawQuery, secret string, ttlSeconds uint32) {
		active := func(s string) []*touchpoint.SigningSecret {
			return []*touchpoint.SigningSecret{{ID: "s", Secret: s, ExpiresAt: fuzzNow.Add(2 * 365 * 24 * time.Hour)}}
		}
		// Any query: a verdict, never a panic.
		if v := link.VerifyQuery(rawQuery, active(secret), fuzzNow); v == touchpoint.VerdictUnchecked {
			t.Fatalf("VerifyQuery(%q) = %s", rawQuery, v)
		}

		ttl := time.Duration(ttlSeconds%(365*24*3600)+1) * time.Second
		signed, err := link.SignURL("https://go.example.com/c/com.example.game?"+rawQuery, secret, fuzzNow.Add(ttl))
		if err != nil {
			return // not a URL: SignURL says so
		}
		u, err := url.Parse(signed)
		if err != nil {
			t.Fatalf("SignURL made %q, which does not parse: %v", signed, err)
		}
		q := u.RawQuery
		if v := link.VerifyQuery(q, active(secret), fuzzNow); v != touchpoint.VerdictValid {
			t.Fatalf("SignURL(%q) = %q verifies as %s, want valid", rawQuery, q, v)
		}
		if v := link.VerifyQuery(q, active(secret+"x"), fuzzNow); v != touchpoint.VerdictInvalidSignature {
			t.Errorf("another secret: %s, want invalid_signature", v)
		}
		if v := link.VerifyQuery(q, active(secret), fuzzNow.Add(ttl)); v != touchpoint.VerdictClickExpired {
			t.Errorf("at its expiry: %s, want click_expired", v)
		}
		if v := link.VerifyQuery("af_sub5=x&"+q, active(secret), fuzzNow); v != touchpoint.VerdictInvalidSignature {
			t.Errorf("a parameter added: %s, want invalid_signature", v)
		}
		tc, err := link.NewTouch(link.Request{Kind: touchpoint.Click, RawQuery: q, Time: fuzzNow}, fuzzApp, func(pid string) *link.Partner {
			return &link.Partner{Partner: &touchpoint.Partner{PID: pid, ClickSigning: touchpoint.SigningEnabled}, Secrets: active(secret)}
		})
		if err == nil && (tc.Verdict != touchpoint.VerdictValid || tc.Rejected) {
			t.Errorf("a click on the signed link: verdict %s, rejected %v", tc.Verdict, tc.Rejected)
		}
	})
}
