// Package touchpoint holds the domain of Touchpoint, a self-hosted mobile
// measurement and product-analytics server: apps, partners, touches and the
// store interfaces. Subpackages implement one concern each: link parses
// attribution links, sqlite stores, httpapi serves, cmd/touchpoint runs.
package touchpoint

// Store is everything the server keeps. Implementations pass the storetest
// conformance suite.
type Store interface {
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
