package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// Sessions. Signing in takes the admin token once; the dashboard then
// keeps a session cookie: an expiry and a random id, signed with a key
// derived from the admin token. Nothing is stored on the server, so any
// node of several serves a session another node opened, and changing the
// admin token ends every session. Signing out clears the cookie; a copy
// of the cookie taken before then stays valid until it expires
// (SessionLength) or the admin token changes.
//
// The cookie is HttpOnly, SameSite=Strict, and Secure when the dashboard is
// served over TLS. Every form carries a CSRF token derived from the session
// (the sign-in form, which comes before any session, one kept in a cookie
// of its own), and a POST whose Origin is another site's is refused too.

// SessionLength is how long a session lasts.
const SessionLength = 12 * time.Hour

const (
	sessionCookie = "tp_session"
	signinCookie  = "tp_signin" // the sign-in form's CSRF token
	csrfField     = "csrf"
)

// session is a signed-in browser.
type session struct {
	id  []byte // 16 random bytes
	key []byte
}

type sessionKey struct{}

func sessionOf(r *http.Request) *session {
	s, _ := r.Context().Value(sessionKey{}).(*session)
	return s
}

// key is the key sessions are signed with.
func (h *Handler) key() []byte {
	m := hmac.New(sha256.New, []byte(h.AdminToken))
	m.Write([]byte("touchpoint dashboard session v1"))
	return m.Sum(nil)
}

// newSession returns a cookie value for a new session, valid until exp.
func (h *Handler) newSession(exp time.Time) string {
	b := make([]byte, 8+16, 8+16+32)
	binary.BigEndian.PutUint64(b, uint64(exp.Unix()))
	rand.Read(b[8:])
	m := hmac.New(sha256.New, h.key())
	m.Write(b)
	return base64.RawURLEncoding.EncodeToString(m.Sum(b))
}

// readSession checks a cookie value: signed by this admin token and not
// expired at now.
func (h *Handler) readSession(v string, now time.Time) *session {
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || len(b) != 8+16+32 || h.AdminToken == "" {
		return nil
	}
	key := h.key()
	m := hmac.New(sha256.New, key)
	m.Write(b[:24])
	if !hmac.Equal(m.Sum(nil), b[24:]) {
		return nil
	}
	if exp := time.Unix(int64(binary.BigEndian.Uint64(b)), 0); !now.Before(exp) {
		return nil
	}
	return &session{id: b[8:24], key: key}
}

// csrf is the session's CSRF token.
func (s *session) csrf() string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("csrf"))
	m.Write(s.id)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

// checkForm checks a POST of the session: its CSRF token, and its origin.
func (s *session) checkForm(r *http.Request) error {
	if err := sameOrigin(r); err != nil {
		return err
	}
	got := r.PostFormValue(csrfField)
	if subtle.ConstantTimeCompare([]byte(got), []byte(s.csrf())) != 1 {
		return errStaleForm
	}
	return nil
}

var errStaleForm = touchpoint.Errorf(touchpoint.EINVALID, "this form is out of date (or was not sent from the dashboard): reload the page and send it again")

// sameOrigin refuses a request whose Origin (or, lacking one, Referer)
// names another site than the one it was sent to.
func sameOrigin(r *http.Request) error {
	o := r.Header.Get("Origin")
	if o == "" {
		o = r.Header.Get("Referer")
	}
	if o == "" || o == "null" && r.Header.Get("Sec-Fetch-Site") == "same-origin" {
		return nil
	}
	u, err := url.Parse(o)
	if err != nil || !strings.EqualFold(u.Host, r.Host) {
		return touchpoint.Errorf(touchpoint.EUNAUTHORIZED, "this form was sent from another site (%s): it was not accepted", o)
	}
	return nil
}

// session wraps a handler that needs a signed-in browser: without one, a
// page asks to sign in, and anything else is refused.
func (h *Handler) session(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var s *session
		if c, err := r.Cookie(sessionCookie); err == nil {
			s = h.readSession(c.Value, h.Store.Now())
		}
		if s == nil {
			setSecurityHeaders(w)
			if r.Method == http.MethodGet && r.Header.Get("Accept") != "text/event-stream" {
				http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			http.Error(w, "sign in to the dashboard first", http.StatusUnauthorized)
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, s)))
	}
}

// signinData is the sign-in page's.
type signinData struct {
	Next string
}

// GET /signin
func (h *Handler) handleSignInForm(w http.ResponseWriter, r *http.Request, v *View) error {
	v.Title = "Sign in"
	tok := make([]byte, 18)
	rand.Read(tok)
	v.CSRF = base64.RawURLEncoding.EncodeToString(tok)
	http.SetCookie(w, &http.Cookie{Name: signinCookie, Value: v.CSRF, Path: "/signin", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: h.isTLS(r), MaxAge: 3600})
	return v.Render("signin", signinData{Next: safeNext(r.URL.Query().Get("next"))})
}

// POST /signin
func (h *Handler) handleSignIn(w http.ResponseWriter, r *http.Request, v *View) error {
	v.Title = "Sign in"
	next := safeNext(r.PostFormValue("next"))
	c, err := r.Cookie(signinCookie)
	if err := sameOrigin(r); err != nil {
		return err
	}
	if err != nil || subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostFormValue(csrfField))) != 1 {
		return errStaleForm
	}
	token := strings.TrimSpace(r.PostFormValue("token"))
	if h.AdminToken == "" || subtle.ConstantTimeCompare([]byte(token), []byte(h.AdminToken)) != 1 {
		v.CSRF = c.Value
		v.Fail(touchpoint.Errorf(touchpoint.EUNAUTHORIZED, "that is not the admin token: `touchpoint serve` printed it when it started, and keeps it in the token file of its data directory"))
		return v.Render("signin", signinData{Next: next})
	}
	http.SetCookie(w, &http.Cookie{Name: signinCookie, Path: "/signin", MaxAge: -1})
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: h.newSession(h.Store.Now().Add(SessionLength)), Path: "/",
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: h.isTLS(r), MaxAge: int(SessionLength / time.Second)})
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// POST /signout
func (h *Handler) handleSignOut(w http.ResponseWriter, r *http.Request, v *View) error {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: h.isTLS(r)})
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
	return nil
}

// safeNext keeps a page to go to after signing in on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}

func (h *Handler) isTLS(r *http.Request) bool {
	if h.TLS != nil {
		return h.TLS(r)
	}
	return r.TLS != nil
}
