package link_test

import (
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/link"
)

// benchQuery is a click link with the recommended parameters (~10) and a
// device id, as networks send them.
const benchQuery = "pid=examplenet_int&c=summer_sale&af_siteid=site42&advertising_id=38400000-8cf0-11bd-b23e-10b96e40000d" +
	"&af_adset=adset1&af_ad=ad7&af_cost_model=CPI&af_cost_value=1.25&af_cost_currency=USD&is_incentivized=false&clickid=abcdef123456"

var benchApp = &touchpoint.App{ID: "com.example.game", Platform: touchpoint.Android,
	StoreURL: "https://play.google.com/store/apps/details?id=com.example.game"}

func BenchmarkNewTouch(b *testing.B) {
	p := &link.Partner{Partner: &touchpoint.Partner{PID: "examplenet_int", ClickSigning: touchpoint.SigningDisabled}}
	req := link.Request{Kind: touchpoint.Click, RawQuery: benchQuery, Time: time.Now(), ClientIP: "203.0.113.9", UserAgent: "Mozilla/5.0"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := link.NewTouch(req, benchApp, func(string) *link.Partner { return p }); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNewTouchSigned(b *testing.B) {
	secret := &touchpoint.SigningSecret{Secret: "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t-xx", ExpiresAt: time.Now().Add(time.Hour)}
	p := &link.Partner{Partner: &touchpoint.Partner{PID: "examplenet_int", ClickSigning: touchpoint.SigningEnabled},
		Secrets: []*touchpoint.SigningSecret{secret}}
	q := benchQuery + "&expires=" + itoa(time.Now().Add(time.Hour).Unix())
	q += "&signature=" + link.Sign(secret.Secret, q)
	req := link.Request{Kind: touchpoint.Click, RawQuery: q, Time: time.Now(), ClientIP: "203.0.113.9"}
	b.ReportAllocs()
	for b.Loop() {
		t, err := link.NewTouch(req, benchApp, func(string) *link.Partner { return p })
		if err != nil || t.Verdict != touchpoint.VerdictValid {
			b.Fatal(err, t.Verdict)
		}
	}
}

func BenchmarkSign(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		link.Sign("s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t-xx", benchQuery)
	}
}

func BenchmarkRedirect(b *testing.B) {
	t := &touchpoint.Touch{ID: 1882679861298855936, PID: "examplenet_int", Params: touchpoint.LinkParams{Campaign: "summer_sale", ClickID: "abcdef123456"}}
	b.ReportAllocs()
	for b.Loop() {
		link.Redirect(benchApp, t)
	}
}

func itoa(n int64) string {
	b := []byte{}
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}
