package service

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// The live feed: what this node records, as it happens, for whoever
// watches an app (the dashboard's Live page). Touches are published once
// committed, installs once decided and written, conversions once stored;
// a retried launch or a duplicate event, which stores nothing new, is not
// published again.
//
// The feed is in-process: each node sees its own writes only. Behind a
// load balancer over several nodes, a watcher sees the traffic of the node
// its stream reached, not all of it (a known limit; the reports and the
// installs, read from the store, are complete).
//
// Publishing never waits: a subscriber that falls feedBuffer items behind
// loses the items that do not fit. The click path is the hottest of the
// server, so a publish with nobody subscribed costs one atomic load and
// allocates nothing.

// Kinds of feed items.
const (
	FeedTouch      = "touch"
	FeedInstall    = "install"
	FeedConversion = "conversion"
)

// FeedItem is one thing that happened to an app, in words.
type FeedItem struct {
	// Kind is FeedTouch, FeedInstall or FeedConversion.
	Kind string
	// Time is when it happened by the app's clock.
	Time time.Time
	// Label is a word or two to show as a badge: click, impression, the
	// install's type, conversion.
	Label string
	// Text is a short sentence: "click from examplenet_int, campaign
	// launch", "install attributed to examplenet_int (click, 12 s after)".
	Text string
	// DeviceID is our id of the device an install or conversion is of, to
	// link it to the device's explanation; empty for touches.
	DeviceID string
	// OK is false for what was rejected: a click failing its signature or
	// over its partner's cap, an install whose winning touch failed a
	// fraud check.
	OK bool
}

// feedBuffer is how far a subscriber may fall behind before items are
// dropped for it.
const feedBuffer = 64

// feed holds the subscribers, by app.
type feed struct {
	// n counts the subscribers of every app: a publish with none returns
	// at once, without locking.
	n    atomic.Int64
	mu   sync.RWMutex
	subs map[string]map[chan FeedItem]struct{}
}

// Subscribe starts watching an app's feed. Items come on the channel until
// cancel is called (it closes the channel; calling it again does nothing).
// A subscriber that does not keep up loses items, never slows the server.
func (s *Service) Subscribe(app string) (<-chan FeedItem, func()) {
	f := &s.feed
	ch := make(chan FeedItem, feedBuffer)
	f.mu.Lock()
	if f.subs == nil {
		f.subs = map[string]map[chan FeedItem]struct{}{}
	}
	if f.subs[app] == nil {
		f.subs[app] = map[chan FeedItem]struct{}{}
	}
	f.subs[app][ch] = struct{}{}
	f.n.Add(1)
	f.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			f.mu.Lock()
			delete(f.subs[app], ch)
			if len(f.subs[app]) == 0 {
				delete(f.subs, app)
			}
			f.n.Add(-1)
			// Under the write lock: no publish is sending to ch.
			close(ch)
			f.mu.Unlock()
		})
	}
}

// watched reports whether anyone watches any app: the cheap check before
// an item is built.
func (s *Service) watched() bool { return s.feed.n.Load() != 0 }

// publish hands an item to the app's subscribers that have room for it.
func (s *Service) publish(app string, item FeedItem) {
	f := &s.feed
	f.mu.RLock()
	defer f.mu.RUnlock()
	for ch := range f.subs[app] {
		select {
		case ch <- item:
		default: // behind: dropped for this one
		}
	}
}

// publishTouch publishes a committed touch.
func (s *Service) publishTouch(t *touchpoint.Touch) {
	if !s.watched() {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s from %s", t.Kind, t.PID)
	if t.CustomSource {
		b.WriteString(" (custom media source)")
	}
	if t.Params.Campaign != "" {
		fmt.Fprintf(&b, ", campaign %s", t.Params.Campaign)
	}
	switch {
	case t.Rejected:
		fmt.Fprintf(&b, ": rejected, signature %s", strings.ReplaceAll(t.Verdict.String(), "_", " "))
	case t.OverCap:
		b.WriteString(": over the partner's daily click cap, not attributable")
	}
	s.publish(t.App, FeedItem{Kind: FeedTouch, Time: t.Time, Label: t.Kind.String(), Text: b.String(),
		OK: !t.Rejected && !t.OverCap})
}

// publishInstall publishes a decided launch (nil: an ordinary launch,
// nothing to publish).
func (s *Service) publishInstall(in *touchpoint.Install) {
	if in == nil || !s.watched() {
		return
	}
	var b strings.Builder
	a := in.Attribution
	if a.IsOrganic() {
		fmt.Fprintf(&b, "organic %s", in.Type)
	} else {
		fmt.Fprintf(&b, "%s attributed to %s (%s, %s after)", in.Type, a.MediaSource, a.TouchType, shortDuration(in.Time.Sub(a.TouchTime)))
	}
	for _, r := range in.Rejections {
		fmt.Fprintf(&b, "; %s's %s rejected (%s)", r.MediaSource, r.TouchType, strings.ReplaceAll(r.Reason, "_", " "))
	}
	s.publish(in.App, FeedItem{Kind: FeedInstall, Time: in.Time, Label: string(in.Type), Text: b.String(),
		DeviceID: in.DeviceID, OK: len(in.Rejections) == 0})
}

// publishConversion publishes a stored conversion (not a duplicate, which
// stored nothing).
func (s *Service) publishConversion(cw *touchpoint.ConversionWrite) {
	if cw.Duplicate != 0 || !s.watched() {
		return
	}
	c := cw.Conversion
	text := "conversion " + c.Name
	if c.Revenue != 0 {
		text += " " + c.Revenue.String() + " " + c.Currency
	}
	s.publish(c.App, FeedItem{Kind: FeedConversion, Time: c.Time, Label: "conversion", Text: text, DeviceID: c.DeviceID, OK: true})
}

// shortDuration writes a delay roughly: "12 s", "5 min", "3 h", "2 days".
func shortDuration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", d/time.Second)
	case d < time.Hour:
		return fmt.Sprintf("%d min", d/time.Minute)
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h", d/time.Hour)
	}
	return fmt.Sprintf("%d days", d/(24*time.Hour))
}
