package web_test

import (
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint/httpapi"
)

func TestSignIn(t *testing.T) {
	s, clk := startServer(t)

	// Without a session, a page asks to sign in and comes back after.
	b := newBrowser(t, s)
	p := b.get("/settings")
	if p.URL != "/signin" {
		t.Fatalf("GET /settings without a session ended at %s, want /signin", p.URL)
	}
	p.mustContain(t, `name="next" value="/settings"`, `type="password"`)

	// A wrong token is refused in words, and sets no session.
	p = b.post("/signin", url.Values{"token": {"wrong"}, "next": {"/settings"}})
	if p.Status != http.StatusUnauthorized {
		t.Fatalf("wrong token: %d", p.Status)
	}
	p.mustContain(t, "that is not the admin token")
	if b.get("/settings").URL != "/signin" {
		t.Fatal("a wrong token opened a session")
	}

	// The sign-in form's own CSRF token is required.
	p = b.post("/signin", url.Values{"token": {token}, "csrf": {"forged"}})
	if p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "out of date") {
		t.Fatalf("sign-in without its CSRF token: %d %s", p.Status, p.Body)
	}

	// The right token opens a session and goes where it was asked.
	b.get("/signin?next=/settings")
	p = b.post("/signin", url.Values{"token": {token}, "next": {"/settings"}})
	if p.Status != http.StatusOK || p.URL != "/settings" {
		t.Fatalf("sign in: %d at %s", p.Status, p.URL)
	}
	var cookie *http.Cookie
	u, _ := url.Parse(s.URL())
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == "tp_session" {
			cookie = c
		}
	}
	if cookie == nil {
		t.Fatal("no session cookie")
	}

	// A next page on another site is not followed.
	b2 := newBrowser(t, s)
	b2.get("/signin")
	p = b2.post("/signin", url.Values{"token": {token}, "next": {"//evil.example/x"}})
	if p.URL != "/" && !strings.HasPrefix(p.URL, "/apps/") {
		t.Fatalf("next //evil.example: ended at %s", p.URL)
	}

	// The session ends after SessionLength.
	clk.Add(13 * time.Hour)
	if b.get("/settings").URL != "/signin" {
		t.Fatal("a session outlived its length")
	}
}

func TestSessionCookieAttributes(t *testing.T) {
	// Behind a trusted proxy that terminates TLS, the cookie is Secure;
	// the same header from anyone else changes nothing.
	for _, tc := range []struct {
		name    string
		proxies []netip.Prefix
		secure  bool
	}{
		{"plain HTTP", nil, false},
		{"a trusted proxy's https", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, true},
		{"an untrusted https header", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := startServer(t, func(s *httpapi.Server) { s.TrustedProxies = tc.proxies })
			set := signInCookie(t, s, "https")
			if got := strings.Contains(set, "; Secure"); got != tc.secure {
				t.Fatalf("session cookie %q: Secure %v, want %v", set, got, tc.secure)
			}
		})
	}
}

// signInCookie signs in with X-Forwarded-Proto: proto and returns the
// session cookie's Set-Cookie, after checking its other attributes.
func signInCookie(t *testing.T, s *server, proto string) string {
	t.Helper()
	b := newBrowser(t, s)
	b.get("/signin")
	form := url.Values{"token": {token}, "csrf": {b.csrf}}
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"/signin", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-Proto", proto)
	u, _ := url.Parse(s.URL() + "/signin")
	for _, c := range b.c.Jar.Cookies(u) {
		req.AddCookie(c)
	}
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var set string
	for _, c := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "tp_session=") {
			set = c
		}
	}
	for _, want := range []string{"HttpOnly", "SameSite=Strict", "Path=/"} {
		if !strings.Contains(set, want) {
			t.Errorf("session cookie %q lacks %s", set, want)
		}
	}
	return set
}

func TestCSRFAndOrigin(t *testing.T) {
	s, _ := startServer(t)
	b := signIn(t, s)
	b.mustGet("/settings")

	// A POST without the session's token, or from another site, changes
	// nothing and says why.
	p := b.post("/settings/apps", url.Values{"csrf": {"nope"}, "app_id": {"com.example.csrf"}, "platform": {"android"}, "name": {"X"}})
	if p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "out of date") {
		t.Fatalf("POST without the CSRF token: %d %s", p.Status, p.Body)
	}
	form := url.Values{"csrf": {b.csrf}, "app_id": {"com.example.csrf"}, "platform": {"android"}, "name": {"X"}}
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"/settings/apps", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	p = b.do(req)
	if p.Status != http.StatusUnauthorized || !strings.Contains(p.Body, "another site") {
		t.Fatalf("POST from another origin: %d %s", p.Status, p.Body)
	}
	var apps struct{ Apps []map[string]any }
	s.api(t, 200, "GET", "/api/v1/apps", nil, &apps)
	if len(apps.Apps) != 0 {
		t.Fatalf("a refused form created %v", apps.Apps)
	}

	// Signing out ends the session in this browser.
	b.mustGet("/settings")
	p = b.post("/signout", nil)
	if p.URL != "/signin" {
		t.Fatalf("sign out ended at %s", p.URL)
	}
	if b.get("/settings").URL != "/signin" {
		t.Fatal("still signed in after signing out")
	}
	// A POST without a session is refused.
	if p := b.post("/signout", nil); p.URL != "/signin" && p.Status != http.StatusUnauthorized {
		t.Fatalf("POST without a session: %d at %s", p.Status, p.URL)
	}
}

func TestSecurityHeaders(t *testing.T) {
	s, _ := startServer(t)
	b := signIn(t, s)
	for _, path := range []string{"/signin", "/settings", "/static/app.css", "/static/app.js", "/no/such/page"} {
		p := b.get(path)
		csp := p.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: Content-Security-Policy %q", path, csp)
		}
		if path == "/no/such/page" {
			continue
		}
		if p.Status != 200 {
			t.Errorf("%s: %d", path, p.Status)
		}
		// No inline script or style: the policy would block it.
		for _, bad := range []string{"<script>", "style=", "<style", " on" + "click="} {
			if strings.Contains(p.Body, bad) && !strings.HasPrefix(path, "/static/") {
				t.Errorf("%s has inline %q", path, bad)
			}
		}
	}
	if ct := b.get("/static/app.js").Header.Get("Content-Type"); !strings.Contains(ct, "javascript") {
		t.Errorf("app.js served as %q", ct)
	}
}
