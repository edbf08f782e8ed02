// Package touchpoint holds the domain of Touchpoint, a self-hosted mobile
// measurement and product-analytics server: apps, partners, touches and the
// store interfaces. Subpackages implement one concern each: link parses
// attribution links, sqlite stores, httpapi serves, cmd/touchpoint runs.
package touchpoint

import "time"

// Store is everything the server keeps. Implementations pass the storetest
// conformance suite.
//
// Several processes over one database: the interface is made so that
// several servers can share a store. Ids come from the store (its
// sequences), never from a process's counter; work that must happen once
// is claimed through it (deliveries and cohort syncs row by row with a
// lease, periodic work with LeaseStore); and what a process keeps in
// memory is either checked against the database before it is relied on
// (the analytics writer's state, by a generation the store bumps on each
// commit) or refreshed within a bounded time (the application layer's
// catalog of apps, partners and integrations, every 10 seconds). An
// implementation says whether it can be shared: the embedded SQLite store
// cannot, by nature: clicks are committed to a journal file next to the
// database and read from that process's memory until they are loaded, so
// it takes a lock on its files and one process at a time opens them.
type Store interface {
	Clock
	// Writable reports nil when the store can write, and an EUNAVAILABLE
	// error saying why when it cannot (its disk is full): the HTTP API
	// then answers every write 503 and /readyz "not ready".
	Writable() error
	AppStore
	PartnerStore
	TouchStore
	InstallStore
	DeliveryStore
	RateStore
	ProjectStore
	EventStore
	IntegrationStore
	CohortStore
	CohortSyncStore
	AudienceStore
	LeaseStore
	ChartSource
}

// Clock is the one time of a server. The store stamps what it writes with
// it, and the HTTP API, the outbox, the cohort syncer and every background
// job read the same clock through the store, so a test (or an app's test
// mode, which offsets it) moves everything at once and nothing reads the
// machine's time behind its back.
type Clock interface {
	Now() time.Time
}
