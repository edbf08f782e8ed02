package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/httpapi"
	"github.com/touchpointhq/touchpoint/internal/pgtest"
	"github.com/touchpointhq/touchpoint/postgres"
)

// TestMain lets the test binary be the server: with
// TOUCHPOINT_TEST_SERVE_ARGS set, it runs "touchpoint serve" with those
// arguments (split on spaces) as main does, and exits with its status, so
// that a test can run real server processes and kill them.
func TestMain(m *testing.M) {
	if args := os.Getenv("TOUCHPOINT_TEST_SERVE_ARGS"); args != "" {
		os.Args = append([]string{"touchpoint", "serve"}, strings.Fields(args)...)
		main() // exits 1 on an error
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// nodeProcess is a "touchpoint serve" process run from the test binary.
type nodeProcess struct {
	cmd  *exec.Cmd
	url  string
	mu   sync.Mutex
	log  bytes.Buffer
	done chan error
}

// startNode starts a server process and waits until it listens.
func startNode(t *testing.T, args ...string) *nodeProcess {
	t.Helper()
	n := &nodeProcess{done: make(chan error, 1)}
	n.cmd = exec.Command(os.Args[0], "-test.run=^$")
	n.cmd.Env = append(os.Environ(), "TOUCHPOINT_TEST_SERVE_ARGS="+strings.Join(append([]string{"--addr", "127.0.0.1:0", "--log-level", "info"}, args...), " "))
	stderr, err := n.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	listening := make(chan string, 1)
	addr := regexp.MustCompile(`msg="touchpoint serving" addr=(\S+)`)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			n.mu.Lock()
			n.log.WriteString(sc.Text() + "\n")
			n.mu.Unlock()
			if m := addr.FindStringSubmatch(sc.Text()); m != nil {
				listening <- m[1]
			}
		}
		io.Copy(io.Discard, stderr)
		n.done <- n.cmd.Wait()
	}()
	t.Cleanup(func() {
		if n.cmd.ProcessState == nil {
			n.cmd.Process.Kill()
			<-n.done
		}
	})
	select {
	case n.url = <-listening:
	case err := <-n.done:
		t.Fatalf("serve exited before it listened: %v\n%s", err, n.logs())
	case <-time.After(15 * time.Second):
		t.Fatalf("serve did not start\n%s", n.logs())
	}
	return n
}

func (n *nodeProcess) logs() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.log.String()
}

// postbackSink records the install postbacks it answers, by device. While
// held, it answers nothing: a request whose sender dies meanwhile is
// dropped (never answered, so not delivered: the sender could not have
// recorded it), the others are answered when released.
type postbackSink struct {
	mu       sync.Mutex
	got      map[string]int      // answered postbacks by advertising id
	times    map[string][]string // each answered postback's sender and times, by advertising id
	dropped  int
	held     chan struct{} // closed: not held
	received atomic.Int64
	waiting  atomic.Int64 // requests held now
}

func (s *postbackSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.received.Add(1)
	arrived := time.Now()
	s.mu.Lock()
	held := s.held
	s.mu.Unlock()
	s.waiting.Add(1)
	select {
	case <-held:
	case <-r.Context().Done():
	}
	s.waiting.Add(-1)
	if r.Context().Err() != nil { // the sender is gone
		s.mu.Lock()
		s.dropped++
		s.mu.Unlock()
		return
	}
	s.mu.Lock()
	gaid := r.URL.Query().Get("gaid")
	s.got[gaid]++
	s.times[gaid] = append(s.times[gaid], fmt.Sprintf("from %s, arrived %s, answered %s",
		r.RemoteAddr, arrived.Format("15:04:05.000"), time.Now().Format("15:04:05.000")))
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (s *postbackSink) hold(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if on {
		s.held = make(chan struct{})
	} else {
		close(s.held)
	}
}

// TestNodesSurviveSIGKILL runs two server processes over one PostgreSQL
// database, sends clicks and first launches of 200 devices to both, and
// kills one with SIGKILL half way, sending the rest (and the retries of
// what failed on it) to the other, as a load balancer would. Nothing
// acknowledged is lost or written twice: each acknowledged click is
// stored once, each device has one install, attributed to its click, and
// each install's postback reaches the partner once, those the dead node
// had claimed too (taken over when their lease lapses).
func TestNodesSurviveSIGKILL(t *testing.T) {
	db := pgtest.FreshDatabase(t)
	const (
		token   = "sigkill-nodes-token"
		appID   = "com.example.sigkill"
		devices = 200
		workers = 4
		lease   = 3 * time.Second
		perHost = 4
	)
	sink := &postbackSink{got: map[string]int{}, times: map[string][]string{}, held: make(chan struct{})}
	close(sink.held)
	sinkSrv := httptest.NewServer(sink)
	defer sinkSrv.Close()

	args := []string{"--db", db, "--admin-token", token, "--allow-private-postback-hosts",
		"--postback-timeout", "2s", "--postback-lease", lease.String(),
		"--postback-concurrency-per-host", fmt.Sprint(perHost)}
	n1 := startNode(t, append(args, "--data-dir", t.TempDir())...)

	on := []string{"--server", n1.url, "--admin-token", token}
	var app touchpoint.App
	json.Unmarshal([]byte(cli(t, append([]string{"apps", "create", appID, "--platform", "android", "--name", "SIGKILL", "--min-ctit", "0"}, on...)...)), &app)
	if app.DevKey == "" {
		t.Fatalf("apps create: %+v", app)
	}
	cli(t, append([]string{"partners", "create", appID, "net_int", "--install-postback",
		sinkSrv.URL + "/install?gaid=(advertiserId)&clickid=(clickid)"}, on...)...)
	// Node 2 starts once the app and its partner are made: it loads them
	// when it starts (a running node would pick them up at its next
	// catalog refresh).
	n2 := startNode(t, append(args, "--data-dir", t.TempDir())...)

	gaid := func(i int) string { return fmt.Sprintf("38400000-8cf0-11bd-b23e-%012d", i) }
	noRedirect := &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var killed atomic.Bool
	// send sends a request to node (1 or 2); one that fails on node 1 is
	// sent to node 2, and so is every request once node 1 is dead. It
	// returns the answer's status and body, and whether node 1 was tried
	// and failed.
	send := func(node int, newReq func(base string) *http.Request) (status int, body []byte, failedOn1 bool) {
		if node == 1 && !killed.Load() {
			r, err := noRedirect.Do(newReq(n1.url))
			if err == nil {
				body, err = io.ReadAll(r.Body)
				r.Body.Close()
				if err == nil && (r.StatusCode/100 == 2 || r.StatusCode == http.StatusFound) {
					return r.StatusCode, body, false
				}
			}
			failedOn1 = true
		}
		r, err := noRedirect.Do(newReq(n2.url))
		if err != nil {
			return 0, []byte(err.Error()), failedOn1
		}
		defer r.Body.Close()
		body, _ = io.ReadAll(r.Body)
		return r.StatusCode, body, failedOn1
	}

	type result struct {
		clickAcked    bool
		clickRetried  bool // failed on node 1, sent again to node 2
		launch        httpapi.LaunchResponse
		launchAcked   bool
		launchRetried bool
		problem       string
	}
	results := make([]result, devices)
	next := make(chan int)
	var finished atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				res := &results[i]
				node := 1 + i%2
				status, body, retried := send(node, func(base string) *http.Request {
					req, _ := http.NewRequest("GET", fmt.Sprintf("%s/c/%s?pid=net_int&clickid=click-%d&advertising_id=%s", base, appID, i, gaid(i)), nil)
					return req
				})
				res.clickRetried = retried
				if res.clickAcked = status == http.StatusFound; !res.clickAcked {
					res.problem = fmt.Sprintf("click: %d %s", status, body)
				}
				status, body, res.launchRetried = send(node, func(base string) *http.Request {
					req, _ := http.NewRequest("POST", base+"/sdk/v1/apps/"+appID+"/launches",
						strings.NewReader(fmt.Sprintf(`{"launch_id":"launch-%d","advertising_id":%q}`, i, gaid(i))))
					req.Header.Set("Authorization", "Bearer "+app.DevKey)
					return req
				})
				if res.launchAcked = status == http.StatusOK; res.launchAcked {
					json.Unmarshal(body, &res.launch)
				} else {
					res.problem += fmt.Sprintf(" launch: %d %s", status, body)
				}
				finished.Add(1)
				time.Sleep(3 * time.Millisecond) // spread the traffic over the kill
			}
		}()
	}

	// Half way: hold the partner's answers, so that node 1 dies with
	// postbacks claimed and unanswered (and none answered but not yet
	// recorded, which it would send again: delivery is at least once),
	// kill it, then release them.
	killDone := make(chan struct{})
	var killedAt time.Duration
	var killedAfter int64
	var holdFailed atomic.Bool
	start := time.Now()
	go func() {
		defer close(killDone)
		for finished.Load() < devices/4 {
			time.Sleep(time.Millisecond)
		}
		sink.hold(true)
		// A node sends at most perHost postbacks to the sink at once: with
		// more held, some are node 1's.
		for deadline := time.Now().Add(5 * time.Second); sink.waiting.Load() <= perHost; {
			if time.Now().After(deadline) {
				holdFailed.Store(true)
				break
			}
			time.Sleep(time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond) // for the sends answered before the hold to be recorded
		killedAfter = finished.Load()
		killed.Store(true)
		n1.cmd.Process.Signal(syscall.SIGKILL)
		<-n1.done
		killedAt = time.Since(start)
		// The sink sees node 1's connections close before it answers.
		time.Sleep(200 * time.Millisecond)
		sink.hold(false)
	}()
	for i := 0; i < devices; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	<-killDone
	trafficTook := time.Since(start)
	if holdFailed.Load() {
		t.Fatalf("the sink never held more than %d postbacks at once: node 1 may have died with none claimed", perHost)
	}
	for i, r := range results {
		if !r.clickAcked || !r.launchAcked {
			t.Errorf("device %d: node 2 refused: %s", i, r.problem)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// Every postback arrives: node 2 sends its own and, once their lease
	// lapsed, those node 1 held.
	store, err := postgres.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ctx := context.Background()
	pendingDeliveries := func() (all []*touchpoint.Delivery, pending int) {
		f := touchpoint.DeliveryFilter{App: appID, Limit: 1000}
		for {
			ds, before, err := store.ListDeliveries(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, ds...)
			if before == 0 {
				break
			}
			f.Before = before
		}
		for _, d := range all {
			if d.State == touchpoint.DeliveryPending {
				pending++
			}
		}
		return all, pending
	}
	var ds []*touchpoint.Delivery
	deadline := time.Now().Add(10*lease + 10*time.Second)
	for {
		var pending int
		ds, pending = pendingDeliveries()
		sink.mu.Lock()
		got := len(sink.got)
		sink.mu.Unlock()
		if pending == 0 && got == devices {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %d of %d deliveries pending, postbacks of %d of %d devices arrived",
				time.Since(start).Round(time.Millisecond), pending, len(ds), got, devices)
		}
		time.Sleep(100 * time.Millisecond)
	}
	settled := time.Since(start)
	// A postback sent twice would come at most a lease later.
	time.Sleep(lease + time.Second)

	// Clicks: each acknowledged one stored once (one that failed on node 1
	// may have been stored there as well as on node 2, its retry: two
	// clicks as far as the server knows).
	clicks := map[string]int{}
	f := touchpoint.TouchFilter{App: appID, Limit: 1000}
	for {
		ts, before, err := store.ListTouches(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range ts {
			clicks[tc.Params.ClickID]++
		}
		if before == 0 {
			break
		}
		f.Before = before
	}
	retriedClicks, retriedLaunches := 0, 0
	for i, r := range results {
		n, id := clicks[fmt.Sprintf("click-%d", i)], fmt.Sprintf("click-%d", i)
		switch {
		case r.clickRetried && (n == 1 || n == 2):
			retriedClicks++
		case n != 1:
			t.Errorf("acknowledged click %s stored %d times, want once", id, n)
		}
	}
	for _, r := range results {
		if r.launchRetried {
			retriedLaunches++
		}
	}
	if len(clicks) != devices {
		t.Errorf("%d distinct clicks stored, want %d", len(clicks), devices)
	}

	// Installs: one per device, the one its launch was answered with,
	// attributed to its click.
	for i, r := range results {
		ins, err := store.ListInstalls(ctx, appID, r.launch.DeviceID)
		if err != nil {
			t.Fatal(err)
		}
		if len(ins) != 1 {
			t.Errorf("device %d (%s): %d installs, want 1", i, r.launch.DeviceID, len(ins))
			continue
		}
		if ins[0].ID != r.launch.InstallID || r.launch.Type != "install" {
			t.Errorf("device %d: the launch was answered %+v, the install stored is %d", i, r.launch, ins[0].ID)
		}
		if a := ins[0].Attribution; a.MediaSource != "net_int" || a.Params.ClickID != fmt.Sprintf("click-%d", i) {
			t.Errorf("device %d: attributed to %s %q, want net_int click-%d", i, a.MediaSource, a.Params.ClickID, i)
		}
	}

	// Postbacks: one delivery per install, succeeded, and received once.
	owed := map[string]int{}
	for _, d := range ds {
		if d.Kind != touchpoint.KindInstallPostback || d.State != touchpoint.DeliverySucceeded {
			t.Errorf("delivery %d (%s): %s %s, want a succeeded install postback", d.ID, d.Source, d.Kind, d.State)
		}
		owed[d.Source]++
	}
	if len(ds) != devices || len(owed) != devices {
		t.Errorf("%d deliveries for %d installs, want %d for %d", len(ds), len(owed), devices, devices)
	}
	sink.mu.Lock()
	for i := range devices {
		if n := sink.got[gaid(i)]; n != 1 {
			t.Errorf("device %d: its install postback arrived %d times, want once: %v", i, n, sink.times[gaid(i)])
		}
	}
	dropped := sink.dropped
	sink.mu.Unlock()
	if dropped == 0 {
		t.Errorf("no postback send of node 1 was cut short by its death: the takeover of its claims went untested")
	}

	// Node 2 stops cleanly.
	n2.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-n2.done:
		if err != nil {
			t.Errorf("node 2 after SIGTERM: %v\n%s", err, n2.logs())
		}
	case <-time.After(15 * time.Second):
		t.Errorf("node 2 did not stop on SIGTERM")
	}
	t.Logf("traffic %s (node 1 killed at %s, %d of %d devices done), postbacks settled at %s; "+
		"%d clicks and %d launches retried on node 2 after failing on node 1; "+
		"%d postback sends of node 1 died unanswered, %d requests at the sink",
		trafficTook.Round(time.Millisecond), killedAt.Round(time.Millisecond), killedAfter, devices, settled.Round(time.Millisecond),
		retriedClicks, retriedLaunches, dropped, sink.received.Load())
}

// TestServePostbackLeaseFlag: serve refuses a --postback-lease a send
// could outlast, before it starts.
func TestServePostbackLeaseFlag(t *testing.T) {
	for _, lease := range []string{"-1s", "10s", "5s"} {
		cmd := &ServeCommand{Stdout: io.Discard, Stderr: &bytes.Buffer{}}
		err := cmd.Run(context.Background(), []string{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--postback-lease", lease})
		if err == nil || !strings.Contains(err.Error(), "want 0 (the default) or longer than --postback-timeout (10s)") {
			t.Errorf("serve --postback-lease %s: %v", lease, err)
		}
	}
	cmd := &ServeCommand{Stderr: io.Discard}
	if err := cmd.ParseFlags([]string{"--postback-lease", "2s", "--postback-timeout", "1s"}); err != nil || cmd.Config.PostbackLease != 2*time.Second {
		t.Errorf("--postback-lease 2s: %v %v", cmd.Config.PostbackLease, err)
	}
	if err := cmd.ParseFlags(nil); err != nil || cmd.Config.PostbackLease != 0 {
		t.Errorf("default --postback-lease: %v %v", cmd.Config.PostbackLease, err)
	}
	t.Setenv("TOUCHPOINT_POSTBACK_LEASE", "90s")
	if err := cmd.ParseFlags(nil); err != nil || cmd.Config.PostbackLease != 90*time.Second {
		t.Errorf("TOUCHPOINT_POSTBACK_LEASE=90s: %v %v", cmd.Config.PostbackLease, err)
	}
}
