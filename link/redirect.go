package link

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/touchpointhq/touchpoint"
)

// Redirect returns where a click sends the user: af_r when the link has a
// valid one (only absolute http(s) URLs are ever kept, so this is never an
// open redirect to another scheme), else the app's store URL. A Google Play
// store URL gets an install referrer carrying our touch id (af_tranid), pid,
// campaign and the network's click id, so that the first launch can be
// matched to this click by referrer; a store URL that already has a referrer
// is left as it is.
func Redirect(app *touchpoint.App, t *touchpoint.Touch) string {
	if t.Params.RedirectURL != "" {
		return t.Params.RedirectURL
	}
	if !strings.HasPrefix(app.StoreURL, "https://play.google.com/") || strings.Contains(app.StoreURL, "referrer=") {
		return app.StoreURL
	}
	// The referrer is itself a query string, escaped as one value: its
	// parts are escaped twice.
	b := make([]byte, 0, len(app.StoreURL)+128)
	b = append(b, app.StoreURL...)
	b = append(b, sep(app.StoreURL)...)
	b = append(b, "referrer=af_tranid%3D"...)
	b = strconv.AppendInt(b, t.ID, 10)
	b = append(b, "%26pid%3D"...)
	b = appendTwiceEscaped(b, t.PID)
	if t.Params.Campaign != "" {
		b = append(b, "%26c%3D"...)
		b = appendTwiceEscaped(b, t.Params.Campaign)
	}
	if t.Params.ClickID != "" {
		b = append(b, "%26clickid%3D"...)
		b = appendTwiceEscaped(b, t.Params.ClickID)
	}
	return string(b)
}

// Referrer is the install referrer we hand to Google Play for a touch.
func Referrer(t *touchpoint.Touch) string {
	v := "af_tranid=" + strconv.FormatInt(t.ID, 10) + "&pid=" + url.QueryEscape(t.PID)
	if t.Params.Campaign != "" {
		v += "&c=" + url.QueryEscape(t.Params.Campaign)
	}
	if t.Params.ClickID != "" {
		v += "&clickid=" + url.QueryEscape(t.Params.ClickID)
	}
	return v
}

// appendTwiceEscaped appends url.QueryEscape(url.QueryEscape(s)), without
// allocating when s needs no escaping (the usual case).
func appendTwiceEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~') {
			return append(b, url.QueryEscape(url.QueryEscape(s))...)
		}
	}
	return append(b, s...)
}

func sep(u string) string {
	if strings.Contains(u, "?") {
		return "&"
	}
	return "?"
}

// Build returns a click (or impression) link for an app: base is the
// server's public URL, such as https://touch.example.com. Placeholders
// such as {click_id} or {advertising_id} in a value are kept as written,
// braces unescaped, for the network to fill in when it serves the link;
// the rest of the value is escaped.
func Build(base string, kind touchpoint.TouchKind, appID, pid string, params []touchpoint.Param) string {
	prefix := "/c/"
	if kind == touchpoint.Impression {
		prefix = "/v/"
	}
	q := "pid=" + url.QueryEscape(pid)
	for _, p := range params {
		q += "&" + url.QueryEscape(p.Key) + "=" + escapeKeepingPlaceholders(p.Value)
	}
	return strings.TrimRight(base, "/") + prefix + url.PathEscape(appID) + "?" + q
}

// placeholderRE matches a network's {macro} placeholder.
var placeholderRE = regexp.MustCompile(`\{[A-Za-z0-9_.-]+\}`)

// escapeKeepingPlaceholders query-escapes v but for its placeholders.
func escapeKeepingPlaceholders(v string) string {
	var b strings.Builder
	last := 0
	for _, m := range placeholderRE.FindAllStringIndex(v, -1) {
		b.WriteString(url.QueryEscape(v[last:m[0]]))
		b.WriteString(v[m[0]:m[1]])
		last = m[1]
	}
	b.WriteString(url.QueryEscape(v[last:]))
	return b.String()
}
