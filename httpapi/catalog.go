package httpapi

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/destination/amplitude"
	"github.com/touchpointhq/touchpoint/destination/appsflyer"
	"github.com/touchpointhq/touchpoint/link"
	"github.com/touchpointhq/touchpoint/postback"
)

// catalog is what the link path needs of the configuration, held in memory:
// apps with their partners and signing secrets. It is replaced whole.
type catalog struct {
	// seq numbers the reload that read it: reloads run concurrently (the
	// periodic one, and one after each admin change), and one that began
	// earlier never replaces a catalog read by one that began later, which
	// saw every change committed before it began (a rotated key would come
	// back otherwise).
	seq  uint64
	apps map[string]*catalogApp
	// streams are each project's enabled destinations.
	streams map[int64][]touchpoint.Streamer
	// byDevKey and byAPIToken find apps by the hash of a key (one SHA-256
	// per request; the lookup's time tells nothing of the keys).
	byDevKey, byAPIToken map[touchpoint.KeyHash]*catalogApp
}

type catalogApp struct {
	app      *touchpoint.App
	partners map[string]*link.Partner
	// postbacks are the partners with their postback templates compiled.
	postbacks postback.Partners
	// forward is the app's analytics forward, when it has one enabled.
	forward *amplitude.Forward
}

// restricted reports whether pid is a restricted (SRN) partner.
func (a *catalogApp) restricted(pid string) bool {
	p := a.configured(pid)
	return p != nil && p.Restricted
}

// partner returns the configured partner of pid, or nil.
func (a *catalogApp) partner(pid string) *link.Partner {
	return a.partners[pid]
}

// configured returns the configured partner of pid, or nil (a custom
// media source), as attribution wants it.
func (a *catalogApp) configured(pid string) *touchpoint.Partner {
	if p := a.partners[pid]; p != nil {
		return p.Partner
	}
	return nil
}

// reloadCatalog reads apps, partners and secrets from the store. Admin
// handlers call it after every change so the link path sees changes at once.
func (s *Server) reloadCatalog(ctx context.Context) error {
	seq := s.catalogSeq.Add(1)
	apps, err := s.Store.ListApps(ctx)
	if err != nil {
		return err
	}
	forwards, err := s.Store.ListAnalyticsForwards(ctx)
	if err != nil {
		return err
	}
	dests, err := s.Store.ListDestinations(ctx, 0)
	if err != nil {
		return err
	}
	self := s.selfURL()
	c := &catalog{seq: seq, apps: make(map[string]*catalogApp, len(apps)), streams: map[int64][]touchpoint.Streamer{},
		byDevKey: make(map[touchpoint.KeyHash]*catalogApp, len(apps)), byAPIToken: make(map[touchpoint.KeyHash]*catalogApp, len(apps))}
	for _, d := range dests {
		if d.Enabled && d.Kind == touchpoint.DestinationAppsFlyerEvents {
			c.streams[d.Project] = append(c.streams[d.Project], appsflyer.NewStream(d, self))
		}
	}
	for _, a := range apps {
		ps, err := s.Store.ListPartners(ctx, a.ID)
		if err != nil {
			return err
		}
		ca := &catalogApp{app: a, partners: make(map[string]*link.Partner, len(ps)), postbacks: postback.Partners{}}
		for _, p := range ps {
			// Templates were checked when saved; one that no longer
			// compiles (a macro dropped since) costs its partner postbacks,
			// not the app.
			if pp, err := postback.NewPartner(p); err != nil {
				s.Logger.Error("partner postbacks", "app", a.ID, "pid", p.PID, "err", err)
			} else {
				ca.postbacks[p.PID] = pp
			}
			secrets, err := s.Store.ListSecrets(ctx, a.ID, p.PID)
			if err != nil {
				return err
			}
			ca.partners[p.PID] = &link.Partner{Partner: p, Secrets: secrets}
		}
		c.apps[a.ID] = ca
		c.byDevKey[a.DevKeyHash], c.byAPIToken[a.APITokenHash] = ca, ca
	}
	for _, f := range forwards {
		if ca := c.apps[f.App]; ca != nil && f.Enabled {
			ca.forward = amplitude.NewForward(f, self)
		}
	}
	for {
		cur := s.catalog.Load()
		if cur != nil && cur.seq > seq {
			return nil // a later reload stored what it read
		}
		if s.catalog.CompareAndSwap(cur, c) {
			return nil
		}
	}
}

// clientIP returns the address of the client: the connection's, or, when
// the connection comes from a trusted proxy, the last X-Forwarded-For hop
// that is not itself a trusted proxy (walking from the right, so a client
// cannot forge its address by sending its own header). Behind one proxy this
// is the first hop the proxy saw.
func (s *Server) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	addr = addr.Unmap()
	if !s.trusted(addr) {
		return addr.String()
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		addr = hop.Unmap()
		if !s.trusted(addr) {
			break
		}
	}
	return addr.String()
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
