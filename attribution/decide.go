// Package attribution decides which touch earned a launch: AppsFlyer's
// attribution model (AppsFlyer's attribution-model documentation) as a pure function of the app,
// its partners, the launch, the device as known before it, and the candidate
// touches a store found by the launch's keys. It does no I/O.
//
// The waterfall for a new install: a click named by the Google Play install
// referrer, inside the click lookback; else the latest click matched by
// device id inside the click lookback; else, only when the launch has
// neither a referrer naming a click nor an advertising id, the latest click
// matched probabilistically (same IP, and no disagreement on platform, OS
// version, device model or language) inside the probabilistic window; else
// the latest impression matched by device id inside the view-through
// lookback; else organic. Touches after the launch, touches rejected by
// click signing and touches over their partner's daily click cap never win.
// The would-be winner is checked for fraud: a click that came less than the
// app's click-to-install floor before the launch is rejected
// (ctit_anomalies), one over the cap too (click_flood); a rejected source
// gets no credit for the launch, and the next candidate gets its chance.
package attribution

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// Input is what a decision needs.
type Input struct {
	App *touchpoint.App
	// Partner returns a configured partner, or nil: a custom media source
	// (or a partner since removed), which attributes with the app's
	// windows.
	Partner func(pid string) *touchpoint.Partner
	Launch  *touchpoint.Launch
	// Device is the device as known before the launch: found by the
	// launch's device id, or, on a first launch, by its device ids. Nil
	// when it was never seen.
	Device *touchpoint.Device
	// Touches are the candidates: every touch the store found by the
	// launch's keys. Any order; touches that turn out not to match are
	// listed as such.
	Touches []*touchpoint.Touch
	// Now stamps the records (the app's clock).
	Now time.Time
}

// Result is a decision.
type Result struct {
	// Install is the decided launch; nil for an ordinary later launch.
	Install *touchpoint.Install
	// Device is the device after the launch.
	Device *touchpoint.Device
	// FirstLaunch is whether the SDK reported a first launch.
	FirstLaunch bool
}

// MaxLookback is how far back candidates are worth finding: the longest
// click lookback a partner or link can have. Older touches never win.
const MaxLookback = time.Duration(touchpoint.MaxClickLookback)

// Decide decides a launch.
func Decide(in Input) Result {
	l, d := in.Launch, in.Device
	switch {
	case d == nil:
		return newInstall(in, touchpoint.NewDeviceID(l.Time))
	case l.DeviceID == "":
		// A first launch of a device we know: the app was installed again.
		if l.Time.Sub(d.InstallTime) < in.App.Windows.Reattribution.Duration() {
			return reinstall(in)
		}
		return newInstall(in, d.ID)
	default:
		return laterLaunch(in)
	}
}

func newInstall(in Input, deviceID string) Result {
	l := in.Launch
	e := evaluate(in, modeInstall)
	in2 := e.install(touchpoint.TypeInstall, deviceID)
	dev := nextDevice(in, deviceID)
	dev.InstallTime = l.Time
	dev.CountryCode = l.CountryCode // the report's country of its conversions
	dev.Attribution = in2.Attribution
	dev.Reengagement, dev.ReengagementID, dev.ReengagedAt, dev.ReengagementUntil = nil, 0, time.Time{}, time.Time{}
	return Result{Install: in2, Device: dev, FirstLaunch: true}
}

// reinstall decides an install again inside the re-attribution window: not
// a new install. A retargeting touch since the last launch makes it a
// re-attribution, credited to that touch in retargeting data; otherwise it
// is a reinstall. Either way the device's later conversions are organic
// (AppsFlyer's attribution-model documentation), those inside a re-attribution's window counting for its
// retargeting source too.
func reinstall(in Input) Result {
	e := evaluate(in, modeRetargeting)
	typ := touchpoint.TypeReinstall
	if e.winner != nil {
		typ = touchpoint.TypeReattribution
	}
	rec := e.install(typ, in.Device.ID)
	dev := nextDevice(in, in.Device.ID)
	dev.Attribution = touchpoint.OrganicAttribution()
	if e.winner != nil {
		engage(dev, rec, e.winner.t, in.App)
	}
	return Result{Install: rec, Device: dev, FirstLaunch: true}
}

// laterLaunch decides a launch of an installed app: a re-engagement when a
// retargeting touch since the last launch wins, else an ordinary launch.
func laterLaunch(in Input) Result {
	e := evaluate(in, modeRetargeting)
	dev := nextDevice(in, in.Device.ID)
	if e.winner == nil {
		return Result{Device: dev}
	}
	rec := e.install(touchpoint.TypeReengagement, in.Device.ID)
	engage(dev, rec, e.winner.t, in.App)
	return Result{Install: rec, Device: dev}
}

// engage opens a re-engagement window on the device: the link's
// af_reengagement_window, else the app's (default 30 days).
func engage(dev *touchpoint.Device, rec *touchpoint.Install, t *touchpoint.Touch, app *touchpoint.App) {
	w := t.Params.ReengagementWindow
	if w == 0 {
		w = app.Windows.Reengagement
	}
	rec.ReengagementUntil = rec.Time.Add(w.Duration())
	a := rec.Attribution
	dev.Reengagement = &a
	dev.ReengagedAt, dev.ReengagementUntil = rec.Time, rec.ReengagementUntil
}

// nextDevice returns the device after the launch, before the decision's
// own changes: ids and customer user id merged in, launch counted.
func nextDevice(in Input, id string) *touchpoint.Device {
	l := in.Launch
	var dev touchpoint.Device
	if in.Device != nil {
		dev = *in.Device
	} else {
		dev = touchpoint.Device{FirstLaunch: l.Time}
	}
	dev.App, dev.ID = in.App.ID, id
	for typ, v := range l.IDs {
		if v.Raw != "" {
			dev.IDs[typ] = touchpoint.DeviceID{Raw: v.Raw}
		}
	}
	if l.CustomerUserID != "" {
		dev.CustomerUserID = l.CustomerUserID
	}
	if l.Time.After(dev.LastLaunch) {
		dev.LastLaunch = l.Time
	}
	dev.Launches++
	return &dev
}

type mode int

const (
	modeInstall     mode = iota // a new install: any touch
	modeRetargeting             // an installed app: retargeting touches since the last launch
)

// Tiers of the waterfall, best first.
const (
	tierReferrer = iota
	tierIDClick
	tierProbabilistic
	tierIDImpression
)

type candidate struct {
	how    string // how it matched: "matched the device's advertising_id"
	t      *touchpoint.Touch
	c      touchpoint.Candidate
	tier   int
	window window
}

type idMatcher struct {
	typ string
	m   touchpoint.IDMatcher
}

// window is a lookback with the words that name it.
type window struct {
	d    time.Duration
	name string
}

type evaluation struct {
	in         Input
	ids        []idMatcher // the launch's device ids to match touches on
	mode       mode
	ref        Referrer
	cands      []*candidate // every touch, in the order they are listed
	eligible   []*candidate // best first
	winner     *candidate
	rejections []touchpoint.Rejection
}

func evaluate(in Input, m mode) *evaluation {
	e := &evaluation{in: in, mode: m, ref: ParseReferrer(in.Launch.Referrer)}
	l := in.Launch
	probAllowed := !e.ref.Names() && !l.HasAdID()
	for _, typ := range touchpoint.MatchIDTypes {
		if raw := l.IDs[typ].Raw; raw != "" {
			e.ids = append(e.ids, idMatcher{touchpoint.DeviceIDParams[typ], touchpoint.NewIDMatcher(raw)})
		}
	}
	lf := launchFingerprint(in.App, l)
	for _, t := range in.Touches {
		c := &candidate{t: t, tier: -1, c: touchpoint.Candidate{
			TouchID: t.ID, MediaSource: t.PID, Campaign: t.Params.Campaign, TouchType: t.Kind, TouchTime: t.Time,
		}}
		e.cands = append(e.cands, c)
		e.classify(c, lf, probAllowed)
	}
	slices.SortStableFunc(e.cands, func(a, b *candidate) int {
		return cmp.Or(b.t.Time.Compare(a.t.Time), cmp.Compare(b.t.ID, a.t.ID))
	})
	for _, c := range e.cands {
		if c.tier >= 0 {
			e.eligible = append(e.eligible, c)
		}
	}
	slices.SortStableFunc(e.eligible, func(a, b *candidate) int { return cmp.Compare(a.tier, b.tier) })
	e.pick()
	return e
}

// classify finds how a touch matches the launch and whether it may win:
// it sets the match type and either a tier (eligible) or a losing reason.
func (e *evaluation) classify(c *candidate, lf fingerprint, probAllowed bool) {
	t, l := c.t, e.in.Launch
	lose := func(reason, expl string) {
		c.c.Outcome, c.c.Reason, c.c.Explanation = touchpoint.OutcomeLost, reason, expl
	}
	var idType string
	switch {
	case t.Kind == touchpoint.Click && e.ref.matches(t):
		c.c.MatchType, c.tier = touchpoint.MatchReferrer, tierReferrer
	default:
		for i := range e.ids {
			if e.ids[i].m.Matches(t) {
				idType = e.ids[i].typ
				break
			}
		}
		switch {
		case idType != "" && t.Kind == touchpoint.Click:
			c.c.MatchType, c.tier = touchpoint.MatchIDMatching, tierIDClick
		case idType != "":
			c.c.MatchType, c.tier = touchpoint.MatchIDMatching, tierIDImpression
		case t.IP != "" && t.IP == l.IP && t.Kind == touchpoint.Impression:
			lose(touchpoint.ReasonImpressionNotByID, "Matched only by IP address; impressions are matched by device id only.")
			return
		case t.IP != "" && t.IP == l.IP && otherDevice(t, l) != "":
			lose(touchpoint.ReasonNotMatched, "Same IP address as the launch, but its "+otherDevice(t, l)+" is another device's.")
			return
		case t.IP != "" && t.IP == l.IP:
			tf := parseUA(t.UA)
			tf.lang = primaryLanguage(t.Language)
			if why := mismatch(tf, lf); why != "" {
				lose(touchpoint.ReasonNotMatched, "Same IP address as the launch, but "+why+", so it is not the same device.")
				return
			}
			c.c.MatchType, c.tier = touchpoint.MatchProbabilistic, tierProbabilistic
		default:
			lose(touchpoint.ReasonNotMatched, "Found under a shared key, but none of its device ids, IP address or referrer matches this launch.")
			return
		}
	}
	c.how = describeMatch(c.c.MatchType, idType)
	how := "It " + c.how
	switch {
	case t.Time.After(l.Time):
		c.tier = -1
		lose(touchpoint.ReasonAfterLaunch, fmt.Sprintf("%s, but it came %s after the launch; touches after the launch never count.", how, human(t.Time.Sub(l.Time))))
		return
	case t.Rejected:
		c.tier = -1
		lose(touchpoint.ReasonSignatureRejected, fmt.Sprintf("%s, but click signing rejected it (%s); rejected clicks are never attributed.", how, t.Verdict))
		return
	case e.mode == modeRetargeting && !t.Params.Retargeting:
		c.tier = -1
		lose(touchpoint.ReasonNotRetargeting, fmt.Sprintf("%s, but it is not a retargeting touch (is_retargeting=true), and the app was already installed on this device%s.", how, e.installedNote()))
		return
	case e.mode == modeRetargeting && !t.Time.After(e.in.Device.LastLaunch):
		c.tier = -1
		lose(touchpoint.ReasonBeforeLastLaunch, fmt.Sprintf("%s, but it came before the device's previous launch (%s), which it did not bring about.", how, e.in.Device.LastLaunch.Format(time.RFC3339)))
		return
	case c.tier == tierProbabilistic && e.mode == modeRetargeting:
		c.tier = -1
		lose(touchpoint.ReasonProbabilisticNotUsed, how+", but probabilistic matching never re-engages an installed app.")
		return
	case c.tier == tierProbabilistic && !probAllowed:
		c.tier = -1
		lose(touchpoint.ReasonProbabilisticNotUsed, how+", but probabilistic matching is only a fallback: it is not used when the launch has an advertising id or an install referrer naming a click.")
		return
	}
	c.window = e.windowOf(t, c.tier)
	if age := l.Time.Sub(t.Time); age > c.window.d {
		c.tier = -1
		lose(touchpoint.ReasonOutsideWindow, fmt.Sprintf("%s, but it came %s before the launch, outside %s.", how, human(age), c.window.name))
	}
}

func (e *evaluation) installedNote() string {
	if e.in.Launch.DeviceID == "" {
		return fmt.Sprintf(" (this is a reinstall inside the app's %s re-attribution window)", days(e.in.App.Windows.Reattribution.Duration()))
	}
	return ""
}

// windowOf returns the lookback that applies to a touch: the link's
// af_click_lookback / af_viewthrough_lookback, else its partner's, else the
// app's. The probabilistic window is the partner's (≤ 24 h), never longer
// than the click lookback.
func (e *evaluation) windowOf(t *touchpoint.Touch, tier int) window {
	var p *touchpoint.Partner
	if e.in.Partner != nil {
		p = e.in.Partner(t.PID)
	}
	w := e.in.App.Windows
	owner := "the app's"
	click, view, prob := w.ClickLookback, w.ViewThroughLookback, w.ProbabilisticWindow
	if p != nil {
		owner = t.PID + "'s"
		click, view, prob = p.ClickLookback, p.ViewThroughLookback, p.ProbabilisticWindow
	}
	switch tier {
	case tierIDImpression:
		if t.Params.ViewThroughLookback != 0 {
			return window{t.Params.ViewThroughLookback.Duration(), "the link's " + length(t.Params.ViewThroughLookback) + " view-through lookback (af_viewthrough_lookback)"}
		}
		return window{view.Duration(), owner + " " + length(view) + " view-through lookback"}
	case tierProbabilistic:
		if t.Params.ClickLookback != 0 && t.Params.ClickLookback < prob {
			return window{t.Params.ClickLookback.Duration(), "the link's " + length(t.Params.ClickLookback) + " click lookback (af_click_lookback)"}
		}
		if click < prob {
			prob = click
		}
		return window{prob.Duration(), owner + " " + length(prob) + " probabilistic window"}
	default:
		if t.Params.ClickLookback != 0 {
			return window{t.Params.ClickLookback.Duration(), "the link's " + length(t.Params.ClickLookback) + " click lookback (af_click_lookback)"}
		}
		return window{click.Duration(), owner + " " + length(click) + " click lookback"}
	}
}

// pick walks the eligible candidates best first. The first that passes the
// fraud checks wins; a source that fails one is out for this launch.
func (e *evaluation) pick() {
	l, app := e.in.Launch, e.in.App
	rejected := map[string]string{} // pid → reason
	for _, c := range e.eligible {
		how := c.how
		if reason, ok := rejected[c.t.PID]; ok {
			c.c.Outcome, c.c.Reason = touchpoint.OutcomeLost, touchpoint.ReasonSourceRejected
			c.c.Explanation = fmt.Sprintf("Another touch of %s was rejected on this launch (%s), so %s gets no credit for it.", c.t.PID, reason, c.t.PID)
			continue
		}
		if e.winner != nil {
			e.lose(c)
			continue
		}
		if c.t.Kind == touchpoint.Click && c.t.OverCap {
			e.reject(c, touchpoint.RejectClickFlood, c.t.Params.SiteID, rejected)
			c.c.Explanation = fmt.Sprintf("Rejected (click_flood): it %s and would have won, but it came after %s's daily click cap%s was reached.", how, c.t.PID, e.capNote(c.t.PID))
			continue
		}
		if ctit := l.Time.Sub(c.t.Time); c.t.Kind == touchpoint.Click && app.MinCTIT > 0 && ctit < time.Duration(app.MinCTIT)*time.Second {
			e.reject(c, touchpoint.RejectCTIT, strconv.FormatInt(int64(ctit/time.Second), 10), rejected)
			c.c.Explanation = fmt.Sprintf("Rejected (ctit_anomalies): it %s and would have won, but the app was opened %s after the click, under the app's %d-second click-to-install floor; that is too fast for a real install.", how, human(ctit), app.MinCTIT)
			continue
		}
		e.winner = c
		c.c.Outcome, c.c.Reason = touchpoint.OutcomeWon, touchpoint.ReasonWon
		c.c.Explanation = fmt.Sprintf("Won: it %s, %s before the launch, inside %s%s.", how, human(l.Time.Sub(c.t.Time)), c.window.name, e.winNote(c))
	}
}

func (e *evaluation) winNote(c *candidate) string {
	for _, o := range e.eligible {
		if o != c && o.c.Outcome != touchpoint.OutcomeRejected && o.c.Reason != touchpoint.ReasonSourceRejected {
			return "; the last touch wins, and " + tierWords[c.tier] + " come first"
		}
	}
	return ""
}

var tierWords = [...]string{
	tierReferrer:      "clicks named by the install referrer",
	tierIDClick:       "clicks matched by device id",
	tierProbabilistic: "probabilistic clicks (no better match was found)",
	tierIDImpression:  "impressions (no click qualified)",
}

func (e *evaluation) capNote(pid string) string {
	if e.in.Partner != nil {
		if p := e.in.Partner(pid); p != nil && p.DailyClickCap > 0 {
			return " of " + strconv.FormatInt(p.DailyClickCap, 10)
		}
	}
	return ""
}

func (e *evaluation) reject(c *candidate, reason, value string, rejected map[string]string) {
	rejected[c.t.PID] = reason
	c.c.Outcome, c.c.Reason = touchpoint.OutcomeRejected, reason
	e.rejections = append(e.rejections, touchpoint.Rejection{
		Reason: reason, Value: value, MediaSource: c.t.PID, TouchID: c.t.ID, TouchType: c.t.Kind, TouchTime: c.t.Time, Params: c.t.Params,
	})
}

// lose explains why an eligible candidate lost to the winner.
func (e *evaluation) lose(c *candidate) {
	w := e.winner
	c.c.Outcome = touchpoint.OutcomeLost
	how := "It " + c.how
	win := fmt.Sprintf("%s %d from %s", w.t.Kind, w.t.ID, w.t.PID)
	switch {
	case c.t.OverCap && c.t.Kind == touchpoint.Click:
		c.c.Reason = touchpoint.ReasonOverCap
		c.c.Explanation = fmt.Sprintf("%s, but it came after %s's daily click cap%s was reached (click_flood), so it cannot be attributed.", how, c.t.PID, e.capNote(c.t.PID))
	case w.tier == tierReferrer && c.tier != tierReferrer:
		c.c.Reason = touchpoint.ReasonReferrerWon
		c.c.Explanation = fmt.Sprintf("%s, but the install referrer named %s, and a click named by the referrer beats every other match.", how, win)
	case c.tier == tierProbabilistic && w.tier < tierProbabilistic:
		c.c.Reason = touchpoint.ReasonDeterministicWon
		c.c.Explanation = fmt.Sprintf("%s, but %s matched by device id; probabilistic matching is only a fallback.", how, win)
	case c.tier == tierIDImpression && w.t.Kind == touchpoint.Click:
		c.c.Reason = touchpoint.ReasonClickWon
		c.c.Explanation = fmt.Sprintf("%s, but %s won: clicks beat impressions.", how, win)
	default:
		c.c.Reason = touchpoint.ReasonLaterTouchWon
		c.c.Explanation = fmt.Sprintf("%s, but a later touch, %s, won: the last touch wins.", how, win)
	}
}

// install builds the record of the decision.
func (e *evaluation) install(typ touchpoint.InstallType, deviceID string) *touchpoint.Install {
	l := e.in.Launch
	rec := &touchpoint.Install{
		App: e.in.App.ID, DeviceID: deviceID, Type: typ, Time: l.Time, Launch: *l,
		Attribution: touchpoint.OrganicAttribution(), Rejections: e.rejections, CreatedAt: e.in.Now,
		Candidates: make([]touchpoint.Candidate, 0, len(e.cands)),
	}
	if e.winner != nil {
		rec.Attribution = touchpoint.AttributionOf(e.winner.t, e.winner.c.MatchType)
		rec.Contributors = e.contributors()
	}
	for _, c := range e.cands {
		rec.Candidates = append(rec.Candidates, c.c)
	}
	return rec
}

// contributors are up to 3 other media sources that qualified without
// winning, latest first, each with its latest touch.
func (e *evaluation) contributors() []touchpoint.Contributor {
	var out []touchpoint.Contributor
	seen := map[string]bool{e.winner.t.PID: true}
	for _, c := range e.cands { // latest first
		if c.tier < 0 || c == e.winner || c.c.Outcome == touchpoint.OutcomeRejected ||
			c.c.Reason == touchpoint.ReasonSourceRejected || c.c.Reason == touchpoint.ReasonOverCap || seen[c.t.PID] {
			continue
		}
		seen[c.t.PID] = true
		out = append(out, touchpoint.Contributor{
			MediaSource: c.t.PID, Campaign: c.t.Params.Campaign, Prt: c.t.Params.Prt, TouchID: c.t.ID,
			TouchType: c.t.Kind, TouchTime: c.t.Time, MatchType: c.c.MatchType,
		})
		if len(out) == touchpoint.MaxContributors {
			break
		}
	}
	return out
}

// describeMatch says how a touch matched, to follow "It" or "it".
func describeMatch(m touchpoint.MatchType, idType string) string {
	switch m {
	case touchpoint.MatchReferrer:
		return "was named by the Google Play install referrer"
	case touchpoint.MatchIDMatching:
		return "matched the device's " + idType
	case touchpoint.MatchProbabilistic:
		return "matched probabilistically (same IP address; platform, OS version, device model and language agree)"
	}
	return "matched"
}

// human writes a duration the way a person would: "8d 1h", "2h 5m", "3s".
func human(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	switch {
	case d >= 24*time.Hour:
		s := strconv.Itoa(int(d/(24*time.Hour))) + "d"
		if h := int(d % (24 * time.Hour) / time.Hour); h > 0 {
			s += " " + strconv.Itoa(h) + "h"
		}
		return s
	case d >= time.Hour:
		s := strconv.Itoa(int(d/time.Hour)) + "h"
		if m := int(d % time.Hour / time.Minute); m > 0 {
			s += " " + strconv.Itoa(m) + "m"
		}
		return s
	case d >= time.Minute:
		s := strconv.Itoa(int(d/time.Minute)) + "m"
		if sec := int(d % time.Minute / time.Second); sec > 0 {
			s += " " + strconv.Itoa(sec) + "s"
		}
		return s
	case d >= time.Second:
		return strconv.Itoa(int(d/time.Second)) + "s"
	}
	return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
}

// length writes a window as "7-day" or "24-hour".
func length(w touchpoint.Window) string {
	if w%touchpoint.Day == 0 {
		return strconv.Itoa(int(w/touchpoint.Day)) + "-day"
	}
	return strconv.Itoa(int(w/touchpoint.Hour)) + "-hour"
}

func days(d time.Duration) string { return length(touchpoint.Window(d)) }

// otherDevice names a device id type that the touch and the launch both
// carry raw, with different values (then they are different devices), or
// returns "".
func otherDevice(t *touchpoint.Touch, l *touchpoint.Launch) string {
	for _, typ := range touchpoint.MatchIDTypes {
		if a, b := t.Device[typ].Raw, l.IDs[typ].Raw; a != "" && b != "" && !strings.EqualFold(a, b) {
			return touchpoint.DeviceIDParams[typ]
		}
	}
	return ""
}
