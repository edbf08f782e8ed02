package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// TestDemo runs "touchpoint demo" on a clock that runs 120 times as fast
// as the real one, from a fixed day, and checks through the admin API
// that every part of the loop produced data: touches of each kind, a
// rejected tampered click, installs by each match type, organic, fraud,
// reinstall and re-engagement, revenue converted in postbacks that the
// sink received, analytics users and events, event-stream deliveries,
// and a cohort synced into the Audiences API. It polls until all of it
// is there, with a generous deadline: nothing is timed.
func TestDemo(t *testing.T) {
	base := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	began := time.Now()
	ready := make(chan *demo, 1)
	out, errOut := &syncBuffer{}, &syncBuffer{}
	dir := filepath.Join(t.TempDir(), "store")
	cmd := &DemoCommand{Stdout: out, Stderr: errOut, opts: demoOptions{
		now:           func() time.Time { return base.Add(120 * time.Since(began)) },
		tick:          20 * time.Millisecond,
		historyStep:   30 * time.Minute,
		summaryEvery:  200 * time.Millisecond,
		historyPerDay: 120,
		ready:         func(d *demo) { ready <- d },
	}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- cmd.Run(ctx, []string{"--listen", "127.0.0.1:0", "--data-dir", dir, "--history-days", "2", "--rate", "0.02", "--seed", "7"})
	}()
	var d *demo
	select {
	case d = <-ready:
	case err := <-done:
		t.Fatalf("demo: %v\n%s\n%s", err, out, errOut)
	case <-time.After(60 * time.Second):
		t.Fatalf("demo was not set up within 60 s\n%s\n%s", out, errOut)
	}
	token, err := os.ReadFile(filepath.Join(dir, tokenFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "Dashboard   "+d.base+"/") || !strings.Contains(out.String(), "admin token "+strings.TrimSpace(string(token))) {
		t.Fatalf("demo did not print the dashboard and its token:\n%s", out)
	}

	var last error
	deadline := time.Now().Add(3 * time.Minute)
	for {
		if last = checkDemoLoop(d); last == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the demo's loop did not produce everything within 3 minutes: %v\nsummary: %s\nerrors: %d (last: %v)\nstderr:\n%s",
				last, d.summarize(context.Background()), d.n.errors.Load(), d.n.lastErr.Load(), errOut)
		}
		time.Sleep(250 * time.Millisecond)
	}
	if n := d.n.errors.Load(); n > 0 {
		t.Errorf("the traffic had %d errors, the last: %v", n, d.n.lastErr.Load())
	}

	// The history's end is noted once, before the live traffic's lines.
	for !strings.Contains(out.String(), "The history (2 days, ") {
		if time.Now().After(deadline) {
			t.Fatalf("no line says the history was played:\n%s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("demo stopped with %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("demo did not stop within 60 s of its context's end")
	}
	// The summary, a line at a time (not a terminal), with every figure.
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if s := lines[len(lines)-1]; !strings.Contains(s, "clicks ") || !strings.Contains(s, "streamed ") || !strings.Contains(s, "audience ") || !strings.Contains(s, "in-app ") || strings.Contains(s, "\r") {
		t.Fatalf("last summary line %q", s)
	}
}

// checkDemoLoop checks, through the admin API, that each part of the loop
// has data; the first part missing is the error.
func checkDemoLoop(d *demo) error {
	ctx := context.Background()
	s := d.summarize(ctx)
	for name, n := range map[string]int64{"clicks": s.clicks, "rejected clicks": s.rejected, "impressions": s.impressions,
		"installs": s.installs, "organic": s.organic, "CTIT-rejected": s.fraud, "reinstalls": s.reinstalls, "re-engaged": s.reengaged, "re-attributed": s.reattributed,
		"postbacks received": s.postbacks, "in-app events": s.inApp, "analytics events": s.events, "streamed": s.streamed, "audience members": s.synced} {
		if n == 0 {
			return fmt.Errorf("the summary's %s is 0: %s", name, s)
		}
	}
	if d.sink.installs.Load() == 0 || d.sink.events.Load() == 0 {
		return fmt.Errorf("the sink received %d install and %d event postbacks", d.sink.installs.Load(), d.sink.events.Load())
	}

	// Touches of each kind, and a tampered click recorded rejected.
	for _, kind := range []string{"click", "impression"} {
		var c struct{ Count int64 }
		if err := d.api(ctx, "GET", "/api/v1/apps/"+demoAndroid+"/touches/count?kind="+kind, nil, &c); err != nil || c.Count == 0 {
			return fmt.Errorf("%s touches: %d (%v)", kind, c.Count, err)
		}
	}
	var touches struct {
		Touches []struct {
			Verdict  string `json:"signature_verdict"`
			Rejected bool
		}
	}
	if err := d.api(ctx, "GET", "/api/v1/apps/"+demoAndroid+"/touches?pid="+pidSigned+"&kind=click&limit=1000", nil, &touches); err != nil {
		return err
	}
	valid, rejected := 0, 0
	for _, t := range touches.Touches {
		switch {
		case t.Rejected && t.Verdict == "invalid_signature":
			rejected++
		case !t.Rejected && t.Verdict == "valid":
			valid++
		}
	}
	if valid == 0 || rejected == 0 {
		return fmt.Errorf("%s's clicks: %d valid, %d rejected as invalid_signature", pidSigned, valid, rejected)
	}

	// Installs by each match type, and each other outcome, as the
	// server explains them.
	type install struct {
		Type        string
		Attribution struct {
			MediaSource string `json:"media_source"`
			MatchType   string `json:"match_type"`
			TouchType   string `json:"touch_type"`
		}
		Rejections []struct {
			Reason string `json:"reject_reason"`
		}
	}
	explain := func(kind string, ok func([]install) bool) error {
		ids := d.samplesOf(kind)
		if len(ids) == 0 {
			return fmt.Errorf("no %s device yet", kind)
		}
		for _, id := range ids {
			found := false
			for _, app := range []string{demoAndroid, demoIOS} { // a device is one app's
				var v struct{ Installs []install }
				if d.api(ctx, "GET", "/api/v1/apps/"+app+"/installs/"+url.PathEscape(id), nil, &v) != nil {
					continue
				}
				found = true
				if ok(v.Installs) {
					return nil
				}
			}
			if !found {
				return fmt.Errorf("%s device %s: no app has it", kind, id)
			}
		}
		return fmt.Errorf("no %s device is explained as one: %v", kind, ids)
	}
	anyOf := func(pred func(install) bool) func([]install) bool {
		return func(is []install) bool {
			for _, i := range is {
				if pred(i) {
					return true
				}
			}
			return false
		}
	}
	for kind, pred := range map[string]func(install) bool{
		"referrer":      func(i install) bool { return i.Type == "install" && i.Attribution.MatchType == "referrer" },
		"id_matching":   func(i install) bool { return i.Type == "install" && i.Attribution.MatchType == "id_matching" },
		"probabilistic": func(i install) bool { return i.Type == "install" && i.Attribution.MatchType == "probabilistic" },
		"viewthrough":   func(i install) bool { return i.Attribution.TouchType == "impression" },
		"organic":       func(i install) bool { return i.Type == "install" && i.Attribution.MediaSource == "organic" },
		"reinstall":     func(i install) bool { return i.Type == "reinstall" },
		"re-engagement": func(i install) bool { return i.Type == "re-engagement" && i.Attribution.MediaSource == pidPostbacks },
		"re-attribution": func(i install) bool {
			return i.Type == "re-attribution" && i.Attribution.MediaSource == pidPostbacks
		},
		"fraud": func(i install) bool {
			return len(i.Rejections) > 0 && i.Rejections[0].Reason == "ctit_anomalies"
		},
	} {
		if err := explain(kind, anyOf(pred)); err != nil {
			return err
		}
	}

	// The report: revenue in several currencies, rejections, reinstalls,
	// re-engagements, cost.
	var rep struct {
		Rows []struct {
			Installs, Reinstalls, Reengagements, Conversions int64
			OrganicInstalls                                  int64            `json:"organic_installs"`
			Rejected                                         map[string]int64 `json:"rejected_installs"`
			Revenue                                          map[string]any
			Cost                                             map[string]any
		}
	}
	q := url.Values{"from": {d.start.AddDate(0, 0, -1).Format(time.DateOnly)}, "to": {d.now().AddDate(0, 0, 1).Format(time.DateOnly)}, "group_by": {""}}
	if err := d.api(ctx, "GET", "/api/v1/apps/"+demoAndroid+"/report?"+q.Encode(), nil, &rep); err != nil {
		return err
	}
	if len(rep.Rows) != 1 {
		return fmt.Errorf("report: %d rows, want 1 without grouping", len(rep.Rows))
	}
	r := rep.Rows[0]
	if r.Installs == 0 || r.OrganicInstalls == 0 || r.Reinstalls == 0 || r.Reengagements == 0 || r.Conversions == 0 ||
		r.Rejected["ctit_anomalies"] == 0 || len(r.Revenue) < 2 || len(r.Cost) == 0 {
		return fmt.Errorf("report: %+v", r)
	}

	// In-app postbacks with revenue converted to US dollars.
	var dels struct {
		Deliveries []struct{ URL string }
	}
	if err := d.api(ctx, "GET", "/api/v1/deliveries?app_id="+demoAndroid+"&pid="+pidPostbacks+"&kind=event_postback&state=succeeded&limit=1000", nil, &dels); err != nil {
		return err
	}
	converted := false
	for _, del := range dels.Deliveries {
		u, err := url.Parse(del.URL)
		if err != nil {
			continue
		}
		// (currency) is USD once (monetary) is converted; the original
		// amount differs.
		if q := u.Query(); q.Get("cur") == "USD" && q.Get("usd") != "" && q.Get("orig") != "" && q.Get("usd") != q.Get("orig") {
			converted = true
			break
		}
	}
	if !converted {
		return fmt.Errorf("no in-app postback of %d sent carried revenue converted from another currency", len(dels.Deliveries))
	}

	// Analytics: an attributed user with the forward's properties, and
	// their events.
	ids := d.samplesOf("id_matching")
	var user struct {
		AmplitudeID int64          `json:"amplitude_id"`
		Props       map[string]any `json:"user_properties"`
	}
	found := false
	for _, id := range ids {
		if d.api(ctx, "GET", fmt.Sprintf("/api/v1/projects/%d/users?device_id=%s", d.project, url.QueryEscape(id)), nil, &user) == nil &&
			user.Props["[AppsFlyer] media source"] != nil {
			found = true
			break
		}
	}
	if !found {
		return errors.New("no id-matched install's user in analytics carries [AppsFlyer] media source")
	}
	var evs struct{ Events []json.RawMessage }
	if err := d.api(ctx, "GET", fmt.Sprintf("/api/v1/projects/%d/users/%d/events", d.project, user.AmplitudeID), nil, &evs); err != nil || len(evs.Events) == 0 {
		return fmt.Errorf("user %d's events: %d (%v)", user.AmplitudeID, len(evs.Events), err)
	}

	// The event streams delivered to the S2S API.
	streamed := 0
	for _, dest := range d.eventsTo {
		var sd struct{ Deliveries []json.RawMessage }
		if err := d.api(ctx, "GET", fmt.Sprintf("/api/v1/deliveries?project_id=%d&pid=destination/%d&state=succeeded", d.project, dest), nil, &sd); err != nil {
			return err
		}
		streamed += len(sd.Deliveries)
	}
	if streamed == 0 {
		return errors.New("no event-stream delivery succeeded")
	}

	// The cohort's sync ran and the audience holds its members.
	sync := d.syncID.Load()
	if sync == 0 {
		return errors.New("the cohort sync was not started")
	}
	var runs struct {
		Runs []struct {
			Status string
			Added  int
		}
	}
	if err := d.api(ctx, "GET", fmt.Sprintf("/api/v1/projects/%d/cohorts/%d/syncs/%d/runs", d.project, d.cohort, sync), nil, &runs); err != nil {
		return err
	}
	added := 0
	for _, r := range runs.Runs {
		added += r.Added
	}
	if added == 0 {
		return fmt.Errorf("the sync's runs added no one: %+v", runs.Runs)
	}
	var auds struct{ Audiences []touchpoint.Audience }
	if err := d.api(ctx, "GET", "/api/v1/apps/"+demoAndroid+"/audiences", nil, &auds); err != nil || len(auds.Audiences) == 0 {
		return fmt.Errorf("audiences: %+v (%v)", auds, err)
	}
	var members struct{ Members []json.RawMessage }
	if err := d.api(ctx, "GET", fmt.Sprintf("/api/v1/apps/%s/audiences/%d/members?identifier=gaid", demoAndroid, auds.Audiences[0].ID), nil, &members); err != nil || len(members.Members) == 0 {
		return fmt.Errorf("the audience's members: %d (%v)", len(members.Members), err)
	}
	return nil
}

// TestDemoFlags: what the demo refuses before it starts anything.
func TestDemoFlags(t *testing.T) {
	full := t.TempDir()
	os.WriteFile(filepath.Join(full, "touchpoint.db"), []byte("x"), 0o600)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--rate", "0"}, "--rate 0: want a number of users per second above 0"},
		{[]string{"--history-days", "40"}, "--history-days 40: want 0 to 25"},
		{[]string{"--data-dir", full}, "is not empty: the demo sets up a fresh store"},
		{[]string{"extra"}, "demo takes no arguments"},
	} {
		err := (&DemoCommand{Stdout: &syncBuffer{}, Stderr: &syncBuffer{}}).Run(context.Background(), tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("demo %v: %v, want an error saying %q", tc.args, err, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(full, "touchpoint.db")); err != nil {
		t.Errorf("a refused --data-dir was changed: %v", err)
	}

	// An address given that is taken is an error naming it.
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	err = (&DemoCommand{Stdout: &syncBuffer{}, Stderr: &syncBuffer{}}).Run(context.Background(), []string{"--listen", taken.Addr().String()})
	if err == nil || !strings.Contains(err.Error(), "--listen "+taken.Addr().String()) {
		t.Errorf("demo --listen on a taken address: %v", err)
	}
}

// TestDemoIgnoresEnvironment: the demo's server takes no setting from the
// shell: not TOUCHPOINT_DB (another store), TOUCHPOINT_CONFIG (a config
// file's settings), TOUCHPOINT_GEOIP_DB or any other serve variable.
func TestDemoIgnoresEnvironment(t *testing.T) {
	t.Setenv("TOUCHPOINT_DB", "postgres://elsewhere/prod")
	t.Setenv("TOUCHPOINT_CONFIG", filepath.Join(t.TempDir(), "missing.yaml"))
	t.Setenv("TOUCHPOINT_GEOIP_DB", "/nowhere.mmdb")
	t.Setenv("TOUCHPOINT_ADMIN_TOKEN", "from-the-shell")
	t.Setenv("TOUCHPOINT_MAX_CONNS", "3")
	args := demoServeArgs(context.Background(), map[string]string{"addr": "127.0.0.1:0", "data-dir": "demo-data"})
	s := &ServeCommand{Stdout: io.Discard, Stderr: io.Discard}
	if err := s.ParseFlags(args); err != nil {
		t.Fatalf("serve %v: %v", args, err)
	}
	want := DefaultServeConfig()
	got := s.Config
	if got.DB != "" || got.ConfigFile != "" || got.GeoIPDB != "" || got.AdminToken != "" || got.MaxConns != want.MaxConns {
		t.Errorf("the demo's server read the environment: %+v", got)
	}
	if got.Addr != "127.0.0.1:0" || got.DataDir != "demo-data" {
		t.Errorf("the demo's settings were not kept: addr %q, data dir %q", got.Addr, got.DataDir)
	}
}
