package main

import (
	"bufio"
	"bytes"
	"container/heap"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/link"
)

// The simulation runs on the apps' and the project's test clocks. It
// starts --history-days before now and plays the history fast, moving the
// clocks a step at a time, so that the dashboard opens on a week of days
// (daily charts, retention, LTV, cohorts need days to pass); then it
// follows the real clock, a tick a second, so the live feed shows traffic
// as it happens and the clocks read the real time. Clicks are stamped
// with the clock when they arrive, so each step of a user's journey is
// scheduled from the time the previous one was actually stamped; launches
// and events carry their own times, which the server accepts up to now.

// action is one step of a journey, due at a simulated time.
type action struct {
	at  time.Time
	seq int64
	j   *journey
	run func(d *demo, ctx context.Context, j *journey)
}

type actionQueue []*action

func (q actionQueue) Len() int { return len(q) }
func (q actionQueue) Less(i, j int) bool {
	if !q[i].at.Equal(q[j].at) {
		return q[i].at.Before(q[j].at)
	}
	return q[i].seq < q[j].seq
}
func (q actionQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *actionQueue) Push(x any)   { *q = append(*q, x.(*action)) }
func (q *actionQueue) Pop() any {
	old := *q
	a := old[len(old)-1]
	*q = old[:len(old)-1]
	return a
}

// schedule queues a step of j at time at.
func (d *demo) schedule(j *journey, at time.Time, run func(*demo, context.Context, *journey)) {
	d.qmu.Lock()
	defer d.qmu.Unlock()
	d.seq++
	heap.Push(&d.queue, &action{at: at, seq: d.seq, j: j, run: run})
}

// due takes the actions due by t, grouped by journey in order.
func (d *demo) due(t time.Time) [][]*action {
	d.qmu.Lock()
	defer d.qmu.Unlock()
	var order []*journey
	by := map[*journey][]*action{}
	for d.queue.Len() > 0 && !d.queue[0].at.After(t) {
		a := heap.Pop(&d.queue).(*action)
		if by[a.j] == nil {
			order = append(order, a.j)
		}
		by[a.j] = append(by[a.j], a)
	}
	out := make([][]*action, 0, len(order))
	for _, j := range order {
		out = append(out, by[j])
	}
	return out
}

// now is the simulated time: the apps' and the project's clocks.
func (d *demo) now() time.Time { return time.UnixMilli(d.simNow.Load()).UTC() }

// arrivalRate is new users per second of simulated time at t: the
// history's is --rate × 50 a day, so that a week is played in seconds.
func (d *demo) arrivalRate(t time.Time) float64 {
	if t.Before(d.live) {
		if d.opts.historyPerDay > 0 {
			return d.opts.historyPerDay / 86400
		}
		return d.cfg.rate * 50 / 86400
	}
	return d.cfg.rate
}

// traffic runs the simulation until ctx ends.
func (d *demo) traffic(ctx context.Context) error {
	next := d.start.Add(d.expDelay(d.start))
	var lastSyncCheck time.Time
	began := time.Now()
	for ctx.Err() == nil {
		target := d.opts.now().UTC().Truncate(time.Millisecond)
		live := !d.now().Before(d.live)
		if live && d.historyTook.Load() == 0 {
			d.historyTook.Store(int64(time.Since(began)))
		}
		if !live && target.Sub(d.now()) > d.opts.historyStep {
			target = d.now().Add(d.opts.historyStep)
		}
		if target.After(d.now()) {
			if err := d.moveClocks(ctx, target); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("moving the test clocks: %w", err)
			}
			for !next.After(target) {
				d.arrive(next)
				if next.Before(d.live) {
					d.historyUsers++
				}
				prev := next
				if next = next.Add(d.expDelay(next)); prev.Before(d.live) && !next.Before(d.live) {
					// The live rate from the moment it starts (arrivals
					// are memoryless), not after the history's long gap.
					next = d.live.Add(d.expDelay(d.live))
				}
			}
			d.runDue(ctx, target)
			if day := target.Format(time.DateOnly); day != d.rateDay {
				d.fail(d.loadRates(ctx, target))
			}
			// The sync starts once the history is played, so that its
			// first run sends the week's payers.
			if live && time.Since(lastSyncCheck) > time.Second {
				lastSyncCheck = time.Now()
				d.fail(d.maybeStartSync(ctx))
			}
		}
		if live {
			select {
			case <-ctx.Done():
			case <-time.After(d.opts.tick):
			}
		}
	}
	return nil
}

// expDelay is the wait until the next new user: arrivals are a Poisson
// process.
func (d *demo) expDelay(t time.Time) time.Duration {
	return time.Duration(d.rng.ExpFloat64() / d.arrivalRate(t) * float64(time.Second))
}

// moveClocks sets the apps' and the project's test clocks to t.
func (d *demo) moveClocks(ctx context.Context, t time.Time) error {
	body := map[string]any{"time": t}
	for _, app := range []string{demoAndroid, demoIOS} {
		if err := d.api(ctx, "POST", "/api/v1/apps/"+app+"/test_clock", body, nil); err != nil {
			return err
		}
	}
	if err := d.api(ctx, "POST", fmt.Sprintf("/api/v1/projects/%d/test_clock", d.project), body, nil); err != nil {
		return err
	}
	d.simNow.Store(t.UnixMilli())
	return nil
}

// runDue runs every action due by t: each journey's in order, journeys
// side by side (a few at a time), until none is due (a step may schedule
// the next one at once).
func (d *demo) runDue(ctx context.Context, t time.Time) {
	sem := make(chan struct{}, 8)
	for {
		groups := d.due(t)
		if len(groups) == 0 || ctx.Err() != nil {
			return
		}
		var wg sync.WaitGroup
		for _, g := range groups {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				for _, a := range g {
					if ctx.Err() != nil {
						return
					}
					a.run(d, ctx, a.j)
				}
			}()
		}
		wg.Wait()
	}
}

// journey is one simulated user (a device) and what it does.
type journey struct {
	n        int64
	rng      *rand.Rand
	app      string
	platform string // android or ios
	kind     string // what brings it: referrer, gaid, idfa, probabilistic, viewthrough, organic, fraud, tampered
	pid      string
	campaign campaign

	gaid, idfa, idfv, ip, ua, clickUA, model, os, lang, country string
	userID                                                      string
	deviceID                                                    string
	installedAt                                                 time.Time
	retargeted                                                  bool
}

// campaign is a link's campaign, ad set and ad, and what an install costs.
type campaign struct {
	name, id, adset, adsetID, ad, adID, site string
	cost                                     float64
	currency                                 string
}

// demoCampaigns are each partner's campaigns; every one has two ad sets
// of two ads.
var demoCampaigns = map[string][]struct {
	name, id string
	cpi      float64
	currency string
}{
	pidPostbacks: {{"summer_sale", "1001", 2.10, "USD"}, {"new_levels", "1002", 1.60, "USD"}},
	pidSigned:    {{"brand_awareness", "2001", 2.40, "EUR"}, {"lookalikes", "2002", 1.90, "EUR"}},
	pidSRN:       {{"search_generic", "3001", 3.10, "USD"}, {"video_ads", "3002", 2.70, "USD"}},
}

func pickCampaign(r *rand.Rand, pid string) campaign {
	cs := demoCampaigns[pid]
	c := cs[r.IntN(len(cs))]
	set, ad := 1+r.IntN(2), 1+r.IntN(2)
	return campaign{
		name: c.name, id: c.id,
		adset: fmt.Sprintf("%s_set%d", c.name, set), adsetID: fmt.Sprintf("%s%d", c.id, set),
		ad: fmt.Sprintf("%s_set%d_ad%d", c.name, set, ad), adID: fmt.Sprintf("%s%d%d", c.id, set, ad),
		site:     fmt.Sprintf("site_%02d", 1+r.IntN(12)),
		cost:     math.Round(c.cpi*(0.8+0.4*r.Float64())*100) / 100,
		currency: c.currency,
	}
}

// params are the link parameters of a touch of the campaign.
func (c campaign) params() []touchpoint.Param {
	p := []touchpoint.Param{
		{Key: "c", Value: c.name}, {Key: "af_c_id", Value: c.id},
		{Key: "af_adset", Value: c.adset}, {Key: "af_adset_id", Value: c.adsetID},
		{Key: "af_ad", Value: c.ad}, {Key: "af_ad_id", Value: c.adID},
		{Key: "af_siteid", Value: c.site},
		{Key: "af_cost_model", Value: "CPI"}, {Key: "af_cost_value", Value: strconv.FormatFloat(c.cost, 'f', 2, 64)},
		{Key: "af_cost_currency", Value: c.currency},
	}
	// Deep links: where the app opens (the conversion data of the
	// install carries them, for deferred deep linking).
	switch c.name {
	case "new_levels":
		p = append(p, touchpoint.Param{Key: "af_dp", Value: "demogame://levels"}, touchpoint.Param{Key: "deep_link_value", Value: "new_levels"})
	case "winback":
		p = append(p, touchpoint.Param{Key: "af_dp", Value: "demogame://offer"}, touchpoint.Param{Key: "deep_link_value", Value: "comeback_offer"})
	}
	return p
}

// scenarios: what brings a new user, with weights.
var demoScenarios = []struct {
	kind   string
	weight int
}{
	{"referrer", 18}, {"gaid", 16}, {"idfa", 12}, {"probabilistic", 10}, {"viewthrough", 5},
	{"organic", 13}, {"fraud", 4}, {"tampered", 4}, {"reinstall", 6}, {"reengage", 9}, {"reattribute", 3},
}

// arrive starts a new user at t, and the clicks and impressions around it
// that bring no one (most don't).
func (d *demo) arrive(t time.Time) {
	d.journeys++
	r := rand.New(rand.NewPCG(d.cfg.seed, uint64(d.journeys)))
	total := 0
	for _, s := range demoScenarios {
		total += s.weight
	}
	pick := r.IntN(total)
	kind := ""
	for _, s := range demoScenarios {
		if pick < s.weight {
			kind = s.kind
			break
		}
		pick -= s.weight
	}
	j := newJourney(d.journeys, r, kind)
	switch kind {
	case "reinstall", "reengage", "reattribute":
		old := d.pickInstalled(r)
		if old == nil { // nothing installed yet: an organic user instead
			j = newJourney(d.journeys, r, "organic")
			d.schedule(j, t, (*demo).firstLaunch)
			break
		}
		switch kind {
		case "reinstall":
			d.schedule(old, t, (*demo).reinstall)
		case "reengage":
			d.schedule(old, t, (*demo).retarget)
		default:
			d.schedule(old, t, (*demo).reattribute)
		}
	case "organic":
		d.schedule(j, t, (*demo).firstLaunch)
	case "viewthrough":
		d.schedule(j, t, (*demo).impressionThenLaunch)
	default:
		d.schedule(j, t, (*demo).clickThenLaunch)
	}
	// Noise: touches that convert no one.
	noise := newJourney(-d.journeys, rand.New(rand.NewPCG(d.cfg.seed, uint64(d.journeys)|1<<63)), "noise")
	d.schedule(noise, t.Add(time.Duration(r.IntN(60))*time.Second), (*demo).noiseTouches)
}

func newJourney(n int64, r *rand.Rand, kind string) *journey {
	j := &journey{n: n, rng: r, kind: kind, lang: "en-US", country: "United States"}
	switch kind {
	case "idfa", "probabilistic":
		j.platform, j.app = "ios", demoIOS
	case "referrer", "gaid", "viewthrough", "fraud", "tampered":
		j.platform, j.app = "android", demoAndroid
	default:
		j.platform, j.app = "android", demoAndroid
		if r.IntN(3) == 0 {
			j.platform, j.app = "ios", demoIOS
		}
	}
	switch kind {
	case "tampered":
		j.pid = pidSigned
	case "probabilistic", "viewthrough", "fraud", "referrer":
		j.pid = pidPostbacks
	default:
		j.pid = []string{pidPostbacks, pidPostbacks, pidSigned, pidSRN}[r.IntN(4)]
	}
	j.campaign = pickCampaign(r, j.pid)
	if kind == "fraud" {
		j.campaign.site = "site_inj_666" // the injecting publisher
	}
	j.ip = fmt.Sprintf("%d.%d.%d.%d", []int{81, 88, 92, 176, 185}[r.IntN(5)], r.IntN(256), r.IntN(256), 1+r.IntN(254))
	j.idfv = uuid(r)
	if j.platform == "ios" {
		if kind != "probabilistic" && r.IntN(4) != 0 {
			j.idfa = strings.ToUpper(uuid(r))
		}
		v := []string{"17.5", "18.1", "18.2"}[r.IntN(3)]
		j.os, j.model = v, "iPhone"
		j.clickUA = "Mozilla/5.0 (iPhone; CPU iPhone OS " + strings.ReplaceAll(v, ".", "_") + " like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/" + v + " Mobile/15E148 Safari/604.1"
		j.ua = "DemoGame/2.3.0 CFNetwork/1494.0.7 Darwin/23.4.0"
	} else {
		j.gaid = uuid(r)
		v := []string{"13", "14", "15"}[r.IntN(3)]
		j.model = []string{"SM-G991B", "Pixel 8", "Redmi Note 12"}[r.IntN(3)]
		j.os = v
		j.clickUA = "Mozilla/5.0 (Linux; Android " + v + "; " + j.model + ") AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36"
		j.ua = "Dalvik/2.1.0 (Linux; U; Android " + v + "; " + j.model + " Build/UP1A)"
	}
	if c := r.IntN(10); c < 2 {
		j.lang, j.country = "de-DE", "Germany"
	} else if c < 3 {
		j.lang, j.country = "pt-BR", "Brazil"
	}
	if r.IntN(5) < 3 {
		j.userID = fmt.Sprintf("player-%06d", n)
	}
	return j
}

func uuid(r *rand.Rand) string {
	b := make([]byte, 16)
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// delay is a random wait between lo and hi.
func (j *journey) delay(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(j.rng.Int64N(int64(hi-lo)+1))
}

// clickThenLaunch: the ad's click, then the install's first launch a
// while later (a few seconds for click injection, which the CTIT check
// rejects).
func (d *demo) clickThenLaunch(ctx context.Context, j *journey) {
	params := j.campaign.params()
	params = append(params, touchpoint.Param{Key: "clickid", Value: fmt.Sprintf("ck%08d", j.n)})
	switch j.kind {
	case "gaid", "fraud", "tampered":
		params = append(params, touchpoint.Param{Key: "advertising_id", Value: j.gaid})
	case "idfa":
		if j.idfa != "" {
			params = append(params, touchpoint.Param{Key: "idfa", Value: j.idfa})
		}
	case "probabilistic":
		// Server-to-server click from the network: the user's IP and
		// browser, and no advertising id (ATT denied).
		params = append(params, touchpoint.Param{Key: "af_ip", Value: j.ip}, touchpoint.Param{Key: "af_ua", Value: j.clickUA},
			touchpoint.Param{Key: "af_lang", Value: j.lang})
	}
	loc, err := d.touch(ctx, j, touchpoint.Click, j.pid, params, j.kind == "tampered")
	if err != nil {
		d.fail(err)
		return
	}
	stamped := d.now()
	// Most installs come within a minute or two of the click (half
	// within 50 s), some much later.
	wait := 15*time.Second + time.Duration(math.Pow(j.rng.Float64(), 6)*float64(40*time.Minute))
	if j.kind == "fraud" {
		wait = j.delay(2*time.Second, 7*time.Second)
	}
	var referrer string
	if j.kind == "referrer" {
		if u, err := url.Parse(loc); err == nil {
			referrer = u.Query().Get("referrer")
		}
	}
	at := stamped.Add(wait)
	d.schedule(j, at, func(d *demo, ctx context.Context, j *journey) {
		body := j.launchBody(at)
		if referrer != "" {
			body["referrer"] = referrer
			body["click_ts"] = stamped.Unix()
			body["install_begin_ts"] = at.Add(-20 * time.Second).Unix()
		}
		d.install(ctx, j, at, body)
	})
}

// impressionThenLaunch: an ad seen (not clicked), then an install matched
// to it by the advertising id (view-through).
func (d *demo) impressionThenLaunch(ctx context.Context, j *journey) {
	params := append(j.campaign.params(), touchpoint.Param{Key: "advertising_id", Value: j.gaid})
	if _, err := d.touch(ctx, j, touchpoint.Impression, j.pid, params, false); err != nil {
		d.fail(err)
		return
	}
	at := d.now().Add(j.delay(10*time.Minute, 6*time.Hour))
	d.schedule(j, at, func(d *demo, ctx context.Context, j *journey) { d.install(ctx, j, at, j.launchBody(at)) })
}

// firstLaunch: an organic install.
func (d *demo) firstLaunch(ctx context.Context, j *journey) {
	at := d.now()
	d.install(ctx, j, at, j.launchBody(at))
}

// noiseTouches are clicks and impressions that bring no install: other
// users, some with advertising ids, across every partner's campaigns.
func (d *demo) noiseTouches(ctx context.Context, j *journey) {
	for i := range 2 + j.rng.IntN(3) {
		pid := []string{pidPostbacks, pidSigned, pidSRN}[j.rng.IntN(3)]
		c := pickCampaign(j.rng, pid)
		params := c.params()
		app := demoAndroid
		if j.rng.IntN(3) == 0 {
			app = demoIOS
		}
		kind := touchpoint.Impression
		if i == 0 || j.rng.IntN(3) == 0 {
			kind = touchpoint.Click
		}
		if app == demoAndroid {
			params = append(params, touchpoint.Param{Key: "advertising_id", Value: uuid(j.rng)})
		}
		other := *j
		other.app = app
		if _, err := d.touch(ctx, &other, kind, pid, params, false); err != nil {
			d.fail(err)
		}
	}
}

// touch sends a click or an impression on the app's link, as the user's
// browser (its User-Agent and language); the signing partner's clicks
// are signed (tampered: one parameter changed after signing, so the
// signature no longer holds). It returns the redirect's Location.
func (d *demo) touch(ctx context.Context, j *journey, kind touchpoint.TouchKind, pid string, params []touchpoint.Param, tamper bool) (string, error) {
	u := link.Build(d.base, kind, j.app, pid, params)
	if pid == pidSigned { // it signs its impression links too

		var err error
		if u, err = link.SignURL(u, d.secrets[j.app], d.now().Add(time.Hour)); err != nil {
			return "", err
		}
		if tamper && kind == touchpoint.Click {
			// A click farm raising the cost it is paid.
			u = strings.Replace(u, "af_cost_value=", "af_cost_value=9", 1)
		}
	}
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("User-Agent", j.clickUA)
	req.Header.Set("Accept-Language", j.lang)
	resp, err := d.http.Do(req)
	if err != nil {
		return "", err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	switch {
	case kind == touchpoint.Impression:
		d.n.impressions.Add(1)
	case tamper:
		d.n.rejectedClicks.Add(1)
	default:
		d.n.clicks.Add(1)
	}
	return resp.Header.Get("Location"), nil
}

// launchBody is the SDK's launch report at t.
func (j *journey) launchBody(t time.Time) map[string]any {
	b := map[string]any{
		"launch_id":   fmt.Sprintf("launch-%d-%d", j.n, t.UnixMilli()),
		"launch_time": t.UnixMilli(),
		"ip":          j.ip, "user_agent": j.ua, "device_model": j.model, "os_version": j.os, "language": j.lang,
		"app_version": "2.3.0", "sdk_version": "6.14.0",
	}
	if j.deviceID != "" {
		b["device_id"] = j.deviceID
	}
	if j.userID != "" {
		b["customer_user_id"] = j.userID
	}
	if j.platform == "ios" {
		b["idfv"] = j.idfv
		if j.idfa != "" {
			b["idfa"], b["att"] = j.idfa, "authorized"
		} else {
			b["att"] = "denied"
		}
	} else {
		b["advertising_id"] = j.gaid
	}
	return b
}

// launchAnswer is the SDK API's answer to a launch.
type launchAnswer struct {
	DeviceID       string         `json:"device_id"`
	Type           string         `json:"type"`
	ConversionData map[string]any `json:"conversion_data"`
}

// sdk posts to the SDK API with the app's dev key.
func (d *demo) sdk(ctx context.Context, app, path string, body, out any) error {
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, "POST", d.base+"/sdk/v1/apps/"+app+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+d.devKeys[app])
	req.Header.Set("Content-Type", "application/json")
	resp, err := d.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	ans, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST /sdk/v1/apps/%s%s: %s %s", app, path, resp.Status, bytes.TrimSpace(ans))
	}
	if out != nil {
		return json.Unmarshal(ans, out)
	}
	return nil
}

// install sends a first launch and, when it installed, plays the user's
// week: sessions, purchases, analytics events.
func (d *demo) install(ctx context.Context, j *journey, at time.Time, body map[string]any) {
	var ans launchAnswer
	if err := d.sdk(ctx, j.app, "/launches", body, &ans); err != nil {
		d.fail(err)
		return
	}
	j.deviceID, j.installedAt = ans.DeviceID, at
	organic := ans.ConversionData["af_status"] != "Non-organic"
	switch {
	case ans.Type != "install":
		d.fail(fmt.Errorf("%s: a first launch of a new device was a %s", j.kind, ans.Type))
		return
	case organic:
		d.n.organic.Add(1)
		d.sample("organic", j.deviceID)
	default:
		d.n.installs.Add(1)
		if mt, _ := ans.ConversionData["match_type"].(string); mt != "" {
			d.sample(mt, j.deviceID)
		}
		if j.kind == "viewthrough" {
			d.sample("viewthrough", j.deviceID)
		}
	}
	switch j.kind {
	case "fraud":
		d.n.fraud.Add(1)
		d.sample("fraud", j.deviceID)
	case "tampered":
		d.sample("tampered", j.deviceID)
	}
	d.poolMu.Lock()
	// The latest installs only, so a long run's memory stays flat.
	if len(d.installed) < maxInstalledPool {
		d.installed = append(d.installed, j)
	} else {
		d.installed[j.rng.IntN(maxInstalledPool)] = j
	}
	d.poolMu.Unlock()
	d.session(ctx, j, at, true)
	d.planWeek(j, at)
}

// planWeek schedules the user's next seven days: a session on each day
// they come back, fewer as days go by.
func (d *demo) planWeek(j *journey, from time.Time) {
	for day := 1; day <= 7; day++ {
		if j.rng.Float64() > 0.55*math.Pow(0.8, float64(day-1)) {
			continue
		}
		at := from.Add(time.Duration(day)*24*time.Hour + j.delay(-3*time.Hour, 3*time.Hour))
		d.schedule(j, at, func(d *demo, ctx context.Context, j *journey) {
			if err := d.sdk(ctx, j.app, "/launches", j.launchBody(at), nil); err != nil {
				d.fail(err)
				return
			}
			d.session(ctx, j, at, false)
		})
	}
}

// session is what a user does in the app at t: analytics events, and
// sometimes a purchase, reported to the attribution SDK (in its
// currency) and to analytics (in US dollars).
func (d *demo) session(ctx context.Context, j *journey, at time.Time, first bool) {
	ms := at.UnixMilli()
	events := []map[string]any{j.analyticsEvent("session_start", ms)}
	if first {
		events[0]["user_properties"] = map[string]any{"$set": map[string]any{"app": j.app}}
		if j.rng.IntN(10) < 7 {
			events = append(events, j.analyticsEvent("tutorial_complete", ms+90_000))
		}
	}
	for i := range j.rng.IntN(4) {
		e := j.analyticsEvent("level_complete", ms+int64(i+2)*120_000)
		e["event_properties"] = map[string]any{"level": 1 + j.rng.IntN(40)}
		events = append(events, e)
	}
	if j.rng.IntN(100) < 18 {
		cur := []string{"USD", "USD", "EUR", "GBP", "JPY", "BRL"}[j.rng.IntN(6)]
		usd := []float64{0.99, 1.99, 4.99, 9.99, 19.99}[j.rng.IntN(5)]
		amount := usd
		if r, ok := demoCurrencies[cur]; ok {
			amount = math.Round(usd/r*100) / 100
			if cur == "JPY" {
				amount = math.Round(usd / r)
			}
		}
		t := at.Add(10 * time.Minute)
		if err := d.sdk(ctx, j.app, "/events", map[string]any{"device_id": j.deviceID, "event_id": fmt.Sprintf("p-%d-%d", j.n, t.UnixMilli()),
			"event_name": "af_purchase", "event_value": map[string]any{"af_content_id": "gems_pack"},
			"revenue": strconv.FormatFloat(amount, 'f', -1, 64), "currency": cur, "event_time": t.UnixMilli()}, nil); err != nil {
			d.fail(err)
		} else {
			d.n.inApp.Add(1)
		}
		e := j.analyticsEvent("purchase", t.UnixMilli())
		e["price"], e["quantity"], e["productId"] = usd, 1, "gems_pack"
		// The app marks its payers, as apps do with an identify.
		id := j.analyticsEvent("$identify", t.UnixMilli())
		delete(id, "insert_id")
		id["user_properties"] = map[string]any{"$set": map[string]any{"payer": true}, "$add": map[string]any{"purchases": 1}}
		events = append(events, e, id)
	}
	d.track(ctx, j, events...)
	if first && j.rng.IntN(100) < 30 {
		// A subscription, tracked by analytics only: the event stream
		// brings it to the attribution plane as an S2S event.
		at := at.Add(j.delay(20*time.Minute, 30*time.Hour))
		d.schedule(j, at, func(d *demo, ctx context.Context, j *journey) { d.subscribe(ctx, j, at, 0) })
	}
}

// subscribe tracks a subscription once the user carries the AppsFlyer id
// the install's forward set (an event stream cannot send an event of a
// user without one); while the forward is on its way, a little later.
func (d *demo) subscribe(ctx context.Context, j *journey, at time.Time, tries int) {
	var u struct {
		Props map[string]any `json:"user_properties"`
	}
	err := d.api(ctx, "GET", fmt.Sprintf("/api/v1/projects/%d/users?device_id=%s", d.project, url.QueryEscape(j.deviceID)), nil, &u)
	if err != nil || u.Props[touchpoint.DefaultAppsFlyerIDProperty] == nil {
		if tries < 20 {
			next := d.now().Add(5 * time.Minute)
			d.schedule(j, next, func(d *demo, ctx context.Context, j *journey) { d.subscribe(ctx, j, next, tries+1) })
		}
		return
	}
	e := j.analyticsEvent("subscription_start", at.UnixMilli())
	e["price"], e["quantity"], e["productId"] = 4.99, 1, "premium_monthly"
	d.track(ctx, j, e)
}

// analyticsEvent is an event as the app's Amplitude SDK sends it: the
// device id is the attribution SDK's (the AppsFlyer id), with the
// advertising ids the analytics forward's attribution is matched on.
func (j *journey) analyticsEvent(name string, ms int64) map[string]any {
	e := map[string]any{"event_type": name, "device_id": j.deviceID, "time": ms,
		"insert_id":  fmt.Sprintf("%s-%d-%s", j.deviceID, ms, name),
		"platform":   map[string]string{"android": "Android", "ios": "iOS"}[j.platform],
		"os_name":    map[string]string{"android": "android", "ios": "ios"}[j.platform],
		"os_version": j.os, "device_model": j.model, "language": j.lang, "country": j.country, "ip": j.ip,
		"app_version": "2.3.0"}
	if j.userID != "" {
		e["user_id"] = j.userID
	}
	if j.gaid != "" {
		e["adid"] = j.gaid
	}
	if j.idfa != "" {
		e["idfa"] = j.idfa
	}
	if j.platform == "ios" {
		e["idfv"] = j.idfv
	}
	return e
}

// track uploads analytics events: the Android app's SDK to /2/httpapi,
// the iOS app's to /batch (as an SDK with useBatch does).
func (d *demo) track(ctx context.Context, j *journey, events ...map[string]any) {
	b, _ := json.Marshal(map[string]any{"api_key": d.apiKey, "events": events})
	path := "/2/httpapi"
	if j.platform == "ios" {
		path = "/batch"
	}
	req, err := http.NewRequestWithContext(ctx, "POST", d.base+path, bytes.NewReader(b))
	if err != nil {
		d.fail(err)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := d.http.Do(req)
	if err != nil {
		d.fail(err)
		return
	}
	ans, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		d.fail(fmt.Errorf("POST %s: %s %s", path, resp.Status, bytes.TrimSpace(ans)))
		return
	}
	d.n.events.Add(int64(len(events)))
}

// maxInstalledPool bounds the devices kept for reinstalls and
// re-engagements.
const maxInstalledPool = 10_000

// pickInstalled returns a device installed a while ago, or nil.
func (d *demo) pickInstalled(r *rand.Rand) *journey {
	d.poolMu.Lock()
	defer d.poolMu.Unlock()
	if len(d.installed) == 0 {
		return nil
	}
	return d.installed[r.IntN(len(d.installed))]
}

// reinstall: the app deleted and installed again on a known device: a
// first launch (no device id) with the same advertising ids.
func (d *demo) reinstall(ctx context.Context, j *journey) {
	at := d.now()
	if j.deviceID == "" || !at.After(j.installedAt) {
		return
	}
	body := j.launchBody(at)
	delete(body, "device_id")
	body["launch_id"] = fmt.Sprintf("reinstall-%d-%d", j.n, at.UnixMilli())
	var ans launchAnswer
	if err := d.sdk(ctx, j.app, "/launches", body, &ans); err != nil {
		d.fail(err)
		return
	}
	if ans.Type == "reinstall" {
		d.n.reinstalls.Add(1)
		d.sample("reinstall", ans.DeviceID)
	}
	if ans.DeviceID != "" {
		j.deviceID = ans.DeviceID
	}
	d.session(ctx, j, at, false)
}

// retarget: a retargeting click on a known device, then a launch that
// the click re-engages, and a purchase inside the re-engagement window.
func (d *demo) retarget(ctx context.Context, j *journey) { d.retargetThen(ctx, j, false) }

// reattribute: a retargeting click on a known device that then installs
// the app again: a re-attribution, not a reinstall.
func (d *demo) reattribute(ctx context.Context, j *journey) { d.retargetThen(ctx, j, true) }

func (d *demo) retargetThen(ctx context.Context, j *journey, reinstall bool) {
	if j.deviceID == "" || j.retargeted {
		return
	}
	j.retargeted = true
	c := pickCampaign(j.rng, pidPostbacks)
	c.name, c.id = "winback", "1009"
	params := append(c.params(), touchpoint.Param{Key: "is_retargeting", Value: "true"},
		touchpoint.Param{Key: "clickid", Value: fmt.Sprintf("rt%08d", j.n)})
	if j.gaid != "" {
		params = append(params, touchpoint.Param{Key: "advertising_id", Value: j.gaid})
	} else if j.idfa != "" {
		params = append(params, touchpoint.Param{Key: "idfa", Value: j.idfa})
	} else {
		return // no id to match a retargeting click on
	}
	other := *j
	if _, err := d.touch(ctx, &other, touchpoint.Click, pidPostbacks, params, false); err != nil {
		d.fail(err)
		return
	}
	at := d.now().Add(j.delay(2*time.Minute, 3*time.Hour))
	d.schedule(j, at, func(d *demo, ctx context.Context, j *journey) {
		body := j.launchBody(at)
		if reinstall { // a first launch again, no device id
			delete(body, "device_id")
			body["launch_id"] = fmt.Sprintf("reattr-%d-%d", j.n, at.UnixMilli())
		}
		var ans launchAnswer
		if err := d.sdk(ctx, j.app, "/launches", body, &ans); err != nil {
			d.fail(err)
			return
		}
		switch ans.Type {
		case "re-engagement":
			d.n.reengagements.Add(1)
			d.sample("re-engagement", j.deviceID)
		case "re-attribution":
			d.n.reattributions.Add(1)
			d.sample("re-attribution", ans.DeviceID)
		}
		if ans.DeviceID != "" {
			j.deviceID = ans.DeviceID
		}
		d.session(ctx, j, at, false)
	})
}

// summary is the live line's figures.
type summary struct {
	clicks, rejected, impressions, installs, organic, fraud, reinstalls, reengaged, reattributed int64
	postbacks, inApp, events, streamed, synced                                                   int64
}

// summarize reads the counters, and what the server reports: event-stream
// deliveries from /metrics, the audience's size from the admin API.
func (d *demo) summarize(ctx context.Context) summary {
	s := summary{
		clicks: d.n.clicks.Load(), rejected: d.n.rejectedClicks.Load(), impressions: d.n.impressions.Load(),
		installs: d.n.installs.Load(), organic: d.n.organic.Load(), fraud: d.n.fraud.Load(),
		reinstalls: d.n.reinstalls.Load(), reengaged: d.n.reengagements.Load(), reattributed: d.n.reattributions.Load(),
		postbacks: d.sink.installs.Load() + d.sink.events.Load(), inApp: d.n.inApp.Load(), events: d.n.events.Load(),
	}
	s.streamed = d.streamed(ctx)
	var auds struct {
		Audiences []struct{ Size int64 } `json:"audiences"`
	}
	if d.api(ctx, "GET", "/api/v1/apps/"+demoAndroid+"/audiences", nil, &auds) == nil {
		for _, a := range auds.Audiences {
			s.synced += a.Size
		}
	}
	return s
}

// streamed counts the event streams' deliveries that succeeded, from the
// server's /metrics.
func (d *demo) streamed(ctx context.Context) int64 {
	req, err := http.NewRequestWithContext(ctx, "GET", d.base+"/metrics", nil)
	if err != nil {
		return 0
	}
	resp, err := d.http.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var n int64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "touchpoint_delivery_attempts_total{") || !strings.Contains(line, `state="succeeded"`) {
			continue
		}
		for _, id := range d.eventsTo {
			if strings.Contains(line, fmt.Sprintf(`pid="destination/%d"`, id)) {
				f := strings.Fields(line)
				v, _ := strconv.ParseFloat(f[len(f)-1], 64)
				n += int64(v)
			}
		}
	}
	return n
}

func (s summary) String() string {
	return fmt.Sprintf("clicks %d (%d rejected) · installs %d, organic %d, CTIT-rejected %d · postbacks %d · events %d · streamed %d · audience %d · "+
		"impressions %d · reinstalls %d · re-engaged %d · re-attributed %d · in-app %d",
		s.clicks, s.rejected, s.installs, s.organic, s.fraud, s.postbacks, s.events, s.streamed, s.synced,
		s.impressions, s.reinstalls, s.reengaged, s.reattributed, s.inApp)
}

// printSummaries writes the summary until ctx ends: redrawn in place on
// a terminal, a line every few seconds otherwise.
func (d *demo) printSummaries(ctx context.Context, w io.Writer) {
	tty := isTerminal(w)
	every := d.opts.summaryEvery
	if every == 0 {
		every = 5 * time.Second
		if tty {
			every = 2 * time.Second
		}
	}
	historyNoted := false
	draw := func() {
		if took := time.Duration(d.historyTook.Load()); took > 0 && !historyNoted && d.cfg.historyDays > 0 {
			historyNoted = true
			note := fmt.Sprintf("The history (%d days, %d users) was played in %s; live traffic from now on.", d.cfg.historyDays, d.historyUsers, took.Round(100*time.Millisecond))
			if tty {
				note = "\r\033[K" + note
			}
			fmt.Fprintln(w, note)
		}
		line := d.now().Format("Jan 2 15:04") + "  " + d.summarize(context.WithoutCancel(ctx)).String()
		if n := d.n.errors.Load(); n > 0 {
			line += fmt.Sprintf(" · errors %d (last: %s)", n, d.n.lastErr.Load())
		}
		if tty {
			// One line redrawn in place must not wrap: cut to the
			// terminal's width (the figures that matter most come first).
			width := terminalWidth(w.(*os.File))
			if width <= 0 {
				width = 80
			}
			if r := []rune(line); len(r) > width-1 {
				line = string(r[:width-2]) + "…"
			}
			fmt.Fprintf(w, "\r\033[K%s", line)
		} else {
			fmt.Fprintln(w, line)
		}
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			draw()
			if tty {
				fmt.Fprintln(w)
			}
			return
		case <-t.C:
			draw()
		}
	}
}
