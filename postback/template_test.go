package postback_test

import (
	"crypto/sha1"
	"encoding/hex"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/postback"
)

var (
	installTime = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	clickTime   = installTime.Add(-2 * time.Hour)
	eventTime   = installTime.Add(26 * time.Hour)
)

// facts is an in-app event of an install won by a click, every field set.
func facts() *postback.Facts {
	f := &postback.Facts{
		App:      &touchpoint.App{ID: "com.example.game", Name: "Example Game & Co"},
		DeviceID: "1795168800000-1234567890123456789",
		Launch: &touchpoint.Launch{IP: "203.0.113.7", UA: "Mozilla/5.0 (Linux; Android 14; Pixel 8)",
			DeviceModel: "Pixel 8", OSVersion: "14", Language: "en-US", CountryCode: "GB", City: "London", AppVersion: "2.1.0", SDKVersion: "1.4",
			ClickTime: clickTime.Add(time.Minute), InstallBeginTime: clickTime.Add(5 * time.Minute)},
		InstallTime: installTime,
		Attribution: touchpoint.Attribution{MediaSource: "examplenet_int", TouchID: 42, TouchType: touchpoint.Click,
			TouchTime: clickTime, MatchType: touchpoint.MatchIDMatching},
		Event: &touchpoint.Conversion{Name: "af_purchase", Value: `{"sku":"gem pack","n":2}`,
			Revenue: 49900, Currency: "EUR", Time: eventTime},
		Rejection: &touchpoint.Rejection{Reason: touchpoint.RejectCTIT, Value: "3"},
	}
	usd := touchpoint.Amount(54000)
	f.USD = &usd
	f.IDs[touchpoint.IDFA].Raw = "6D92078A-8246-4BA4-AE5B-76104861E7DC"
	f.IDs[touchpoint.GAID].Raw = "38400000-8cf0-11bd-b23e-10b96e40000d"
	f.IDs[touchpoint.AndroidID].Raw = "9774d56d682e549c"
	f.IDs[touchpoint.IDFV].Raw = "E621E1F8-C36C-495A-93FC-0C247A3E6E5F"
	f.IDs[touchpoint.OAID].Raw = "oaid-1"
	f.IDs[touchpoint.IMEI].Raw = "490154203237518"
	f.IDs[touchpoint.AmazonAID].Raw = "amazon-1"
	for _, p := range touchpoint.StringParams {
		*p.Field(&f.Attribution.Params) = "v " + p.Name
	}
	f.Attribution.Params.Campaign = "summer sale"
	return f
}

// golden are the rendered values of every macro (before URL encoding).
var golden = map[string]string{
	"idfa":                     "6D92078A-8246-4BA4-AE5B-76104861E7DC",
	"sha1-idfa":                "b4454fc62a7a0c64dbc1525b539f561064544125",
	"advertiserId":             "38400000-8cf0-11bd-b23e-10b96e40000d",
	"sha1-advertiserId":        "4dfaa92388699ac6539885aef1719293879985bf",
	"android-id":               "9774d56d682e549c",
	"sha1-android-id":          "",
	"vendorid":                 "E621E1F8-C36C-495A-93FC-0C247A3E6E5F",
	"sha1-vendorid":            "",
	"oaid":                     "oaid-1",
	"sha1-oaid":                "",
	"imei":                     "490154203237518",
	"sha1-imei":                "",
	"amazon-aid":               "amazon-1",
	"sha1-amazon-aid":          "",
	"appsflyer-device-id":      "1795168800000-1234567890123456789",
	"sha1-appsflyer-device-id": "",
	"app-id":                   "com.example.game",
	"app-name":                 "Example Game & Co",
	"app-version-name":         "2.1.0",
	"sdk-version":              "1.4",
	"install-unix-ts":          "1795168800",
	"click-ts":                 "1795161600",
	"gp_referer_click_ts":      "1795161660",
	"gp_referer_install_ts":    "1795161900",
	"pid":                      "examplenet_int",
	"campaign":                 "summer sale",
	"country-code":             "GB",
	"city":                     "London",
	"c":                        "summer sale",
	"ip":                       "203.0.113.7",
	"device-model":             "Pixel 8",
	"os-version":               "14",
	"user-agent":               "Mozilla/5.0 (Linux; Android 14; Pixel 8)",
	"language":                 "en-US",
	"match-type":               "uid",
	"event-name":               "af_purchase",
	"timestamp":                "1795262400",
	"event-value":              `{"sku":"gem pack","n":2}`,
	"encode":                   `{"sku":"gem pack","n":2}`,
	"monetary":                 "5.4",
	"orig-monetary":            "4.99",
	"currency":                 "USD",
	"reject-reason":            "ctit_anomalies",
	"reject-reason-value":      "3",
}

func init() {
	// The sha1 forms are computed here from the raw values rather than
	// typed, except the two above, which pin the function down.
	f := facts()
	for name, raw := range map[string]string{"android-id": f.IDs[touchpoint.AndroidID].Raw,
		"vendorid": f.IDs[touchpoint.IDFV].Raw, "oaid": "oaid-1", "imei": "490154203237518",
		"amazon-aid": "amazon-1", "appsflyer-device-id": f.DeviceID} {
		golden["sha1-"+name] = sha1Of(raw)
	}
	for _, p := range touchpoint.StringParams {
		if _, ok := golden[p.Name]; !ok {
			golden[p.Name] = "v " + p.Name
		}
	}
}

func TestEveryMacro(t *testing.T) {
	f := facts()
	for _, name := range postback.Names() {
		want, ok := golden[name]
		if !ok {
			t.Errorf("(%s) has no golden case", name)
			continue
		}
		c, err := postback.Parse(postback.Template{URL: "https://postback.example.net/p?v=(" + name + ")"})
		if err != nil {
			t.Fatalf("(%s): %v", name, err)
		}
		got, _ := c.Render(f)
		if got != "https://postback.example.net/p?v="+queryEscape(want) {
			t.Errorf("(%s) rendered %s, want v=%s", name, got, queryEscape(want))
		}
	}
	for name := range golden {
		if !slices.Contains(postback.Names(), name) {
			t.Errorf("golden case (%s) is not a known macro", name)
		}
	}
}

func TestSHA1Forms(t *testing.T) {
	// sha1 of the raw value as given: AppsFlyer's sha1- macros hash the id
	// as the SDK read it.
	if got, want := golden["sha1-idfa"], sha1Of("6D92078A-8246-4BA4-AE5B-76104861E7DC"); got != want {
		t.Errorf("sha1-idfa golden %s, computed %s", got, want)
	}
	if got, want := golden["sha1-advertiserId"], sha1Of("38400000-8cf0-11bd-b23e-10b96e40000d"); got != want {
		t.Errorf("sha1-advertiserId golden %s, computed %s", got, want)
	}
}

func TestRevenueRules(t *testing.T) {
	c, err := postback.Parse(postback.Template{URL: "https://pb.example.net/e?m=(monetary)&o=(orig-monetary)&cur=(currency)"})
	if err != nil {
		t.Fatal(err)
	}
	f := facts()
	f.USD = nil // no rate: the original value and currency
	if got, _ := c.Render(f); got != "https://pb.example.net/e?m=4.99&o=4.99&cur=EUR" {
		t.Errorf("no rate: %s", got)
	}
	f.HideRevenue = true
	if got, _ := c.Render(f); got != "https://pb.example.net/e?m=&o=&cur=" {
		t.Errorf("send revenue off: %s", got)
	}
	f = facts()
	f.Event = nil // an install postback has no event
	if got, _ := c.Render(f); got != "https://pb.example.net/e?m=&o=&cur=" {
		t.Errorf("install: %s", got)
	}
}

func TestRealPartnerTemplate(t *testing.T) {
	// AppsFlyer's postback documentation: a real partner's in-app template.
	c, err := postback.Parse(postback.Template{URL: "https://track.example.net/af?pid=(pid)&clickid=(clickid)&idfa=(idfa)" +
		"&advertiserid=(advertiserId)&install_unix_ts=(install-unix-ts)&click_ts=(click-ts)&match_type=(match-type)" +
		"&event_name=(event-name)&monetary=(monetary)&currency=(currency)&event_value=(event-value)&json=(encode)"})
	if err != nil {
		t.Fatal(err)
	}
	got, body := c.Render(facts())
	want := "https://track.example.net/af?pid=examplenet_int&clickid=v+clickid&idfa=6D92078A-8246-4BA4-AE5B-76104861E7DC" +
		"&advertiserid=38400000-8cf0-11bd-b23e-10b96e40000d&install_unix_ts=1795168800&click_ts=1795161600&match_type=uid" +
		"&event_name=af_purchase&monetary=5.4&currency=USD&event_value=%7B%22sku%22%3A%22gem+pack%22%2C%22n%22%3A2%7D" +
		"&json=%7B%22sku%22%3A%22gem+pack%22%2C%22n%22%3A2%7D"
	if got != want || body != nil {
		t.Errorf("got  %s\nwant %s (body %q)", got, want, body)
	}
	if c.Host() != "track.example.net" {
		t.Errorf("host %q", c.Host())
	}
}

func TestBodies(t *testing.T) {
	f := facts()
	c, err := postback.Parse(postback.Template{Method: "post", URL: "https://pb.example.net/json",
		ContentType: postback.ContentJSON, Body: `{"ua":"(user-agent)","value":"(event-value)","name":"(app-name)"}`})
	if err != nil {
		t.Fatal(err)
	}
	u, body := c.Render(f)
	want := `{"ua":"Mozilla/5.0 (Linux; Android 14; Pixel 8)","value":"{\"sku\":\"gem pack\",\"n\":2}","name":"Example Game \u0026 Co"}`
	if u != "https://pb.example.net/json" || string(body) != want || c.Method != "POST" {
		t.Errorf("JSON body: %s %s\n got %s\nwant %s", c.Method, u, body, want)
	}
	c, err = postback.Parse(postback.Template{Method: "POST", URL: "https://pb.example.net/form", Body: "ip=(ip)&name=(app-name)"})
	if err != nil {
		t.Fatal(err)
	}
	if _, body := c.Render(f); string(body) != "ip=203.0.113.7&name=Example+Game+%26+Co" || c.ContentType != postback.ContentForm {
		t.Errorf("form body %s (%s)", body, c.ContentType)
	}
}

func TestParseRefuses(t *testing.T) {
	for _, tc := range []struct {
		t    postback.Template
		want string
	}{
		{postback.Template{URL: ""}, "url is required"},
		{postback.Template{URL: "ftp://pb.example.net/x"}, "scheme must be http or https"},
		{postback.Template{URL: "javascript:alert(1)"}, "scheme must be http or https"},
		{postback.Template{URL: "/relative?x=(pid)"}, "scheme must be http or https"},
		{postback.Template{URL: "https://user:pw@pb.example.net/"}, "no user info"},
		{postback.Template{URL: "https://(pid).example.net/"}, "host cannot hold a macro"},
		{postback.Template{URL: "https://pb.example.net/?x=(clickId)"}, "unknown macro (clickId); known macros: "},
		{postback.Template{URL: "https://pb.example.net/?x=(nope)"}, "advertiserId"},
		{postback.Template{URL: "https://pb.example.net/", Body: "x=1"}, "a GET postback has no body"},
		{postback.Template{Method: "PUT", URL: "https://pb.example.net/"}, `method "PUT"`},
		{postback.Template{Method: "POST", URL: "https://pb.example.net/", ContentType: "text/xml"}, "content_type"},
		{postback.Template{Method: "POST", URL: "https://pb.example.net/", Body: "(bad)"}, "unknown macro (bad)"},
		{postback.Template{URL: "https://pb.example.net/%zz"}, "does not parse"},
	} {
		_, err := postback.Parse(tc.t)
		if err == nil || !strings.Contains(err.Error(), tc.want) || touchpoint.ErrorCode(err) != touchpoint.EINVALID {
			t.Errorf("Parse(%+v): %v, want EINVALID with %q", tc.t, err, tc.want)
		}
	}
	// Parentheses that are not a macro name stay as they are.
	c, err := postback.Parse(postback.Template{URL: "https://pb.example.net/p?note=(a b)&x=(pid)"})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := c.Render(facts()); got != "https://pb.example.net/p?note=(a b)&x=examplenet_int" {
		t.Errorf("literal parentheses: %s", got)
	}
}

func sha1Of(s string) string {
	h := sha1.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

func queryEscape(s string) string { return url.QueryEscape(s) }
