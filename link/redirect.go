package link

import (
	"net/url"
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
	return app.StoreURL + sep(app.StoreURL) + "referrer=" + url.QueryEscape(Referrer(t))
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

func sep(u string) string {
	if strings.Contains(u, "?") {
		return "&"
	}
	return "?"
}

// Build returns a click (or impression) link for an app: base is the
// server's public URL, such as https://touch.example.com.
func Build(base string, kind touchpoint.TouchKind, appID, pid string, params []touchpoint.Param) string {
	prefix := "/c/"
	if kind == touchpoint.Impression {
		prefix = "/v/"
	}
	q := "pid=" + url.QueryEscape(pid)
	for _, p := range params {
		q += "&" + url.QueryEscape(p.Key) + "=" + url.QueryEscape(p.Value)
	}
	return strings.TrimRight(base, "/") + prefix + url.PathEscape(appID) + "?" + q
}
