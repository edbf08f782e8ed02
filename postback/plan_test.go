package postback_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/postback"
)

// partners: a (the winner in most cases, with every template), b (send
// all on), c (send all off), srn (restricted, send all on).
func partners(t *testing.T, mod func(pid string, p *touchpoint.Partner)) postback.Partners {
	t.Helper()
	ps := postback.Partners{}
	for _, pid := range []string{"a_int", "b_int", "c_int", "srn_int"} {
		p := &touchpoint.Partner{AppID: "com.example.game", PID: pid, Postbacks: touchpoint.Postbacks{
			SendAllInstalls: pid == "b_int" || pid == "srn_int", Retries: 4, RetryMinutes: 15,
			Templates: []touchpoint.PostbackTemplate{
				{Kind: touchpoint.KindInstallPostback, URL: "https://" + pid + ".example.net/install?pid=(pid)&clickid=(clickid)"},
				{Kind: touchpoint.KindEventPostback, URL: "https://" + pid + ".example.net/event?e=(event-name)&m=(monetary)&cur=(currency)", SendRevenue: true},
				{Kind: touchpoint.KindEventPostback, EventName: "af_level", URL: "https://" + pid + ".example.net/level?e=(event-name)&m=(monetary)"},
				{Kind: touchpoint.KindRejectedInstallPostback, URL: "https://" + pid + ".example.net/rejected?r=(reject-reason)&v=(reject-reason-value)&pid=(pid)"},
				{Kind: touchpoint.KindRejectedEventPostback, URL: "https://" + pid + ".example.net/rejected-event?e=(event-name)&r=(reject-reason)"},
			}}}
		p.Restricted = pid == "srn_int"
		if mod != nil {
			mod(pid, p)
		}
		cp, err := postback.NewPartner(p)
		if err != nil {
			t.Fatal(err)
		}
		ps[pid] = cp
	}
	return ps
}

var app = &touchpoint.App{ID: "com.example.game", Name: "Game"}

func install(typ touchpoint.InstallType, source string) (*touchpoint.Device, *touchpoint.Install) {
	in := &touchpoint.Install{ID: 7, App: app.ID, DeviceID: "d1", Type: typ, Time: installTime,
		Attribution: touchpoint.OrganicAttribution(), Launch: touchpoint.Launch{IP: "203.0.113.7"}}
	if source != "" {
		in.Attribution = touchpoint.Attribution{MediaSource: source, TouchID: 1, TouchType: touchpoint.Click,
			TouchTime: clickTime, MatchType: touchpoint.MatchIDMatching, Params: touchpoint.LinkParams{ClickID: "k1"}}
	}
	dev := &touchpoint.Device{App: app.ID, ID: "d1", InstallID: 7, InstallTime: installTime, Attribution: in.Attribution}
	return dev, in
}

func urls(ds []*touchpoint.Delivery) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.URL)
	}
	slices.Sort(out)
	return out
}

func TestForInstall(t *testing.T) {
	ps := partners(t, nil)
	for _, tc := range []struct {
		name   string
		typ    touchpoint.InstallType
		source string
		reject bool
		want   []string
	}{
		{"winner and send-all", touchpoint.TypeInstall, "a_int", false, []string{
			"https://a_int.example.net/install?pid=a_int&clickid=k1",
			"https://b_int.example.net/install?pid=a_int&clickid=k1"}},
		{"send-all gets organic installs", touchpoint.TypeInstall, "", false, []string{
			"https://b_int.example.net/install?pid=organic&clickid="}},
		{"send-all partner that won gets one", touchpoint.TypeInstall, "b_int", false, []string{
			"https://b_int.example.net/install?pid=b_int&clickid=k1"}},
		{"SRN install: nobody", touchpoint.TypeInstall, "srn_int", false, nil},
		{"custom media source: send-all only", touchpoint.TypeInstall, "custom_src", false, []string{
			"https://b_int.example.net/install?pid=custom_src&clickid=k1"}},
		{"reinstall: none", touchpoint.TypeReinstall, "a_int", false, nil},
		{"re-engagement: none", touchpoint.TypeReengagement, "a_int", false, nil},
		{"rejected source gets its rejected postback", touchpoint.TypeInstall, "a_int", true, []string{
			"https://a_int.example.net/install?pid=a_int&clickid=k1",
			"https://b_int.example.net/install?pid=a_int&clickid=k1",
			"https://c_int.example.net/rejected?r=ctit_anomalies&v=3&pid=c_int"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dev, in := install(tc.typ, tc.source)
			if tc.reject {
				in.Rejections = []touchpoint.Rejection{{Reason: touchpoint.RejectCTIT, Value: "3", MediaSource: "c_int", TouchID: 2},
					{Reason: touchpoint.RejectCTIT, Value: "1", MediaSource: "srn_int", TouchID: 3}}
			}
			ds := ps.ForInstall(app, dev, in)
			if got := urls(ds); !slices.Equal(got, tc.want) {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
			for _, d := range ds {
				if d.MaxTries != 5 || d.RetryInterval != 15*time.Minute || d.Method != "GET" || !strings.HasSuffix(d.Host, ".example.net") ||
					d.App != app.ID || !strings.HasPrefix(d.URL, "https://"+d.PID+".") {
					t.Errorf("delivery %+v", d)
				}
			}
		})
	}
	// A partner without an install template gets none, send-all or not.
	ps = partners(t, func(pid string, p *touchpoint.Partner) {
		p.Templates = slices.DeleteFunc(p.Templates, func(t touchpoint.PostbackTemplate) bool { return t.Kind == touchpoint.KindInstallPostback })
	})
	dev, in := install(touchpoint.TypeInstall, "a_int")
	if ds := ps.ForInstall(app, dev, in); len(ds) != 0 {
		t.Errorf("without templates: %q", urls(ds))
	}
}

func TestForConversion(t *testing.T) {
	usd := touchpoint.Amount(54000)
	withRate := postback.Revenue{USD: &usd}
	noRate := postback.Revenue{Note: "no USD rate for EUR on 2026-11-21: sent in EUR"}
	event := func(name string, at time.Time) *touchpoint.Conversion {
		dev, _ := install(touchpoint.TypeInstall, "a_int")
		return &touchpoint.Conversion{App: app.ID, DeviceID: "d1", Name: name, Revenue: 49900, Currency: "EUR", Time: at,
			Attribution: dev.Attribution}
	}
	for _, tc := range []struct {
		name   string
		window touchpoint.PostbackWindow
		conv   *touchpoint.Conversion
		rev    postback.Revenue
		want   []string
		note   string
	}{
		{"all events, revenue in USD", 0, event("af_purchase", installTime.Add(400*24*time.Hour)), withRate,
			[]string{"https://a_int.example.net/event?e=af_purchase&m=5.4&cur=USD"}, ""},
		{"no rate: original value and a note", 0, event("af_purchase", installTime.Add(time.Hour)), noRate,
			[]string{"https://a_int.example.net/event?e=af_purchase&m=4.99&cur=EUR"}, noRate.Note},
		{"the event's own template, revenue off", 0, event("af_level", installTime.Add(time.Hour)), withRate,
			[]string{"https://a_int.example.net/level?e=af_level&m="}, ""},
		{"inside the window: its last instant", touchpoint.PostbackWindow(15 * touchpoint.Day), event("af_purchase", installTime.Add(15*24*time.Hour)), withRate,
			[]string{"https://a_int.example.net/event?e=af_purchase&m=5.4&cur=USD"}, ""},
		{"outside the window", touchpoint.PostbackWindow(15 * touchpoint.Day), event("af_purchase", installTime.Add(15*24*time.Hour+time.Millisecond)), withRate,
			nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps := partners(t, func(pid string, p *touchpoint.Partner) { p.InAppWindow = tc.window })
			dev, in := install(touchpoint.TypeInstall, "a_int")
			ds := ps.ForConversion(app, dev, in, tc.conv, tc.rev)
			if got := urls(ds); !slices.Equal(got, tc.want) {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
			for _, d := range ds {
				if d.Note != tc.note || d.Kind != touchpoint.KindEventPostback {
					t.Errorf("delivery %+v, want note %q", d, tc.note)
				}
			}
		})
	}
	t.Run("organic and SRN events send none", func(t *testing.T) {
		ps := partners(t, nil)
		for _, src := range []string{"", "srn_int"} {
			dev, in := install(touchpoint.TypeInstall, src)
			c := event("af_purchase", installTime.Add(time.Hour))
			c.Attribution = dev.Attribution
			if ds := ps.ForConversion(app, dev, in, c, withRate); len(ds) != 0 {
				t.Errorf("source %q: %q", src, urls(ds))
			}
		}
	})
	t.Run("re-engagement counts for both", func(t *testing.T) {
		ps := partners(t, func(pid string, p *touchpoint.Partner) { p.InAppWindow = touchpoint.PostbackWindow(2 * touchpoint.Day) })
		dev, in := install(touchpoint.TypeInstall, "a_int")
		dev.ReengagedAt = installTime.Add(10 * 24 * time.Hour)
		c := event("af_purchase", dev.ReengagedAt.Add(time.Hour))
		c.Reengagement = &touchpoint.Attribution{MediaSource: "c_int", TouchID: 9, Retargeting: true}
		// a_int's window (from the install) has closed; c_int's (from the
		// re-engagement) is open.
		if got := urls(ps.ForConversion(app, dev, in, c, withRate)); !slices.Equal(got, []string{"https://c_int.example.net/event?e=af_purchase&m=5.4&cur=USD"}) {
			t.Errorf("got %q", got)
		}
		c.Time = installTime.Add(time.Hour)
		if got := urls(ps.ForConversion(app, dev, in, c, withRate)); len(got) != 2 {
			t.Errorf("both windows open: %q", got)
		}
	})
	t.Run("events of a rejected source", func(t *testing.T) {
		ps := partners(t, nil)
		dev, in := install(touchpoint.TypeInstall, "a_int")
		in.Rejections = []touchpoint.Rejection{{Reason: touchpoint.RejectClickFlood, MediaSource: "b_int", TouchID: 2}}
		got := urls(ps.ForConversion(app, dev, in, event("af_purchase", installTime.Add(time.Hour)), withRate))
		want := []string{"https://a_int.example.net/event?e=af_purchase&m=5.4&cur=USD",
			"https://b_int.example.net/rejected-event?e=af_purchase&r=click_flood"}
		if !slices.Equal(got, want) {
			t.Errorf("got  %q\nwant %q", got, want)
		}
	})
	if !partners(t, nil).WantsEvents() {
		t.Error("WantsEvents = false with event templates")
	}
	none := partners(t, func(pid string, p *touchpoint.Partner) {
		p.Templates = p.Templates[:1]
	})
	if none.WantsEvents() {
		t.Error("WantsEvents = true with install templates only")
	}
}

// TestSharingFilter: an event's sharing filter keeps its postbacks from
// the partners it names, of every kind an event sends (the install's
// source, a re-engagement source, a rejected source), and "all" from
// every partner.
func TestSharingFilter(t *testing.T) {
	usd := touchpoint.Amount(54000)
	// c_int plays Apple Search Ads: its pid is iossearchads_int (its
	// templates keep their c_int host).
	ps := partners(t, func(pid string, p *touchpoint.Partner) {
		if pid == "c_int" {
			p.PID = "iossearchads_int"
		}
	})
	ps["iossearchads_int"] = ps["c_int"]
	delete(ps, "c_int")
	dev, in := install(touchpoint.TypeInstall, "a_int")
	in.Rejections = []touchpoint.Rejection{{Reason: touchpoint.RejectClickFlood, MediaSource: "b_int", TouchID: 2}}
	const (
		a   = "https://a_int.example.net/event?e=af_purchase&m=5.4&cur=USD"
		b   = "https://b_int.example.net/rejected-event?e=af_purchase&r=click_flood"
		asa = "https://c_int.example.net/event?e=af_purchase&m=5.4&cur=USD"
	)
	for _, tc := range []struct {
		filter []string
		want   []string
	}{
		{nil, []string{a, b, asa}},
		{[]string{"all"}, nil},
		{[]string{"ALL"}, nil},
		{[]string{"other_int", "all"}, nil},
		{[]string{"a_int"}, []string{b, asa}},
		{[]string{"A_INT", "b_int"}, []string{asa}},
		{[]string{"Apple Search Ads"}, []string{a, b}},
		{[]string{"iossearchads_int"}, []string{a, b}},
		{[]string{"other_int"}, []string{a, b, asa}},
	} {
		c := &touchpoint.Conversion{App: app.ID, DeviceID: "d1", Name: "af_purchase", Revenue: 49900, Currency: "EUR",
			Time: installTime.Add(time.Hour), Attribution: dev.Attribution, SharingFilter: tc.filter,
			Reengagement: &touchpoint.Attribution{MediaSource: "iossearchads_int", TouchID: 9, Retargeting: true}}
		dev.ReengagedAt = installTime
		if got := urls(ps.ForConversion(app, dev, in, c, postback.Revenue{USD: &usd})); !slices.Equal(got, tc.want) {
			t.Errorf("filter %q: %q\nwant %q", tc.filter, got, tc.want)
		}
	}
	for _, tc := range []struct {
		filter []string
		pid    string
		want   bool
	}{
		{[]string{"twitter"}, "twitter_int", true},
		{[]string{"twitter"}, "twitter", true},
		{[]string{" net_a "}, "net_a", true},
		{[]string{"net"}, "net_a", false},
		{nil, "net_a", false},
	} {
		if got := postback.Blocked(tc.filter, tc.pid); got != tc.want {
			t.Errorf("Blocked(%q, %s) = %v, want %v", tc.filter, tc.pid, got, tc.want)
		}
	}
}
