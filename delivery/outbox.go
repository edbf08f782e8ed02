// Package delivery sends the outbox: it claims due deliveries from the
// store with a lease, sends each with a timeout, records every attempt and
// then marks the delivery succeeded, schedules a retry by its kind's
// policy, or gives it up with a reason.
//
// Delivery is at least once: a send whose result could not be recorded
// (the process died in between) is sent again when its lease lapses.
// Partners de-duplicate postbacks for that reason (AppsFlyer's postback documentation).
// A clean stop records every send it made and releases what it had not
// started, so a restart neither loses nor repeats one.
package delivery

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/outbound"
)

// Policy is a kind's retry rule: whether an attempt that got status (0:
// none) or err is worth another try. How many tries are the delivery's own
// (MaxTries); how far apart, Backoff's or the delivery's RetryInterval.
type Policy struct {
	Retry func(status int, err error) bool
	// Backoff, when set, is the wait after the n-th failed attempt.
	Backoff func(n int) time.Duration
	// Quick, when set, retries within one attempt.
	Quick *Quick
	// UserAgent names the sender to the destination.
	UserAgent string
}

// Quick are retries within one attempt, a moment apart, for the answers
// that say "not now": at most Tries sends, the first wait Initial and
// each next one doubled, with up to half of it taken off at random, and
// none started after Budget (counted from the attempt's start by the
// outbox's clock).
type Quick struct {
	Tries   int
	Initial time.Duration
	Budget  time.Duration
	When    func(status int, err error) bool
}

// PostbackPolicy is AppsFlyer's: retry on 5xx and when there was no answer
// (a timeout; and, our choice, a refused or reset connection, which are no
// answer either); never on 2xx, 3xx or 4xx.
var PostbackPolicy = Policy{Retry: func(status int, err error) bool { return err != nil || status >= 500 },
	UserAgent: "Touchpoint-Postback/1"}

// StreamPolicy is Amplitude's event streaming policy (its event streaming
// documentation): within an attempt, up to 3 tries on 5xx and 429, 100 ms
// apart and doubling, with jitter, for at most 4 s; then up to
// touchpoint.StreamTries attempts within 4 hours (30 s after the first,
// doubling, at most an hour apart: the tenth is 3 h 3 min 30 s after the
// first). A 4xx other than 429 is the destination refusing this event: it is
// not retried, and the event is recorded as failed with the answer.
var StreamPolicy = Policy{
	Retry: func(status int, err error) bool {
		return err != nil || status == http.StatusTooManyRequests || status >= 500
	},
	Backoff: func(n int) time.Duration {
		return min(30*time.Second<<min(n-1, 10), time.Hour)
	},
	Quick: &Quick{Tries: 3, Initial: 100 * time.Millisecond, Budget: 4 * time.Second,
		When: func(status int, err error) bool {
			return err == nil && (status == http.StatusTooManyRequests || status >= 500)
		}},
	UserAgent: "Touchpoint-Integration/1",
}

// Policies are the policies by kind.
var Policies = map[touchpoint.DeliveryKind]Policy{
	touchpoint.KindInstallPostback:         PostbackPolicy,
	touchpoint.KindEventPostback:           PostbackPolicy,
	touchpoint.KindRejectedInstallPostback: PostbackPolicy,
	touchpoint.KindRejectedEventPostback:   PostbackPolicy,
	touchpoint.KindAnalyticsForward:        StreamPolicy,
	touchpoint.KindEventStream:             StreamPolicy,
}

// gather is how long the outbox waits for more of the same work before
// a claim or a write: a few milliseconds of a postback's latency buy
// transactions many times larger.
const gather = 2 * time.Millisecond

// Postback retry defaults (AppsFlyer's postback documentation): 4 more tries, 15 minutes apart.
const (
	DefaultPostbackTries    = 5
	DefaultPostbackInterval = 15 * time.Minute
)

// Outbox sends due deliveries until its context ends. Set the fields,
// then call Run.
type Outbox struct {
	Store  touchpoint.DeliveryStore
	Client *http.Client // NewClient's, or one like it
	// Now is the outbox's clock: when attempts are made, when retries
	// fall due, and how much of a quick-retry budget an attempt has spent
	// (Quick.Budget). Default time.Now.
	Now func() time.Time
	// Sleep waits d, or until ctx ends and then returns its error. The
	// outbox's waits go through it: between quick retries, and before
	// recording a batch of results again. Default: a timer. Tests record
	// the waits instead of waiting.
	Sleep func(ctx context.Context, d time.Duration) error
	// PerHost bounds concurrent sends to one host, so a slow destination
	// cannot take every sender. Default 16.
	PerHost int
	// Queue bounds the deliveries of one host a sender holds at once,
	// PerHost of them sending and the rest waiting their turn: a busy
	// destination needs fewer claims, each a write transaction that waits
	// for the store's writer. Default 32×PerHost.
	Queue int
	// Timeout bounds one send. Default 10 s.
	Timeout time.Duration
	// Lease, when set, is how long a claim lasts: the deliveries a sender
	// claimed and did not finish (it died) are sent by another once it
	// lapses. It must outlast a claimed delivery's wait for its turn and
	// its send, or the delivery may be sent twice. Default: from Queue,
	// PerHost and Timeout (see lease), minutes.
	Lease time.Duration
	// Batch bounds one claim. Default 512.
	Batch int
	// Poll is how often an idle outbox looks for due deliveries. Default
	// 100 ms.
	Poll time.Duration
	// Logger is told of deliveries given up, and of partners whose
	// deliveries keep failing (at most once per partner every
	// keepsFailingEvery), at WARN: what an operator should look into.
	Logger *slog.Logger
	// Sent, when set, is told of every attempt (metrics).
	Sent func(d *touchpoint.Delivery, a *touchpoint.Attempt, state touchpoint.DeliveryState)

	mu       sync.Mutex
	inflight map[string]int // claimed, unfinished deliveries by host
	wake     chan struct{}
	// failing is when each partner's "keeps failing" was last logged;
	// touched by the goroutine that records results only.
	failing map[string]time.Time
}

// A delivery whose keepsFailingTries-th try in a row fails (or a later
// one) says its partner keeps failing; that is logged at most once per
// partner every keepsFailingEvery, by the attempts' clock.
const (
	keepsFailingTries = 3
	keepsFailingEvery = 10 * time.Minute
)

func (o *Outbox) defaults() {
	if o.PerHost <= 0 {
		o.PerHost = 16
	}
	if o.Queue < o.PerHost {
		o.Queue = 32 * o.PerHost
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Batch <= 0 {
		o.Batch = 512
	}
	if o.Poll <= 0 {
		o.Poll = 100 * time.Millisecond
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = Wait
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Client == nil {
		o.Client = NewClient(o.Timeout, false)
	}
}

// lease is how long a claim lasts. A host has at most Queue deliveries
// claimed, PerHost sending at a time, so a claimed delivery waits at most
// Queue/PerHost timeouts for its turn and is done one timeout later.
func (o *Outbox) lease() time.Duration {
	if o.Lease > 0 {
		return o.Lease
	}
	return time.Duration((o.Queue+o.PerHost-1)/o.PerHost+1)*o.Timeout + 30*time.Second
}

// Run claims and sends until ctx ends, then waits for the sends under way
// and records them.
func (o *Outbox) Run(ctx context.Context) error {
	o.defaults()
	o.inflight = make(map[string]int)
	o.failing = make(map[string]time.Time)
	o.wake = make(chan struct{}, 1)
	results := make(chan *touchpoint.DeliveryResult, 4*o.Batch)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		o.finish(results)
	}()
	slots := map[string]chan struct{}{} // per host; touched by this goroutine only
	var sends sync.WaitGroup
	for ctx.Err() == nil {
		// Not cancelled by the stop: a claim cut short could have leased
		// deliveries it never hands over (they would wait for the lease).
		ds, err := o.Store.ClaimDeliveries(context.WithoutCancel(ctx), touchpoint.Claim{Now: o.Now(), Lease: o.lease(),
			Limit: o.Batch, PerHost: o.Queue, InFlight: o.inFlight()})
		if err != nil && ctx.Err() == nil {
			o.Logger.Error("claim deliveries", "err", err)
		}
		for _, d := range ds {
			slot := slots[d.Host]
			if slot == nil {
				slot = make(chan struct{}, o.PerHost)
				slots[d.Host] = slot
			}
			o.mu.Lock()
			o.inflight[d.Host]++
			o.mu.Unlock()
			sends.Add(1)
			go func() {
				defer sends.Done()
				results <- o.send(ctx, d, slot)
				o.mu.Lock()
				o.inflight[d.Host]--
				o.mu.Unlock()
				select {
				case o.wake <- struct{}{}:
				default:
				}
			}()
		}
		if len(ds) == o.Batch {
			continue // more may be due
		}
		select {
		case <-ctx.Done():
		case <-o.wake:
			// Let more sends end before claiming again: one claim for
			// many freed slots, not one each.
			time.Sleep(gather)
		case <-time.After(o.Poll):
		}
	}
	sends.Wait()
	close(results)
	<-finished
	return nil
}

// inFlight returns the claimed, unfinished deliveries by host.
func (o *Outbox) inFlight() map[string]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make(map[string]int, len(o.inflight))
	for h, n := range o.inflight {
		if n > 0 {
			out[h] = n
		}
	}
	return out
}

// finish records results in batches until results closes.
func (o *Outbox) finish(results <-chan *touchpoint.DeliveryResult) {
	batch := make([]*touchpoint.DeliveryResult, 0, o.Batch)
	for r := range results {
		batch = append(batch[:0], r)
		linger := time.After(gather)
	more:
		for len(batch) < cap(batch) {
			select {
			case r, ok := <-results:
				if !ok {
					break more
				}
				batch = append(batch, r)
			case <-linger:
				break more
			}
		}
		// Recording must not be cut short by the stop that is under way;
		// a batch that cannot be recorded is retried a few times, then
		// left to the leases (sent again later: at least once).
		for try := 0; ; try++ {
			err := o.Store.FinishDeliveries(context.Background(), batch)
			if err == nil {
				// Logged once recorded: a batch that was not is sent again.
				for _, r := range batch {
					o.logFailure(r)
				}
				break
			}
			if try == 4 {
				o.Logger.Error("record deliveries; they will be sent again when their leases lapse", "n", len(batch), "err", err)
				break
			}
			o.Sleep(context.Background(), time.Duration(50<<try)*time.Millisecond)
		}
	}
}

// send waits for a slot of the delivery's host and sends it; a stop
// before the slot frees releases the claim instead.
func (o *Outbox) send(ctx context.Context, d *touchpoint.Delivery, slot chan struct{}) *touchpoint.DeliveryResult {
	select {
	case slot <- struct{}{}:
	case <-ctx.Done():
		return &touchpoint.DeliveryResult{Delivery: d}
	}
	defer func() { <-slot }()
	// A send under way finishes even when the outbox stops.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.Timeout)
	defer cancel()
	a := &touchpoint.Attempt{N: d.Tries + 1, Time: o.Now()}
	policy, ok := Policies[d.Kind]
	began := time.Now()
	status, body, err := o.do(sctx, d)
	if q := policy.Quick; q != nil {
		wait := q.Initial
		for try := 1; try < q.Tries && q.When(status, err); try++ {
			wait -= time.Duration(rand.Int64N(int64(wait/2) + 1))
			// The budget is spent by the outbox's clock, as retries fall
			// due by it.
			if o.Now().Sub(a.Time)+wait > q.Budget || o.Sleep(sctx, wait) != nil {
				break
			}
			status, body, err = o.do(sctx, d)
			wait = q.Initial << try
		}
	}
	a.Latency = time.Since(began)
	a.Status, a.Body = status, body
	if err != nil {
		a.Error = describe(err, o.Timeout)
	}
	r := &touchpoint.DeliveryResult{Delivery: d, Attempt: a}
	switch {
	case err == nil && status < 400:
		r.State = touchpoint.DeliverySucceeded
	case !ok:
		r.State, r.Reason = touchpoint.DeliveryFailed, fmt.Sprintf("kind %q has no policy", d.Kind)
	case !policy.Retry(status, err):
		r.State, r.Reason = touchpoint.DeliveryFailed, fmt.Sprintf("the destination answered %d: not retried", status)
	case a.N < d.MaxTries:
		wait := d.RetryInterval
		if policy.Backoff != nil {
			wait = policy.Backoff(a.N)
		}
		r.State, r.NextAt = touchpoint.DeliveryPending, o.Now().Add(wait)
	default:
		r.State, r.Reason = touchpoint.DeliveryFailed, fmt.Sprintf("gave up after %d tries: the last %s", a.N, lastOutcome(a))
	}
	if o.Sent != nil {
		o.Sent(d, a, r.State)
	}
	return r
}

// logFailure warns of a recorded result that gave its delivery up, or
// that says its partner keeps failing (rate-limited per partner).
func (o *Outbox) logFailure(r *touchpoint.DeliveryResult) {
	a, d := r.Attempt, r.Delivery
	if a == nil || r.State == touchpoint.DeliverySucceeded {
		return // a released claim, or a success
	}
	if r.State == touchpoint.DeliveryFailed {
		o.Logger.Warn("delivery given up", append(failureAttrs(d, a), "reason", r.Reason)...)
		return
	}
	if a.N < keepsFailingTries {
		return
	}
	// A project's event streams are its partner when there is no app.
	key := fmt.Sprintf("%s\x00%d\x00%s", d.App, d.Project, d.PID)
	if last, ok := o.failing[key]; ok && a.Time.Sub(last) < keepsFailingEvery {
		return
	}
	// Forget partners not warned of lately, so the map stays small.
	for k, t := range o.failing {
		if a.Time.Sub(t) >= keepsFailingEvery {
			delete(o.failing, k)
		}
	}
	o.failing[key] = a.Time
	o.Logger.Warn("delivery keeps failing", append(failureAttrs(d, a), "next_at", r.NextAt)...)
}

// failureAttrs are the log attributes of a failed attempt: which delivery,
// whose, where to, and how it failed.
func failureAttrs(d *touchpoint.Delivery, a *touchpoint.Attempt) []any {
	attrs := []any{"id", d.ID, "kind", d.Kind}
	if d.App != "" {
		attrs = append(attrs, "app", d.App)
	}
	if d.Project != 0 {
		attrs = append(attrs, "project", d.Project)
	}
	attrs = append(attrs, "pid", d.PID, "host", d.Host, "tries", a.N, "status", a.Status)
	if a.Error != "" {
		attrs = append(attrs, "error", a.Error)
	}
	return attrs
}

func lastOutcome(a *touchpoint.Attempt) string {
	if a.Error != "" {
		return "had no answer (" + a.Error + ")"
	}
	return fmt.Sprintf("answered %d", a.Status)
}

// do makes one request and returns the status and the first bytes of the
// answer.
func (o *Outbox) do(ctx context.Context, d *touchpoint.Delivery) (int, string, error) {
	var body io.Reader
	if d.Body != "" {
		body = strings.NewReader(d.Body)
	}
	if defaultsToSelf(d.Kind) {
		ctx = ToSelf(ctx)
	}
	req, err := http.NewRequestWithContext(ctx, d.Method, d.URL, body)
	if err != nil {
		return 0, "", err
	}
	if d.ContentType != "" {
		req.Header.Set("Content-Type", d.ContentType)
	}
	req.Header.Set("User-Agent", cmp.Or(Policies[d.Kind].UserAgent, PostbackPolicy.UserAgent))
	for k, v := range d.Headers {
		req.Header.Set(k, v)
	}
	resp, err := o.Client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	head := make([]byte, touchpoint.MaxAttemptBody)
	n, _ := io.ReadFull(resp.Body, head)
	// Read a little more so the connection can be reused; no more.
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, strings.ToValidUTF8(string(head[:n]), "?"), nil
}

// Wait waits for d, or until ctx ends (its error then): the real waits of
// the retry policies here and in package cohort, which tests replace.
func Wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// describe says why a send had no answer, shortly.
func describe(err error, timeout time.Duration) string {
	var ne net.Error
	var refused *outbound.Refused
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		return fmt.Sprintf("timeout: no answer within %s", timeout)
	case errors.As(err, &refused):
		return "refused: " + refused.Error()
	}
	msg := err.Error()
	if len(msg) > 300 {
		msg = msg[:300]
	}
	return msg
}
