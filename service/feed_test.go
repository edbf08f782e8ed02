package service

import (
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// The feed never waits for a subscriber, costs the click path nothing
// while nobody watches, and stops at cancel.
func TestFeed(t *testing.T) {
	s := &Service{}
	tc := &touchpoint.Touch{App: "com.example.game", Kind: touchpoint.Click, PID: "net_a", Time: time.Unix(0, 0)}
	if n := testing.AllocsPerRun(100, func() { s.publishTouch(tc) }); n != 0 {
		t.Errorf("a publish with no subscriber allocates %v times", n)
	}

	items, cancel := s.Subscribe("com.example.game")
	other, cancelOther := s.Subscribe("com.example.other")
	defer cancelOther()
	// A subscriber that does not read: the publishes do not wait, and
	// what does not fit is dropped.
	done := make(chan struct{})
	go func() {
		for range feedBuffer + 10 {
			s.publishTouch(tc)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("publishing to a subscriber that does not read blocked")
	}
	if len(items) != feedBuffer {
		t.Errorf("%d items waiting, want the buffer's %d", len(items), feedBuffer)
	}
	if it := <-items; it.Kind != FeedTouch || it.Label != "click" || it.Text != "click from net_a" || !it.OK {
		t.Errorf("item %+v", it)
	}
	if len(other) != 0 {
		t.Errorf("another app's subscriber got %d items", len(other))
	}

	// cancel ends the subscription and closes the channel; twice is once.
	cancel()
	cancel()
	for range items {
	}
	if s.feed.n.Load() != 1 {
		t.Errorf("%d subscribers after cancel, want 1", s.feed.n.Load())
	}
	s.publishTouch(tc) // no send on the closed channel
}

func TestFeedTexts(t *testing.T) {
	s := &Service{}
	items, cancel := s.Subscribe("app")
	defer cancel()
	t0 := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	s.publishTouch(&touchpoint.Touch{App: "app", Kind: touchpoint.Click, PID: "net_a", Time: t0, Rejected: true,
		Verdict: touchpoint.VerdictInvalidSignature, Params: touchpoint.LinkParams{Campaign: "c1"}})
	s.publishTouch(&touchpoint.Touch{App: "app", Kind: touchpoint.Click, PID: "net_a", Time: t0, OverCap: true})
	s.publishInstall(&touchpoint.Install{App: "app", DeviceID: "d1", Type: touchpoint.TypeInstall, Time: t0.Add(3 * time.Hour),
		Attribution: touchpoint.OrganicAttribution(),
		Rejections:  []touchpoint.Rejection{{Reason: touchpoint.RejectCTIT, MediaSource: "net_a", TouchType: touchpoint.Click}}})
	s.publishInstall(nil) // an ordinary launch
	s.publishConversion(&touchpoint.ConversionWrite{Conversion: &touchpoint.Conversion{App: "app", DeviceID: "d1", Name: "af_level"}})
	s.publishConversion(&touchpoint.ConversionWrite{Conversion: &touchpoint.Conversion{App: "app", Name: "dup"}, Duplicate: 7})
	for _, want := range []FeedItem{
		{Kind: FeedTouch, Time: t0, Label: "click", Text: "click from net_a, campaign c1: rejected, signature invalid signature"},
		{Kind: FeedTouch, Time: t0, Label: "click", Text: "click from net_a: over the partner's daily click cap, not attributable"},
		{Kind: FeedInstall, Time: t0.Add(3 * time.Hour), Label: "install", Text: "organic install; net_a's click rejected (ctit anomalies)", DeviceID: "d1"},
		{Kind: FeedConversion, Label: "conversion", Text: "conversion af_level", DeviceID: "d1", OK: true},
	} {
		if got := <-items; got != want {
			t.Errorf("item %+v, want %+v", got, want)
		}
	}
	if len(items) != 0 {
		t.Errorf("%d more items: an ordinary launch or a duplicate event was published", len(items))
	}
}
