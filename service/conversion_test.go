package service_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/service"
)

func TestConvert(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	f.click(t)
	f.advance(time.Minute)
	launch, err := f.svc.Launch(ctx, f.app(t), firstLaunch("l1"))
	if err != nil {
		t.Fatal(err)
	}
	f.advance(time.Hour)
	ev := &service.Event{DeviceID: launch.Device.ID, EventID: "e1", Name: "af_purchase", Value: json.RawMessage(` {"sku":"gold"} `),
		Revenue: 499, Currency: " eur", Source: service.SourceSDK}
	res, err := f.svc.Convert(ctx, f.app(t), ev)
	if err != nil {
		t.Fatal(err)
	}
	c := res.Conversion
	if res.Duplicate != 0 || c.ID == 0 || c.Attribution.MediaSource != pid || c.InstallID != launch.Install.ID ||
		c.Currency != "EUR" || c.Value != `{"sku":"gold"}` || !c.Time.Equal(*f.now.Load()) {
		t.Fatalf("conversion %+v", c)
	}
	stored, err := f.db.ListConversions(ctx, appID, launch.Device.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != 1 || stored[0].ID != c.ID || stored[0].Name != "af_purchase" {
		t.Fatalf("stored %+v", stored)
	}
	// The SDK's retry of the event: the first conversion's id, nothing
	// stored again.
	again, err := f.svc.Convert(ctx, f.app(t), ev)
	if err != nil {
		t.Fatal(err)
	}
	if again.Duplicate != c.ID {
		t.Fatalf("retry: duplicate %d, want %d", again.Duplicate, c.ID)
	}
	if stored, _ = f.db.ListConversions(ctx, appID, launch.Device.ID); len(stored) != 1 {
		t.Fatalf("%d conversions after a retry, want 1", len(stored))
	}
}

func TestConvertRules(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	launch, err := f.svc.Launch(ctx, f.app(t), firstLaunch("l1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		ev   service.Event
		code string
	}{
		{"no device", service.Event{Name: "x", Source: service.SourceSDK}, touchpoint.EINVALID},
		{"unknown device", service.Event{DeviceID: "nope", Name: "x", Source: service.SourceSDK}, touchpoint.EINVALID},
		{"no name", service.Event{DeviceID: launch.Device.ID, Source: service.SourceSDK}, touchpoint.EINVALID},
		{"bad currency", service.Event{DeviceID: launch.Device.ID, Name: "x", Revenue: 1, Currency: "euro", Source: service.SourceSDK}, touchpoint.EINVALID},
		{"SDK refund", service.Event{DeviceID: launch.Device.ID, Name: "x", Revenue: -100, Source: service.SourceSDK}, touchpoint.EINVALID},
		// AppsFlyer's S2S API takes refunds as negative revenue.
		{"S2S refund", service.Event{Device: launch.Device, DeviceID: launch.Device.ID, Name: "x", Revenue: -100, Source: service.SourceS2S}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := f.svc.Convert(ctx, f.app(t), &tc.ev)
			if touchpoint.ErrorCode(err) != tc.code {
				t.Fatalf("error %v, want code %q", err, tc.code)
			}
			if err == nil && (res.Conversion.Currency != "USD" || res.Conversion.Revenue != -100) {
				t.Fatalf("conversion %+v: want -1.00 USD", res.Conversion)
			}
		})
	}
}

func TestFindDeviceForS2S(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	l := firstLaunch("l1")
	l.CustomerUserID = "user-7"
	launch, err := f.svc.Launch(ctx, f.app(t), l)
	if err != nil {
		t.Fatal(err)
	}
	for _, ids := range [][2]string{{launch.Device.ID, ""}, {"", "user-7"}} {
		dev, err := f.svc.FindDeviceForS2S(ctx, appID, ids[0], ids[1])
		if err != nil || dev.ID != launch.Device.ID {
			t.Fatalf("by %q: %v, %v", ids, dev, err)
		}
	}
	for _, ids := range [][2]string{{"nope", ""}, {"", "someone-else"}} {
		if _, err := f.svc.FindDeviceForS2S(ctx, appID, ids[0], ids[1]); touchpoint.ErrorCode(err) != touchpoint.EINVALID {
			t.Fatalf("by %q: %v, want invalid", ids, err)
		}
	}
}
