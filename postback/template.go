// Package postback renders AppsFlyer-style postback templates: a URL (GET)
// or a URL and a body (POST) with parentheses macros such as (clickid) and
// (advertiserId), filled from an install or an in-app event
// (AppsFlyer's postback documentation).
//
// A template is checked when it is saved (Parse): its URL must be an
// absolute http(s) URL with no macro in its scheme or host, and every
// macro must be known; the error of an unknown one lists the known ones.
// Rendering cannot fail.
//
// Values are encoded for where they stand: in the URL, URL-encoded (query
// style: a space is +); in a form body the same; in a JSON body, escaped as
// the inside of a JSON string (the template supplies the quotes).
package postback

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// Facts are what macros are filled from.
type Facts struct {
	App      *touchpoint.App
	DeviceID string // ours: (appsflyer-device-id)
	IDs      touchpoint.DeviceIDs
	// Launch is the install's first launch: the device at conversion (ip,
	// user agent, model, OS, language, app and SDK versions). In-app
	// postbacks carry the install's, as events do not report them.
	Launch      *touchpoint.Launch
	InstallTime time.Time
	// Attribution is the source the postback speaks of: the install's
	// winner, organic, or the rejected touch of a rejected install.
	Attribution touchpoint.Attribution
	Event       *touchpoint.Conversion // in-app postbacks
	// USD is the event's revenue in US dollars; nil when it could not be
	// converted, and (monetary) then carries the original value.
	USD *touchpoint.Amount
	// HideRevenue leaves the revenue macros empty (the partner's "send
	// revenue" is off).
	HideRevenue bool
	Rejection   *touchpoint.Rejection // rejected installs and events
}

// A macro fills one (name).
type macro struct {
	name string
	fill func(*Facts) string
}

func unix(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return strconv.FormatInt(t.Unix(), 10)
}

func launch(f *Facts) *touchpoint.Launch {
	if f.Launch == nil {
		return &touchpoint.Launch{}
	}
	return f.Launch
}

func rawID(typ touchpoint.DeviceIDType) func(*Facts) string {
	return func(f *Facts) string { return f.IDs[typ].Raw }
}

func revenue(f *Facts, fn func(*touchpoint.Conversion) string) string {
	if f.Event == nil || f.HideRevenue || f.Event.Currency == "" && f.Event.Revenue == 0 {
		return ""
	}
	return fn(f.Event)
}

// idMacros are the device-id macros; each also has a sha1- form.
var idMacros = []macro{
	{"idfa", rawID(touchpoint.IDFA)},
	{"advertiserId", rawID(touchpoint.GAID)},
	{"android-id", rawID(touchpoint.AndroidID)},
	{"vendorid", rawID(touchpoint.IDFV)},
	{"oaid", rawID(touchpoint.OAID)},
	{"imei", rawID(touchpoint.IMEI)},
	{"amazon-aid", rawID(touchpoint.AmazonAID)},
	{"appsflyer-device-id", func(f *Facts) string { return f.DeviceID }},
}

// Timestamps are Unix seconds. AppsFlyer names (install-unix-ts) as Unix
// time; for (click-ts), (timestamp) and the Google Play times it does not
// say (UNCONFIRMED): Unix seconds is what partner templates parse.
var otherMacros = []macro{
	{"app-id", func(f *Facts) string { return f.App.ID }},
	{"app-name", func(f *Facts) string { return f.App.Name }},
	{"app-version-name", func(f *Facts) string { return launch(f).AppVersion }},
	{"sdk-version", func(f *Facts) string { return launch(f).SDKVersion }},
	{"install-unix-ts", func(f *Facts) string { return unix(f.InstallTime) }},
	{"click-ts", func(f *Facts) string { return unix(f.Attribution.TouchTime) }},
	{"pid", func(f *Facts) string { return f.Attribution.MediaSource }},
	{"campaign", func(f *Facts) string { return f.Attribution.Params.Campaign }},
	{"ip", func(f *Facts) string { return launch(f).IP }},
	{"device-model", func(f *Facts) string { return launch(f).DeviceModel }},
	{"os-version", func(f *Facts) string { return launch(f).OSVersion }},
	{"user-agent", func(f *Facts) string { return launch(f).UA }},
	{"language", func(f *Facts) string { return launch(f).Language }},
	// AppsFlyer's table has a "two-character country code on conversion"
	// and the "city of user device recorded on conversion"; their
	// spellings are not in the sources at hand (UNCONFIRMED): these follow
	// the table's hyphenated names. Filled when serve has --geoip-db.
	{"country-code", func(f *Facts) string { return launch(f).CountryCode }},
	{"city", func(f *Facts) string { return launch(f).City }},
	{"match-type", func(f *Facts) string { return f.Attribution.MatchType.Postback() }},
	{"gp_referer_click_ts", func(f *Facts) string { return unix(launch(f).ClickTime) }},
	{"gp_referer_install_ts", func(f *Facts) string { return unix(launch(f).InstallBeginTime) }},
	{"event-name", func(f *Facts) string {
		if f.Event == nil {
			return ""
		}
		return f.Event.Name
	}},
	{"timestamp", func(f *Facts) string {
		if f.Event == nil {
			return ""
		}
		return unix(f.Event.Time)
	}},
	{"event-value", eventValue},
	{"encode", eventValue},
	{"monetary", func(f *Facts) string {
		return revenue(f, func(c *touchpoint.Conversion) string {
			if f.USD != nil {
				return f.USD.String()
			}
			return c.Revenue.String()
		})
	}},
	{"orig-monetary", func(f *Facts) string {
		return revenue(f, func(c *touchpoint.Conversion) string { return c.Revenue.String() })
	}},
	{"currency", func(f *Facts) string {
		return revenue(f, func(c *touchpoint.Conversion) string {
			if f.USD != nil {
				return "USD"
			}
			return c.Currency
		})
	}},
	{"reject-reason", func(f *Facts) string {
		if f.Rejection == nil {
			return ""
		}
		return f.Rejection.Reason
	}},
	{"reject-reason-value", func(f *Facts) string {
		if f.Rejection == nil {
			return ""
		}
		return f.Rejection.Value
	}},
}

// eventValue is the event's JSON value; AppsFlyer gives (event-value) and
// (encode) the same meaning: the whole value, encoded where it stands.
func eventValue(f *Facts) string {
	if f.Event == nil {
		return ""
	}
	return f.Event.Value
}

func sha1Hex(s string) string {
	if s == "" {
		return ""
	}
	h := sha1.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

// macros maps every known name to its filler: the macros above, the sha1-
// form of each id macro, and every link parameter by its name (the
// winning touch's, or the rejected one's).
var macros = func() map[string]func(*Facts) string {
	m := make(map[string]func(*Facts) string)
	for _, mc := range idMacros {
		fill := mc.fill
		m[mc.name] = fill
		m["sha1-"+mc.name] = func(f *Facts) string { return sha1Hex(fill(f)) }
	}
	for _, p := range touchpoint.StringParams {
		field := p.Field
		m[p.Name] = func(f *Facts) string { return *field(&f.Attribution.Params) }
	}
	for _, mc := range otherMacros {
		m[mc.name] = mc.fill // ours win over a link parameter of the same name
	}
	return m
}()

// Names returns every known macro name, sorted.
func Names() []string {
	out := make([]string, 0, len(macros))
	for name := range macros {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// Body encodings.
const (
	ContentForm = "application/x-www-form-urlencoded"
	ContentJSON = "application/json"
)

// Template is a postback request as a partner configures it.
type Template struct {
	Method      string `json:"method"` // GET or POST
	URL         string `json:"url"`
	Body        string `json:"body,omitempty"`         // POST only
	ContentType string `json:"content_type,omitempty"` // POST only; ContentForm by default
}

// Compiled is a checked template, ready to render.
type Compiled struct {
	Template
	host      string
	url, body []part
}

// part is a literal or, when fill is set, a macro.
type part struct {
	lit  string
	fill func(*Facts) string
}

var macroRE = regexp.MustCompile(`\(([A-Za-z0-9_-]+)\)`)

// Parse checks a template and compiles it. Errors are touchpoint EINVALID
// errors that say what to fix.
func Parse(t Template) (*Compiled, error) {
	t.Method = strings.ToUpper(strings.TrimSpace(t.Method))
	if t.Method == "" {
		t.Method = "GET"
	}
	switch t.Method {
	case "GET":
		if t.Body != "" {
			return nil, touchpoint.Errorf(touchpoint.EINVALID, "a GET postback has no body: use method POST, or put the values in the URL")
		}
		t.ContentType = ""
	case "POST":
		if t.ContentType == "" {
			t.ContentType = ContentForm
		}
		if t.ContentType != ContentForm && t.ContentType != ContentJSON {
			return nil, touchpoint.Errorf(touchpoint.EINVALID, "content_type %q: want %s or %s", t.ContentType, ContentForm, ContentJSON)
		}
	default:
		return nil, touchpoint.Errorf(touchpoint.EINVALID, "method %q: want GET or POST", t.Method)
	}
	host, err := checkURL(t.URL)
	if err != nil {
		return nil, err
	}
	c := &Compiled{Template: t, host: host}
	if c.url, err = compile(t.URL); err != nil {
		return nil, err
	}
	if c.body, err = compile(t.Body); err != nil {
		return nil, err
	}
	return c, nil
}

func compile(s string) ([]part, error) {
	var parts []part
	last := 0
	for _, m := range macroRE.FindAllStringSubmatchIndex(s, -1) {
		name := s[m[2]:m[3]]
		fill, ok := macros[name]
		if !ok {
			return nil, touchpoint.Errorf(touchpoint.EINVALID, "unknown macro (%s); known macros: %s", name, strings.Join(Names(), ", "))
		}
		if m[0] > last {
			parts = append(parts, part{lit: s[last:m[0]]})
		}
		parts = append(parts, part{fill: fill})
		last = m[1]
	}
	if last < len(s) {
		parts = append(parts, part{lit: s[last:]})
	}
	return parts, nil
}

// checkURL checks the URL's shape and returns its host; which hosts may
// be called is the outbound rule (package outbound).
func checkURL(raw string) (string, error) {
	if strings.TrimSpace(raw) == "" {
		return "", touchpoint.Errorf(touchpoint.EINVALID, "url is required")
	}
	// Macros stand for values: check the URL with each replaced by one.
	u, err := url.Parse(macroRE.ReplaceAllString(raw, "x"))
	if err != nil {
		return "", touchpoint.Errorf(touchpoint.EINVALID, "url %q does not parse: %v", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", touchpoint.Errorf(touchpoint.EINVALID, "url %q: the scheme must be http or https", raw)
	}
	if u.Host == "" || u.User != nil {
		return "", touchpoint.Errorf(touchpoint.EINVALID, "url %q: want an absolute URL with a host and no user info", raw)
	}
	if plain, _ := url.Parse(raw); plain == nil || plain.Host != u.Host {
		return "", touchpoint.Errorf(touchpoint.EINVALID, "url %q: the host cannot hold a macro", raw)
	}
	return u.Host, nil
}

// Host returns the template's destination host (with its port, if any).
func (c *Compiled) Host() string { return c.host }

// Render fills the template's macros.
func (c *Compiled) Render(f *Facts) (rawURL string, body []byte) {
	var b strings.Builder
	for _, p := range c.url {
		if p.fill == nil {
			b.WriteString(p.lit)
		} else {
			b.WriteString(url.QueryEscape(p.fill(f)))
		}
	}
	rawURL = b.String()
	if len(c.body) == 0 {
		return rawURL, nil
	}
	var out []byte
	for _, p := range c.body {
		switch {
		case p.fill == nil:
			out = append(out, p.lit...)
		case c.ContentType == ContentJSON:
			q, _ := json.Marshal(p.fill(f)) // a string always marshals
			out = append(out, q[1:len(q)-1]...)
		default:
			out = append(out, url.QueryEscape(p.fill(f))...)
		}
	}
	return rawURL, out
}

// String describes the template for logs.
func (c *Compiled) String() string { return fmt.Sprintf("%s %s", c.Method, c.URL) }
