// Package touchpoint holds the domain of Touchpoint, a self-hosted mobile
// measurement and product-analytics server: apps, partners, touches and the
// store interfaces. Subpackages implement one concern each: link parses
// attribution links, sqlite stores, httpapi serves, cmd/touchpoint runs.
package touchpoint

import "time"

// Store is everything the server keeps. Implementations pass the storetest
// conformance suite.
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
}

// Clock is the one time of a server. The store stamps what it writes with
// it, and the HTTP API, the outbox, the cohort syncer and every background
// job read the same clock through the store, so a test (or an app's test
// mode, which offsets it) moves everything at once and nothing reads the
// machine's time behind its back.
type Clock interface {
	Now() time.Time
}
