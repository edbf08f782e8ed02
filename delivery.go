package touchpoint

import (
	"context"
	"time"
)

// DeliveryKind says what a delivery carries; each kind has a retry policy
// (package delivery).
type DeliveryKind string

// Postback kinds (AppsFlyer's postback documentation).
const (
	KindInstallPostback         DeliveryKind = "install_postback"
	KindEventPostback           DeliveryKind = "event_postback"
	KindRejectedInstallPostback DeliveryKind = "rejected_install_postback"
	KindRejectedEventPostback   DeliveryKind = "rejected_event_postback"
)

// Integration kinds, sent by Amplitude's streaming policy.
const (
	// KindAnalyticsForward carries an install or an in-app event from the
	// attribution plane to an analytics project.
	KindAnalyticsForward DeliveryKind = "analytics_forward"
	// KindEventStream carries an analytics event to a destination.
	KindEventStream DeliveryKind = "event_stream"
)

// StreamTries is how many attempts an integration's delivery gets, as
// Amplitude's event streaming (Amplitude's event streaming documentation: 10 attempts
// within 4 hours; package delivery spaces them).
const StreamTries = 10

// DeliveryKinds lists the kinds.
var DeliveryKinds = []DeliveryKind{KindInstallPostback, KindEventPostback, KindRejectedInstallPostback, KindRejectedEventPostback,
	KindAnalyticsForward, KindEventStream}

// DeliveryState is where a delivery stands.
type DeliveryState string

// Delivery states: pending until sent or given up.
const (
	DeliveryPending   DeliveryState = "pending"   // due at NextAt
	DeliverySucceeded DeliveryState = "succeeded" // the destination answered 2xx or 3xx
	DeliveryFailed    DeliveryState = "failed"    // given up; Reason says why
)

// Delivery is one outbound HTTP request owed to someone, kept until it
// succeeds or is given up with a reason. It is written in the same
// transaction as the fact that causes it. One written as failed, with a
// Reason, is never sent: its integration could not make a valid request
// of it, and the record says why.
type Delivery struct {
	ID  int64  `json:"id,string"`
	App string `json:"app_id,omitempty"` // the app it is owed for; none for a project's
	// Project is the analytics project of an event stream's delivery.
	Project int64 `json:"project_id,omitempty"`
	// PID is the partner of a postback; for an integration, which one:
	// analytics-forward, or destination/<id>.
	PID         string       `json:"pid,omitempty"`
	Kind        DeliveryKind `json:"kind"`
	Source      string       `json:"source"` // what caused it, e.g. install/12
	Method      string       `json:"method"`
	URL         string       `json:"url"`
	Body        string       `json:"body,omitempty"`
	ContentType string       `json:"content_type,omitempty"`
	// Headers are sent with the request; they may hold keys, so the API
	// does not show them.
	Headers map[string]string `json:"-"`
	// Host is the destination's host[:port]: sends to one host are bounded
	// together.
	Host  string        `json:"host"`
	State DeliveryState `json:"state"`
	Tries int           `json:"tries"` // attempts made
	// MaxTries and RetryInterval are the policy's numbers for this delivery,
	// fixed when it was written (a partner may configure them).
	MaxTries      int           `json:"max_tries"`
	RetryInterval time.Duration `json:"-"`
	NextAt        time.Time     `json:"next_at,omitzero"` // when pending
	Reason        string        `json:"reason,omitempty"` // why it was given up
	Note          string        `json:"note,omitempty"`   // what the sender should know, e.g. no exchange rate
	CreatedAt     time.Time     `json:"created_at"`
	UpdatedAt     time.Time     `json:"updated_at"`
	Attempts      []Attempt     `json:"attempts,omitempty"` // FindDelivery fills them

	// Lease is the claim this copy was handed out under; set by
	// ClaimDeliveries, checked by FinishDeliveries.
	Lease int64 `json:"-"`
}

// Prepare readies a delivery to be written at now, as every store does:
// at least one try, due now unless NextAt is set, no tries made, and
// pending, but one handed in as failed with a Reason (a delivery its
// integration could not make valid, recorded and never sent).
func (d *Delivery) Prepare(now time.Time) {
	if d.MaxTries < 1 {
		d.MaxTries = 1
	}
	if d.NextAt.IsZero() {
		d.NextAt = now
	}
	if d.State != DeliveryFailed || d.Reason == "" {
		d.State, d.Reason = DeliveryPending, ""
	}
	d.Tries, d.CreatedAt, d.UpdatedAt = 0, now, now
}

// Attempt is one try of a delivery.
type Attempt struct {
	N       int           `json:"n"`
	Time    time.Time     `json:"time"`
	Status  int           `json:"status,omitempty"` // 0: no answer
	Latency time.Duration `json:"-"`
	Body    string        `json:"response_body,omitempty"` // the answer's first bytes
	Error   string        `json:"error,omitempty"`         // why there was no answer
}

// MaxAttemptBody bounds the response body an attempt keeps.
const MaxAttemptBody = 512

// DeliveryResult is what a claimed delivery came to: an attempt and the
// state it leaves (pending again with a new NextAt for a retry), or, with
// no attempt, a release of the claim (the sender stopped before trying).
type DeliveryResult struct {
	Delivery *Delivery // as claimed
	Attempt  *Attempt
	State    DeliveryState
	NextAt   time.Time // retries
	Reason   string    // given up
}

// Claim says which due deliveries a sender takes: at most Limit, and per
// host no more than PerHost less what the sender has in flight there.
type Claim struct {
	Now      time.Time
	Lease    time.Duration
	Limit    int
	PerHost  int            // 0: no bound
	InFlight map[string]int // the sender's unfinished deliveries by host
}

// DeliveryFilter selects deliveries to list, newest first.
type DeliveryFilter struct {
	App     string
	Project int64
	PID     string
	Kind    DeliveryKind
	State   DeliveryState
	From    time.Time // created at or after
	To      time.Time // created before
	Before  int64     // id below (paging)
	Limit   int       // a page's length; PageSize
}

// DefaultDeliveryPage is a page of deliveries when the filter names none.
const DefaultDeliveryPage = 100

// PageSize is the filter's page length: Limit, or DefaultDeliveryPage.
func (f DeliveryFilter) PageSize() int {
	if f.Limit <= 0 {
		return DefaultDeliveryPage
	}
	return f.Limit
}

// DeliveryStore keeps the outbox.
type DeliveryStore interface {
	// EnqueueDeliveries writes deliveries on their own (most are written
	// with the fact that causes them).
	EnqueueDeliveries(ctx context.Context, ds []*Delivery) error
	// ClaimDeliveries leases pending deliveries due at c.Now, oldest
	// first, until c.Now+c.Lease: no other claim gets them meanwhile.
	ClaimDeliveries(ctx context.Context, c Claim) ([]*Delivery, error)
	// FinishDeliveries records results in one transaction. A result whose
	// claim has lapsed and been taken again is dropped.
	FinishDeliveries(ctx context.Context, rs []*DeliveryResult) error
	// FindDelivery returns one delivery with its attempts.
	FindDelivery(ctx context.Context, id int64) (*Delivery, error)
	// ListDeliveries returns a page of deliveries and the Before of the
	// next page (0: none).
	ListDeliveries(ctx context.Context, f DeliveryFilter) ([]*Delivery, int64, error)
	// RetryDelivery makes a given-up delivery pending again, due at now,
	// with its tries counted afresh.
	RetryDelivery(ctx context.Context, id int64, now time.Time) (*Delivery, error)
	// DeliveryHealth sums up a partner's deliveries: attempts made in
	// [from, to) and the backlog now.
	DeliveryHealth(ctx context.Context, app, pid string, from, to time.Time) (*DeliveryHealth, error)
	// DeliveryBacklog counts the pending deliveries of every partner.
	DeliveryBacklog(ctx context.Context) ([]Backlog, error)
	// PurgeDeliveries is the outbox's retention. It removes
	//   - every finished delivery (succeeded, or failed: given up or
	//     written failed) last updated before before, with all its
	//     attempts, and
	//   - every attempt made before before, whatever its delivery: one
	//     kept (pending, or retried and finished since) loses the record
	//     of those tries, and keeps their count (Tries),
	// and returns how many deliveries it removed.
	//
	// A pending delivery is kept whatever its age: it is still owed (due,
	// claimed by a sender, or waiting for its next try), and removing it
	// would drop a postback or an event that was acknowledged. A failed
	// delivery made pending by RetryDelivery is pending again, and so
	// kept; a retry of one the purge removed first answers ENOTFOUND.
	// The delivery with the largest id is kept too, whatever its age: the
	// embedded store gives a new delivery the largest id present plus
	// one, and would otherwise hand a removed id out again.
	//
	// It works in bounded batches, each its own transaction, so it may
	// run while senders on other nodes claim and finish deliveries; a
	// purge that fails midway has removed some of what it would have.
	PurgeDeliveries(ctx context.Context, before time.Time) (int64, error)
}

// Backlog is the number of a partner's pending deliveries.
type Backlog struct {
	App, PID string
	Pending  int64
}

// DeliveryHealth is how a partner's deliveries fare.
type DeliveryHealth struct {
	App      string    `json:"app_id"`
	PID      string    `json:"pid"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	Attempts int64     `json:"attempts"`
	// Succeeded are attempts answered 2xx or 3xx; SuccessRate is their
	// share of Attempts (0 when there were none).
	Succeeded   int64   `json:"succeeded"`
	SuccessRate float64 `json:"success_rate"`
	// Latency percentiles of the attempts, in milliseconds.
	P50Ms float64 `json:"p50_ms"`
	P99Ms float64 `json:"p99_ms"`
	// Backlog is the partner's pending deliveries now; GivenUp those
	// created in the range that were given up.
	Backlog int64 `json:"backlog"`
	GivenUp int64 `json:"given_up"`
}
