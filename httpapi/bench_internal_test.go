package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/batch"
	"github.com/touchpointhq/touchpoint/link"
)

type nopStore struct{ touchpoint.Store }

func (nopStore) RecordTouches(ctx context.Context, ts []*touchpoint.Touch) error { return nil }

func BenchmarkHandleClickNoStore(b *testing.B) {
	s := NewServer(nopStore{})
	s.Metrics = NewMetrics()
	app := &touchpoint.App{ID: "com.example.game", Platform: touchpoint.Android, StoreURL: "https://play.google.com/store/apps/details?id=com.example.game"}
	s.catalog.Store(&catalog{apps: map[string]*catalogApp{app.ID: {app: app, partners: map[string]*link.Partner{
		"examplenet_int": {Partner: &touchpoint.Partner{PID: "examplenet_int", ClickSigning: touchpoint.SigningDisabled}}}}}})
	h := s.Handler()
	url := "/c/com.example.game?pid=examplenet_int&c=summer_sale&af_siteid=site42&advertising_id=38400000-8cf0-11bd-b23e-10b96e40000d&af_adset=adset1&af_ad=ad7&af_cost_model=CPI&af_cost_value=1.25&af_cost_currency=USD&is_incentivized=false&clickid=abcdef123456"
	s.touches = batch.New(s.Store.RecordTouches, batch.Options{})
	defer s.touches.Close()
	b.ReportAllocs()
	b.SetParallelism(32) // concurrent clicks share commits, as under load
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("GET", url, nil)
			req.RemoteAddr = "203.0.113.9:5555"
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusFound {
				b.Fatal(w.Code)
			}
		}
	})
}
