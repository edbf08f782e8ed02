package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/httpapi"
)

// cohortGAID is a test user's Google advertising id, in UUID form.
func cohortGAID(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

// cliJSON runs a client command line and decodes its output into v.
func cliJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	out := cli(t, append(args, "--json")...) // the answer as the server gave it, where a table is the default
	// Decode into a zero value: json.Unmarshal keeps fields the output
	// leaves out, even in reused slice elements.
	reflect.ValueOf(v).Elem().SetZero()
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("touchpoint %s: output is not JSON (%v): %q", strings.Join(args, " "), err, out)
	}
}

// cliFail runs a command line that must fail and returns its error.
func cliFail(t *testing.T, args ...string) error {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, &out, &errOut)
	if err == nil {
		t.Fatalf("touchpoint %s: no error; output %q", strings.Join(args, " "), out.String())
	}
	if out.Len() != 0 {
		t.Errorf("touchpoint %s: failed with output %q", strings.Join(args, " "), out.String())
	}
	return err
}

// adminAPI calls the admin API and decodes the answer into out.
func adminAPI(t *testing.T, srv *httpapi.Server, token string, want int, method, path string, body, out any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, srv.URL()+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw json.RawMessage
	json.NewDecoder(resp.Body).Decode(&raw)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, raw, want)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	}
}

// ingest uploads events to /2/httpapi with a project's API key.
func ingest(t *testing.T, srv *httpapi.Server, apiKey string, events ...map[string]any) {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"api_key": apiKey, "events": events})
	resp, err := http.Post(srv.URL()+"/2/httpapi", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		var raw json.RawMessage
		json.NewDecoder(resp.Body).Decode(&raw)
		t.Fatalf("upload: %d %s", resp.StatusCode, raw)
	}
}

// computation is the answer of "cohorts compute".
type computation struct {
	Cohort       int64   `json:"cohort_id"`
	Version      int     `json:"version"`
	Size         int64   `json:"size"`
	EnteredCount int     `json:"entered_count"`
	LeftCount    int     `json:"left_count"`
	Entered      []int64 `json:"entered"`
	Left         []int64 `json:"left"`
}

// memberPage is the answer of "cohorts members".
type memberPage struct {
	Members []touchpoint.CohortMember `json:"members"`
	Next    int64                     `json:"next_cursor"`
}

// audiencePage is the answer of "audiences members".
type audiencePage struct {
	Members []touchpoint.AudienceMember `json:"members"`
	Next    string                      `json:"next_cursor"`
}

// TestCohortsCLI drives "touchpoint cohorts" and "touchpoint audiences"
// against a real server: events ingested, cohorts defined inline and from
// a file, versions, preview, computation, members page by page, a sync to
// the server's own Audiences API run by hand and on its cadence, and the
// audience it filled.
func TestCohortsCLI(t *testing.T) {
	dir := t.TempDir()
	srv, _, _ := serve(t, "--data-dir", dir)
	c := []string{"--server", srv.URL(), "--data-dir", dir}
	token := adminTokenOf(t, dir)
	const appID = "com.example.cohorts"

	var app touchpoint.App
	cliJSON(t, &app, append([]string{"apps", "create", appID, "--platform", "android", "--name", "Cohorts"}, c...)...)
	if app.ID != appID || app.APIToken == "" {
		t.Fatalf("apps create: %+v", app)
	}
	var p touchpoint.Project
	cliJSON(t, &p, append([]string{"projects", "create", "--name", "Cohorts", "--apps", appID}, c...)...)
	if p.ID == 0 || p.APIKey == "" {
		t.Fatalf("projects create: %+v", p)
	}
	project := fmt.Sprint(p.ID)
	pc := append([]string{"--project", project}, c...)

	// Users 1, 2 and 4 have GAIDs, user 3 none. Users 1 (twice), 2 and 3
	// bought; user 4 only opened the app.
	open := func(n int, withGAID bool) map[string]any {
		e := map[string]any{"user_id": fmt.Sprintf("user-%d", n), "device_id": fmt.Sprintf("device-%d", n),
			"event_type": "session_start", "platform": "Android"}
		if withGAID {
			e["adid"] = cohortGAID(n)
		}
		return e
	}
	purchase := func(n int) map[string]any {
		return map[string]any{"user_id": fmt.Sprintf("user-%d", n), "device_id": fmt.Sprintf("device-%d", n),
			"event_type": "purchase", "event_properties": map[string]any{"price": 10}}
	}
	ingest(t, srv, p.APIKey, open(1, true), open(2, true), open(3, false), open(4, true))
	ingest(t, srv, p.APIKey, purchase(1), purchase(2), purchase(3), purchase(1))
	ids := make([]int64, 5) // amplitude ids of users 1 to 4
	for n := 1; n <= 4; n++ {
		var u touchpoint.User
		cliJSON(t, &u, append([]string{"projects", "user", project, "--user-id", fmt.Sprintf("user-%d", n)}, c...)...)
		if u.AmplitudeID == 0 {
			t.Fatalf("user-%d: %+v", n, u)
		}
		ids[n] = u.AmplitudeID
	}
	if !(ids[1] < ids[2] && ids[2] < ids[3] && ids[3] < ids[4]) {
		t.Fatalf("amplitude ids %v are not in the order of the users' first events", ids[1:])
	}

	// create, with the definition inline.
	payers := `{"event":{"event_type":"purchase","op":"at_least","count":1,"within_days":7}}`
	var payersDef touchpoint.Condition
	json.Unmarshal([]byte(payers), &payersDef)
	var co touchpoint.Cohort
	cliJSON(t, &co, append([]string{"cohorts", "create", "--name", "Payers", "--description", "bought this week", "--definition", payers}, pc...)...)
	if co.ID == 0 || co.Project != p.ID || co.Name != "Payers" || co.Description != "bought this week" || co.Version != 1 ||
		co.Size != 0 || co.ComputedAt != nil || !reflect.DeepEqual(co.Definition, payersDef) {
		t.Fatalf("cohorts create: %+v", co)
	}
	id := fmt.Sprint(co.ID)

	// create, with the definition from a file.
	repeat := `{"event": {"event_type": "purchase", "op": "at_least", "count": 2, "within_days": 30}}`
	file := filepath.Join(t.TempDir(), "repeat.json")
	if err := os.WriteFile(file, []byte(repeat), 0o600); err != nil {
		t.Fatal(err)
	}
	var repeatDef touchpoint.Condition
	json.Unmarshal([]byte(repeat), &repeatDef)
	var co2 touchpoint.Cohort
	cliJSON(t, &co2, append([]string{"cohorts", "create", "--name", "Repeat buyers", "--definition", "@" + file}, pc...)...)
	if co2.ID == 0 || co2.ID == co.ID || co2.Name != "Repeat buyers" || co2.Version != 1 || !reflect.DeepEqual(co2.Definition, repeatDef) {
		t.Fatalf("cohorts create --definition @file: %+v", co2)
	}
	if co2.Definition.Event == nil || co2.Definition.Event.Count != 2 || co2.Definition.Event.WithinDays != 30 {
		t.Fatalf("cohorts create --definition @file: the file's definition was not sent: %+v", co2.Definition)
	}

	// list
	var list struct{ Cohorts []touchpoint.Cohort }
	cliJSON(t, &list, append([]string{"cohorts", "list"}, pc...)...)
	if len(list.Cohorts) != 2 || list.Cohorts[0].ID != co.ID || list.Cohorts[0].Name != "Payers" ||
		list.Cohorts[1].ID != co2.ID || list.Cohorts[1].Name != "Repeat buyers" {
		t.Fatalf("cohorts list: %+v", list.Cohorts)
	}

	// get
	var got touchpoint.Cohort
	cliJSON(t, &got, append([]string{"cohorts", "get", id}, pc...)...)
	if got.ID != co.ID || got.Name != "Payers" || got.Version != 1 || !reflect.DeepEqual(got.Definition, payersDef) {
		t.Fatalf("cohorts get: %+v", got)
	}

	// update --name: a new version; only the name is sent.
	var upd touchpoint.Cohort
	cliJSON(t, &upd, append([]string{"cohorts", "update", id, "--name", "Weekly payers"}, pc...)...)
	if upd.ID != co.ID || upd.Name != "Weekly payers" || upd.Version != 2 || upd.Description != "bought this week" ||
		!reflect.DeepEqual(upd.Definition, payersDef) {
		t.Fatalf("cohorts update --name: %+v", upd)
	}
	cliJSON(t, &got, append([]string{"cohorts", "get", id}, pc...)...)
	if got.Name != "Weekly payers" || got.Version != 2 {
		t.Fatalf("cohorts get after update: %+v", got)
	}

	// versions
	var versions struct{ Versions []touchpoint.CohortVersion }
	cliJSON(t, &versions, append([]string{"cohorts", "versions", id}, pc...)...)
	if v := versions.Versions; len(v) != 2 || v[0].Version != 1 || v[0].Name != "Payers" || v[1].Version != 2 ||
		v[1].Name != "Weekly payers" || !reflect.DeepEqual(v[0].Definition, payersDef) || !reflect.DeepEqual(v[1].Definition, payersDef) {
		t.Fatalf("cohorts versions: %+v", v)
	}

	// preview: the size and a sample of one, lowest amplitude id first.
	var preview touchpoint.CohortPreview
	cliJSON(t, &preview, append([]string{"cohorts", "preview", "--definition", payers, "--sample", "1"}, pc...)...)
	if preview.Size != 3 || !reflect.DeepEqual(preview.Sample, []int64{ids[1]}) {
		t.Fatalf("cohorts preview --sample 1: %+v, want size 3 and sample [%d]", preview, ids[1])
	}
	cliJSON(t, &preview, append([]string{"cohorts", "preview", "--definition", "@" + file}, pc...)...)
	if preview.Size != 1 || !reflect.DeepEqual(preview.Sample, []int64{ids[1]}) {
		t.Fatalf("cohorts preview --definition @file: %+v, want user 1 only", preview)
	}

	// compute
	var comp computation
	cliJSON(t, &comp, append([]string{"cohorts", "compute", id}, pc...)...)
	if comp.Cohort != co.ID || comp.Version != 2 || comp.Size != 3 || comp.EnteredCount != 3 || comp.LeftCount != 0 ||
		!reflect.DeepEqual(comp.Entered, []int64{ids[1], ids[2], ids[3]}) || len(comp.Left) != 0 {
		t.Fatalf("cohorts compute: %+v", comp)
	}
	cliJSON(t, &got, append([]string{"cohorts", "get", id}, pc...)...)
	if got.Size != 3 || got.ComputedAt == nil {
		t.Fatalf("cohorts get after compute: %+v", got)
	}
	cliJSON(t, &comp, append([]string{"cohorts", "compute", id}, pc...)...)
	if comp.Size != 3 || comp.EnteredCount != 0 || comp.LeftCount != 0 {
		t.Fatalf("cohorts compute again: %+v, want no one entering or leaving", comp)
	}

	// members, one per page, following the cursor.
	wantMembers := []touchpoint.CohortMember{
		{AmplitudeID: ids[1], UserID: "user-1", ADID: cohortGAID(1), Platform: "Android"},
		{AmplitudeID: ids[2], UserID: "user-2", ADID: cohortGAID(2), Platform: "Android"},
		{AmplitudeID: ids[3], UserID: "user-3", Platform: "Android"},
	}
	var members []touchpoint.CohortMember
	cursor := ""
	for page := 0; ; page++ {
		if page > 3 {
			t.Fatalf("cohorts members --limit 1: more pages than members: %+v", members)
		}
		args := append([]string{"cohorts", "members", id, "--limit", "1"}, pc...)
		if cursor != "" {
			args = append(args, "--cursor", cursor)
		}
		var mp memberPage
		cliJSON(t, &mp, args...)
		if len(mp.Members) != 1 {
			t.Fatalf("cohorts members --limit 1 --cursor %q: %+v", cursor, mp)
		}
		members = append(members, mp.Members...)
		if mp.Next == 0 {
			break
		}
		if mp.Next != mp.Members[0].AmplitudeID {
			t.Fatalf("cohorts members: next_cursor %d, want the page's last amplitude id %d", mp.Next, mp.Members[0].AmplitudeID)
		}
		cursor = fmt.Sprint(mp.Next)
	}
	if !reflect.DeepEqual(members, wantMembers) {
		t.Fatalf("cohorts members, page by page:\n got %+v\nwant %+v", members, wantMembers)
	}
	var all memberPage
	cliJSON(t, &all, append([]string{"cohorts", "members", id}, pc...)...)
	if !reflect.DeepEqual(all.Members, wantMembers) || all.Next != 0 {
		t.Fatalf("cohorts members: %+v", all)
	}

	// A destination sending to this server's own Audiences API.
	var dest touchpoint.Destination
	adminAPI(t, srv, token, 201, "POST", fmt.Sprintf("/api/v1/projects/%d/destinations", p.ID), map[string]any{
		"kind": "appsflyer-cohort", "name": "AF audiences", "appsflyer_app_id": appID, "api_token": app.APIToken,
		"platform": "android", "identifier": "gaid"}, &dest)
	if dest.ID == 0 {
		t.Fatalf("destination: %+v", dest)
	}

	// sync: disabled, so that only "cohorts run" runs it.
	var sy touchpoint.CohortSync
	cliJSON(t, &sy, append([]string{"cohorts", "sync", id, "--destination", fmt.Sprint(dest.ID), "--cadence", "once", "--enabled=false"}, pc...)...)
	if sy.ID == 0 || sy.Cohort != co.ID || sy.Destination != dest.ID || sy.Cadence != "once" || sy.BatchSize != touchpoint.DefaultSyncBatch ||
		sy.Enabled || sy.AudienceID != 0 || sy.ImportKey != "" || sy.LastRun != nil {
		t.Fatalf("cohorts sync: %+v", sy)
	}
	syncID := fmt.Sprint(sy.ID)
	var syncs struct{ Syncs []touchpoint.CohortSync }
	cliJSON(t, &syncs, append([]string{"cohorts", "syncs", id}, pc...)...)
	if len(syncs.Syncs) != 1 || syncs.Syncs[0].ID != sy.ID || syncs.Syncs[0].Destination != dest.ID || syncs.Syncs[0].Enabled {
		t.Fatalf("cohorts syncs: %+v", syncs.Syncs)
	}

	// run: the audience is created and the two members with GAIDs added;
	// user 3 has none and is skipped.
	var r touchpoint.SyncRun
	cliJSON(t, &r, append([]string{"cohorts", "run", "--sync", syncID, id}, pc...)...)
	if r.ID == 0 || r.Sync != sy.ID || r.Status != touchpoint.RunOK || r.Size != 3 || r.Added != 2 || r.Removed != 0 ||
		r.Skipped != 1 || r.Failed != 0 || r.Error != "" {
		t.Fatalf("cohorts run: %+v", r)
	}
	if len(r.Responses) != 2 || r.Responses[0].Action != "create" || r.Responses[0].Status != 200 ||
		r.Responses[1] != (touchpoint.SyncResponse{Action: "add", Devices: 2, Status: 200, Body: `{"message":"The request was successful"}`, Tries: 1}) {
		t.Fatalf("cohorts run: responses %+v", r.Responses)
	}
	var runs struct{ Runs []touchpoint.SyncRun }
	cliJSON(t, &runs, append([]string{"cohorts", "runs", "--sync", syncID, id}, pc...)...)
	if len(runs.Runs) != 1 || runs.Runs[0].ID != r.ID || runs.Runs[0].Added != 2 || runs.Runs[0].Skipped != 1 || runs.Runs[0].Status != "ok" {
		t.Fatalf("cohorts runs: %+v", runs.Runs)
	}
	cliJSON(t, &syncs, append([]string{"cohorts", "syncs", id}, pc...)...)
	sy = syncs.Syncs[0]
	if sy.AudienceID == 0 || sy.ImportKey == "" || sy.LastRun == nil || sy.NextRun != nil ||
		!regexp.MustCompile(`^Weekly payers [0-9A-Za-z]{10}$`).MatchString(sy.AudienceName) {
		t.Fatalf("cohorts syncs after the run: %+v", sy)
	}
	audienceID := fmt.Sprint(sy.AudienceID)

	// audiences list / get
	var auds struct{ Audiences []touchpoint.Audience }
	cliJSON(t, &auds, append([]string{"audiences", "list", appID}, c...)...)
	if len(auds.Audiences) != 1 {
		t.Fatalf("audiences list: %+v", auds.Audiences)
	}
	a := auds.Audiences[0]
	if a.ID != sy.AudienceID || a.App != appID || a.Name != sy.AudienceName || a.Platform != touchpoint.Android ||
		a.ImportKey != sy.ImportKey || a.Size != 2 {
		t.Fatalf("audiences list: %+v, want the sync's audience %+v of 2 members", a, sy)
	}
	var aud touchpoint.Audience
	cliJSON(t, &aud, append([]string{"audiences", "get", appID, audienceID}, c...)...)
	if aud.ID != a.ID || aud.Name != a.Name || aud.Size != 2 || aud.ImportKey != a.ImportKey || aud.Platform != touchpoint.Android {
		t.Fatalf("audiences get: %+v", aud)
	}

	// audiences members
	var am audiencePage
	cliJSON(t, &am, append([]string{"audiences", "members", appID, audienceID, "--identifier", "gaid"}, c...)...)
	if am.Next != "" || len(am.Members) != 2 {
		t.Fatalf("audiences members --identifier gaid: %+v", am)
	}
	for i, n := range []int{1, 2} {
		if m := am.Members[i]; m.Identifier != "gaid" || m.Value != cohortGAID(n) || m.AppID != appID || m.AddedAt.IsZero() {
			t.Fatalf("audiences members --identifier gaid: member %d = %+v, want gaid %s of %s", i, m, cohortGAID(n), appID)
		}
	}
	cliJSON(t, &am, append([]string{"audiences", "members", appID, audienceID, "--identifier", "gaid", "--limit", "1"}, c...)...)
	if len(am.Members) != 1 || am.Members[0].Value != cohortGAID(1) || am.Next != "gaid:"+cohortGAID(1) {
		t.Fatalf("audiences members --limit 1: %+v", am)
	}
	cliJSON(t, &am, append([]string{"audiences", "members", appID, audienceID, "--identifier", "gaid", "--limit", "1", "--cursor", am.Next}, c...)...)
	if len(am.Members) != 1 || am.Members[0].Value != cohortGAID(2) || am.Next != "" {
		t.Fatalf("audiences members --cursor: %+v", am)
	}
	cliJSON(t, &am, append([]string{"audiences", "members", appID, audienceID, "--identifier", "gaid", "--value", cohortGAID(2)}, c...)...)
	if len(am.Members) != 1 || am.Members[0].Identifier != "gaid" || am.Members[0].Value != cohortGAID(2) || am.Members[0].AppID != appID {
		t.Fatalf("audiences members --value %s: %+v", cohortGAID(2), am)
	}
	cliJSON(t, &am, append([]string{"audiences", "members", appID, audienceID, "--identifier", "gaid", "--value", cohortGAID(4)}, c...)...)
	if am.Members == nil || len(am.Members) != 0 {
		t.Fatalf("audiences members --value of a non-member: %+v", am)
	}
	err := cliFail(t, append([]string{"audiences", "members", appID, audienceID, "--value", cohortGAID(2)}, c...)...)
	if !strings.Contains(err.Error(), "value needs identifier") {
		t.Fatalf("audiences members --value without --identifier: %v", err)
	}
	err = cliFail(t, append([]string{"audiences", "get", appID, "999"}, c...)...)
	if !strings.Contains(err.Error(), "app "+appID+" has no audience 999") {
		t.Fatalf("audiences get of an unknown audience: %v", err)
	}

	// A second sync, enabled by default, runs on its own at once, one
	// device per request (--batch-size).
	var sy2 touchpoint.CohortSync
	cliJSON(t, &sy2, append([]string{"cohorts", "sync", id, "--destination", fmt.Sprint(dest.ID), "--cadence", "once", "--batch-size", "1"}, pc...)...)
	if sy2.ID == sy.ID || !sy2.Enabled || sy2.BatchSize != 1 || sy2.Cadence != "once" {
		t.Fatalf("cohorts sync (enabled): %+v", sy2)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		cliJSON(t, &runs, append([]string{"cohorts", "runs", "--sync", fmt.Sprint(sy2.ID), id}, pc...)...)
		if len(runs.Runs) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the enabled once sync did not run within 30 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if r := runs.Runs[0]; len(runs.Runs) != 1 || r.Status != "ok" || r.Added != 2 || r.Skipped != 1 || len(r.Responses) != 3 ||
		r.Responses[1].Devices != 1 || r.Responses[2].Devices != 1 {
		t.Fatalf("cohorts runs of the enabled sync: %+v", runs.Runs)
	}
	cliJSON(t, &auds, append([]string{"audiences", "list", appID}, c...)...)
	if len(auds.Audiences) != 2 || auds.Audiences[1].Size != 2 {
		t.Fatalf("audiences list after the second sync: %+v", auds.Audiences)
	}

	// delete
	if out := cli(t, append([]string{"cohorts", "delete", fmt.Sprint(co2.ID)}, pc...)...); out != "" {
		t.Fatalf("cohorts delete: output %q", out)
	}
	err = cliFail(t, append([]string{"cohorts", "get", fmt.Sprint(co2.ID)}, pc...)...)
	if !strings.Contains(err.Error(), "not found") {
		t.Fatalf("cohorts get of a deleted cohort: %v", err)
	}
	cliJSON(t, &list, append([]string{"cohorts", "list"}, pc...)...)
	if len(list.Cohorts) != 1 || list.Cohorts[0].ID != co.ID {
		t.Fatalf("cohorts list after delete: %+v", list.Cohorts)
	}

	// The server's errors reach the user: another project's cohort.
	err = cliFail(t, append([]string{"cohorts", "get", id, "--project", "999"}, c...)...)
	if !strings.Contains(err.Error(), fmt.Sprintf("cohort %d not found in project 999", co.ID)) {
		t.Fatalf("cohorts get in another project: %v", err)
	}
}

// TestCohortsCLIErrors: command lines the client refuses before sending
// anything.
func TestCohortsCLIErrors(t *testing.T) {
	var requests atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		http.Error(w, `{"error":"unexpected request"}`, http.StatusTeapot)
	}))
	defer ts.Close()
	c := []string{"--server", ts.URL, "--admin-token", "tok"}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"event":`), 0o600)

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"cohorts", "frobnicate", "--project", "1"}, `cohorts: unknown verb "frobnicate": want create, list`},
		{[]string{"audiences", "frobnicate", "com.example.app"}, `audiences: unknown verb "frobnicate": want list, get or members`},

		// --project
		{[]string{"cohorts", "list"}, "--project is required"},
		{[]string{"cohorts", "get", "1"}, "--project is required"},
		{[]string{"cohorts", "create", "--name", "N", "--definition", `{"event":{}}`}, "--project is required"},
		{[]string{"cohorts", "preview", "--definition", `{"event":{}}`}, "--project is required"},
		{[]string{"cohorts", "members", "1"}, "--project is required"},
		{[]string{"cohorts", "run", "--sync", "1", "1"}, "--project is required"},

		// --definition
		{[]string{"cohorts", "create", "--project", "1", "--name", "N", "--definition", `{"event":`}, "--definition: not valid JSON"},
		{[]string{"cohorts", "create", "--project", "1", "--name", "N", "--definition", "@" + bad}, "--definition: not valid JSON"},
		{[]string{"cohorts", "create", "--project", "1", "--name", "N", "--definition", "@/no/such/file.json"}, "--definition: open /no/such/file.json"},
		{[]string{"cohorts", "update", "1", "--project", "1", "--definition", "not json"}, "--definition: not valid JSON"},
		{[]string{"cohorts", "preview", "--project", "1", "--definition", "{"}, "--definition: not valid JSON"},
		{[]string{"cohorts", "preview", "--project", "1"}, "--definition is required"},

		// argument counts
		{[]string{"cohorts", "list", "--project", "1", "extra"}, "want no arguments"},
		{[]string{"cohorts", "create", "--project", "1", "--name", "N", "7"}, "want no arguments"},
		{[]string{"cohorts", "preview", "--project", "1", "--definition", "{}", "7"}, "want no arguments"},
		{[]string{"cohorts", "get", "--project", "1"}, "want the cohort id"},
		{[]string{"cohorts", "get", "--project", "1", "1", "2"}, "want the cohort id"},
		{[]string{"cohorts", "update", "--project", "1", "--name", "N"}, "want the cohort id"},
		{[]string{"cohorts", "versions", "--project", "1"}, "want the cohort id"},
		{[]string{"cohorts", "compute", "--project", "1"}, "want the cohort id"},
		{[]string{"cohorts", "members", "--project", "1"}, "want the cohort id"},
		{[]string{"cohorts", "sync", "--project", "1", "--destination", "1"}, "want the cohort id"},
		{[]string{"cohorts", "syncs", "--project", "1", "1", "2"}, "want the cohort id"},
		{[]string{"cohorts", "delete", "--project", "1"}, "want the cohort id"},
		{[]string{"cohorts", "run", "--project", "1", "--sync", "1"}, "want the cohort id"},
		{[]string{"cohorts", "runs", "--project", "1", "1"}, "--sync is required"},
		{[]string{"cohorts", "run", "--project", "1", "1"}, "--sync is required"},
		{[]string{"audiences", "list"}, "want the app id"},
		{[]string{"audiences", "list", "a", "b"}, "want the app id"},
		{[]string{"audiences", "get", "com.example.app"}, "want the app id and the audience id"},
		{[]string{"audiences", "members", "com.example.app", "1", "2"}, "want the app id and the audience id"},

		// flags
		{[]string{"cohorts", "members", "--project", "1", "--limit", "x", "1"}, `invalid value "x" for flag --limit`},
		{[]string{"cohorts", "list", "--project", "1", "--definition", "{}"}, "unknown flag --definition"},
	} {
		var errOut bytes.Buffer
		err := run(context.Background(), append(tc.args, c...), &bytes.Buffer{}, &errOut)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("touchpoint %s: error %v, want %q", strings.Join(tc.args, " "), err, tc.want)
		}
	}
	// No verb at all.
	if err := run(context.Background(), []string{"cohorts"}, &bytes.Buffer{}, &bytes.Buffer{}); err == nil ||
		err.Error() != "cohorts: want create, list, get, update, delete, versions, preview, compute, members, sync, syncs, runs or run" {
		t.Errorf("touchpoint cohorts: %v", err)
	}
	if err := run(context.Background(), []string{"audiences"}, &bytes.Buffer{}, &bytes.Buffer{}); err == nil ||
		err.Error() != "audiences: want list, get or members" {
		t.Errorf("touchpoint audiences: %v", err)
	}
	if n := requests.Load(); n != 0 {
		t.Fatalf("%d requests were sent for command lines the client refuses", n)
	}

	// The help of a verb lists its flags: --definition's shows @file.
	var help bytes.Buffer
	run(context.Background(), []string{"cohorts", "create", "-h"}, &bytes.Buffer{}, &help)
	for _, f := range []string{"--project", "--name", "--description", "--definition", "@file"} {
		if !strings.Contains(help.String(), f) {
			t.Errorf("cohorts create -h does not mention %s:\n%s", f, help.String())
		}
	}
	// A command's own flags read no environment variable.
	if strings.Contains(help.String(), "TOUCHPOINT_DEFINITION") {
		t.Errorf("cohorts create -h names TOUCHPOINT_DEFINITION:\n%s", help.String())
	}
}
