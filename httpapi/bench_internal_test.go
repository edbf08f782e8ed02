package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/service"
)

// nopStore holds one app and one partner, and records touches nowhere.
type nopStore struct{ touchpoint.Store }

var (
	benchNow = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	benchApp = &touchpoint.App{ID: "com.example.game", Platform: touchpoint.Android, StoreURL: "https://play.google.com/store/apps/details?id=com.example.game"}
)

func (nopStore) Now() time.Time { return benchNow }

func (nopStore) RecordTouches(ctx context.Context, ts []*touchpoint.Touch) error { return nil }

func (nopStore) ListApps(ctx context.Context) ([]*touchpoint.App, error) {
	return []*touchpoint.App{benchApp}, nil
}

func (nopStore) ListPartners(ctx context.Context, app string) ([]*touchpoint.Partner, error) {
	return []*touchpoint.Partner{{AppID: app, PID: "examplenet_int", ClickSigning: touchpoint.SigningDisabled}}, nil
}

func (nopStore) ListSecrets(ctx context.Context, app, pid string) ([]*touchpoint.SigningSecret, error) {
	return nil, nil
}

func (nopStore) ListAnalyticsForwards(ctx context.Context) ([]*touchpoint.AnalyticsForward, error) {
	return nil, nil
}

func (nopStore) ListDestinations(ctx context.Context, project int64) ([]*touchpoint.Destination, error) {
	return nil, nil
}

func BenchmarkHandleClickNoStore(b *testing.B) {
	s := NewServer(nopStore{})
	s.Metrics = NewMetrics()
	s.svc = &service.Service{Store: s.Store, Logger: s.Logger}
	if err := s.svc.Open(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer s.svc.Close()
	h := s.Handler()
	url := "/c/com.example.game?pid=examplenet_int&c=summer_sale&af_siteid=site42&advertising_id=38400000-8cf0-11bd-b23e-10b96e40000d&af_adset=adset1&af_ad=ad7&af_cost_model=CPI&af_cost_value=1.25&af_cost_currency=USD&is_incentivized=false&clickid=abcdef123456"
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
