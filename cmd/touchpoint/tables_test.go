package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/httpapi"
)

// rawAPI is the server's answer to an admin API call, as it came.
func rawAPI(t *testing.T, srv *httpapi.Server, token, method, path string) string {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL()+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("%s %s: %s %s", method, path, resp.Status, b)
	}
	return string(b)
}

// sameAsServer checks that "--json" prints the server's answer to path
// unchanged.
func sameAsServer(t *testing.T, srv *httpapi.Server, token, path string, args ...string) {
	t.Helper()
	got := cli(t, append(args, "--json")...)
	if want := rawAPI(t, srv, token, "GET", path); got != want {
		t.Errorf("touchpoint %s --json printed\n%s\nthe server answered\n%s", strings.Join(args, " "), got, want)
	}
}

// expectTable checks the lines of want, in order, among the lines of got
// (want's are regular expressions matching a whole line). A line of
// want starting with "|" marks where columns start: the next line's
// cells, split at two spaces, must start at the same places.
func expectTable(t *testing.T, got string, want ...string) {
	t.Helper()
	lines := strings.Split(got, "\n")
	i := 0
	for _, w := range want {
		re := regexp.MustCompile("^" + w + "$")
		for i < len(lines) && !re.MatchString(lines[i]) {
			i++
		}
		if i == len(lines) {
			t.Fatalf("no line like %q (in order) in:\n%s", w, got)
		}
		i++
	}
}

// columnStarts are where the cells of a table line start (cells are
// apart by two spaces or more); a cell aligned right starts later.
func columnStarts(line string) []int {
	var out []int
	for _, m := range regexp.MustCompile(`(?:^|  )(\S)`).FindAllStringSubmatchIndex(line, -1) {
		out = append(out, m[2])
	}
	return out
}

// columnEnds are where the cells of a table line end.
func columnEnds(line string) []int {
	var out []int
	for _, m := range regexp.MustCompile(`(\S)(?:  |$)`).FindAllStringSubmatchIndex(line, -1) {
		out = append(out, m[3])
	}
	return out
}

// lineOf returns the line of out that matches re.
func lineOf(t *testing.T, out, re string) string {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if regexp.MustCompile(re).MatchString(l) {
			return l
		}
	}
	t.Fatalf("no line like %q in:\n%s", re, out)
	return ""
}

// TestTablesCLI: the commands a person reads print tables, --json the
// server's answer as it is, and an empty answer a line saying so; the
// deliveries, rates, destinations and analytics-forward verbs end to
// end. The app is in test mode: its clock stands still until moved.
func TestTablesCLI(t *testing.T) {
	dir := t.TempDir()
	srv, _, _ := serve(t, "--data-dir", dir, "--allow-private-postback-hosts")
	token := adminTokenOf(t, dir)
	c := []string{"--server", srv.URL(), "--data-dir", dir}
	const appID = "com.example.tables"
	const gaid = "38400000-8cf0-11bd-b23e-10b96e40000d"

	// The partner's postback endpoint refuses postbacks (400) until it is
	// told to take them.
	var accept atomic.Bool
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !accept.Load() {
			http.Error(w, "unknown\tclick id:\nabc", http.StatusBadRequest)
			return
		}
		io.WriteString(w, "ok")
	}))
	defer sink.Close()

	var app touchpoint.App
	cliJSON(t, &app, append([]string{"apps", "create", appID, "--platform", "android", "--name", "Tables", "--test-mode"}, c...)...)
	day := app.TestClock.UTC().Format(time.DateOnly)

	// Nothing yet: a line that says so, not a head alone.
	if out := cli(t, append([]string{"touches", "list", appID}, c...)...); out != "no touches\n" {
		t.Errorf("touches list, none: %q", out)
	}
	if out := cli(t, append([]string{"deliveries", "list", "--app", appID}, c...)...); out != "no deliveries\n" {
		t.Errorf("deliveries list, none: %q", out)
	}
	if out := cli(t, append([]string{"report", appID, "--from", day, "--to", day}, c...)...); out != fmt.Sprintf("%s, %s to %s, by media_source\nno clicks, impressions, installs or in-app events\n", appID, day, day) {
		t.Errorf("report, none: %q", out)
	}
	sameAsServer(t, srv, token, "/api/v1/apps/"+appID+"/report?from="+day+"&group_by=media_source&to="+day,
		append([]string{"report", appID, "--from", day, "--to", day}, c...)...)

	// Two clicks a minute apart on the app's clock, the later one (which
	// wins) with a cost in euros; then the install, a minute after it.
	cli(t, append([]string{"partners", "create", appID, "net_int", "--install-postback", sink.URL + "/?clickid=(clickid)"}, c...)...)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	click := func(query string) {
		t.Helper()
		resp, err := noRedirect.Get(srv.URL() + "/c/" + appID + "?" + query)
		if err != nil || resp.StatusCode != http.StatusFound {
			t.Fatalf("click %s: %v %v", query, resp, err)
		}
		resp.Body.Close()
	}
	click("pid=othernet&c=spring&advertising_id=" + gaid)
	cli(t, append([]string{"apps", "clock", appID, "--advance", "1m"}, c...)...)
	click("pid=net_int&c=summer&clickid=abc&af_cost_value=0.5&af_cost_currency=EUR&advertising_id=" + gaid)
	cli(t, append([]string{"apps", "clock", appID, "--advance", "1m"}, c...)...)
	sdk := func(path, body string, out any) {
		t.Helper()
		req, _ := http.NewRequest("POST", srv.URL()+"/sdk/v1/apps/"+appID+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+app.DevKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %s %v", path, resp.Status, err)
		}
	}
	var launch struct {
		DeviceID string `json:"device_id"`
	}
	sdk("/launches", `{"advertising_id":"`+gaid+`","launch_id":"first"}`, &launch)
	var event httpapi.EventResponse
	sdk("/events", `{"device_id":"`+launch.DeviceID+`","event_id":"e1","event_name":"purchase","revenue":4.99,"currency":"EUR"}`, &event)

	// touches list: a touch a row, newest first, columns aligned.
	out := cli(t, append([]string{"touches", "list", appID}, c...)...)
	expectTable(t, out,
		`ID +TIME +KIND +PID +CAMPAIGN +DEVICE IDS +SIGNATURE +STATUS`,
		`\d+  \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ  click  net_int +summer +advertising_id `+gaid+`  unchecked +ok`,
		`\d+  \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ  click  othernet \(custom\)  spring +advertising_id `+gaid+`  unchecked +ok`)
	head := columnStarts(lineOf(t, out, `^ID`))
	for _, re := range []string{`net_int`, `othernet`} {
		if row := columnStarts(lineOf(t, out, re)); fmt.Sprint(row) != fmt.Sprint(head) {
			t.Errorf("touches list: the columns of %q start at %v, the heads at %v:\n%s", re, row, head, out)
		}
	}
	sameAsServer(t, srv, token, "/api/v1/apps/"+appID+"/touches?", append([]string{"touches", "list", appID}, c...)...)
	var page httpapi.TouchPage
	cliJSON(t, &page, append([]string{"touches", "list", appID, "--pid", "net_int"}, c...)...)
	if len(page.Touches) != 1 {
		t.Fatalf("touches list --pid net_int: %+v", page.Touches)
	}
	touchID := fmt.Sprint(page.Touches[0].ID)
	if out := cli(t, append([]string{"touches", "list", appID, "--limit", "1"}, c...)...); !strings.Contains(out, "more: --cursor "+touchID+"\n") {
		t.Errorf("touches list --limit 1: no line to the next page:\n%s", out)
	}

	// touches get: its fields, the link's parameters in their order.
	out = cli(t, append([]string{"touches", "get", appID, touchID}, c...)...)
	expectTable(t, out,
		`touch +`+touchID+` \(click\)`,
		`app +`+appID,
		`time +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`,
		`pid +net_int`,
		`signature +unchecked`,
		`status +can win an install`,
		`parameters`,
		`  c +summer`,
		`  clickid +abc`,
		`  af_cost_value +0.5`,
		`  af_cost_currency +EUR`,
		`device ids`,
		`  advertising_id +`+gaid+`, sha1 [0-9a-f]{40}, md5 [0-9a-f]{32}`)
	sameAsServer(t, srv, token, "/api/v1/apps/"+appID+"/touches/"+touchID, append([]string{"touches", "get", appID, touchID}, c...)...)

	// installs get: the device, the decision in words, the candidates and
	// why each won or lost, the in-app events.
	out = cli(t, append([]string{"installs", "get", appID, launch.DeviceID}, c...)...)
	expectTable(t, out,
		`device +`+regexp.QuoteMeta(launch.DeviceID)+` \(`+appID+`\)`,
		`ids +advertising_id `+gaid,
		`launches +1, the first \S+Z, the last \S+Z`,
		`credited to +net_int, campaign summer: click `+touchID+` by id_matching`,
		`Installed on .*: credited to net_int \(campaign summer\) for click`,
		`install \d+, launched \S+Z: net_int, campaign summer: click `+touchID+` by id_matching`,
		`  # +OUTCOME +MEDIA SOURCE +CAMPAIGN +TOUCH ID +TYPE +TOUCH TIME +MATCH +REASON`,
		`  1  won +net_int +summer +`+touchID+`  click  \S+Z  id_matching +won`,
		`  2  lost +othernet +spring +\d+  click  \S+Z  id_matching +\S+`,
		`  why`,
		`  1  Won: .*`,
		`  2  .*`,
		`in-app events`,
		`  TIME +EVENT +REVENUE +FROM +CREDITED TO +RE-ENGAGEMENT`,
		`  \S+Z  purchase  4.99 EUR  SDK +net_int +-`)
	if !strings.Contains(out, "\n  contributor: othernet's click ") {
		t.Errorf("installs get: no contributor:\n%s", out)
	}
	sameAsServer(t, srv, token, "/api/v1/apps/"+appID+"/installs/"+launch.DeviceID,
		append([]string{"installs", "get", appID, launch.DeviceID}, c...)...)

	// report: a row per media source, their total; money with its
	// currency, numbers aligned right.
	out = cli(t, append([]string{"report", appID, "--from", day, "--to", day}, c...)...)
	expectTable(t, out,
		regexp.QuoteMeta(appID+", "+day+" to "+day+", by media_source"),
		`MEDIA_SOURCE  CLICKS  IMPRESSIONS  INSTALLS  ORGANIC      COST      ECPI  EVENTS   REVENUE`,
		`net_int            1            0         1        0  0.50 EUR  0.50 EUR       1  4.99 EUR`,
		`othernet           1            0         0        0         -         -       0         -`,
		`total              2            0         1        0  0.50 EUR  0.50 EUR       1  4.99 EUR`)
	if h, r := columnEnds(lineOf(t, out, `^MEDIA_SOURCE`)), columnEnds(lineOf(t, out, `^othernet`)); fmt.Sprint(h[1:5]) != fmt.Sprint(r[1:5]) {
		t.Errorf("report: the counts end at %v, their heads at %v:\n%s", r[1:5], h[1:5], out)
	}
	sameAsServer(t, srv, token, "/api/v1/apps/"+appID+"/report?from="+day+"&group_by=media_source&to="+day,
		append([]string{"report", appID, "--from", day, "--to", day}, c...)...)
	if out := cli(t, append([]string{"report", appID, "--from", day, "--to", day, "--field", "rows"}, c...)...); !strings.Contains(out, `"group":{"media_source":"net_int"}`) {
		t.Errorf("report --field rows: %s", out)
	}

	// deliveries: the install postback, refused and given up; retried,
	// and sent.
	var failed httpapi.DeliveryPage
	for deadline := time.Now().Add(30 * time.Second); len(failed.Deliveries) == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the install postback was not given up")
		}
		json.Unmarshal([]byte(rawAPI(t, srv, token, "GET", "/api/v1/deliveries?state=failed&app_id="+appID)), &failed)
	}
	id := fmt.Sprint(failed.Deliveries[0].ID)
	out = cli(t, append([]string{"deliveries", "list", "--app", appID}, c...)...)
	expectTable(t, out,
		`ID +CREATED +KIND +FOR +PID +HOST +TRIES +STATE`,
		id+` +\S+Z  install_postback  `+appID+`  net_int  127.0.0.1:\d+  1 of 5  failed: the destination answered 400: not retried`)
	sameAsServer(t, srv, token, "/api/v1/deliveries?app_id="+appID, append([]string{"deliveries", "list", "--app", appID}, c...)...)
	if out := cli(t, append([]string{"deliveries", "list", "--app", appID, "--state", "pending"}, c...)...); out != "no deliveries\n" {
		t.Errorf("deliveries list --state pending: %q", out)
	}
	out = cli(t, append([]string{"deliveries", "get", id}, c...)...)
	expectTable(t, out,
		`delivery +`+id+` \(install_postback\)`,
		`state +failed: the destination answered 400: not retried`,
		`for +`+appID,
		`pid +net_int`,
		`source +install/\d+`,
		`request +GET `+regexp.QuoteMeta(sink.URL)+`/\?clickid=abc`,
		`tries +1 of 5`,
		`attempts`,
		`  # +TIME +STATUS +ANSWER`,
		`  1  \S+Z  +400  unknown click id: abc`)
	sameAsServer(t, srv, token, "/api/v1/deliveries/"+id, append([]string{"deliveries", "get", id}, c...)...)
	accept.Store(true)
	out = cli(t, append([]string{"deliveries", "retry", id}, c...)...)
	expectTable(t, out, `delivery +`+id+` \(install_postback\)`, `state +pending, next try at \S+Z`)
	var d touchpoint.Delivery
	for deadline := time.Now().Add(30 * time.Second); d.State != touchpoint.DeliverySucceeded; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the retried postback was not sent: %+v", d)
		}
		cliJSON(t, &d, append([]string{"deliveries", "get", id}, c...)...)
	}
	out = cli(t, append([]string{"deliveries", "get", id}, c...)...)
	expectTable(t, out, `state +succeeded`, `  1  \S+Z  +400  unknown click id: abc`, `  2  \S+Z  +200  ok`)
	err := run(context.Background(), append([]string{"deliveries", "retry", id}, c...), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "POST /api/v1/deliveries/"+id+"/retry: ") || !strings.Contains(err.Error(), "(409 Conflict)") {
		t.Errorf("deliveries retry of a sent delivery: %v", err)
	}

	// rates: none, set, read.
	err = run(context.Background(), append([]string{"rates", "get", "2026-11-09"}, c...), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "GET /api/v1/exchange-rates/2026-11-09: ") {
		t.Errorf("rates get of a day without rates: %v", err)
	}
	want := `exchange rates of 2026-11-09 (UTC), US dollars per unit
CURRENCY     USD
EUR         1.08
GBP         1.27
JPY       0.0067
`
	if out := cli(t, append([]string{"rates", "set", "2026-11-09", "EUR=1.08", "GBP=1.27", "JPY=0.0067"}, c...)...); out != want {
		t.Errorf("rates set printed\n%s\nwant\n%s", out, want)
	}
	if out := cli(t, append([]string{"rates", "get", "2026-11-09"}, c...)...); out != want {
		t.Errorf("rates get printed\n%s\nwant\n%s", out, want)
	}
	sameAsServer(t, srv, token, "/api/v1/exchange-rates/2026-11-09", append([]string{"rates", "get", "2026-11-09"}, c...)...)
	for _, bad := range [][]string{{"rates", "set", "2026-11-09"}, {"rates", "set", "2026-11-09", "EUR"}, {"rates", "set", "2026-11-09", "EUR=x"}} {
		if err := run(context.Background(), append(bad, c...), io.Discard, io.Discard); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	err = run(context.Background(), append([]string{"rates", "set", "2026-11-09", "eur=1"}, c...), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), `currency "eur"`) {
		t.Errorf("rates set eur=1: the server's error, as it is: %v", err)
	}

	// destinations: created, read, updated, listed, deleted.
	var p touchpoint.Project
	cliJSON(t, &p, append([]string{"projects", "create", "--name", "Tables", "--apps", appID}, c...)...)
	pc := append([]string{"--project", fmt.Sprint(p.ID)}, c...)
	if out := cli(t, append([]string{"destinations", "list"}, pc...)...); out != "no destinations\n" {
		t.Errorf("destinations list, none: %q", out)
	}
	out = cli(t, append([]string{"destinations", "create", "--name", "AppsFlyer", "--appsflyer-app-id", appID, "--key", "dev-key-1234",
		"--event-types", "purchase, level_up"}, pc...)...)
	m := regexp.MustCompile(`^destination +(\d+) \(appsflyer-events\)\n`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("destinations create:\n%s", out)
	}
	dest := m[1]
	expectTable(t, out, `project +`+fmt.Sprint(p.ID), `name +AppsFlyer`, `appsflyer app +`+appID, `url +\(this server\)`, `enabled +yes`,
		`sends +purchase, level_up`, `dev key +…1234`, `appsflyer id +the user property \[AppsFlyer\] appsflyer_id`)
	out = cli(t, append([]string{"destinations", "update", dest, "--where", "user:plan is gold, silver", "--enabled=false"}, pc...)...)
	expectTable(t, out, `enabled +no`, `sends +purchase, level_up where user:plan is gold, silver`)
	// --event-types alone keeps the condition; "" is every event.
	out = cli(t, append([]string{"destinations", "update", dest, "--event-types", ""}, pc...)...)
	expectTable(t, out, `sends +every event where user:plan is gold, silver`)
	out = cli(t, append([]string{"destinations", "list"}, pc...)...)
	expectTable(t, out, `ID +NAME +KIND +APPSFLYER APP +ENABLED +URL +SENDS`,
		dest+` +AppsFlyer  appsflyer-events  `+appID+`  no +\(this server\)  every event where user:plan is gold, silver`)
	sameAsServer(t, srv, token, fmt.Sprintf("/api/v1/projects/%d/destinations", p.ID), append([]string{"destinations", "list"}, pc...)...)
	sameAsServer(t, srv, token, fmt.Sprintf("/api/v1/projects/%d/destinations/%s", p.ID, dest), append([]string{"destinations", "get", dest}, pc...)...)
	if out := cli(t, append([]string{"destinations", "get", dest, "--field", "filter.where.values"}, pc...)...); out != `["gold","silver"]`+"\n" {
		t.Errorf("destinations get --field: %q", out)
	}
	if out := cli(t, append([]string{"destinations", "delete", dest}, pc...)...); out != fmt.Sprintf("deleted destination %s of project %d\n", dest, p.ID) {
		t.Errorf("destinations delete: %q", out)
	}
	if out := cli(t, append([]string{"destinations", "list"}, pc...)...); out != "no destinations\n" {
		t.Errorf("destinations list after the delete: %q", out)
	}
	err = run(context.Background(), append([]string{"destinations", "get", dest}, pc...), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("destinations get of a deleted one: %v", err)
	}
	err = run(context.Background(), append([]string{"destinations", "create", "--name", "x", "--where", "plan = gold"}, pc...), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), `--where "plan = gold": want`) {
		t.Errorf("destinations create --where without is: %v", err)
	}

	// apps forward: set (with and without the word), get, delete.
	var f touchpoint.AnalyticsForward
	cliJSON(t, &f, append([]string{"apps", "forward", appID, "--api-key", p.APIKey, "--mode", "http-v2"}, c...)...)
	if f.Mode != touchpoint.ForwardHTTPV2 || !f.Enabled {
		t.Errorf("apps forward: %+v", f)
	}
	cliJSON(t, &f, append([]string{"apps", "forward", "set", appID, "--api-key", p.APIKey, "--disable"}, c...)...)
	if f.Mode != touchpoint.ForwardAttributionAPI || f.Enabled {
		t.Errorf("apps forward set --disable: %+v", f)
	}
	cliJSON(t, &f, append([]string{"apps", "forward", "get", appID}, c...)...)
	if f.App != appID || f.APIKey != p.APIKey || f.Enabled {
		t.Errorf("apps forward get: %+v", f)
	}
	if out := cli(t, append([]string{"apps", "forward", "delete", appID}, c...)...); out != "deleted the analytics forward of "+appID+"\n" {
		t.Errorf("apps forward delete: %q", out)
	}
	err = run(context.Background(), append([]string{"apps", "forward", "get", appID}, c...), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "GET /api/v1/apps/"+appID+"/analytics-forward: ") {
		t.Errorf("apps forward get after the delete: %v", err)
	}
}

// TestMemberTablesCLI: "cohorts members", "audiences list" and "audiences
// members" print tables, or a line when there is nothing.
func TestMemberTablesCLI(t *testing.T) {
	dir := t.TempDir()
	srv, _, _ := serve(t, "--data-dir", dir)
	token := adminTokenOf(t, dir)
	c := []string{"--server", srv.URL(), "--data-dir", dir}
	const appID = "com.example.members"
	var app touchpoint.App
	cliJSON(t, &app, append([]string{"apps", "create", appID, "--platform", "android", "--name", "Members"}, c...)...)
	var p touchpoint.Project
	cliJSON(t, &p, append([]string{"projects", "create", "--name", "Members", "--apps", appID}, c...)...)
	pc := append([]string{"--project", fmt.Sprint(p.ID)}, c...)
	ingest(t, srv, p.APIKey,
		map[string]any{"user_id": "user-1", "device_id": "device-1", "event_type": "purchase", "platform": "Android", "adid": cohortGAID(1)},
		map[string]any{"user_id": "user-2", "device_id": "device-2", "event_type": "purchase", "platform": "Android"})

	cohort := func(def string) string {
		var co touchpoint.Cohort
		cliJSON(t, &co, append([]string{"cohorts", "create", "--name", "Cohort " + def[:12], "--definition", def}, pc...)...)
		id := fmt.Sprint(co.ID)
		cli(t, append([]string{"cohorts", "compute", id}, pc...)...)
		return id
	}
	payers := cohort(`{"event":{"event_type":"purchase","op":"at_least","count":1,"within_days":7}}`)
	out := cli(t, append([]string{"cohorts", "members", payers}, pc...)...)
	expectTable(t, out, `AMPLITUDE ID  USER ID  PLATFORM  ADID`,
		`\d+ +user-1 +Android +`+cohortGAID(1),
		`\d+ +user-2 +Android +-`)
	sameAsServer(t, srv, token, fmt.Sprintf("/api/v1/projects/%d/cohorts/%s/members?limit=1000", p.ID, payers),
		append([]string{"cohorts", "members", payers}, pc...)...)
	if out := cli(t, append([]string{"cohorts", "members", payers, "--limit", "1"}, pc...)...); !regexp.MustCompile(`\nmore: --cursor \d+\n$`).MatchString(out) {
		t.Errorf("cohorts members --limit 1: no line to the next page:\n%s", out)
	}
	nobody := cohort(`{"event":{"event_type":"refund","op":"at_least","count":1,"within_days":7}}`)
	if out := cli(t, append([]string{"cohorts", "members", nobody}, pc...)...); out != "no members\n" {
		t.Errorf("cohorts members, none: %q", out)
	}

	// An audience, made and filled through the Audiences API.
	if out := cli(t, append([]string{"audiences", "list", appID}, c...)...); out != "no audiences\n" {
		t.Errorf("audiences list, none: %q", out)
	}
	audiencesAPI := func(path, body string) string {
		t.Helper()
		req, _ := http.NewRequest("POST", srv.URL()+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+app.APIToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %s %s", path, resp.Status, b.String())
		}
		return b.String()
	}
	var created struct {
		Message struct {
			ID        int64  `json:"audience_id"`
			ImportKey string `json:"import_key"`
		} `json:"message"`
	}
	json.Unmarshal([]byte(audiencesAPI("/api/audiences-external-api/audience", `{"audience_name":"Payers","platform":"android"}`)), &created)
	audiencesAPI("/api/audiences-import-api/v2/add", `{"import_key":"`+created.Message.ImportKey+`","platform":"android",
		"devices":[{"app_id":"`+appID+`","gaid":"`+cohortGAID(1)+`"},{"app_id":"`+appID+`","gaid":"`+cohortGAID(2)+`"}]}`)
	aud := fmt.Sprint(created.Message.ID)
	out = cli(t, append([]string{"audiences", "list", appID}, c...)...)
	expectTable(t, out, `ID  NAME +PLATFORM  MEMBERS  IMPORT KEY +CREATED +LAST IMPORT`,
		aud+`  +Payers  android  +2  `+created.Message.ImportKey+`  \S+Z  \S+Z`)
	sameAsServer(t, srv, token, "/api/v1/apps/"+appID+"/audiences", append([]string{"audiences", "list", appID}, c...)...)
	out = cli(t, append([]string{"audiences", "members", appID, aud}, c...)...)
	expectTable(t, out, `IDENTIFIER  VALUE +APP +ADDED`, `gaid +`+cohortGAID(1)+`  `+appID+`  \S+Z`, `gaid +`+cohortGAID(2)+`  `+appID+`  \S+Z`)
	if out := cli(t, append([]string{"audiences", "members", appID, aud, "--identifier", "gaid", "--value", cohortGAID(3)}, c...)...); out != "no members\n" {
		t.Errorf("audiences members of a value not in it: %q", out)
	}
}
