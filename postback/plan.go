package postback

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// Partner is a configured partner with its templates compiled.
type Partner struct {
	*touchpoint.Partner
	compiled map[templateKey]*Compiled
}

type templateKey struct {
	kind  touchpoint.DeliveryKind
	event string
}

// NewPartner compiles a partner's templates.
func NewPartner(p *touchpoint.Partner) (*Partner, error) {
	out := &Partner{Partner: p, compiled: make(map[templateKey]*Compiled, len(p.Templates))}
	for _, t := range p.Templates {
		c, err := Parse(Template{Method: t.Method, URL: t.URL, Body: t.Body, ContentType: t.ContentType})
		if err != nil {
			return nil, fmt.Errorf("partner %s, %s postback: %w", p.PID, t.Kind, err)
		}
		out.compiled[templateKey{t.Kind, t.EventName}] = c
	}
	return out, nil
}

// template returns the compiled template of a kind for an event: the
// event's own, else the one for every event; with its settings.
func (p *Partner) template(kind touchpoint.DeliveryKind, event string) (*Compiled, touchpoint.PostbackTemplate) {
	t, ok := p.Postbacks.Template(kind, event)
	if !ok {
		return nil, t
	}
	return p.compiled[templateKey{t.Kind, t.EventName}], t
}

// delivery renders one postback of a partner.
func (p *Partner) delivery(kind touchpoint.DeliveryKind, c *Compiled, f *Facts) *touchpoint.Delivery {
	u, body := c.Render(f)
	return &touchpoint.Delivery{App: p.AppID, PID: p.PID, Kind: kind, Method: c.Method, URL: u, Body: string(body),
		ContentType: c.ContentType, Host: c.Host(), MaxTries: 1 + p.Retries,
		RetryInterval: time.Duration(p.RetryMinutes) * time.Minute}
}

// Partners are an app's configured partners by pid.
type Partners map[string]*Partner

// ForInstall returns the postbacks a decided launch owes:
//   - only a new install sends install postbacks: a reinstall inside the
//     re-attribution window, a re-attribution and a re-engagement send
//     none (AppsFlyer's install postback is about the install);
//   - the winning partner gets its install postback; every other partner
//     whose send_all_installs is on gets its own, for organic installs
//     too;
//   - a restricted (SRN) partner gets none, and an install it won is told
//     to no other partner either (no postbacks go to third parties for
//     its installs);
//   - each source rejected for fraud gets its rejected-install postback,
//     when it has one.
func (ps Partners) ForInstall(app *touchpoint.App, dev *touchpoint.Device, in *touchpoint.Install) []*touchpoint.Delivery {
	if in.Type != touchpoint.TypeInstall {
		return nil
	}
	f := &Facts{App: app, DeviceID: dev.ID, IDs: dev.IDs, Launch: &in.Launch, InstallTime: in.Time, Attribution: in.Attribution}
	winner := ps[in.Attribution.MediaSource]
	if in.Attribution.IsOrganic() {
		winner = nil
	}
	var out []*touchpoint.Delivery
	if winner == nil || !winner.Restricted {
		for _, p := range sortedPartners(ps) {
			if p.Restricted || p != winner && !p.SendAllInstalls {
				continue
			}
			if c, _ := p.template(touchpoint.KindInstallPostback, ""); c != nil {
				out = append(out, p.delivery(touchpoint.KindInstallPostback, c, f))
			}
		}
	}
	for i := range in.Rejections {
		rej := &in.Rejections[i]
		p := ps[rej.MediaSource]
		if p == nil || p.Restricted {
			continue
		}
		c, _ := p.template(touchpoint.KindRejectedInstallPostback, "")
		if c == nil {
			continue
		}
		rf := *f
		rf.Attribution = touchpoint.Attribution{MediaSource: rej.MediaSource, TouchID: rej.TouchID, TouchType: rej.TouchType,
			TouchTime: rej.TouchTime, Params: rej.Params}
		rf.Rejection = rej
		out = append(out, p.delivery(touchpoint.KindRejectedInstallPostback, c, &rf))
	}
	return out
}

// Revenue is an event's revenue in US dollars, as the caller converted it:
// USD nil when there was no rate, and Note then says so.
type Revenue struct {
	USD  *touchpoint.Amount
	Note string
}

// ForConversion returns the postbacks an in-app event owes:
//   - the install's source gets its in-app postback (the event's own
//     template, else its template for every event) when the event is
//     inside its in-app postback window, counted from the install and
//     judged by the window set now, when the event arrives;
//   - a re-engagement source the event also counts for gets its own,
//     its window counted from the re-engagement;
//   - restricted (SRN) partners and organic events get none;
//   - each source rejected for fraud on the device's install gets its
//     rejected in-app postback for the device's events (ours: AppsFlyer
//     does not say which events those are);
//   - a partner the event's sharing filter names gets none, and "all"
//     blocks every partner (see Blocked).
//
// in is the device's install record (its launch is the device the macros
// describe); nil when there is none.
func (ps Partners) ForConversion(app *touchpoint.App, dev *touchpoint.Device, in *touchpoint.Install, conv *touchpoint.Conversion, rev Revenue) []*touchpoint.Delivery {
	f := &Facts{App: app, DeviceID: dev.ID, IDs: dev.IDs, InstallTime: dev.InstallTime, Event: conv, USD: rev.USD}
	if in != nil {
		f.Launch = &in.Launch
	}
	var out []*touchpoint.Delivery
	add := func(p *Partner, kind touchpoint.DeliveryKind, ff *Facts) {
		if Blocked(conv.SharingFilter, p.PID) {
			return
		}
		c, t := p.template(kind, conv.Name)
		if c == nil {
			return
		}
		ff.HideRevenue = !t.SendRevenue
		d := p.delivery(kind, c, ff)
		if t.SendRevenue && conv.Revenue != 0 {
			d.Note = rev.Note
		}
		out = append(out, d)
	}
	type source struct {
		a    touchpoint.Attribution
		from time.Time
	}
	sources := []source{{conv.Attribution, dev.InstallTime}}
	if r := conv.Reengagement; r != nil && r.MediaSource != conv.Attribution.MediaSource {
		sources = append(sources, source{*r, dev.ReengagedAt})
	}
	for _, s := range sources {
		p := ps[s.a.MediaSource]
		if s.a.IsOrganic() || p == nil || p.Restricted || !p.InAppWindow.Covers(s.from, conv.Time) {
			continue
		}
		ff := *f
		ff.Attribution = s.a
		add(p, touchpoint.KindEventPostback, &ff)
	}
	if in != nil {
		for i := range in.Rejections {
			rej := &in.Rejections[i]
			p := ps[rej.MediaSource]
			if p == nil || p.Restricted {
				continue
			}
			ff := *f
			ff.Attribution = touchpoint.Attribution{MediaSource: rej.MediaSource, TouchID: rej.TouchID,
				TouchType: rej.TouchType, TouchTime: rej.TouchTime, Params: rej.Params}
			ff.Rejection = rej
			add(p, touchpoint.KindRejectedEventPostback, &ff)
		}
	}
	return out
}

// sharingAliases are the names an S2S sharing filter gives partners
// instead of their pids (the S2S API's description of sharing_filter:
// "Apple Search Ads", not iossearchads_int; "twitter", not twitter_int).
var sharingAliases = map[string]string{"apple search ads": "iossearchads_int", "twitter": "twitter_int"}

// Blocked reports whether a sharing filter keeps an event from a partner:
// it holds touchpoint.SharingAll, the partner's pid, or the alias the S2S
// API documents for it. Names compare case-insensitively, and a pid
// written instead of its alias blocks too: a privacy promise errs on the
// side of not sending.
func Blocked(filter []string, pid string) bool {
	for _, f := range filter {
		f = strings.ToLower(strings.TrimSpace(f))
		if f == touchpoint.SharingAll || f == strings.ToLower(pid) || sharingAliases[f] == strings.ToLower(pid) {
			return true
		}
	}
	return false
}

// WantsEvents reports whether any partner has an in-app or rejected in-app
// template (callers skip reading the install otherwise).
func (ps Partners) WantsEvents() bool {
	for _, p := range ps {
		for k := range p.compiled {
			if k.kind == touchpoint.KindEventPostback || k.kind == touchpoint.KindRejectedEventPostback {
				return true
			}
		}
	}
	return false
}

// sortedPartners returns the partners by pid, so deliveries come in a
// stable order.
func sortedPartners(ps Partners) []*Partner {
	out := slices.Collect(maps.Values(ps))
	slices.SortFunc(out, func(a, b *Partner) int { return strings.Compare(a.PID, b.PID) })
	return out
}
