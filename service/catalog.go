package service

import (
	"context"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/destination/amplitude"
	"github.com/touchpointhq/touchpoint/destination/appsflyer"
	"github.com/touchpointhq/touchpoint/link"
	"github.com/touchpointhq/touchpoint/postback"
)

// catalog is what the hot paths need of the configuration, held in
// memory: apps with their partners and signing secrets, compiled postbacks
// and forwards, projects' streams. It is replaced whole.
type catalog struct {
	// seq numbers the reload that read it: reloads run concurrently (the
	// periodic one, and one after each admin change), and one that began
	// earlier never replaces a catalog read by one that began later, which
	// saw every change committed before it began (a rotated key would come
	// back otherwise).
	seq  uint64
	apps map[string]*CatalogApp
	// streams are each project's enabled destinations.
	streams map[int64][]touchpoint.Streamer
	// byDevKey and byAPIToken find apps by the hash of a key (one SHA-256
	// per request; the lookup's time tells nothing of the keys).
	byDevKey, byAPIToken map[touchpoint.KeyHash]*CatalogApp
}

// CatalogApp is an app as the catalog holds it: with its partners (and
// their signing secrets), its compiled postbacks and its forward.
type CatalogApp struct {
	App      *touchpoint.App
	partners map[string]*link.Partner
	// postbacks are the partners with their postback templates compiled.
	postbacks postback.Partners
	// forward is the app's analytics forward, when it has one enabled.
	forward *amplitude.Forward
}

// Restricted reports whether pid is a restricted (SRN) partner.
func (a *CatalogApp) Restricted(pid string) bool {
	p := a.Configured(pid)
	return p != nil && p.Restricted
}

// Partner returns the configured partner of pid with its secrets, or nil.
func (a *CatalogApp) Partner(pid string) *link.Partner {
	return a.partners[pid]
}

// Configured returns the configured partner of pid, or nil (a custom
// media source), as attribution wants it.
func (a *CatalogApp) Configured(pid string) *touchpoint.Partner {
	if p := a.partners[pid]; p != nil {
		return p.Partner
	}
	return nil
}

// App returns the configured app of this id, or nil.
func (s *Service) App(id string) *CatalogApp {
	return s.catalog.Load().apps[id]
}

// AppByDevKey returns the app whose dev key this is, or nil.
func (s *Service) AppByDevKey(key string) *CatalogApp {
	return s.catalog.Load().byDevKey[touchpoint.HashKey(key)]
}

// AppByAPIToken returns the app whose API token this is, or nil.
func (s *Service) AppByAPIToken(token string) *CatalogApp {
	return s.catalog.Load().byAPIToken[touchpoint.HashKey(token)]
}

// ReloadCatalog reads apps, partners, secrets, forwards and destinations
// from the store. Callers changing them call it after every change so that
// the hot paths see changes at once; a periodic call picks up other
// servers' changes.
func (s *Service) ReloadCatalog(ctx context.Context) error {
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
	c := &catalog{seq: seq, apps: make(map[string]*CatalogApp, len(apps)), streams: map[int64][]touchpoint.Streamer{},
		byDevKey: make(map[touchpoint.KeyHash]*CatalogApp, len(apps)), byAPIToken: make(map[touchpoint.KeyHash]*CatalogApp, len(apps))}
	for _, d := range dests {
		if d.Enabled && d.Kind == touchpoint.DestinationAppsFlyerEvents {
			c.streams[d.Project] = append(c.streams[d.Project], appsflyer.NewStream(d, s.Self))
		}
	}
	for _, a := range apps {
		ps, err := s.Store.ListPartners(ctx, a.ID)
		if err != nil {
			return err
		}
		ca := &CatalogApp{App: a, partners: make(map[string]*link.Partner, len(ps)), postbacks: postback.Partners{}}
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
			ca.forward = amplitude.NewForward(f, s.Self)
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
