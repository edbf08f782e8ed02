package link

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// Click signing (AppsFlyer's click-signing documentation). AppsFlyer does not publish the exact
// string it signs, so Touchpoint defines it:
//
//	string to sign = the link's raw query string exactly as sent (percent-
//	                 encoding untouched, parameters in their order) with the
//	                 signature parameter removed, together with the '&' that
//	                 joined it to its neighbour.
//	signature      = base64url, without padding, of HMAC-SHA256 keyed with
//	                 the secret string's bytes, over the string to sign.
//	expires        = Unix time in seconds (milliseconds are accepted too: a
//	                 value above 10^11 is read as milliseconds); it must be in
//	                 the signed query and in the future.
//
// So a network signs the query it is about to send, say
// "pid=net_int&clickid=abc&expires=1700000000", and appends
// "&signature=<43 characters>". The path is not signed: a secret belongs to
// one app's partner, so a signature made for one app fails on any other.

// StringToSign returns the raw query with every signature parameter removed.
func StringToSign(rawQuery string) string {
	if !strings.Contains(rawQuery, "signature=") {
		return rawQuery
	}
	var b strings.Builder
	b.Grow(len(rawQuery))
	for rawQuery != "" {
		var pair string
		pair, rawQuery, _ = strings.Cut(rawQuery, "&")
		if pair == "" {
			continue
		}
		if k, _, _ := strings.Cut(pair, "="); k == "signature" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(pair)
	}
	return b.String()
}

// Sign returns the signature of stringToSign under secret.
func Sign(secret, stringToSign string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(stringToSign))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// SignURL signs a click URL: it sets expires (replacing one already there)
// and appends the signature of the resulting query.
func SignURL(rawURL, secret string, expires time.Time) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", touchpoint.Errorf(touchpoint.EINVALID, "url %q: %v", rawURL, err)
	}
	var kept []string
	for _, pair := range strings.Split(u.RawQuery, "&") {
		// Names as the click reads them: "expire%73" is expires too, and
		// one left in would be read before the one set here.
		rk, _, _ := strings.Cut(pair, "=")
		k, _ := unescape(rk)
		if pair == "" || k == "expires" || k == "signature" {
			continue
		}
		kept = append(kept, pair)
	}
	kept = append(kept, "expires="+strconv.FormatInt(expires.Unix(), 10))
	u.RawQuery = strings.Join(kept, "&")
	u.RawQuery += "&signature=" + Sign(secret, u.RawQuery)
	return u.String(), nil
}

// Verify checks the signature of a link's raw query against a partner's
// secrets at time now. expires and signature are the parsed values. The
// checks run in this order: no active secret, missing signature, expired
// (or no expires), then the HMAC against every active secret.
func Verify(rawQuery string, expires int64, signature string, secrets []*touchpoint.SigningSecret, now time.Time) touchpoint.Verdict {
	active := 0
	for _, s := range secrets {
		if s.Active(now) {
			active++
		}
	}
	switch {
	case active == 0:
		return touchpoint.VerdictNoActiveSecrets
	case signature == "":
		return touchpoint.VerdictMissingSignature
	case expires == 0 || now.Unix() >= expires:
		return touchpoint.VerdictClickExpired
	}
	got, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(signature, "="))
	if err != nil || len(got) != sha256.Size {
		return touchpoint.VerdictInvalidSignature
	}
	msg := []byte(StringToSign(rawQuery))
	for _, s := range secrets {
		if !s.Active(now) {
			continue
		}
		m := hmac.New(sha256.New, []byte(s.Secret))
		m.Write(msg)
		if hmac.Equal(m.Sum(nil), got) {
			return touchpoint.VerdictValid
		}
	}
	return touchpoint.VerdictInvalidSignature
}

// VerifyQuery verifies the signature of a raw query, reading its expires
// and signature parameters as a click would; the admin test endpoint runs it.
func VerifyQuery(rawQuery string, secrets []*touchpoint.SigningSecret, now time.Time) touchpoint.Verdict {
	var t touchpoint.Touch
	var o overrides
	_ = parseQuery(rawQuery, &t, &o) // a missing pid does not matter here
	return Verify(rawQuery, t.Params.Expires, t.Params.Signature, secrets, now)
}
