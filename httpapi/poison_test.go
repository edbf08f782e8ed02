package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/httpapi"
)

// One bad request never fails another's. Each group commit (clicks,
// launches, SDK events, analytics uploads) is tried with many good
// requests of one app or project and a few bad ones of another in the
// same commit. Two kinds of bad request:
//   - real ones, whose data used to reach the store and fail the whole
//     commit (a Play referrer timestamp past the year 9999, a $add of "NaN"
//     or one that overflows): now refused at the edge or made harmless;
//   - ones the store refuses (poisonStore: as a store whose transaction
//     rolled back, it fails every commit holding a marked item), which the
//     group commit must isolate, so that only they fail, with their own
//     4xx.

// poisonStore fails every write that holds an item marked as poison with
// an EINVALID error naming it, changing nothing; other writes go through.
// The first write of each kind waits at the gate until the test lets it
// go, so that the requests sent meanwhile share the next commit.
type poisonStore struct {
	touchpoint.Store
	mu      sync.Mutex
	gates   map[string]chan struct{}
	entered map[string]chan struct{}
	// failed are the sizes of the commits that failed, by kind.
	failed map[string][]int
}

func newPoisonStore(s touchpoint.Store) *poisonStore {
	p := &poisonStore{Store: s, gates: map[string]chan struct{}{}, entered: map[string]chan struct{}{}, failed: map[string][]int{}}
	for _, k := range []string{"touches", "launches", "conversions", "events"} {
		p.gates[k], p.entered[k] = make(chan struct{}), make(chan struct{})
	}
	return p
}

// pass waits at the kind's gate on its first write, and fails the write
// when it holds poison.
func (p *poisonStore) pass(kind string, n int, poison string) error {
	p.mu.Lock()
	entered := p.entered[kind]
	first := entered != nil
	p.entered[kind] = nil
	p.mu.Unlock()
	if first {
		close(entered)
		<-p.gates[kind]
	}
	if poison == "" {
		return nil
	}
	p.mu.Lock()
	p.failed[kind] = append(p.failed[kind], n)
	p.mu.Unlock()
	return touchpoint.Errorf(touchpoint.EINVALID, "%s cannot be stored", poison)
}

// release opens a kind's gate once its first write waits there.
func (p *poisonStore) release(t *testing.T, kind string) {
	t.Helper()
	p.mu.Lock()
	entered := p.entered[kind]
	p.mu.Unlock()
	if entered != nil {
		t.Fatalf("no %s write reached the store", kind)
	}
	close(p.gates[kind])
}

// waitEntered waits until the first write of kind is at its gate.
func (p *poisonStore) waitEntered(t *testing.T, kind string) {
	t.Helper()
	p.mu.Lock()
	entered := p.entered[kind]
	p.mu.Unlock()
	if entered == nil {
		return
	}
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s write reached the store", kind)
	}
}

// isolated reports whether a commit of more than one item failed: the
// group commit then had to find the bad ones among good ones.
func (p *poisonStore) isolated(kind string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, n := range p.failed[kind] {
		if n > 1 {
			return true
		}
	}
	return false
}

func (p *poisonStore) RecordTouches(ctx context.Context, ts []*touchpoint.Touch) error {
	poison := ""
	for _, t := range ts {
		if t.Params.ClickID == "poison" {
			poison = "click " + t.Params.ClickID
		}
	}
	if err := p.pass("touches", len(ts), poison); err != nil {
		return err
	}
	return p.Store.RecordTouches(ctx, ts)
}

func (p *poisonStore) WriteLaunches(ctx context.Context, ws []*touchpoint.LaunchWrite) error {
	poison := ""
	for _, w := range ws {
		if w.Device.IDs[touchpoint.GAID].Raw == "poison" {
			poison = "launch of device poison"
		}
	}
	if err := p.pass("launches", len(ws), poison); err != nil {
		return err
	}
	return p.Store.WriteLaunches(ctx, ws)
}

func (p *poisonStore) WriteConversions(ctx context.Context, cs []*touchpoint.ConversionWrite) error {
	poison := ""
	for _, c := range cs {
		if c.Conversion.Name == "poison" {
			poison = "event poison"
		}
	}
	if err := p.pass("conversions", len(cs), poison); err != nil {
		return err
	}
	return p.Store.WriteConversions(ctx, cs)
}

func (p *poisonStore) RecordEvents(ctx context.Context, ups []*touchpoint.EventUpload) error {
	poison := ""
	for _, up := range ups {
		for _, e := range up.Events {
			if e.EventType == "poison" {
				poison = "event poison"
			}
		}
	}
	if err := p.pass("events", len(ups), poison); err != nil {
		return err
	}
	return p.Store.RecordEvents(ctx, ups)
}

// poisonT0 is the server's clock in these tests.
var poisonT0 = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

type reply struct {
	code int
	body string
}

// burst sends the requests concurrently once a gate request is waiting in
// the store, waits until every one has been written to the server (and a
// moment for the server to queue it), lets the gate go, and returns the
// answers in order. The requests then share the commit after the gate's.
func burst(t *testing.T, p *poisonStore, kind string, gate *http.Request, reqs []*http.Request) []reply {
	t.Helper()
	gateDone := make(chan reply, 1)
	go func() { gateDone <- do(t, gate) }()
	p.waitEntered(t, kind)
	out := make([]reply, len(reqs))
	var written, done sync.WaitGroup
	for i, r := range reqs {
		written.Add(1)
		done.Add(1)
		var once sync.Once
		r = r.WithContext(httptrace.WithClientTrace(r.Context(), &httptrace.ClientTrace{
			WroteRequest: func(httptrace.WroteRequestInfo) { once.Do(written.Done) },
		}))
		go func() {
			defer done.Done()
			defer once.Do(written.Done)
			out[i] = do(t, r)
		}()
	}
	written.Wait()
	time.Sleep(100 * time.Millisecond) // the server reads and queues them
	p.release(t, kind)
	done.Wait()
	if g := <-gateDone; g.code >= 300 && g.code != 302 {
		t.Fatalf("gate request: %d %s", g.code, g.body)
	}
	return out
}

var burstClient = &http.Client{Transport: &http.Transport{MaxConnsPerHost: 0, MaxIdleConnsPerHost: 64},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func do(t *testing.T, r *http.Request) reply {
	resp, err := burstClient.Do(r)
	if err != nil {
		t.Error(err)
		return reply{}
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return reply{resp.StatusCode, b.String()}
}

func newReq(t *testing.T, method, url, body string, header ...string) *http.Request {
	t.Helper()
	var r *http.Request
	var err error
	if body == "" {
		r, err = http.NewRequest(method, url, nil)
	} else {
		r, err = http.NewRequest(method, url, strings.NewReader(body))
	}
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	return r
}

// startPoison starts a server over a poisonStore with two production apps
// (good and bad) and two projects, and a long commit linger.
func startPoison(t *testing.T) (*testServer, *poisonStore, [2]touchpoint.App, [2]*touchpoint.Project) {
	t.Helper()
	var p *poisonStore
	s := startServer(t, withClock(func() time.Time { return poisonT0 }), func(s *httpapi.Server) {
		p = newPoisonStore(s.Store)
		s.Store = p
	})
	t.Cleanup(burstClient.CloseIdleConnections)
	var apps [2]touchpoint.App
	for i, id := range []string{"com.example.good", "com.example.bad"} {
		s.mustAPI(t, 201, "POST", "/api/v1/apps", map[string]any{"app_id": id, "platform": "android", "name": id, "min_ctit_seconds": 0}, &apps[i])
		s.mustAPI(t, 201, "POST", "/api/v1/apps/"+id+"/partners", map[string]any{"pid": "net_a"}, nil)
	}
	return s, p, apps, [2]*touchpoint.Project{s.createProject(t, nil), s.createProject(t, nil)}
}

const poisonGood = 30

func TestPoisonPillClicks(t *testing.T) {
	s, p, apps, _ := startPoison(t)
	var reqs []*http.Request
	for i := range poisonGood {
		reqs = append(reqs, newReq(t, "GET", fmt.Sprintf("%s/c/%s?pid=net_a&clickid=good-%d", s.URL(), apps[0].ID, i), ""))
	}
	reqs = append(reqs, newReq(t, "GET", s.URL()+"/c/"+apps[1].ID+"?pid=net_a&clickid=poison", ""))
	out := burst(t, p, "touches", newReq(t, "GET", s.URL()+"/c/"+apps[0].ID+"?pid=net_a&clickid=gate", ""), reqs)
	for i, r := range out[:poisonGood] {
		if r.code != 302 {
			t.Errorf("good click %d: %d %s", i, r.code, r.body)
		}
	}
	if r := out[poisonGood]; r.code != 400 || !strings.Contains(r.body, "click poison cannot be stored") {
		t.Errorf("poisoned click: %d %q, want 400 naming it", r.code, r.body)
	}
	if !p.isolated("touches") {
		t.Error("the poisoned click never shared a commit with good ones: the test did not test isolation")
	}
	var page struct{ Touches []touchpoint.Touch }
	s.mustAPI(t, 200, "GET", "/api/v1/apps/"+apps[0].ID+"/touches?limit=100", nil, &page)
	if got, want := len(page.Touches), poisonGood+1; got != want {
		t.Errorf("%d touches of the good app stored, want %d", got, want)
	}
	s.mustAPI(t, 200, "GET", "/api/v1/apps/"+apps[1].ID+"/touches?limit=100", nil, &page)
	if len(page.Touches) != 0 {
		t.Errorf("the poisoned click was stored: %+v", page.Touches)
	}
}

func TestPoisonPillLaunches(t *testing.T) {
	s, p, apps, _ := startPoison(t)
	sdk := func(app touchpoint.App, path, body string) *http.Request {
		return newReq(t, "POST", s.URL()+"/sdk/v1/apps/"+app.ID+path, body, "Authorization", "Bearer "+app.DevKey)
	}
	var reqs []*http.Request
	for i := range poisonGood {
		reqs = append(reqs, sdk(apps[0], "/launches", fmt.Sprintf(`{"advertising_id":"good-%d","launch_id":"l-%d"}`, i, i)))
	}
	reqs = append(reqs,
		sdk(apps[1], "/launches", `{"advertising_id":"poison","launch_id":"p-1"}`),
		// Past the year 9999: once a 500 for every launch of its commit.
		sdk(apps[1], "/launches", `{"advertising_id":"far","referrer":"utm_source=x","click_ts":253402300800,"install_begin_ts":253402300801}`),
		sdk(apps[1], "/launches", `{"advertising_id":"far2","click_ts":"99999999999999"}`))
	out := burst(t, p, "launches", sdk(apps[0], "/launches", `{"advertising_id":"gate"}`), reqs)
	for i, r := range out[:poisonGood] {
		if r.code != 200 || !strings.Contains(r.body, `"type":"install"`) {
			t.Errorf("good launch %d: %d %s", i, r.code, r.body)
		}
	}
	for i, want := range []string{"launch of device poison cannot be stored", "click_ts is after the year 9999", "click_ts is after the year 9999"} {
		if r := out[poisonGood+i]; r.code != 400 || !strings.Contains(r.body, want) {
			t.Errorf("bad launch %d: %d %s, want 400 %q", i, r.code, r.body, want)
		}
	}
	if !p.isolated("launches") {
		t.Error("the poisoned launch never shared a commit with good ones")
	}
	var rows struct{ Rows []touchpoint.ReportRow }
	s.mustAPI(t, 200, "GET", "/api/v1/apps/"+apps[0].ID+"/report?from=2026-06-01&to=2026-06-01", nil, &rows)
	if len(rows.Rows) != 1 || rows.Rows[0].OrganicInstalls != poisonGood+1 {
		t.Errorf("good app's report: %+v, want %d organic installs", rows.Rows, poisonGood+1)
	}
	s.mustAPI(t, 200, "GET", "/api/v1/apps/"+apps[1].ID+"/report?from=2026-06-01&to=2026-06-01", nil, &rows)
	if len(rows.Rows) != 0 && rows.Rows[0].OrganicInstalls+rows.Rows[0].Installs != 0 {
		t.Errorf("bad app's report: %+v, want no installs", rows.Rows)
	}

	// SDK events (conversions) of those devices, and a poisoned one.
	var devices []string
	for _, r := range out[:poisonGood] {
		var lr httpapi.LaunchResponse
		mustUnmarshal(t, r.body, &lr)
		devices = append(devices, lr.DeviceID)
	}
	var bad httpapi.LaunchResponse
	if code := s.sdkCall(t, apps[1], "/launches", `{"advertising_id":"bad-1"}`, &bad); code != 200 {
		t.Fatalf("launch on the bad app: %d", code)
	}
	reqs = nil
	for i, d := range devices {
		reqs = append(reqs, sdk(apps[0], "/events", fmt.Sprintf(`{"device_id":%q,"event_id":"e-%d","event_name":"af_purchase","revenue":"1.5"}`, d, i)))
	}
	reqs = append(reqs,
		sdk(apps[1], "/events", fmt.Sprintf(`{"device_id":%q,"event_name":"poison"}`, bad.DeviceID)),
		sdk(apps[1], "/events", fmt.Sprintf(`{"device_id":%q,"event_name":"late","event_time":"1970-01-02T00:00:00Z"}`, bad.DeviceID)),
		sdk(apps[1], "/events", fmt.Sprintf(`{"device_id":%q,"event_name":"far","event_time":999999999999999}`, bad.DeviceID)))
	out = burst(t, p, "conversions", sdk(apps[0], "/events", fmt.Sprintf(`{"device_id":%q,"event_name":"gate"}`, devices[0])), reqs)
	for i, r := range out[:poisonGood] {
		if r.code != 200 || !strings.Contains(r.body, "conversion_id") {
			t.Errorf("good event %d: %d %s", i, r.code, r.body)
		}
	}
	for i, want := range []string{"event poison cannot be stored", "event_time 1970-01-02T00:00:00Z is before 2000-01-01", "event_time is after the year 9999"} {
		if r := out[poisonGood+i]; r.code != 400 || !strings.Contains(r.body, want) {
			t.Errorf("bad event %d: %d %s, want 400 %q", i, r.code, r.body, want)
		}
	}
	if !p.isolated("conversions") {
		t.Error("the poisoned event never shared a commit with good ones")
	}
	s.mustAPI(t, 200, "GET", "/api/v1/apps/"+apps[0].ID+"/report?from=2026-06-01&to=2026-06-01", nil, &rows)
	if got, want := rows.Rows[0].Conversions, int64(poisonGood+1); got != want {
		t.Errorf("good app's conversions: %d, want %d", got, want)
	}
}

func TestPoisonPillUploads(t *testing.T) {
	s, p, _, projects := startPoison(t)
	upload := func(p *touchpoint.Project, events string) *http.Request {
		return newReq(t, "POST", s.URL()+"/2/httpapi", `{"api_key":"`+p.APIKey+`","events":[`+events+`]}`, "Content-Type", "application/json")
	}
	var reqs []*http.Request
	for i := range poisonGood {
		reqs = append(reqs, upload(projects[0], fmt.Sprintf(`{"event_type":"play","device_id":"device-%d","insert_id":"i-%d","user_properties":{"$add":{"plays":1}}},{"event_type":"play","device_id":"device-%d"}`, i, i, i)))
	}
	reqs = append(reqs,
		upload(projects[1], `{"event_type":"poison","device_id":"device-bad"}`),
		// Once unencodable user properties, and 503 for every upload of
		// the commit: now they add nothing.
		upload(projects[1], `{"event_type":"$identify","device_id":"device-nan","user_properties":{"$add":{"n":"NaN","m":"-Inf","h":"0x10"}}}`),
		upload(projects[1], `{"event_type":"$identify","device_id":"device-big","user_properties":{"$set":{"n":1e308}}},{"event_type":"$identify","device_id":"device-big","user_properties":{"$add":{"n":1e308}}}`),
		// Before 2000: refused, the field named.
		upload(projects[1], `{"event_type":"old","device_id":"device-old","time":86400000}`))
	out := burst(t, p, "events", upload(projects[0], `{"event_type":"gate","device_id":"device-gate"}`), reqs)
	for i, r := range out[:poisonGood] {
		if r.code != 200 || !strings.Contains(r.body, `"events_ingested":2`) {
			t.Errorf("good upload %d: %d %s", i, r.code, r.body)
		}
	}
	for i, want := range []struct {
		code int
		body string
	}{{400, "event poison cannot be stored"}, {200, `"code":200`}, {200, `"code":200`}, {400, `"events_with_invalid_fields":{"time":[0]}`}} {
		if r := out[poisonGood+i]; r.code != want.code || !strings.Contains(r.body, want.body) {
			t.Errorf("bad upload %d: %d %s, want %d %q", i, r.code, r.body, want.code, want.body)
		}
	}
	if !p.isolated("events") {
		t.Error("the poisoned upload never shared a commit with good ones")
	}
	for i := range poisonGood {
		if got := len(s.deviceEvents(t, projects[0], fmt.Sprintf("device-%d", i))); got != 2 {
			t.Errorf("device-%d has %d events, want 2", i, got)
		}
	}
	// Every user stays readable, with properties JSON can hold.
	for dev, want := range map[string]string{"device-nan": `{"h":0,"m":0,"n":0}`, "device-big": `{"n":1e308}`} {
		var u struct {
			UserProperties map[string]any `json:"user_properties"`
		}
		s.mustAPI(t, 200, "GET", fmt.Sprintf("/api/v1/projects/%d/users?device_id=%s", projects[1].ID, dev), nil, &u)
		if got := fmt.Sprint(u.UserProperties); got != fmt.Sprint(mustMap(t, want)) {
			t.Errorf("%s: user properties %s, want %s", dev, got, want)
		}
	}
}

func mustUnmarshal(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("%v in %s", err, s)
	}
}

func mustMap(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	mustUnmarshal(t, s, &m)
	return m
}

// sdkCall posts body to an app's SDK API and decodes the answer into out.
func (s *testServer) sdkCall(t *testing.T, app touchpoint.App, path, body string, out any) int {
	t.Helper()
	r := do(t, newReq(t, "POST", s.URL()+"/sdk/v1/apps/"+app.ID+path, body, "Authorization", "Bearer "+app.DevKey))
	if r.code == 200 && out != nil {
		mustUnmarshal(t, r.body, out)
	}
	return r.code
}
