// Package cohort holds the rules of cohorts: it evaluates definitions
// over the sets a store answers (Evaluate, Preview), computes and stores
// membership (Compute, MembershipDiff), works out what a sync sends
// (SyncDiff), and runs cohort syncs: on each sync's cadence it computes
// the cohort, compares its members' identifiers with what the audience
// holds, and sends the difference to AppsFlyer's Audiences APIs as
// Amplitude's cohort sync does (its documentation): the first run creates
// the audience and adds every member; later runs add who entered and
// remove who left, in batches, four requests at a time, each retried up
// to eight times.
package cohort

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/delivery"
	"github.com/touchpointhq/touchpoint/destination/appsflyer"
)

// Store is what the syncer reads and writes.
type Store interface {
	touchpoint.CohortStore
	touchpoint.CohortSyncStore
	FindDestination(ctx context.Context, id int64) (*touchpoint.Destination, error)
}

// Amplitude's cohort-sync policy (Amplitude's cohort sync documentation): four
// requests at a time; a request that gets no answer, 429 or a 5xx is
// tried again up to eight times, 1 s after the first try and twice as long
// after each next (the last wait is 128 s).
const (
	Parallel     = 4
	Retries      = 8
	FirstBackoff = time.Second
)

// DefaultLease is how long a pass claims its due syncs: longer than a
// pass takes, retries included.
const DefaultLease = 30 * time.Minute

// Syncer runs the syncs that are due.
type Syncer struct {
	Store  Store
	Client *http.Client
	// Self is this server's base URL: where destinations with no URL send.
	// Their requests alone are marked delivery.ToSelf, which lets a
	// delivery.NewClient reach this server's address.
	Self string
	Now  func() time.Time
	// ProjectNow, when set, is the time of a project (its test clock in
	// test mode), by which a cohort's windows are judged when it is
	// computed for a run; default Now. Runs are scheduled by Now.
	ProjectNow func(ctx context.Context, project int64) (time.Time, error)
	Logger     *slog.Logger
	// Lease is how long a pass holds the syncs it claims (default
	// DefaultLease): another server sharing the store runs none of them
	// meanwhile.
	Lease time.Duration
	// Backoff is the first retry's wait (default FirstBackoff).
	Backoff time.Duration
	// Sleep waits d, or until ctx ends and then returns its error: the
	// waits between a request's tries go through it. Default: a timer.
	// Tests record the waits instead of waiting.
	Sleep func(ctx context.Context, d time.Duration) error

	mu   sync.Mutex // one pass at a time
	once sync.Once
	wake chan struct{}
}

// Wake asks for a pass now (a sync was created or changed): Woken
// receives.
func (s *Syncer) Wake() {
	s.init()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Woken receives after Wake: the task that runs RunDue every few seconds
// runs it at once.
func (s *Syncer) Woken() <-chan struct{} {
	s.init()
	return s.wake
}

func (s *Syncer) init() { s.once.Do(func() { s.wake = make(chan struct{}, 1) }) }

// RunDue is one pass: it claims every sync due now and runs them, one
// after the other. Recording a run ends its claim; a pass stopped early
// releases the claims of the syncs it did not run.
func (s *Syncer) RunDue(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.Now()
	due, err := s.Store.ClaimCohortSyncs(ctx, now, now.Add(s.lease()))
	if err != nil {
		return err
	}
	for i, sy := range due {
		if _, err := s.run(ctx, sy); err != nil {
			if ctx.Err() != nil {
				s.release(ctx, due[i:])
				return ctx.Err()
			}
			s.Logger.Warn("cohort sync", "sync", sy.ID, "err", err)
		}
	}
	return nil
}

// release ends the claims of syncs a pass did not run (a run ended by
// its context records nothing).
func (s *Syncer) release(ctx context.Context, syncs []*touchpoint.CohortSync) {
	for _, sy := range syncs {
		if err := s.Store.ReleaseCohortSync(context.WithoutCancel(ctx), sy); err != nil {
			s.Logger.Warn("cohort sync release", "sync", sy.ID, "err", err)
		}
	}
}

// RunNow runs one sync at once, whether due or not: ECONFLICT while a run
// of it is under way (here or on another server sharing the store).
//
// It does not wait for a pass of RunDue: the claim keeps the two from
// running one sync at once.
func (s *Syncer) RunNow(ctx context.Context, id int64) (*touchpoint.SyncRun, error) {
	now := s.Now()
	sy, err := s.Store.ClaimCohortSync(ctx, id, now, now.Add(s.lease()))
	if err != nil {
		return nil, err
	}
	run, err := s.run(ctx, sy)
	if run == nil {
		// Stopped before a run was recorded: the sync is as due as it was.
		s.release(ctx, []*touchpoint.CohortSync{sy})
	}
	return run, err
}

func (s *Syncer) lease() time.Duration { return cmp.Or(s.Lease, DefaultLease) }

// run runs a claimed sync and records the run, which ends the claim. It
// returns an error only when the store fails; what the audience API
// answers is in the run.
func (s *Syncer) run(ctx context.Context, sy *touchpoint.CohortSync) (*touchpoint.SyncRun, error) {
	run := &touchpoint.SyncRun{Sync: sy.ID, StartedAt: s.Now(), Status: touchpoint.RunOK, Responses: []touchpoint.SyncResponse{}}
	runCtx, stop := s.keepClaim(ctx, sy)
	err := s.sync(runCtx, sy, run)
	lost := context.Cause(runCtx)
	stop()
	run.Claim = sy.Claim
	if lost != nil && ctx.Err() == nil {
		return nil, lost // the server that took the sync records its run
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		run.Status, run.Error = touchpoint.RunFailed, touchpoint.ErrorMessage(err)
		if touchpoint.ErrorCode(err) == touchpoint.EINTERNAL {
			run.Error = err.Error()
		}
	}
	run.FinishedAt = s.Now()
	var next *time.Time
	switch {
	case sy.Cadence != touchpoint.CadenceOnce:
		t := run.StartedAt.Add(touchpoint.CadenceInterval(sy.Cadence))
		next = &t
	case run.Status != touchpoint.RunOK:
		// A one-time sync that did not send everything tries again in an
		// hour.
		t := run.StartedAt.Add(time.Hour)
		next = &t
	}
	if rerr := s.Store.RecordSyncRun(context.WithoutCancel(ctx), run, next); rerr != nil {
		return nil, errors.Join(err, rerr)
	}
	return run, nil
}

func (s *Syncer) sync(ctx context.Context, sy *touchpoint.CohortSync, run *touchpoint.SyncRun) error {
	d, err := s.Store.FindDestination(ctx, sy.Destination)
	if err != nil {
		return err
	}
	if !d.Enabled {
		return touchpoint.Errorf(touchpoint.EINVALID, "destination %d is disabled", d.ID)
	}
	c, err := s.Store.FindCohort(ctx, sy.Cohort)
	if err != nil {
		return err
	}
	now := run.StartedAt
	if s.ProjectNow != nil {
		if now, err = s.ProjectNow(ctx, c.Project); err != nil {
			return err
		}
	}
	m, err := Compute(ctx, s.Store, sy.Cohort, now)
	if err != nil {
		return err
	}
	run.Size = m.Size
	if d.URL == "" {
		// Left to its default, this server: the one URL that may reach it.
		ctx = delivery.ToSelf(ctx)
	}
	api := appsflyer.NewAudiences(d, s.Self, s.Client)
	if sy.ImportKey == "" {
		name := AudienceName(c.Name, touchpoint.RandomString(10))
		var created *appsflyer.Created
		resp := s.try(ctx, "create", 0, func() (*appsflyer.Response, error) {
			res, cr, err := api.Create(ctx, name)
			created = cr
			return res, err
		})
		run.Responses = append(run.Responses, resp)
		if created == nil {
			return touchpoint.Errorf(touchpoint.EINVALID, "the audience could not be created: %s", cmp.Or(resp.Error, resp.Body))
		}
		if err := s.Store.SetSyncAudience(ctx, sy.ID, created.AudienceID, name, created.ImportKey); err != nil {
			return err
		}
		sy.AudienceID, sy.AudienceName, sy.ImportKey = created.AudienceID, name, created.ImportKey
	}
	diff, err := DiffCohortSync(ctx, s.Store, sy.ID, d.Identifier)
	if err != nil {
		return err
	}
	run.Skipped = diff.Skipped
	// Removals first: a member whose identifier changed leaves the old
	// one before the new one is added.
	for _, step := range []struct {
		action string
		list   []touchpoint.SyncDevice
		count  *int64
	}{{touchpoint.AudienceRemove, diff.Remove, &run.Removed}, {touchpoint.AudienceAdd, diff.Add, &run.Added}} {
		if err := s.send(ctx, api, sy, step.action, step.list, step.count, run); err != nil {
			return err
		}
	}
	if run.Failed > 0 {
		run.Status = touchpoint.RunPartial
		if run.Added+run.Removed == 0 {
			run.Status = touchpoint.RunFailed
		}
	}
	return nil
}

// send sends devices in batches, Parallel at a time, and marks each batch
// the audience accepted. A batch is at most the sync's batch size and
// never over touchpoint.MaxAudienceDevices, what one import request may
// carry (a sync stored before that cap may have a larger size). A batch
// the receiver refuses as too large is split and sent again (see split),
// and the smaller size holds for the rest of the run.
func (s *Syncer) send(ctx context.Context, api *appsflyer.Audiences, sy *touchpoint.CohortSync, action string,
	devs []touchpoint.SyncDevice, count *int64, run *touchpoint.SyncRun) error {
	type result struct {
		batch []touchpoint.SyncDevice
		resp  touchpoint.SyncResponse
		ok    bool
	}
	var size atomic.Int64
	size.Store(int64(min(sy.BatchSize, touchpoint.MaxAudienceDevices)))
	batches := make(chan []touchpoint.SyncDevice)
	results := make(chan result)
	var wg sync.WaitGroup
	for range Parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var post func(b []touchpoint.SyncDevice)
			post = func(b []touchpoint.SyncDevice) {
				ids := make([]string, len(b))
				for i, d := range b {
					ids[i] = d.ID
				}
				resp := s.try(ctx, action, len(b), func() (*appsflyer.Response, error) {
					return api.Import(ctx, action, sy.ImportKey, ids)
				})
				if n := split(resp, len(b)); n > 0 && ctx.Err() == nil {
					for cur := size.Load(); int64(n) < cur && !size.CompareAndSwap(cur, int64(n)); cur = size.Load() {
					}
					parts := (len(b) + n - 1) / n
					resp.Error = fmt.Sprintf("refused as too large: sent again in %d batches of at most %d devices", parts, n)
					results <- result{nil, resp, true}
					for rest := b; len(rest) > 0; rest = rest[min(n, len(rest)):] {
						post(rest[:min(n, len(rest))])
					}
					return
				}
				results <- result{b, resp, resp.Status == http.StatusOK}
			}
			for b := range batches {
				post(b)
			}
		}()
	}
	go func() {
		defer close(batches)
		for rest := devs; len(rest) > 0; {
			n := min(int(size.Load()), len(rest))
			select {
			case batches <- rest[:n]:
			case <-ctx.Done():
				return
			}
			rest = rest[n:]
		}
	}()
	go func() {
		wg.Wait()
		close(results)
	}()
	var err error
	for r := range results {
		run.Responses = append(run.Responses, r.resp)
		if !r.ok {
			run.Failed += int64(len(r.batch))
			continue
		}
		if err != nil || len(r.batch) == 0 {
			continue // the store failed: drain the workers; or a split's refusal
		}
		added, removed := r.batch, []touchpoint.SyncDevice(nil)
		if action == touchpoint.AudienceRemove {
			added, removed = nil, r.batch
		}
		if err = s.Store.MarkSynced(context.WithoutCancel(ctx), sy.ID, added, removed); err == nil {
			*count += int64(len(r.batch))
		}
	}
	if err == nil {
		err = ctx.Err()
	}
	return err
}

// tooLargeRE is the import API's refusal of a request over its device
// limit: "Cannot process more than Y devices per request (n devices
// counted in this request)".
var tooLargeRE = regexp.MustCompile(`Cannot process more than ([0-9]+) devices per request`)

// bodyTooLargeRE is a refusal of a request's bytes rather than its device
// count, as this server's import API answers one (a 400, as AppsFlyer's
// file lists no 413): "The request body is larger than 16 MB". Halving
// the batch is the answer to it too.
var bodyTooLargeRE = regexp.MustCompile(`(?i)request body is (larger|too large)`)

// split returns the size to split a batch of n devices into when the
// receiver refused it as too large, or 0 when it did not (or the batch is
// one device). The size is the limit the refusal names when it is below
// n; else half the batch (413, or a limit that does not explain the
// refusal).
func split(resp touchpoint.SyncResponse, n int) int {
	if n < 2 || resp.Status != http.StatusBadRequest && resp.Status != http.StatusRequestEntityTooLarge {
		return 0
	}
	m := tooLargeRE.FindStringSubmatch(resp.Body)
	if m == nil && resp.Status != http.StatusRequestEntityTooLarge && !bodyTooLargeRE.MatchString(resp.Body) {
		return 0
	}
	if m != nil {
		if limit, err := strconv.Atoi(m[1]); err == nil && limit > 0 && limit < n {
			return limit
		}
	}
	return (n + 1) / 2
}

// try makes a call, retrying by the policy, and returns its last answer.
func (s *Syncer) try(ctx context.Context, action string, devices int, call func() (*appsflyer.Response, error)) touchpoint.SyncResponse {
	out := touchpoint.SyncResponse{Action: action, Devices: devices}
	wait := cmp.Or(s.Backoff, FirstBackoff)
	for {
		out.Tries++
		res, err := call()
		out.Status, out.Body, out.Error = 0, "", ""
		if res != nil {
			out.Status, out.Body = res.Status, res.Body
		}
		if err != nil {
			out.Error = err.Error()
		}
		if !res.Retryable(err) || out.Tries > Retries {
			return out
		}
		if err := s.sleep(ctx, wait); err != nil {
			out.Error = cmp.Or(out.Error, err.Error())
			return out
		}
		wait *= 2
	}
}

// sleep waits d through Sleep, or a timer.
func (s *Syncer) sleep(ctx context.Context, d time.Duration) error {
	if s.Sleep != nil {
		return s.Sleep(ctx, d)
	}
	return delivery.Wait(ctx, d)
}

// AudienceName is the name of a cohort's audience: the cohort's name and
// an alphanumeric id, within AppsFlyer's 100 characters.
func AudienceName(cohort, id string) string {
	max := touchpoint.MaxAudienceName - 1 - len(id)
	name := strings.TrimSpace(cohort)
	if utf8.RuneCountInString(name) > max {
		name = strings.TrimSpace(string([]rune(name)[:max]))
	}
	return name + " " + id
}
