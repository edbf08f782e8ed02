package service_test

import (
	"context"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/link"
)

func TestClickRecorded(t *testing.T) {
	f := newFixture(t, nil)
	tc := f.click(t)
	if !tc.Time.Equal(*f.now.Load()) || tc.PID != pid || tc.Params.Campaign != "summer" {
		t.Fatalf("touch %+v", tc)
	}
	got, err := f.db.FindTouch(context.Background(), appID, tc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.PID != pid || got.Kind != touchpoint.Click || got.OverCap {
		t.Fatalf("stored touch %+v", got)
	}
	// A link without a pid is refused before anything is recorded.
	if _, err := f.svc.Touch(f.app(t), link.Request{Kind: touchpoint.Click, RawQuery: "c=summer"}); touchpoint.ErrorCode(err) != touchpoint.EINVALID {
		t.Fatalf("no pid: %v, want invalid", err)
	}
}

func TestClickCap(t *testing.T) {
	f := newFixture(t, func(p *touchpoint.Partner) { p.DailyClickCap = 2 })
	var over []bool
	for range 3 {
		over = append(over, f.click(t).OverCap)
		f.advance(time.Second)
	}
	if over[0] || over[1] || !over[2] {
		t.Fatalf("over cap %v, want the third click over a cap of 2", over)
	}
	// A new UTC day starts a new count.
	f.advance(24 * time.Hour)
	if f.click(t).OverCap {
		t.Fatal("the first click of a new day is over the cap")
	}
}
