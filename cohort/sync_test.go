package cohort_test

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/cohort"
	"github.com/touchpointhq/touchpoint/destination/appsflyer/afspec"
	"github.com/touchpointhq/touchpoint/sqlite"
	"github.com/touchpointhq/touchpoint/storetest"
)

// The fake AppsFlyer's paths and answers.
const (
	createPath = "/api/audiences-external-api/audience"
	addPath    = "/api/audiences-import-api/v2/add"
	removePath = "/api/audiences-import-api/v2/remove"

	syncAppID  = "com.example.game"
	syncToken  = "af-token-123"
	importKey  = "K"
	hangUp     = -1 // an answer: close the connection without one
	createdRaw = `{"message":{"audience_id":7,"import_key":"` + importKey + `"}}`
)

var syncStart = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// liveness bounds a wait for something to happen. It only turns a hang
// into a failure: no test measures how long anything took.
const liveness = 30 * time.Second

// syncGAID is member n's Google advertising id.
func syncGAID(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

// afRequest is one request the fake AppsFlyer received.
type afRequest struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
}

// fakeAF stands in for AppsFlyer's Audiences APIs. answer gives the status
// of the nth request (from 1) to a path; nil answers 200.
type fakeAF struct {
	srv *httptest.Server

	mu                    sync.Mutex
	answer                func(path string, n int, body []byte) int
	createBody            string // a 200's body to create calls ("": createdRaw)
	limit                 int    // > 0: imports of more devices are refused as the import API does
	reqs                  []afRequest
	counts                map[string]int
	inflight, maxInflight int
}

func newFakeAF(t *testing.T) *fakeAF {
	f := &fakeAF{counts: map[string]int{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAF) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.inflight++
	f.maxInflight = max(f.maxInflight, f.inflight)
	f.counts[r.URL.Path]++
	n := f.counts[r.URL.Path]
	f.reqs = append(f.reqs, afRequest{r.Method, r.URL.Path, r.Header.Clone(), body})
	answer, createBody, limit := f.answer, cmp.Or(f.createBody, createdRaw), f.limit
	f.mu.Unlock()
	// Runs before the answer is flushed: the client cannot send its next
	// request before this one counts as done.
	defer func() {
		f.mu.Lock()
		f.inflight--
		f.mu.Unlock()
	}()
	status := http.StatusOK
	if answer != nil {
		status = answer(r.URL.Path, n, body)
	}
	var imp importRequest
	if limit > 0 && r.URL.Path != createPath && json.Unmarshal(body, &imp) == nil && len(imp.Devices) > limit {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"message":"Cannot process more than %d devices per request (%d devices counted in this request)"}`, limit, len(imp.Devices))
		return
	}
	switch {
	case status == hangUp:
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		conn.Close()
	case status == http.StatusOK && r.URL.Path == createPath:
		io.WriteString(w, createBody)
	case status == http.StatusOK:
		io.WriteString(w, `{"message":"The request was successful"}`)
	default:
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"message":"status %d"}`, status)
	}
}

// setAnswer sets how the server answers from now on.
func (f *fakeAF) setAnswer(a func(path string, n int, body []byte) int) {
	f.mu.Lock()
	f.answer = a
	f.mu.Unlock()
}

// reset forgets the requests received and their counts.
func (f *fakeAF) reset() {
	f.mu.Lock()
	f.reqs, f.counts, f.maxInflight = nil, map[string]int{}, 0
	f.mu.Unlock()
}

// requests returns the requests received to a path ("": all).
func (f *fakeAF) requests(path string) []afRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []afRequest
	for _, r := range f.reqs {
		if path == "" || r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

func (f *fakeAF) maxConcurrent() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.maxInflight
}

// syncEnv is a store with a project whose members (users 1 to n, each
// with a GAID) form a cohort, synced to the fake AppsFlyer. The syncer's
// waits are recorded instead of waited.
type syncEnv struct {
	db     *sqlite.DB
	clock  *storetest.Clock
	af     *fakeAF
	dest   *touchpoint.Destination
	cohort *touchpoint.Cohort
	sync   *touchpoint.CohortSync
	syncer *cohort.Syncer

	mu    sync.Mutex
	waits []wait
}

// wait is a wait the syncer asked for, and how many requests the fake
// AppsFlyer had received when it did.
type wait struct {
	D     time.Duration
	After int
}

// sleep is the syncer's Sleep: it records the wait and returns at once.
func (e *syncEnv) sleep(ctx context.Context, d time.Duration) error {
	after := len(e.af.requests(""))
	e.mu.Lock()
	e.waits = append(e.waits, wait{d, after})
	e.mu.Unlock()
	return ctx.Err()
}

// waited returns the waits the syncer asked for so far.
func (e *syncEnv) waited() []wait {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.waits)
}

// durations returns the waits' durations.
func durations(ws []wait) []time.Duration {
	var out []time.Duration
	for _, w := range ws {
		out = append(out, w.D)
	}
	return out
}

// policyWaits are the cohort-sync policy's waits between the tries of a
// request: 1 s, then twice as long each time, eight of them (the last
// 128 s).
var policyWaits = []time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second,
	16 * time.Second, 32 * time.Second, 64 * time.Second, 128 * time.Second}

func newSyncEnv(t *testing.T, members, batch int, cadence string) *syncEnv {
	t.Helper()
	ctx := context.Background()
	e := &syncEnv{clock: storetest.NewClock(syncStart), af: newFakeAF(t)}
	e.db = sqlite.NewDB(filepath.Join(t.TempDir(), "touchpoint.db"))
	e.db.Clock = e.clock.Now
	if err := e.db.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.db.Close() })
	p := storetest.MustCreateProject(t, e.db, "Game")
	var evs []*touchpoint.IncomingEvent
	for n := 1; n <= members; n++ {
		at := syncStart.Add(-time.Hour).UnixMilli()
		ev := &touchpoint.IncomingEvent{Kind: touchpoint.TrackEvent, UserID: fmt.Sprintf("user-%d", n), DeviceID: fmt.Sprintf("device-%d", n),
			EventType: "open", Time: at, Platform: "Android", AdIDs: touchpoint.AdIDs{ADID: syncGAID(n)}}
		ev.Data, _ = json.Marshal(map[string]any{"user_id": ev.UserID, "device_id": ev.DeviceID, "event_type": "open", "time": at,
			"platform": "Android", "adid": syncGAID(n)})
		evs = append(evs, ev)
	}
	if len(evs) > 0 {
		if err := e.db.RecordEvents(ctx, []*touchpoint.EventUpload{{Project: p.ID, Received: syncStart, Events: evs}}); err != nil {
			t.Fatal(err)
		}
	}
	e.cohort = &touchpoint.Cohort{Project: p.ID, Name: "Openers", Definition: touchpoint.Condition{Event: &touchpoint.EventCondition{
		EventType: "open", Op: touchpoint.AtLeast, Count: 1, TimeRange: touchpoint.TimeRange{WithinDays: 30}}}}
	if err := e.db.CreateCohort(ctx, e.cohort); err != nil {
		t.Fatal(err)
	}
	e.dest = &touchpoint.Destination{Project: p.ID, Kind: touchpoint.DestinationAppsFlyerCohort, Name: "AF audiences",
		AppsFlyerAppID: syncAppID, APIToken: syncToken, URL: e.af.srv.URL, Platform: touchpoint.Android,
		Identifier: touchpoint.MapGAID, Enabled: true}
	if err := e.db.CreateDestination(ctx, e.dest); err != nil {
		t.Fatal(err)
	}
	e.sync = &touchpoint.CohortSync{Cohort: e.cohort.ID, Destination: e.dest.ID, Cadence: cadence, BatchSize: batch, Enabled: true}
	if err := e.db.CreateCohortSync(ctx, e.sync); err != nil {
		t.Fatal(err)
	}
	e.syncer = &cohort.Syncer{Store: e.db, Client: &http.Client{Timeout: liveness}, Now: e.clock.Now,
		Logger: slog.New(slog.DiscardHandler), Sleep: e.sleep}
	return e
}

// runNow runs the sync at once.
func (e *syncEnv) runNow(t *testing.T) *touchpoint.SyncRun {
	t.Helper()
	run, err := e.syncer.RunNow(context.Background(), e.sync.ID)
	if err != nil {
		t.Fatalf("RunNow: %v", err)
	}
	return run
}

// stored returns the sync as the store holds it.
func (e *syncEnv) stored(t *testing.T) *touchpoint.CohortSync {
	t.Helper()
	sy, err := e.db.FindCohortSync(context.Background(), e.sync.ID)
	if err != nil {
		t.Fatal(err)
	}
	return sy
}

// runs returns the sync's recorded runs, newest first.
func (e *syncEnv) runs(t *testing.T) []*touchpoint.SyncRun {
	t.Helper()
	runs, err := e.db.SyncRuns(context.Background(), e.sync.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	return runs
}

// importRequest is an import call's body.
type importRequest struct {
	ImportKey string              `json:"import_key"`
	Platform  string              `json:"platform"`
	Devices   []map[string]string `json:"devices"`
}

// gaidsOf decodes an import body, checks that it is exactly the bytes
// the import API expects for its devices, and returns their GAIDs.
func gaidsOf(t *testing.T, body []byte) []string {
	t.Helper()
	var req importRequest
	if err := json.Unmarshal(body, &req); err != nil {
		t.Fatalf("import body %s: %v", body, err)
	}
	var ids, rows []string
	for _, d := range req.Devices {
		ids = append(ids, d["gaid"])
		rows = append(rows, fmt.Sprintf(`{"app_id":%q,"gaid":%q}`, syncAppID, d["gaid"]))
	}
	want := fmt.Sprintf(`{"import_key":%q,"platform":"android","devices":[%s]}`, importKey, strings.Join(rows, ","))
	if string(body) != want {
		t.Errorf("import body\n%s\nwant\n%s", body, want)
	}
	return ids
}

// checkHeaders checks a request's method and headers.
func checkHeaders(t *testing.T, r afRequest) {
	t.Helper()
	if r.Method != http.MethodPost || r.Header.Get("Authorization") != "Bearer "+syncToken ||
		r.Header.Get("Content-Type") != "application/json" || r.Header.Get("User-Agent") != "Touchpoint-Cohort-Sync/1" {
		t.Errorf("%s %s with Authorization %q, Content-Type %q, User-Agent %q: want POST, Bearer %s, application/json, Touchpoint-Cohort-Sync/1",
			r.Method, r.Path, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), r.Header.Get("User-Agent"), syncToken)
	}
}

// failFirst answers status to the first n requests to path, 200 after.
func failFirst(path string, n, status int) func(string, int, []byte) int {
	return func(p string, i int, _ []byte) int {
		if p == path && i <= n {
			return status
		}
		return http.StatusOK
	}
}

// TestRetryCreate: the create call answered 503 eight times then 200 is
// tried nine times and creates the audience; between the tries the
// syncer waits 1 s, then twice as long each time.
func TestRetryCreate(t *testing.T) {
	e := newSyncEnv(t, 2, 10, touchpoint.CadenceOnce)
	e.af.setAnswer(failFirst(createPath, cohort.Retries, http.StatusServiceUnavailable))
	run := e.runNow(t)
	if run.Status != touchpoint.RunOK || run.Added != 2 || run.Failed != 0 || run.Error != "" {
		t.Fatalf("run = %+v, want ok with 2 added", run)
	}
	if len(run.Responses) != 2 {
		t.Fatalf("responses = %+v, want create and one add", run.Responses)
	}
	if r := run.Responses[0]; r.Action != "create" || r.Tries != 9 || r.Status != 200 || r.Body != createdRaw || r.Error != "" {
		t.Errorf("create response = %+v, want 9 tries ending in 200", r)
	}
	if r := run.Responses[1]; r.Action != "add" || r.Tries != 1 || r.Status != 200 || r.Devices != 2 {
		t.Errorf("add response = %+v", r)
	}
	if sy := e.stored(t); sy.ImportKey != importKey || sy.AudienceID != 7 {
		t.Errorf("stored sync = %+v, want audience 7 with import key %s", sy, importKey)
	}
	if n := len(e.af.requests(createPath)); n != 9 {
		t.Fatalf("%d create requests, want 9", n)
	}
	// The n-th wait comes after the n-th try and before the next.
	var want []wait
	for i, d := range policyWaits {
		want = append(want, wait{d, i + 1})
	}
	if got := e.waited(); !slices.Equal(got, want) {
		t.Errorf("waits (duration, after how many requests) = %v, want %v", got, want)
	}
}

// TestRetryGivesUp: a create call answered 503 nine times is tried 1+8
// times; the run fails and nothing is added. Backoff sets the first wait;
// no wait follows the last try.
func TestRetryGivesUp(t *testing.T) {
	e := newSyncEnv(t, 2, 10, touchpoint.CadenceOnce)
	e.syncer.Backoff = 3 * time.Second
	e.af.setAnswer(failFirst(createPath, 1000, http.StatusServiceUnavailable))
	run := e.runNow(t)
	if run.Status != touchpoint.RunFailed || run.Added != 0 || run.Error == "" || len(run.Responses) != 1 {
		t.Fatalf("run = %+v, want failed with one response", run)
	}
	if r := run.Responses[0]; r.Action != "create" || r.Tries != 9 || r.Status != 503 {
		t.Errorf("create response = %+v, want 9 tries ending in 503", r)
	}
	if n := len(e.af.requests(createPath)); n != 9 {
		t.Errorf("%d create requests, want 9", n)
	}
	if n := len(e.af.requests(addPath)); n != 0 {
		t.Errorf("%d add requests, want none", n)
	}
	if sy := e.stored(t); sy.ImportKey != "" || sy.AudienceID != 0 {
		t.Errorf("stored sync = %+v, want no audience", sy)
	}
	var want []time.Duration
	for _, d := range policyWaits {
		want = append(want, 3*d)
	}
	if got := durations(e.waited()); !slices.Equal(got, want) {
		t.Errorf("waits %v, want %v", got, want)
	}
}

// stopAtFirstRetry makes every create call fail, and returns a context
// that the syncer's first wait before a retry cancels: a server stopped
// mid-run.
func (e *syncEnv) stopAtFirstRetry(t *testing.T) context.Context {
	e.af.setAnswer(failFirst(createPath, 1000, http.StatusServiceUnavailable))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	e.syncer.Sleep = func(ctx context.Context, d time.Duration) error {
		e.sleep(ctx, d)
		cancel()
		return ctx.Err()
	}
	return ctx
}

// TestStopWhileWaiting: a stop during the wait before a retry ends the run
// at once: no more tries, and no run recorded (the sync stays due).
func TestStopWhileWaiting(t *testing.T) {
	e := newSyncEnv(t, 2, 10, touchpoint.CadenceOnce)
	ctx := e.stopAtFirstRetry(t)
	run, err := e.syncer.RunNow(ctx, e.sync.ID)
	if !errors.Is(err, context.Canceled) || run != nil {
		t.Fatalf("RunNow = %+v, %v; want context.Canceled", run, err)
	}
	if n := len(e.af.requests("")); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
	if got := durations(e.waited()); !slices.Equal(got, policyWaits[:1]) {
		t.Errorf("waits %v, want %v", got, policyWaits[:1])
	}
	if runs := e.runs(t); len(runs) != 0 {
		t.Errorf("runs %+v, want none recorded", runs)
	}
	if due, err := e.db.ClaimCohortSyncs(context.Background(), e.clock.Now(), e.clock.Now()); err != nil || len(due) != 1 {
		t.Errorf("due syncs %+v, %v; want the sync still due", due, err)
	}
}

// TestRetryTooManyRequests: 429 is retried, on add calls too.
func TestRetryTooManyRequests(t *testing.T) {
	e := newSyncEnv(t, 3, 10, touchpoint.CadenceOnce)
	e.af.setAnswer(failFirst(addPath, 2, http.StatusTooManyRequests))
	run := e.runNow(t)
	if run.Status != touchpoint.RunOK || run.Added != 3 || len(run.Responses) != 2 {
		t.Fatalf("run = %+v, want ok with 3 added", run)
	}
	if r := run.Responses[1]; r.Action != "add" || r.Tries != 3 || r.Status != 200 || r.Devices != 3 {
		t.Errorf("add response = %+v, want 3 tries ending in 200", r)
	}
	if n := len(e.af.requests(addPath)); n != 3 {
		t.Errorf("%d add requests, want 3", n)
	}
	if got := durations(e.waited()); !slices.Equal(got, policyWaits[:2]) {
		t.Errorf("waits %v, want %v", got, policyWaits[:2])
	}
}

// TestNoRetryOnClientErrors: 400, 401 and 403 are final.
func TestNoRetryOnClientErrors(t *testing.T) {
	for _, status := range []int{400, 401, 403} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			e := newSyncEnv(t, 2, 10, touchpoint.CadenceOnce)
			e.af.setAnswer(failFirst(createPath, 1000, status))
			run := e.runNow(t)
			if run.Status != touchpoint.RunFailed || run.Added != 0 || run.Error == "" || len(run.Responses) != 1 {
				t.Fatalf("run = %+v, want failed", run)
			}
			if r := run.Responses[0]; r.Tries != 1 || r.Status != status || r.Body != fmt.Sprintf(`{"message":"status %d"}`, status) {
				t.Errorf("create response = %+v, want one try answered %d", r, status)
			}
			if n := len(e.af.requests("")); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
			if w := e.waited(); len(w) != 0 {
				t.Errorf("waits %v, want none", w)
			}
		})
	}
	// On an add call too: the batch fails at once.
	e := newSyncEnv(t, 2, 10, touchpoint.CadenceOnce)
	e.af.setAnswer(failFirst(addPath, 1000, 400))
	run := e.runNow(t)
	if run.Status != touchpoint.RunFailed || run.Failed != 2 || run.Added != 0 || len(run.Responses) != 2 ||
		run.Responses[1].Tries != 1 || run.Responses[1].Status != 400 {
		t.Errorf("run with a refused add = %+v, want failed with one try", run)
	}
}

// TestCreateAnsweredWithoutImportKey: a 200 whose body holds no
// import_key is an answer, neither "no answer", 429 nor 5xx: by the policy
// it is final. (Retrying it would create the audience again: AppsFlyer
// created one with the first 200.)
func TestCreateAnsweredWithoutImportKey(t *testing.T) {
	e := newSyncEnv(t, 2, 10, touchpoint.CadenceOnce)
	bad := `{"message":{"audience_id":7}}`
	e.af.mu.Lock()
	e.af.createBody = bad
	e.af.mu.Unlock()
	run := e.runNow(t)
	if run.Status != touchpoint.RunFailed || run.Added != 0 || run.Error == "" || len(run.Responses) != 1 {
		t.Fatalf("run = %+v, want failed", run)
	}
	if n := len(e.af.requests(createPath)); n != 1 {
		t.Errorf("%d create requests for an answered create, want 1", n)
	}
	if r := run.Responses[0]; r.Tries != 1 || r.Status != 200 || r.Body != bad || !strings.Contains(r.Error, "import_key") {
		t.Errorf("create response = %+v, want one try with the answer and an error naming import_key", r)
	}
}

// TestRetryNoAnswer: a connection closed without an answer is retried;
// an address that refuses connections is tried 1+8 times.
func TestRetryNoAnswer(t *testing.T) {
	e := newSyncEnv(t, 2, 10, touchpoint.CadenceOnce)
	e.af.setAnswer(failFirst(createPath, 2, hangUp))
	run := e.runNow(t)
	if run.Status != touchpoint.RunOK || run.Added != 2 {
		t.Fatalf("run = %+v, want ok", run)
	}
	if r := run.Responses[0]; r.Action != "create" || r.Tries != 3 || r.Status != 200 || r.Error != "" {
		t.Errorf("create response = %+v, want 3 tries ending in 200", r)
	}
	if n := len(e.af.requests(createPath)); n != 3 {
		t.Errorf("%d create requests, want 3", n)
	}
	if got := durations(e.waited()); !slices.Equal(got, policyWaits[:2]) {
		t.Errorf("waits %v, want %v", got, policyWaits[:2])
	}

	// Nothing listens.
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	e = newSyncEnv(t, 2, 10, touchpoint.CadenceOnce)
	if _, err := e.db.UpdateDestination(context.Background(), e.dest.ID, touchpoint.DestinationUpdate{URL: &closed.URL}); err != nil {
		t.Fatal(err)
	}
	run = e.runNow(t)
	if run.Status != touchpoint.RunFailed || run.Added != 0 || len(run.Responses) != 1 {
		t.Fatalf("run = %+v, want failed", run)
	}
	if r := run.Responses[0]; r.Tries != 9 || r.Status != 0 || r.Error == "" {
		t.Errorf("create response = %+v, want 9 tries with no answer and the error", r)
	}
	if got := durations(e.waited()); !slices.Equal(got, policyWaits) {
		t.Errorf("waits %v, want %v", got, policyWaits)
	}
}

// TestBatchesInParallel: 25 members in batches of 4 are 7 add calls,
// at most four at a time, each body exactly the import API's; the next
// run sends nothing.
func TestBatchesInParallel(t *testing.T) {
	const members = 25
	e := newSyncEnv(t, members, 4, touchpoint.CadenceOnce)
	// The first add calls are answered only once Parallel of them are
	// under way at once: the run shows how many it sends at a time
	// however busy the machine is.
	var arrived sync.WaitGroup
	arrived.Add(cohort.Parallel)
	all := make(chan struct{})
	go func() { arrived.Wait(); close(all) }()
	e.af.setAnswer(func(path string, n int, _ []byte) int {
		if path == addPath && n <= cohort.Parallel {
			arrived.Done()
			select {
			case <-all:
			case <-time.After(liveness):
				t.Errorf("%d add calls under way at once, want %d", e.af.maxConcurrent(), cohort.Parallel)
			}
		}
		return http.StatusOK
	})
	run := e.runNow(t)
	if run.Status != touchpoint.RunOK || run.Size != members || run.Added != members || run.Failed != 0 || run.Skipped != 0 {
		t.Fatalf("run = %+v, want ok with 25 added", run)
	}
	if len(run.Responses) != 8 || run.Responses[0].Action != "create" {
		t.Fatalf("responses = %+v, want create and 7 adds", run.Responses)
	}
	var respSizes []int
	for _, r := range run.Responses[1:] {
		if r.Action != "add" || r.Status != 200 || r.Tries != 1 {
			t.Errorf("add response = %+v", r)
		}
		respSizes = append(respSizes, r.Devices)
	}
	adds := e.af.requests(addPath)
	var sizes []int
	var sent []string
	for _, r := range adds {
		ids := gaidsOf(t, r.Body)
		sizes = append(sizes, len(ids))
		sent = append(sent, ids...)
	}
	for _, r := range e.af.requests("") {
		checkHeaders(t, r)
	}
	slices.Sort(sizes)
	slices.Sort(respSizes)
	if want := []int{1, 4, 4, 4, 4, 4, 4}; !slices.Equal(sizes, want) || !slices.Equal(respSizes, want) {
		t.Errorf("batch sizes sent %v, in the responses %v; want %v", sizes, respSizes, want)
	}
	var want []string
	for n := 1; n <= members; n++ {
		want = append(want, syncGAID(n))
	}
	slices.Sort(sent)
	if !slices.Equal(sent, want) {
		t.Errorf("sent %q, want every member's GAID once: %q", sent, want)
	}
	if m := e.af.maxConcurrent(); m != cohort.Parallel {
		t.Errorf("%d requests at a time, want %d", m, cohort.Parallel)
	}

	// Every batch was marked synced: the next run sends nothing.
	e.af.reset()
	run = e.runNow(t)
	if run.Status != touchpoint.RunOK || run.Added != 0 || run.Removed != 0 || len(run.Responses) != 0 {
		t.Errorf("second run = %+v, want ok with nothing sent", run)
	}
	if n := len(e.af.requests("")); n != 0 {
		t.Errorf("second run made %d requests, want none", n)
	}
}

// TestRemovals: members who leave are removed in batches, and marked: the
// run after sends nothing.
func TestRemovals(t *testing.T) {
	e := newSyncEnv(t, 5, 2, touchpoint.CadenceOnce)
	if run := e.runNow(t); run.Status != touchpoint.RunOK || run.Added != 5 {
		t.Fatalf("first run = %+v", run)
	}
	// A month on, nobody opened the app within 30 days: everyone leaves.
	e.clock.Add(31 * 24 * time.Hour)
	e.af.reset()
	run := e.runNow(t)
	if run.Status != touchpoint.RunOK || run.Size != 0 || run.Removed != 5 || run.Added != 0 || len(run.Responses) != 3 {
		t.Fatalf("run after everyone left = %+v, want 5 removed in 3 calls", run)
	}
	var removed []string
	for _, r := range e.af.requests(removePath) {
		checkHeaders(t, r)
		removed = append(removed, gaidsOf(t, r.Body)...)
	}
	slices.Sort(removed)
	if want := []string{syncGAID(1), syncGAID(2), syncGAID(3), syncGAID(4), syncGAID(5)}; !slices.Equal(removed, want) {
		t.Errorf("removed %q, want %q", removed, want)
	}
	if n := len(e.af.requests("")); n != 3 {
		t.Errorf("%d requests, want 3 removes", n)
	}
	e.af.reset()
	if run := e.runNow(t); run.Status != touchpoint.RunOK || run.Removed != 0 || len(run.Responses) != 0 {
		t.Errorf("third run = %+v, want nothing sent", run)
	}
}

// TestPartialFailure: a refused batch makes the run partial, counted as
// failed; the next run sends exactly that batch again.
func TestPartialFailure(t *testing.T) {
	const members = 25
	e := newSyncEnv(t, members, 4, touchpoint.CadenceOnce)
	target := syncGAID(10)
	e.af.setAnswer(func(path string, _ int, body []byte) int {
		if path == addPath && strings.Contains(string(body), target) {
			return http.StatusBadRequest
		}
		return http.StatusOK
	})
	run := e.runNow(t)
	var refused []string
	for _, r := range e.af.requests(addPath) {
		if ids := gaidsOf(t, r.Body); slices.Contains(ids, target) {
			if refused != nil {
				t.Fatalf("the refused batch was sent twice")
			}
			refused = ids
		}
	}
	if len(refused) == 0 {
		t.Fatal("no batch held the target GAID")
	}
	if run.Status != touchpoint.RunPartial || run.Failed != int64(len(refused)) || run.Added != int64(members-len(refused)) {
		t.Fatalf("run = %+v, want partial with %d failed and %d added", run, len(refused), members-len(refused))
	}
	var bad int
	for _, r := range run.Responses[1:] {
		if r.Status == 400 {
			bad++
			if r.Tries != 1 || r.Devices != len(refused) {
				t.Errorf("refused batch's response = %+v, want one try of %d devices", r, len(refused))
			}
		}
	}
	if bad != 1 {
		t.Errorf("responses = %+v, want one 400", run.Responses)
	}
	if sy := e.stored(t); sy.NextRun == nil || !sy.NextRun.Equal(run.StartedAt.Add(time.Hour)) {
		t.Errorf("next run = %v, want an hour after %v", sy.NextRun, run.StartedAt)
	}

	// The next run sends the refused devices again, and only them.
	e.af.reset()
	e.af.setAnswer(nil)
	run = e.runNow(t)
	var sent []string
	for _, r := range e.af.requests(addPath) {
		sent = append(sent, gaidsOf(t, r.Body)...)
	}
	slices.Sort(sent)
	slices.Sort(refused)
	if !slices.Equal(sent, refused) {
		t.Errorf("the next run sent %q, want the refused %q", sent, refused)
	}
	if n := len(e.af.requests(createPath)); n != 0 {
		t.Errorf("the next run created the audience again (%d calls)", n)
	}
	if run.Status != touchpoint.RunOK || run.Added != int64(len(refused)) || run.Failed != 0 {
		t.Errorf("next run = %+v, want ok with %d added", run, len(refused))
	}
	if sy := e.stored(t); sy.NextRun != nil {
		t.Errorf("next run after an ok one-time run = %v, want none", sy.NextRun)
	}
}

// TestNextRun: a cadence runs again one interval after the start; a
// one-time sync that sent everything runs no more; one that failed tries
// again in an hour.
func TestNextRun(t *testing.T) {
	ctx := context.Background()
	t.Run("minute", func(t *testing.T) {
		e := newSyncEnv(t, 2, 10, touchpoint.CadenceMinute)
		if err := e.syncer.RunDue(ctx); err != nil {
			t.Fatal(err)
		}
		runs := e.runs(t)
		if len(runs) != 1 || runs[0].Status != touchpoint.RunOK || !runs[0].StartedAt.Equal(syncStart) {
			t.Fatalf("runs = %+v, want one ok run at the start", runs)
		}
		sy := e.stored(t)
		if want := syncStart.Add(time.Minute); sy.NextRun == nil || !sy.NextRun.Equal(want) {
			t.Fatalf("next run = %v, want %v", sy.NextRun, want)
		}
		if sy.LastRun == nil || !sy.LastRun.Equal(syncStart) {
			t.Errorf("last run = %v, want %v", sy.LastRun, syncStart)
		}
		e.clock.Add(59 * time.Second)
		if err := e.syncer.RunDue(ctx); err != nil {
			t.Fatal(err)
		}
		if n := len(e.runs(t)); n != 1 {
			t.Fatalf("%d runs before the minute is up, want 1", n)
		}
		e.clock.Add(time.Second)
		if err := e.syncer.RunDue(ctx); err != nil {
			t.Fatal(err)
		}
		if n := len(e.runs(t)); n != 2 {
			t.Fatalf("%d runs once the minute is up, want 2", n)
		}
		if sy := e.stored(t); sy.NextRun == nil || !sy.NextRun.Equal(syncStart.Add(2*time.Minute)) {
			t.Errorf("next run = %v, want %v", sy.NextRun, syncStart.Add(2*time.Minute))
		}
	})
	t.Run("once ok", func(t *testing.T) {
		e := newSyncEnv(t, 2, 10, touchpoint.CadenceOnce)
		if run := e.runNow(t); run.Status != touchpoint.RunOK {
			t.Fatalf("run = %+v", run)
		}
		if sy := e.stored(t); sy.NextRun != nil {
			t.Fatalf("next run = %v, want none", sy.NextRun)
		}
		later := syncStart.Add(48 * time.Hour)
		due, err := e.db.ClaimCohortSyncs(ctx, later, later)
		if err != nil || len(due) != 0 {
			t.Fatalf("due two days later: %+v, %v; want none", due, err)
		}
		e.clock.Add(48 * time.Hour)
		if err := e.syncer.RunDue(ctx); err != nil {
			t.Fatal(err)
		}
		if n := len(e.runs(t)); n != 1 {
			t.Errorf("%d runs, want 1", n)
		}
	})
	t.Run("once failed", func(t *testing.T) {
		e := newSyncEnv(t, 2, 10, touchpoint.CadenceOnce)
		e.af.setAnswer(failFirst(createPath, 1000, http.StatusBadRequest))
		run := e.runNow(t)
		if run.Status != touchpoint.RunFailed {
			t.Fatalf("run = %+v, want failed", run)
		}
		want := run.StartedAt.Add(time.Hour)
		if sy := e.stored(t); sy.NextRun == nil || !sy.NextRun.Equal(want) {
			t.Fatalf("next run = %v, want %v", sy.NextRun, want)
		}
		// It runs again an hour later, and then no more.
		e.af.setAnswer(nil)
		e.clock.Add(time.Hour)
		if err := e.syncer.RunDue(ctx); err != nil {
			t.Fatal(err)
		}
		runs := e.runs(t)
		if len(runs) != 2 || runs[0].Status != touchpoint.RunOK || runs[0].Added != 2 {
			t.Fatalf("runs = %+v, want a second, ok run", runs)
		}
		if sy := e.stored(t); sy.NextRun != nil {
			t.Errorf("next run = %v, want none", sy.NextRun)
		}
	})
}

// TestDisabledDestination: a run to a disabled destination fails, naming
// it, and sends nothing.
func TestDisabledDestination(t *testing.T) {
	e := newSyncEnv(t, 2, 10, touchpoint.CadenceOnce)
	off := false
	if _, err := e.db.UpdateDestination(context.Background(), e.dest.ID, touchpoint.DestinationUpdate{Enabled: &off}); err != nil {
		t.Fatal(err)
	}
	run := e.runNow(t)
	if run.Status != touchpoint.RunFailed || run.Added != 0 || len(run.Responses) != 0 ||
		!strings.Contains(run.Error, fmt.Sprintf("destination %d", e.dest.ID)) || !strings.Contains(run.Error, "disabled") {
		t.Errorf("run = %+v, want failed with an error naming destination %d as disabled", run, e.dest.ID)
	}
	if n := len(e.af.requests("")); n != 0 {
		t.Errorf("%d requests, want none", n)
	}
	if runs := e.runs(t); len(runs) != 1 || runs[0].Error != run.Error {
		t.Errorf("recorded runs = %+v", runs)
	}
}

func TestAudienceName(t *testing.T) {
	const id = "Ab3dEf7h9K"
	long := strings.Repeat("é", 150)
	got := cohort.AudienceName(long, id)
	if n := utf8.RuneCountInString(got); n > touchpoint.MaxAudienceName || !utf8.ValidString(got) {
		t.Errorf("AudienceName of 150 runes = %q: %d runes, want at most %d, valid UTF-8", got, n, touchpoint.MaxAudienceName)
	}
	if !strings.HasSuffix(got, " "+id) || !strings.HasPrefix(long, strings.TrimSuffix(got, " "+id)) {
		t.Errorf("AudienceName of 150 runes = %q, want a prefix of the name, a space and %s", got, id)
	}
	if want := strings.Repeat("é", 89) + " " + id; got != want {
		t.Errorf("AudienceName of 150 runes = %q, want %q (100 runes)", got, want)
	}
	for name, want := range map[string]string{
		"Recent payers":                 "Recent payers " + id,
		"  Recent payers ":              "Recent payers " + id,
		"Käufer 日本":                     "Käufer 日本 " + id,
		strings.Repeat("a", 89):         strings.Repeat("a", 89) + " " + id,
		strings.Repeat("a", 90):         strings.Repeat("a", 89) + " " + id,
		strings.Repeat("a", 88) + " bc": strings.Repeat("a", 88) + " " + id,
	} {
		if got := cohort.AudienceName(name, id); got != want {
			t.Errorf("AudienceName(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestSplitsRefusedBatches: a batch the receiver refuses as too large
// ("Cannot process more than 3 devices per request") is split into
// batches of what it takes and sent again; the rest of the run uses that
// size; nothing fails, and every member is sent once in an accepted batch.
func TestSplitsRefusedBatches(t *testing.T) {
	const members = 25
	e := newSyncEnv(t, members, 10, touchpoint.CadenceOnce)
	e.af.mu.Lock()
	e.af.limit = 3
	e.af.mu.Unlock()
	run := e.runNow(t)
	if run.Status != touchpoint.RunOK || run.Added != members || run.Failed != 0 {
		t.Fatalf("run = %+v, want ok with %d added", run, members)
	}
	var accepted []string
	refused := 0
	for _, r := range e.af.requests(addPath) {
		var req importRequest
		if err := json.Unmarshal(r.Body, &req); err != nil {
			t.Fatal(err)
		}
		if len(req.Devices) > 3 {
			refused++
			continue
		}
		accepted = append(accepted, gaidsOf(t, r.Body)...)
	}
	slices.Sort(accepted)
	var want []string
	for n := 1; n <= members; n++ {
		want = append(want, syncGAID(n))
	}
	if !slices.Equal(accepted, want) {
		t.Errorf("accepted %q, want every member once", accepted)
	}
	if refused < 1 || refused > cohort.Parallel {
		t.Errorf("%d batches refused, want 1 to %d (the first ones, sent before the size was learnt)", refused, cohort.Parallel)
	}
	// The run shows each refusal and how it was split.
	var splits int
	for _, r := range run.Responses[1:] {
		if r.Status == http.StatusBadRequest {
			splits++
			want := fmt.Sprintf("refused as too large: sent again in %d batches of at most 3 devices", (r.Devices+2)/3)
			if r.Error != want || !strings.Contains(r.Body, "Cannot process more than 3 devices") {
				t.Errorf("refused response %+v, want error %q", r, want)
			}
		} else if r.Status != http.StatusOK || r.Devices > 3 {
			t.Errorf("response %+v", r)
		}
	}
	if splits != refused {
		t.Errorf("%d refusals in the run, %d received", splits, refused)
	}
	// A receiver that refuses even one device fails that device, and the
	// run ends.
	e = newSyncEnv(t, 2, 10, touchpoint.CadenceOnce)
	e.af.setAnswer(func(path string, _ int, _ []byte) int {
		if path == addPath {
			return http.StatusRequestEntityTooLarge
		}
		return http.StatusOK
	})
	if run := e.runNow(t); run.Status != touchpoint.RunFailed || run.Failed != 2 || len(e.af.requests(addPath)) != 3 {
		t.Errorf("run = %+v with %d adds, want 2 failed after the batch of 2 and its halves", run, len(e.af.requests(addPath)))
	}
}

// storedBefore is a store whose syncs have the batch size of one stored
// before batch sizes were capped.
type storedBefore struct {
	*sqlite.DB
	batch int
}

func (s storedBefore) FindCohortSync(ctx context.Context, id int64) (*touchpoint.CohortSync, error) {
	sy, err := s.DB.FindCohortSync(ctx, id)
	if sy != nil {
		sy.BatchSize = s.batch
	}
	return sy, err
}

func (s storedBefore) ClaimCohortSync(ctx context.Context, id int64, now, until time.Time) (*touchpoint.CohortSync, error) {
	sy, err := s.DB.ClaimCohortSync(ctx, id, now, until)
	if sy != nil {
		sy.BatchSize = s.batch
	}
	return sy, err
}

// TestBatchCappedAtDeviceLimit: a sync whose batch size is over the
// import API's 10,000 devices (stored before the cap) sends batches of
// 10,000, which the receiver takes.
func TestBatchCappedAtDeviceLimit(t *testing.T) {
	members := touchpoint.MaxAudienceDevices + 5
	e := newSyncEnv(t, members, 10, touchpoint.CadenceOnce)
	e.af.mu.Lock()
	e.af.limit = touchpoint.MaxAudienceDevices
	e.af.mu.Unlock()
	e.syncer.Store = storedBefore{e.db, 4 * touchpoint.MaxAudienceDevices}
	run := e.runNow(t)
	if run.Status != touchpoint.RunOK || run.Added != int64(members) || run.Failed != 0 {
		t.Fatalf("run = %+v, want ok with %d added", run, members)
	}
	var sizes []int
	for _, r := range e.af.requests(addPath) {
		var req importRequest
		if err := json.Unmarshal(r.Body, &req); err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(req.Devices))
	}
	slices.Sort(sizes)
	if !slices.Equal(sizes, []int{5, touchpoint.MaxAudienceDevices}) {
		t.Errorf("batches of %v, want 5 and %d", sizes, touchpoint.MaxAudienceDevices)
	}
}

// TestRequestsMatchSpec: the create call and the add and remove imports a
// sync sends are what AppsFlyer's OpenAPI files describe.
func TestRequestsMatchSpec(t *testing.T) {
	sp := afspec.MustLoad(t)
	e := newSyncEnv(t, 7, 3, touchpoint.CadenceOnce)
	if run := e.runNow(t); run.Status != touchpoint.RunOK || run.Added != 7 {
		t.Fatalf("first run = %+v", run)
	}
	e.clock.Add(31 * 24 * time.Hour) // everyone leaves
	if run := e.runNow(t); run.Status != touchpoint.RunOK || run.Removed != 7 {
		t.Fatalf("second run = %+v", run)
	}
	seen := map[string]int{}
	for _, r := range e.af.requests("") {
		seen[r.Path]++
		var err error
		switch r.Path {
		case createPath:
			err = sp.CreateRequest(r.Body)
		case addPath, removePath:
			err = sp.ImportRequest(r.Path[strings.LastIndex(r.Path, "/")+1:], r.Body)
		default:
			err = fmt.Errorf("unexpected path")
		}
		if err != nil {
			t.Errorf("%s %s: %v", r.Path, r.Body, err)
		}
	}
	if seen[createPath] != 1 || seen[addPath] != 3 || seen[removePath] != 3 {
		t.Errorf("requests %v, want a create, 3 adds and 3 removes", seen)
	}
}
