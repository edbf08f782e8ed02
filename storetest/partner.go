package storetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
)

var partnerTests = []part[PartnerStore]{
	{"Partner/CreateDefaults", func(t *testing.T, s PartnerStore, c *Clock) {
		MustCreateApp(t, s, "com.example.game")
		p := MustCreatePartner(t, s, "com.example.game", "examplenet_int")
		want := touchpoint.Partner{AppID: "com.example.game", PID: "examplenet_int", ClickSigning: touchpoint.SigningDisabled,
			ClickLookback: 7 * touchpoint.Day, ViewThroughLookback: 24 * touchpoint.Hour, ProbabilisticWindow: 24 * touchpoint.Hour,
			Postbacks: touchpoint.Postbacks{RetryMinutes: 15, Templates: []touchpoint.PostbackTemplate{}},
			CreatedAt: Start, UpdatedAt: Start}
		got, err := s.FindPartner(ctxb(), "com.example.game", "examplenet_int")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(*got, want) || !reflect.DeepEqual(*p, want) {
			t.Fatalf("partner = %+v, want %+v", got, want)
		}
	}},
	{"Partner/InheritsAppWindows", func(t *testing.T, s PartnerStore, c *Clock) {
		a := &touchpoint.App{ID: "com.example.game", Platform: touchpoint.Android, Name: "G", StoreURL: "https://example.com",
			Windows: touchpoint.DefaultWindows()}
		a.Windows.ClickLookback = 3 * touchpoint.Day
		if err := s.CreateApp(ctxb(), a); err != nil {
			t.Fatal(err)
		}
		p := MustCreatePartner(t, s, "com.example.game", "net")
		if p.ClickLookback != 3*touchpoint.Day {
			t.Fatalf("click lookback %v, want the app's 3d", p.ClickLookback)
		}
	}},
	{"Partner/Errors", func(t *testing.T, s PartnerStore, c *Clock) {
		MustCreateApp(t, s, "com.example.game")
		MustCreatePartner(t, s, "com.example.game", "net")
		for name, tc := range map[string]struct {
			p    touchpoint.Partner
			code string
		}{
			"exists":        {touchpoint.Partner{AppID: "com.example.game", PID: "net"}, touchpoint.ECONFLICT},
			"unknown app":   {touchpoint.Partner{AppID: "com.nope.app", PID: "net"}, touchpoint.ENOTFOUND},
			"no pid":        {touchpoint.Partner{AppID: "com.example.game"}, touchpoint.EINVALID},
			"long pid":      {touchpoint.Partner{AppID: "com.example.game", PID: string(make([]byte, 151))}, touchpoint.EINVALID},
			"markup pid":    {touchpoint.Partner{AppID: "com.example.game", PID: "net<b>"}, touchpoint.EINVALID},
			"quoted pid":    {touchpoint.Partner{AppID: "com.example.game", PID: `net"a`}, touchpoint.EINVALID},
			"control pid":   {touchpoint.Partner{AppID: "com.example.game", PID: "net\x00a"}, touchpoint.EINVALID},
			"bad mode":      {touchpoint.Partner{AppID: "com.example.game", PID: "a", ClickSigning: "on"}, touchpoint.EINVALID},
			"enabled first": {touchpoint.Partner{AppID: "com.example.game", PID: "b", ClickSigning: touchpoint.SigningEnabled}, touchpoint.ECONFLICT},
			"lookback 31d":  {touchpoint.Partner{AppID: "com.example.game", PID: "c", ClickLookback: 31 * touchpoint.Day}, touchpoint.EINVALID},
			"lookback 12h":  {touchpoint.Partner{AppID: "com.example.game", PID: "c", ClickLookback: 12 * touchpoint.Hour}, touchpoint.EINVALID},
			"vta 8d":        {touchpoint.Partner{AppID: "com.example.game", PID: "c", ViewThroughLookback: 8 * touchpoint.Day}, touchpoint.EINVALID},
			"prob 2d":       {touchpoint.Partner{AppID: "com.example.game", PID: "c", ProbabilisticWindow: 2 * touchpoint.Day}, touchpoint.EINVALID},
		} {
			p := tc.p
			if err := s.CreatePartner(ctxb(), &p); code(err) != tc.code {
				t.Errorf("%s: err = %v, want %s", name, err, tc.code)
			}
		}
		ps, err := s.ListPartners(ctxb(), "com.example.game")
		if err != nil || len(ps) != 1 {
			t.Fatalf("ListPartners = %v, %v; want only net", ps, err)
		}
		if _, err := s.ListPartners(ctxb(), "com.nope.app"); code(err) != touchpoint.ENOTFOUND {
			t.Fatalf("ListPartners(unknown app) err = %v", err)
		}
		if _, err := s.FindPartner(ctxb(), "com.example.game", "nope"); code(err) != touchpoint.ENOTFOUND {
			t.Fatalf("FindPartner(nope) err = %v", err)
		}
	}},
	{"Partner/UpdateDelete", func(t *testing.T, s PartnerStore, c *Clock) {
		MustCreateApp(t, s, "com.example.game")
		MustCreatePartner(t, s, "com.example.game", "b_net")
		MustCreatePartner(t, s, "com.example.game", "a_net")
		c.Add(time.Minute)
		p, err := s.UpdatePartner(ctxb(), "com.example.game", "b_net", touchpoint.PartnerUpdate{
			ClickSigning: ptr(touchpoint.SigningReportOnly), ClickLookback: ptr(30 * touchpoint.Day),
			AllowIPUA: ptr(true), Restricted: ptr(true),
		})
		if err != nil {
			t.Fatal(err)
		}
		if p.ClickSigning != touchpoint.SigningReportOnly || p.ClickLookback != 30*touchpoint.Day || !p.AllowIPUA || !p.Restricted ||
			!p.UpdatedAt.Equal(Start.Add(time.Minute)) || !p.CreatedAt.Equal(Start) {
			t.Fatalf("UpdatePartner = %+v", p)
		}
		got, _ := s.FindPartner(ctxb(), "com.example.game", "b_net")
		if !reflect.DeepEqual(got, p) {
			t.Fatalf("FindPartner after update = %+v, want %+v", got, p)
		}
		if _, err := s.UpdatePartner(ctxb(), "com.example.game", "b_net", touchpoint.PartnerUpdate{ViewThroughLookback: ptr(30 * touchpoint.Day)}); code(err) != touchpoint.EINVALID {
			t.Fatalf("vta 30d: err = %v", err)
		}
		if _, err := s.UpdatePartner(ctxb(), "com.example.game", "b_net", touchpoint.PartnerUpdate{ClickSigning: ptr(touchpoint.SigningEnabled)}); code(err) != touchpoint.ECONFLICT {
			t.Fatalf("enable without secret: err = %v", err)
		}
		ps, _ := s.ListPartners(ctxb(), "com.example.game")
		if len(ps) != 2 || ps[0].PID != "a_net" || ps[1].PID != "b_net" {
			t.Fatalf("ListPartners = %v", ps)
		}
		if err := s.DeletePartner(ctxb(), "com.example.game", "b_net"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.FindPartner(ctxb(), "com.example.game", "b_net"); code(err) != touchpoint.ENOTFOUND {
			t.Fatalf("after delete: err = %v", err)
		}
		if err := s.DeletePartner(ctxb(), "com.example.game", "b_net"); code(err) != touchpoint.ENOTFOUND {
			t.Fatalf("second delete: err = %v", err)
		}
		// The pid can be created again, with no secrets.
		MustCreatePartner(t, s, "com.example.game", "b_net")
	}},
	{"Partner/Secrets", func(t *testing.T, s PartnerStore, c *Clock) {
		MustCreateApp(t, s, "com.example.game")
		MustCreatePartner(t, s, "com.example.game", "net")
		for _, ttl := range []time.Duration{0, 1441 * time.Hour, 90 * time.Minute} {
			if _, err := s.CreateSecret(ctxb(), "com.example.game", "net", ttl); code(err) != touchpoint.EINVALID {
				t.Errorf("ttl %v: err = %v, want invalid", ttl, err)
			}
		}
		if _, err := s.CreateSecret(ctxb(), "com.example.game", "nope", time.Hour); code(err) != touchpoint.ENOTFOUND {
			t.Errorf("unknown partner: err = %v", err)
		}
		s1, err := s.CreateSecret(ctxb(), "com.example.game", "net", touchpoint.DefaultSecretTTL)
		if err != nil {
			t.Fatal(err)
		}
		if len(s1.Secret) < 32 || s1.ID == "" || !s1.ExpiresAt.Equal(Start.Add(36*time.Hour)) || !s1.Active(Start) {
			t.Fatalf("secret = %+v", s1)
		}
		c.Add(time.Second)
		s2, err := s.CreateSecret(ctxb(), "com.example.game", "net", 1440*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdatePartner(ctxb(), "com.example.game", "net", touchpoint.PartnerUpdate{ClickSigning: ptr(touchpoint.SigningEnabled)}); err != nil {
			t.Fatalf("enable with a secret: %v", err)
		}
		list, err := s.ListSecrets(ctxb(), "com.example.game", "net")
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].ID != s2.ID || list[1].ID != s1.ID || list[1].Secret != s1.Secret {
			t.Fatalf("ListSecrets = %+v", list)
		}
		c.Add(time.Minute)
		if err := s.RevokeSecret(ctxb(), "com.example.game", "net", s1.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeSecret(ctxb(), "com.example.game", "net", "nope"); code(err) != touchpoint.ENOTFOUND {
			t.Fatalf("revoke unknown: err = %v", err)
		}
		list, _ = s.ListSecrets(ctxb(), "com.example.game", "net")
		if list[1].RevokedAt == nil || !list[1].RevokedAt.Equal(Start.Add(time.Second+time.Minute)) || list[1].Active(c.Now()) {
			t.Fatalf("revoked secret = %+v", list[1])
		}
		if list[0].RevokedAt != nil || !list[0].Active(c.Now()) {
			t.Fatalf("other secret = %+v", list[0])
		}
		// At most MaxActiveSecrets active at once; revoked ones do not count.
		for i := 1; i < touchpoint.MaxActiveSecrets; i++ {
			if _, err := s.CreateSecret(ctxb(), "com.example.game", "net", time.Hour); err != nil {
				t.Fatalf("secret %d: %v", i+1, err)
			}
		}
		if _, err := s.CreateSecret(ctxb(), "com.example.game", "net", time.Hour); code(err) != touchpoint.ETOOMANY {
			t.Fatalf("one too many: err = %v", err)
		}
		// Deleting the partner deletes its secrets.
		if err := s.DeletePartner(ctxb(), "com.example.game", "net"); err != nil {
			t.Fatal(err)
		}
		MustCreatePartner(t, s, "com.example.game", "net")
		if list, _ := s.ListSecrets(ctxb(), "com.example.game", "net"); len(list) != 0 {
			t.Fatalf("secrets survived their partner: %v", list)
		}
	}},
	{"Partner/Postbacks", func(t *testing.T, s PartnerStore, c *Clock) {
		MustCreateApp(t, s, "com.example.game")
		p := &touchpoint.Partner{AppID: "com.example.game", PID: "examplenet_int", Postbacks: touchpoint.Postbacks{
			SendAllInstalls: true, InAppWindow: touchpoint.PostbackWindow(15 * touchpoint.Day), Retries: 2, RetryMinutes: 5,
			Templates: []touchpoint.PostbackTemplate{
				{Kind: touchpoint.KindInstallPostback, Method: "GET", URL: "https://pb.example.net/i?c=(clickid)"},
				{Kind: touchpoint.KindEventPostback, EventName: "af_purchase", SendRevenue: true, Method: "POST",
					URL: "https://pb.example.net/e", Body: `{"m":"(monetary)"}`, ContentType: "application/json"},
			}}}
		if err := s.CreatePartner(ctxb(), p); err != nil {
			t.Fatal(err)
		}
		got, err := s.FindPartner(ctxb(), "com.example.game", "examplenet_int")
		if err != nil || !reflect.DeepEqual(got.Postbacks, p.Postbacks) {
			t.Fatalf("FindPartner = %+v, %v; want %+v", got.Postbacks, err, p.Postbacks)
		}
		all := []touchpoint.PostbackTemplate{{Kind: touchpoint.KindEventPostback, Method: "GET", URL: "https://pb.example.net/all"}}
		up, err := s.UpdatePartner(ctxb(), "com.example.game", "examplenet_int", touchpoint.PartnerUpdate{Templates: &all,
			InAppWindow: ptr(touchpoint.PostbackWindow(0))})
		if err != nil || len(up.Templates) != 1 || up.InAppWindow != 0 || !up.SendAllInstalls || up.Retries != 2 {
			t.Fatalf("UpdatePartner = %+v, %v", up, err)
		}
		if tp, ok := up.Template(touchpoint.KindEventPostback, "af_level"); !ok || tp.URL != "https://pb.example.net/all" {
			t.Fatalf("Template for any event = %+v, %v", tp, ok)
		}
		twice := append(all, all[0])
		for _, bad := range []touchpoint.PartnerUpdate{{Templates: &twice}, {Retries: ptr(11)}, {RetryMinutes: ptr(0)},
			{Templates: &[]touchpoint.PostbackTemplate{{Kind: "nope", URL: "https://pb.example.net/"}}},
			{Templates: &[]touchpoint.PostbackTemplate{{Kind: touchpoint.KindInstallPostback, EventName: "x", URL: "https://pb.example.net/"}}}} {
			if _, err := s.UpdatePartner(ctxb(), "com.example.game", "examplenet_int", bad); code(err) != touchpoint.EINVALID {
				t.Errorf("UpdatePartner(%+v): %v, want EINVALID", bad, err)
			}
		}
		if got, _ := s.FindPartner(ctxb(), "com.example.game", "examplenet_int"); !reflect.DeepEqual(got, up) {
			t.Errorf("a refused update changed the partner: %+v", got)
		}
	}},
}
