package web_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// liveItem is a message of the live stream, as app.js reads it.
type liveItem struct {
	Kind  string `json:"kind"`
	Label string `json:"label"`
	Text  string `json:"text"`
	Time  string `json:"time"`
	Href  string `json:"href"`
	OK    *bool  `json:"ok"`
}

// openStream opens the app's live stream with b's session and returns its
// messages, once the stream is connected (the server has subscribed).
// The stream closes when the test ends.
func openStream(t *testing.T, b *browser, app string) <-chan liveItem {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", b.base+"/apps/"+app+"/live/events", nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("live stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	// The first message is a comment: the server has subscribed.
	deadline := time.After(5 * time.Second)
	for connected := false; !connected; {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("the stream ended before it was connected")
			}
			connected = l == ": connected"
		case <-deadline:
			t.Fatal("the stream did not connect within 5 s")
		}
	}
	items := make(chan liveItem, 100)
	go func() {
		defer close(items)
		for l := range lines {
			data, ok := strings.CutPrefix(l, "data: ")
			if !ok {
				continue
			}
			var it liveItem
			if err := json.Unmarshal([]byte(data), &it); err != nil {
				t.Errorf("stream message %q: %v", data, err)
				continue
			}
			items <- it
		}
	}()
	return items
}

// next returns the stream's next item, failing the test after 5 s.
func next(t *testing.T, items <-chan liveItem) liveItem {
	t.Helper()
	select {
	case it, ok := <-items:
		if !ok {
			t.Fatal("the stream ended")
		}
		return it
	case <-time.After(5 * time.Second):
		t.Fatal("no stream message within 5 s")
	}
	return liveItem{}
}

func TestLiveFeed(t *testing.T) {
	s, clk := startServer(t)
	devKey := newGameApp(t, s, nil)
	b := signIn(t, s)

	// The page: the feed the script fills, and what to send meanwhile.
	p := b.mustGet("/apps/"+gameApp+"/live", `<ul class="feed" data-live="/apps/com.example.game/live/events"`,
		`<li id="live-empty"`, `<p id="live-status"`, `aria-current="page">Live`)
	p.mustShow(t, `curl -i "`+s.URL()+`/c/com.example.game?pid=examplenet_int&c=launch"`)

	items := openStream(t, b, gameApp)
	// A second watcher of the same app gets the same items.
	items2 := openStream(t, b, gameApp)

	click(t, s, "pid=examplenet_int&c=launch&advertising_id="+gaid)
	it := next(t, items)
	if it.Kind != "touch" || it.Label != "click" || it.Text != "click from examplenet_int, campaign launch" ||
		it.Time != "2026-03-10 12:00:00 UTC" || it.Href != "" || it.OK == nil || !*it.OK {
		t.Errorf("click item %+v", it)
	}
	clk.Add(12 * time.Second)
	device := launch(t, s, devKey, map[string]any{"advertising_id": gaid})
	it = next(t, items)
	if it.Kind != "install" || it.Label != "install" || it.Text != "install attributed to examplenet_int (click, 12 s after)" ||
		it.Time != "2026-03-10 12:00:12 UTC" || it.Href != "/apps/com.example.game/explorer?id="+device || !*it.OK {
		t.Errorf("install item %+v", it)
	}
	sdk(t, s, devKey, "/events", map[string]any{"device_id": device, "event_name": "af_purchase", "revenue": "9.99", "currency": "USD"}, nil)
	if it = next(t, items); it.Kind != "conversion" || it.Text != "conversion af_purchase 9.99 USD" || it.Href != "/apps/com.example.game/explorer?id="+device {
		t.Errorf("conversion item %+v", it)
	}
	// An ordinary later launch decides nothing new; an organic install
	// says so.
	sdk(t, s, devKey, "/launches", map[string]any{"device_id": device, "advertising_id": gaid}, nil)
	launch(t, s, devKey, map[string]any{"advertising_id": "aaaaaaaa-0000-0000-0000-000000000001"})
	if it = next(t, items); it.Kind != "install" || it.Text != "organic install" {
		t.Errorf("organic install item %+v", it)
	}
	for _, want := range []string{"touch", "install", "conversion", "install"} {
		if it := next(t, items2); it.Kind != want {
			t.Errorf("second watcher: %+v, want a %s", it, want)
		}
	}

	// A click of another app is not in this app's feed.
	s.api(t, 201, "POST", "/api/v1/apps", map[string]any{"app_id": "com.example.other", "platform": "android", "name": "Other"}, nil)
	other := openStream(t, b, "com.example.other")
	if code, _ := s.send(t, "GET", "/c/com.example.other?pid=net_x", nil, ""); code != http.StatusFound {
		t.Fatal("click on the other app")
	}
	if it := next(t, other); it.Text != "click from net_x (custom media source)" {
		t.Errorf("other app's item %+v", it)
	}
	select {
	case it := <-items:
		t.Errorf("the other app's click came in this app's feed: %+v", it)
	case <-time.After(200 * time.Millisecond):
	}
}

func TestLiveStreamRefused(t *testing.T) {
	s, _ := startServer(t)
	newGameApp(t, s, nil)

	// Without a session: refused, not a redirect to a page.
	req, _ := http.NewRequest("GET", s.URL()+"/apps/"+gameApp+"/live/events", nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("stream without a session: %d", resp.StatusCode)
	}

	// An unknown app: 404 in words.
	b := signIn(t, s)
	p := b.get("/apps/com.nope/live/events")
	if p.Status != http.StatusNotFound || !strings.Contains(p.Body, "com.nope") {
		t.Errorf("stream of an unknown app: %d %q", p.Status, p.Body)
	}
}
