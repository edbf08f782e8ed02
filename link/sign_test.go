package link_test

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/link"
)

// A fixed vector, so that networks can check their signing code against
// ours: HMAC-SHA256 keyed with the secret's bytes over the query without
// its signature parameter, base64url without padding.
func TestSignVector(t *testing.T) {
	const secret = "topsecret"
	const query = "pid=examplenet_int&clickid=abc&expires=1900000000"
	// Computed independently with:
	//   printf %s "$query" | openssl dgst -sha256 -hmac topsecret -binary | basenc --base64url | tr -d =
	const want = "boo0gmUXIGL1X9kjgsaF2SpbvIZmvxkudRWXqVNMAKc"
	if got := link.Sign(secret, query); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
	if len(want) != 43 {
		t.Fatalf("signature length %d, want 43", len(want))
	}
	for _, q := range []string{
		query + "&signature=" + want,
		"signature=" + want + "&" + query,
		"pid=examplenet_int&signature=" + want + "&clickid=abc&expires=1900000000",
	} {
		if got := link.StringToSign(q); got != query {
			t.Errorf("StringToSign(%s) = %s", q, got)
		}
	}
}

func TestVerify(t *testing.T) {
	active := &touchpoint.SigningSecret{ID: "a", Secret: "secret-a", ExpiresAt: now.Add(time.Hour)}
	other := &touchpoint.SigningSecret{ID: "b", Secret: "secret-b", ExpiresAt: now.Add(time.Hour)}
	expired := &touchpoint.SigningSecret{ID: "c", Secret: "secret-c", ExpiresAt: now.Add(-time.Second)}
	revokedAt := now.Add(-time.Minute)
	revoked := &touchpoint.SigningSecret{ID: "d", Secret: "secret-d", ExpiresAt: now.Add(time.Hour), RevokedAt: &revokedAt}

	exp := strconv.FormatInt(now.Add(10*time.Minute).Unix(), 10)
	base := "pid=net_int&clickid=c1&expires=" + exp
	signed := func(secret, q string) string { return q + "&signature=" + link.Sign(secret, q) }
	for _, tc := range []struct {
		name    string
		query   string
		secrets []*touchpoint.SigningSecret
		want    touchpoint.Verdict
	}{
		{"valid", signed("secret-a", base), []*touchpoint.SigningSecret{active}, touchpoint.VerdictValid},
		{"valid with the second of two keys", signed("secret-b", base), []*touchpoint.SigningSecret{active, other}, touchpoint.VerdictValid},
		{"valid, signature first", "signature=" + link.Sign("secret-a", base) + "&" + base, []*touchpoint.SigningSecret{active}, touchpoint.VerdictValid},
		{"expires in milliseconds", signed("secret-a", "pid=net_int&expires="+exp+"000"), []*touchpoint.SigningSecret{active}, touchpoint.VerdictValid},
		{"expired", signed("secret-a", "pid=net_int&expires="+strconv.FormatInt(now.Add(-time.Second).Unix(), 10)), []*touchpoint.SigningSecret{active}, touchpoint.VerdictClickExpired},
		{"expires now", signed("secret-a", "pid=net_int&expires="+strconv.FormatInt(now.Unix(), 10)), []*touchpoint.SigningSecret{active}, touchpoint.VerdictClickExpired},
		{"no expires", signed("secret-a", "pid=net_int&clickid=c1"), []*touchpoint.SigningSecret{active}, touchpoint.VerdictClickExpired},
		{"tampered parameter", strings.Replace(signed("secret-a", base), "clickid=c1", "clickid=c2", 1), []*touchpoint.SigningSecret{active}, touchpoint.VerdictInvalidSignature},
		{"tampered expiry", strings.Replace(signed("secret-a", base), "expires="+exp, "expires="+exp+"9", 1), []*touchpoint.SigningSecret{active}, touchpoint.VerdictInvalidSignature},
		{"added parameter", signed("secret-a", base) + "&af_sub1=x", []*touchpoint.SigningSecret{active}, touchpoint.VerdictInvalidSignature},
		{"wrong key", signed("secret-x", base), []*touchpoint.SigningSecret{active}, touchpoint.VerdictInvalidSignature},
		{"signature not base64url", base + "&signature=***", []*touchpoint.SigningSecret{active}, touchpoint.VerdictInvalidSignature},
		{"signature too short", base + "&signature=abc", []*touchpoint.SigningSecret{active}, touchpoint.VerdictInvalidSignature},
		{"revoked key", signed("secret-d", base), []*touchpoint.SigningSecret{active, revoked}, touchpoint.VerdictInvalidSignature},
		{"only a revoked key", signed("secret-d", base), []*touchpoint.SigningSecret{revoked}, touchpoint.VerdictNoActiveSecrets},
		{"only an expired key", signed("secret-c", base), []*touchpoint.SigningSecret{expired}, touchpoint.VerdictNoActiveSecrets},
		{"no secret", signed("secret-a", base), nil, touchpoint.VerdictNoActiveSecrets},
		{"missing signature", base, []*touchpoint.SigningSecret{active}, touchpoint.VerdictMissingSignature},
		{"empty signature", base + "&signature=", []*touchpoint.SigningSecret{active}, touchpoint.VerdictMissingSignature},
	} {
		if got := link.VerifyQuery(tc.query, tc.secrets, now); got != tc.want {
			t.Errorf("%s: VerifyQuery = %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestSigningModes(t *testing.T) {
	secret := &touchpoint.SigningSecret{Secret: "k", ExpiresAt: now.Add(time.Hour)}
	exp := strconv.FormatInt(now.Add(time.Hour).Unix(), 10)
	good := "pid=net_int&expires=" + exp
	good += "&signature=" + link.Sign("k", good)
	bad := "pid=net_int&expires=" + exp + "&signature=" + link.Sign("wrong", "x")
	for _, tc := range []struct {
		mode     touchpoint.SigningMode
		query    string
		verdict  touchpoint.Verdict
		rejected bool
	}{
		{touchpoint.SigningDisabled, bad, touchpoint.VerdictUnchecked, false},
		{touchpoint.SigningReportOnly, bad, touchpoint.VerdictInvalidSignature, false},
		{touchpoint.SigningReportOnly, good, touchpoint.VerdictValid, false},
		{touchpoint.SigningEnabled, bad, touchpoint.VerdictInvalidSignature, true},
		{touchpoint.SigningEnabled, "pid=net_int", touchpoint.VerdictMissingSignature, true},
		{touchpoint.SigningEnabled, good, touchpoint.VerdictValid, false},
	} {
		p := partner("net_int")
		p.ClickSigning = tc.mode
		p.Secrets = []*touchpoint.SigningSecret{secret}
		got := newTouch(t, tc.query, p)
		if got.Verdict != tc.verdict || got.Rejected != tc.rejected {
			t.Errorf("%s %.40s: verdict %s rejected %v, want %s %v", tc.mode, tc.query, got.Verdict, got.Rejected, tc.verdict, tc.rejected)
		}
	}
	// A custom media source (no partner) is never checked.
	if got := newTouch(t, bad, nil); got.Verdict != touchpoint.VerdictUnchecked || got.Rejected {
		t.Fatalf("custom source: %s %v", got.Verdict, got.Rejected)
	}
}

func TestSignURL(t *testing.T) {
	signed, err := link.SignURL("https://touch.example.com/c/com.example.game?pid=net_int&clickid=c1&expires=1&signature=old", "k", now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(signed)
	if u.Query().Get("expires") != strconv.FormatInt(now.Add(time.Hour).Unix(), 10) || strings.Count(u.RawQuery, "signature=") != 1 {
		t.Fatalf("signed URL %s", signed)
	}
	secret := &touchpoint.SigningSecret{Secret: "k", ExpiresAt: now.Add(time.Hour)}
	if v := link.VerifyQuery(u.RawQuery, []*touchpoint.SigningSecret{secret}, now); v != touchpoint.VerdictValid {
		t.Fatalf("a URL signed by SignURL verifies as %s", v)
	}
	if _, err := link.SignURL("://bad", "k", now); touchpoint.ErrorCode(err) != touchpoint.EINVALID {
		t.Fatalf("bad URL: %v", err)
	}
}

func TestRedirect(t *testing.T) {
	play := &touchpoint.App{ID: "com.example.game", StoreURL: "https://play.google.com/store/apps/details?id=com.example.game"}
	ios := &touchpoint.App{ID: "id123456789", StoreURL: "https://apps.apple.com/app/id123456789"}
	tc := &touchpoint.Touch{ID: 42, PID: "net_int", Params: touchpoint.LinkParams{Campaign: "summer sale", ClickID: "c&1"}}
	got := link.Redirect(play, tc)
	want := "https://play.google.com/store/apps/details?id=com.example.game&referrer=" + url.QueryEscape(link.Referrer(tc))
	if got != want {
		t.Fatalf("Redirect = %s\nwant       %s", got, want)
	}
	u, _ := url.Parse(got)
	ref, _ := url.ParseQuery(u.Query().Get("referrer"))
	if ref.Get("af_tranid") != "42" || ref.Get("pid") != "net_int" || ref.Get("c") != "summer sale" || ref.Get("clickid") != "c&1" {
		t.Fatalf("referrer %v", ref)
	}
	if got := link.Redirect(ios, tc); got != ios.StoreURL {
		t.Fatalf("iOS redirect %s", got)
	}
	tc.Params.RedirectURL = "https://example.com/landing"
	if got := link.Redirect(play, tc); got != "https://example.com/landing" {
		t.Fatalf("af_r redirect %s", got)
	}
	withRef := &touchpoint.App{StoreURL: "https://play.google.com/store/apps/details?id=x&referrer=mine"}
	tc.Params.RedirectURL = ""
	if got := link.Redirect(withRef, tc); got != withRef.StoreURL {
		t.Fatalf("a store URL with its own referrer was changed: %s", got)
	}
}

func TestBuild(t *testing.T) {
	got := link.Build("https://t.example.com/", touchpoint.Click, "com.example.game", "net_int", []touchpoint.Param{{Key: "c", Value: "a b"}})
	if got != "https://t.example.com/c/com.example.game?pid=net_int&c=a+b" {
		t.Fatalf("Build = %s", got)
	}
	if got := link.Build("https://t.example.com", touchpoint.Impression, "id123456789", "n", nil); got != "https://t.example.com/v/id123456789?pid=n" {
		t.Fatalf("Build impression = %s", got)
	}
	// A network's placeholders stay as written, for it to fill in.
	got = link.Build("https://t.example.com", touchpoint.Click, "a", "n", []touchpoint.Param{{Key: "clickid", Value: "{click_id}"},
		{Key: "af_sub1", Value: "x {sub}&y"}})
	if got != "https://t.example.com/c/a?pid=n&clickid={click_id}&af_sub1=x+{sub}%26y" {
		t.Fatalf("Build with placeholders = %s", got)
	}
}
