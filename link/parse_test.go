package link_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/link"
)

var now = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func newTouch(t *testing.T, query string, p *link.Partner) *touchpoint.Touch {
	t.Helper()
	tc, err := link.NewTouch(link.Request{Kind: touchpoint.Click, RawQuery: query, Time: now, ClientIP: "198.51.100.7",
		UserAgent: "Mozilla/5.0 (iPhone)", AcceptLanguage: "fr-FR,fr;q=0.9"}, benchApp, func(pid string) *link.Partner {
		if p != nil && p.PID == pid {
			return p
		}
		return nil
	})
	if err != nil {
		t.Fatalf("NewTouch(%q): %v", query, err)
	}
	return tc
}

func ptr[T any](v T) *T { return &v }

func partner(pid string) *link.Partner {
	return &link.Partner{Partner: &touchpoint.Partner{PID: pid, ClickSigning: touchpoint.SigningDisabled}}
}

// TestParams checks that every known parameter lands in its typed field.
func TestParams(t *testing.T) {
	for _, tc := range []struct {
		query string
		want  touchpoint.LinkParams
	}{
		{"c=summer+sale", touchpoint.LinkParams{Campaign: "summer sale"}},
		{"c=summer%20sale%21", touchpoint.LinkParams{Campaign: "summer sale!"}},
		{"af_c_id=123", touchpoint.LinkParams{CampaignID: "123"}},
		{"af_prt=agency", touchpoint.LinkParams{Prt: "agency"}},
		{"clickid=abc-123", touchpoint.LinkParams{ClickID: "abc-123"}},
		{"af_siteid=site42&af_sub_siteid=sub7", touchpoint.LinkParams{SiteID: "site42", SubSiteID: "sub7"}},
		{"af_adset=set&af_adset_id=s1&af_ad=ad&af_ad_id=a1&af_ad_type=video&af_channel=feed&af_keywords=kw",
			touchpoint.LinkParams{Adset: "set", AdsetID: "s1", Ad: "ad", AdID: "a1", AdType: "video", Channel: "feed", Keywords: "kw"}},
		{"af_sub1=1&af_sub2=2&af_sub3=3&af_sub4=4&af_sub5=5", touchpoint.LinkParams{Sub1: "1", Sub2: "2", Sub3: "3", Sub4: "4", Sub5: "5"}},
		{"af_cost_model=cpi&af_cost_value=0.5&af_cost_currency=eur", touchpoint.LinkParams{CostModel: "CPI", CostValue: "0.5", CostCurrency: "EUR"}},
		{"af_cost_value=12.3456", touchpoint.LinkParams{CostValue: "12.3456", CostCurrency: "USD"}},
		{"af_cost_model=Other", touchpoint.LinkParams{CostModel: "Other"}},
		{"af_r=https%3A%2F%2Fexample.com%2Fland%3Fx%3D1", touchpoint.LinkParams{RedirectURL: "https://example.com/land?x=1"}},
		{"af_dp=game%3A%2F%2Fpromo&af_web_dp=https%3A%2F%2Fexample.com&af_force_deeplink=true&deep_link_value=promo7",
			touchpoint.LinkParams{DeepLink: "game://promo", WebDeepLink: "https://example.com", ForceDeeplink: "true", DeepLinkValue: "promo7"}},
		{"af_ref=NetworkA_1234567", touchpoint.LinkParams{Ref: "NetworkA_1234567"}},
		{"is_incentivized=true", touchpoint.LinkParams{Incentivized: ptr(true)}},
		{"is_incentivized=FALSE", touchpoint.LinkParams{Incentivized: ptr(false)}},
		{"is_retargeting=true&af_reengagement_window=7d", touchpoint.LinkParams{Retargeting: true, ReengagementWindow: 7 * touchpoint.Day}},
		{"af_click_lookback=7d&af_viewthrough_lookback=24h", touchpoint.LinkParams{ClickLookback: 7 * touchpoint.Day, ViewThroughLookback: 24 * touchpoint.Hour}},
		{"af_click_lookback=48h", touchpoint.LinkParams{ClickLookback: 2 * touchpoint.Day}},
		{"redirect=false", touchpoint.LinkParams{Redirect: ptr(false)}},
		{"expires=1900000000&signature=abc", touchpoint.LinkParams{Expires: 1900000000, Signature: "abc"}},
		{"expires=1900000000123", touchpoint.LinkParams{Expires: 1900000000}}, // milliseconds
	} {
		got := newTouch(t, "pid=net_int&"+tc.query, nil)
		if !reflect.DeepEqual(got.Params, tc.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.query, got.Params, tc.want)
		}
		if len(got.Notes) != 0 {
			t.Errorf("%s: notes %q", tc.query, got.Notes)
		}
	}
}

func TestDeviceIDs(t *testing.T) {
	const gaid = "38400000-8cf0-11bd-b23e-10b96e40000d"
	sha := "4dfaa92388699ac6539885aef1719293879985bf"
	md := "5756ae9022b2ea1e47d84fead75220c8"
	got := newTouch(t, "pid=n&advertising_id="+gaid+"&sha1_idfa="+strings.ToUpper(sha)+"&md5_android_id="+md+
		"&idfv=IDFV-1&imei=490154203237518&oaid=oaid-1&amazon_aid=amz-1", nil)
	want := touchpoint.DeviceIDs{}
	want[touchpoint.GAID] = touchpoint.DeviceID{Raw: gaid}
	want[touchpoint.IDFA] = touchpoint.DeviceID{SHA1: sha}
	want[touchpoint.AndroidID] = touchpoint.DeviceID{MD5: md}
	want[touchpoint.IDFV] = touchpoint.DeviceID{Raw: "IDFV-1"}
	want[touchpoint.IMEI] = touchpoint.DeviceID{Raw: "490154203237518"}
	want[touchpoint.OAID] = touchpoint.DeviceID{Raw: "oaid-1"}
	want[touchpoint.AmazonAID] = touchpoint.DeviceID{Raw: "amz-1"}
	if got.Device != want {
		t.Fatalf("device ids\n got %+v\nwant %+v", got.Device, want)
	}
	if f := got.Device[touchpoint.GAID].Forms(); f.SHA1 != sha || f.MD5 != md {
		t.Fatalf("derived forms %+v, want sha1 %s md5 %s", f, sha, md)
	}
}

// TestMalformed checks that a bad value is dropped with a note and never
// fails the click.
func TestMalformed(t *testing.T) {
	for _, tc := range []struct {
		query string
		check func(tc *touchpoint.Touch) bool
		note  string
	}{
		{"af_cost_value=1.5x", func(t *touchpoint.Touch) bool { return t.Params.CostValue == "" && t.Params.CostCurrency == "" }, "af_cost_value dropped: \"1.5x\" is not a decimal number"},
		{"af_cost_value=abc", func(t *touchpoint.Touch) bool { return t.Params.CostValue == "" }, "is not a decimal number"},
		{"af_cost_value=1.23456", func(t *touchpoint.Touch) bool { return t.Params.CostValue == "" }, "has more than 4 decimals"},
		{"af_cost_value=-1", func(t *touchpoint.Touch) bool { return t.Params.CostValue == "" }, "is not a decimal number"},
		{"af_cost_value=1.", func(t *touchpoint.Touch) bool { return t.Params.CostValue == "" }, "is not a decimal number"},
		{"af_cost_value=1&af_cost_currency=XYZ", func(t *touchpoint.Touch) bool { return t.Params.CostValue == "" && t.Params.CostCurrency == "" },
			"af_cost_currency dropped: \"XYZ\" is not an ISO-4217 currency code"},
		{"af_cost_currency=dollars", func(t *touchpoint.Touch) bool { return t.Params.CostCurrency == "" }, "is not an ISO-4217 currency code"},
		{"af_cost_model=CPX", func(t *touchpoint.Touch) bool { return t.Params.CostModel == "" }, "af_cost_model dropped"},
		{"af_click_lookback=7days", func(t *touchpoint.Touch) bool { return t.Params.ClickLookback == 0 }, "af_click_lookback dropped: \"7days\" is not a window"},
		{"af_click_lookback=31d", func(t *touchpoint.Touch) bool { return t.Params.ClickLookback == 0 }, "is outside 1d to 30d"},
		{"af_click_lookback=12h", func(t *touchpoint.Touch) bool { return t.Params.ClickLookback == 0 }, "is outside 1d to 30d"},
		{"af_viewthrough_lookback=8d", func(t *touchpoint.Touch) bool { return t.Params.ViewThroughLookback == 0 }, "is outside 1h to 7d"},
		{"af_viewthrough_lookback=0h", func(t *touchpoint.Touch) bool { return t.Params.ViewThroughLookback == 0 }, "af_viewthrough_lookback dropped"},
		{"af_reengagement_window=91d", func(t *touchpoint.Touch) bool { return t.Params.ReengagementWindow == 0 }, "is outside 1d to 90d"},
		{"c=" + strings.Repeat("x", 101), func(t *touchpoint.Touch) bool { return t.Params.Campaign == "c_name_exceeded_max_length" }, "c dropped: longer than 100 characters"},
		{"c=" + strings.Repeat("é", 100), func(t *touchpoint.Touch) bool { return t.Params.Campaign == strings.Repeat("é", 100) }, ""},
		{"af_siteid=" + strings.Repeat("s", 25), func(t *touchpoint.Touch) bool { return t.Params.SiteID == "" }, "af_siteid dropped: longer than 24 characters"},
		{"af_c_id=" + strings.Repeat("1", 25), func(t *touchpoint.Touch) bool { return t.Params.CampaignID == "" }, "longer than 24"},
		{"af_prt=" + strings.Repeat("p", 51), func(t *touchpoint.Touch) bool { return t.Params.Prt == "" }, "longer than 50"},
		{"af_sub_siteid=" + strings.Repeat("p", 51), func(t *touchpoint.Touch) bool { return t.Params.SubSiteID == "" }, "longer than 50"},
		{"af_sub1=" + strings.Repeat("p", 1001), func(t *touchpoint.Touch) bool { return t.Params.Sub1 == "" }, "longer than 1000"},
		{"af_r=javascript%3Aalert(1)", func(t *touchpoint.Touch) bool { return t.Params.RedirectURL == "" }, "af_r dropped: not an absolute http(s) URL"},
		{"af_r=%2Frelative", func(t *touchpoint.Touch) bool { return t.Params.RedirectURL == "" }, "af_r dropped"},
		{"af_r=market%3A%2F%2Fdetails", func(t *touchpoint.Touch) bool { return t.Params.RedirectURL == "" }, "af_r dropped"},
		{"is_incentivized=maybe", func(t *touchpoint.Touch) bool { return t.Params.Incentivized == nil }, "is_incentivized dropped: \"maybe\" is not true or false"},
		{"is_retargeting=yes", func(t *touchpoint.Touch) bool { return !t.Params.Retargeting }, "is_retargeting dropped"},
		{"expires=soon", func(t *touchpoint.Touch) bool { return t.Params.Expires == 0 }, "expires dropped"},
		{"advertising_id=%7Bgaid%7D", func(t *touchpoint.Touch) bool { return t.Device[touchpoint.GAID].IsZero() }, "looks like a macro"},
		{"idfa=__IDFA__", func(t *touchpoint.Touch) bool { return t.Device[touchpoint.IDFA].IsZero() }, "looks like a macro"},
		{"idfa=00000000-0000-0000-0000-000000000000", func(t *touchpoint.Touch) bool { return t.Device[touchpoint.IDFA].IsZero() }, "all-zero id"},
		{"sha1_advertising_id=xyz", func(t *touchpoint.Touch) bool { return t.Device[touchpoint.GAID].IsZero() }, "not a 40-digit hex hash"},
		{"md5_idfa=abc", func(t *touchpoint.Touch) bool { return t.Device[touchpoint.IDFA].IsZero() }, "not a 32-digit hex hash"},
		{"c=a%zzb", func(t *touchpoint.Touch) bool { return t.Params.Campaign == "" }, "c dropped: bad percent-encoding"},
		{"c=first&c=second", func(t *touchpoint.Touch) bool { return t.Params.Campaign == "first" }, "c: repeated; the first value was kept"},
		{"c=%FF%FE", func(t *touchpoint.Touch) bool { return t.Params.Campaign == "\uFFFD" }, "c: invalid UTF-8 replaced"},
		{"af_ip=203.0.113.1", func(t *touchpoint.Touch) bool { return t.IP == "198.51.100.7" }, "af_ip ignored: the partner is not allowed to send it"},
		{"af_ua=Bot", func(t *touchpoint.Touch) bool { return t.UA == "Mozilla/5.0 (iPhone)" }, "af_ua ignored"},
		{"af_lang=de", func(t *touchpoint.Touch) bool { return t.Language == "fr-FR" }, "af_lang ignored"},
	} {
		got := newTouch(t, "pid=net_int&"+tc.query, nil)
		if !tc.check(got) {
			t.Errorf("%.60s: touch %+v", tc.query, got)
		}
		notes := strings.Join(got.Notes, "\n")
		if tc.note == "" && notes != "" || !strings.Contains(notes, tc.note) {
			t.Errorf("%.60s: notes %q, want one containing %q", tc.query, got.Notes, tc.note)
		}
	}
}

func TestExtraParams(t *testing.T) {
	got := newTouch(t, "my_param=a+b&pid=n&af_mp=1&my_param=&weird=%zz", nil)
	want := []touchpoint.Param{{Key: "my_param", Value: "a b"}, {Key: "af_mp", Value: "1"}, {Key: "my_param", Value: ""}, {Key: "weird", Value: "%zz"}}
	if !reflect.DeepEqual(got.Extra, want) {
		t.Fatalf("extra = %+v, want %+v", got.Extra, want)
	}
	var q strings.Builder
	q.WriteString("pid=n")
	for i := 0; i < link.MaxExtraParams+5; i++ {
		q.WriteString("&x=1")
	}
	got = newTouch(t, q.String(), nil)
	if len(got.Extra) != link.MaxExtraParams || len(got.Notes) != 5 {
		t.Fatalf("%d extra, %d notes", len(got.Extra), len(got.Notes))
	}
}

func TestPID(t *testing.T) {
	for _, q := range []string{"", "c=x", "pid=", "pid=" + strings.Repeat("p", 151)} {
		_, err := link.NewTouch(link.Request{Kind: touchpoint.Click, RawQuery: q, Time: now}, benchApp, func(string) *link.Partner { return nil })
		if touchpoint.ErrorCode(err) != touchpoint.EINVALID {
			t.Errorf("%.30q: err = %v, want invalid", q, err)
		}
	}
	got := newTouch(t, "pid="+strings.Repeat("p", 150), nil)
	if len(got.PID) != 150 || !got.CustomSource {
		t.Fatalf("pid %d long, custom %v", len(got.PID), got.CustomSource)
	}
	if got := newTouch(t, "pid=net_int", partner("net_int")); got.CustomSource {
		t.Fatal("a configured partner was recorded as a custom media source")
	}
}

func TestConnectionFacts(t *testing.T) {
	got := newTouch(t, "pid=net_int", nil)
	if got.IP != "198.51.100.7" || got.UA != "Mozilla/5.0 (iPhone)" || got.Language != "fr-FR" || got.Kind != touchpoint.Click || !got.Time.Equal(now) || got.App != benchApp.ID {
		t.Fatalf("touch %+v", got)
	}
	p := partner("net_int")
	p.AllowIPUA = true
	got = newTouch(t, "pid=net_int&af_ip=%3A%3Affff%3A203.0.113.1&af_ua=Net%2F1.0&af_lang=de", p)
	if got.IP != "203.0.113.1" || got.UA != "Net/1.0" || got.Language != "de" || len(got.Notes) != 0 {
		t.Fatalf("allowed overrides: %+v", got)
	}
	got = newTouch(t, "pid=net_int&af_ip=not-an-ip&af_lang=x", p)
	if got.IP != "198.51.100.7" || got.Language != "fr-FR" || len(got.Notes) != 2 {
		t.Fatalf("bad overrides: %+v %q", got, got.Notes)
	}
}
