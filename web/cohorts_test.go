package web_test

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// cohortEnv is a server with an Android app (whose API token the
// Audiences API takes), an analytics project linked to it, and users with
// events.
type cohortEnv struct {
	s       *server
	b       *browser
	app     touchpoint.App
	project touchpoint.Project
	base    string // the dashboard path of the project
	api     string // the API path of the project
}

const cohortApp = "com.example.cohorts"

func startCohortEnv(t *testing.T) *cohortEnv {
	t.Helper()
	s, _ := startServer(t)
	e := &cohortEnv{s: s}
	s.api(t, 201, "POST", "/api/v1/apps", map[string]any{"app_id": cohortApp, "platform": "android", "name": "Cohorts"}, &e.app)
	s.api(t, 201, "POST", "/api/v1/projects", map[string]any{"name": "Cohorts", "apps": []string{cohortApp}}, &e.project)
	e.base = fmt.Sprintf("/projects/%d", e.project.ID)
	e.api = fmt.Sprintf("/api/v1/projects/%d", e.project.ID)
	e.b = signIn(t, s)
	return e
}

// ingest sends events to /2/httpapi with the project's API key.
func (e *cohortEnv) ingest(t *testing.T, events ...map[string]any) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"api_key": e.project.APIKey, "events": events})
	code, answer := e.s.send(t, "POST", "/2/httpapi", http.Header{"Content-Type": {"application/json"}}, string(body))
	if code != 200 {
		t.Fatalf("/2/httpapi = %d %s", code, answer)
	}
}

func cohortGAID(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

// seed ingests four users: user-1 bought for 20 yesterday and is gold,
// user-2 bought for 3 and is silver, user-3 only opened the app and is
// gold, user-4 bought for 50 forty days ago.
func (e *cohortEnv) seed(t *testing.T) {
	t.Helper()
	now := epoch.UnixMilli()
	day := int64(24 * time.Hour / time.Millisecond)
	user := func(n int, tier string) map[string]any {
		return map[string]any{"user_id": fmt.Sprintf("user-%d", n), "device_id": fmt.Sprintf("device-%d", n), "event_type": "session_start",
			"platform": "Android", "country": "France", "adid": cohortGAID(n), "time": now - 45*day,
			"user_properties": map[string]any{"$set": map[string]any{"tier": tier, "age": 20 + n}}}
	}
	purchase := func(n int, ago int64, price float64) map[string]any {
		return map[string]any{"user_id": fmt.Sprintf("user-%d", n), "event_type": "purchase", "time": now - ago,
			"event_properties": map[string]any{"price": price, "store": "google"}}
	}
	e.ingest(t, user(1, "gold"), user(2, "silver"), user(3, "gold"), user(4, "bronze"))
	e.ingest(t, purchase(1, day, 20), purchase(2, 2*day, 3), purchase(4, 40*day, 50))
}

// cohortRowForm is the editor's form: rows of fields, joined by join.
func cohortRowForm(name, join string, rows ...map[string]string) url.Values {
	f := url.Values{"name": {name}, "join": {join}}
	for i, row := range rows {
		for k, v := range row {
			if len(k) > 1 && k[0] == 'w' && k[1] >= '0' && k[1] <= '9' { // w0.property: an event property condition
				f.Set(fmt.Sprintf("c%d%s", i, k), v)
			} else {
				f.Set(fmt.Sprintf("c%d.%s", i, k), v)
			}
		}
	}
	return f
}

// cohortFromAPI reads a cohort back through the JSON API.
func (e *cohortEnv) cohortFromAPI(t *testing.T, id int64) touchpoint.Cohort {
	t.Helper()
	var c touchpoint.Cohort
	e.s.api(t, 200, "GET", fmt.Sprintf("%s/cohorts/%d", e.api, id), nil, &c)
	return c
}

var cohortPathRE = regexp.MustCompile(`/cohorts/([0-9]+)$`)

// saveCohortForm posts the new-cohort form with action save, and returns
// the cohort it made, as the API reads it.
func (e *cohortEnv) saveCohortForm(t *testing.T, f url.Values) touchpoint.Cohort {
	t.Helper()
	f.Set("action", "save")
	e.b.get(e.base + "/cohorts/new")
	p := e.b.post(e.base+"/cohorts/new", f)
	m := cohortPathRE.FindStringSubmatch(p.URL)
	if p.Status != 200 || m == nil {
		t.Fatalf("save: %d at %s: %s", p.Status, p.URL, cohortError(p.Body))
	}
	p.mustContain(t, "saved (version 1)")
	var id int64
	fmt.Sscan(m[1], &id)
	return e.cohortFromAPI(t, id)
}

var cohortErrorRE = regexp.MustCompile(`(?s)<p class="error" role="alert">(.*?)</p>`)

// cohortError is the error a page shows, in plain text ("" if none).
func cohortError(body string) string {
	if m := cohortErrorRE.FindStringSubmatch(body); m != nil {
		return html.UnescapeString(m[1])
	}
	return ""
}

// apiDefinition creates a cohort with def through the JSON API and reads
// its definition back.
func (e *cohortEnv) apiDefinition(t *testing.T, def string) touchpoint.Condition {
	t.Helper()
	var raw map[string]any
	if err := json.Unmarshal([]byte(def), &raw); err != nil {
		t.Fatal(err)
	}
	var c touchpoint.Cohort
	e.s.api(t, 201, "POST", e.api+"/cohorts", map[string]any{"name": "via the API", "definition": raw}, &c)
	return e.cohortFromAPI(t, c.ID).Definition
}

// TestCohortFormMatchesAPI builds cohorts with the editor's rows, covering
// every kind, count operator, value operator, time range and join, and
// with its JSON (nesting the rows cannot show), and checks each saved
// definition is the one the same definition sent to the API gives.
func TestCohortFormMatchesAPI(t *testing.T) {
	e := startCohortEnv(t)
	for _, tc := range []struct {
		name string
		form url.Values
		api  string
	}{
		{"and: event with where, in, not first seen", cohortRowForm("Recent gold payers", "and",
			map[string]string{"kind": "event", "event_type": "purchase", "count_op": "at_least", "count": "1", "within_days": "7",
				"w0.property": "price", "w0.op": ">", "w0.value": "5"},
			map[string]string{"kind": "user_property", "property": "tier", "op": "in", "value": "gold, silver"},
			map[string]string{"kind": "first_seen", "not": "1", "from": "2026-01-01", "to": "2026-01-31"}),
			`{"and":[{"event":{"event_type":"purchase","op":"at_least","count":1,"within_days":7,"where":[{"property":"price","op":">","value":5}]}},
			{"user_property":{"property":"tier","op":"in","values":["gold","silver"]}},
			{"not":{"first_seen":{"from":"2026-01-01","to":"2026-01-31"}}}]}`},
		{"or: every other operator", cohortRowForm("Mixed", "or",
			map[string]string{"kind": "event", "event_type": "tutorial_done", "count_op": "exactly", "count": "0", "within_days": "30"},
			map[string]string{"kind": "event", "event_type": "open", "count_op": "at_most", "count": "3", "from": "2026-02-01", "to": "2026-02-28",
				"w0.property": "store", "w0.op": "!=", "w0.value": "amazon", "w1.property": "screen", "w1.op": "contains", "w1.value": "Shop",
				"w2.property": "price", "w2.op": "<", "w2.value": "2.5", "w3.property": "", "w3.value": ""},
			map[string]string{"kind": "user_property", "property": "country", "op": "!=", "value": "US"},
			map[string]string{"kind": "user_property", "property": "vip", "op": "=", "value": "true"},
			map[string]string{"kind": "user_property", "property": "code", "op": "=", "value": `"5"`},
			map[string]string{"kind": "user_property", "property": "level", "op": "in", "value": `["a,b", 3, false]`},
			map[string]string{"kind": "", "event_type": "left out"}),
			`{"or":[{"event":{"event_type":"tutorial_done","op":"exactly","count":0,"within_days":30}},
			{"event":{"event_type":"open","op":"at_most","count":3,"from":"2026-02-01","to":"2026-02-28","where":[
				{"property":"store","op":"!=","value":"amazon"},{"property":"screen","op":"contains","value":"Shop"},{"property":"price","op":"<","value":2.5}]}},
			{"user_property":{"property":"country","op":"!=","value":"US"}},
			{"user_property":{"property":"vip","op":"=","value":true}},
			{"user_property":{"property":"code","op":"=","value":"5"}},
			{"user_property":{"property":"level","op":"in","values":["a,b",3,false]}}]}`},
		{"one row is its condition", cohortRowForm("Gold", "and",
			map[string]string{"kind": "user_property", "property": "tier", "op": "=", "value": "gold"}),
			`{"user_property":{"property":"tier","op":"=","value":"gold"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := e.saveCohortForm(t, tc.form).Definition
			if want := e.apiDefinition(t, tc.api); !reflect.DeepEqual(got, want) {
				t.Fatalf("the form saved\n%s\nthe API\n%s", cohortJSON(got), cohortJSON(want))
			}
		})
	}

	// Nesting the rows cannot show is written as JSON; the edit page then
	// shows the JSON alone, and saving it unchanged keeps it.
	nested := `{"or":[{"and":[{"event":{"event_type":"purchase","op":"at_least","count":2,"within_days":14}},
		{"not":{"user_property":{"property":"country","op":"=","value":"US"}}}]},
		{"not":{"or":[{"first_seen":{"within_days":3}},{"user_property":{"property":"age","op":">","value":30}}]}}]}`
	c := e.saveCohortForm(t, url.Values{"name": {"Nested"}, "definition_json": {nested}})
	if want := e.apiDefinition(t, nested); !reflect.DeepEqual(c.Definition, want) {
		t.Fatalf("the JSON saved\n%s\nthe API\n%s", cohortJSON(c.Definition), cohortJSON(want))
	}
	edit := fmt.Sprintf("%s/cohorts/%d/edit", e.base, c.ID)
	p := e.b.mustGet(edit, "edit it as JSON below")
	if strings.Contains(p.Body, `name="c0.kind"`) {
		t.Fatal("the edit page of a nested definition shows rows")
	}
	f := cohortScrapeForm(t, p.Body, edit)
	f.Set("action", "save")
	if p := e.b.post(edit, f); p.Status != 200 || cohortError(p.Body) != "" {
		t.Fatalf("saving unchanged: %d %s", p.Status, cohortError(p.Body))
	}
	if got := e.cohortFromAPI(t, c.ID).Definition; !reflect.DeepEqual(got, c.Definition) {
		t.Fatalf("saved unchanged, the definition became %s", cohortJSON(got))
	}

	// A definition rows can show is drawn as rows; sent back unchanged it
	// is the same definition, and a row changed changes it.
	c = e.saveCohortForm(t, cohortRowForm("Edit me", "or",
		map[string]string{"kind": "event", "event_type": "purchase", "count_op": "at_least", "count": "2", "within_days": "10",
			"w0.property": "store", "w0.op": "in", "w0.value": "google, apple"},
		map[string]string{"kind": "user_property", "not": "1", "property": "tier", "op": "=", "value": "gold"}))
	edit = fmt.Sprintf("%s/cohorts/%d/edit", e.base, c.ID)
	p = e.b.mustGet(edit, `name="c0.event_type" value="purchase"`, `name="c0w0.value" value="google, apple"`)
	f = cohortScrapeForm(t, p.Body, edit)
	f.Set("action", "save")
	e.b.post(edit, f)
	if got := e.cohortFromAPI(t, c.ID); !reflect.DeepEqual(got.Definition, c.Definition) || got.Version != 1 {
		t.Fatalf("saved unchanged: version %d, %s, want version 1, %s", got.Version, cohortJSON(got.Definition), cohortJSON(c.Definition))
	}
	f.Set("c0.count", "3")
	f.Set("join", "and")
	e.b.post(edit, f)
	got := e.cohortFromAPI(t, c.ID)
	if got.Version != 2 || got.Definition.And == nil || got.Definition.And[0].Event.Count != 3 {
		t.Fatalf("after the edit: version %d, %s", got.Version, cohortJSON(got.Definition))
	}
	e.b.mustGet(fmt.Sprintf("%s/cohorts/%d", e.base, c.ID), "at least 3 times", "at least 2 times") // both versions
}

func cohortJSON(c touchpoint.Condition) string {
	b, _ := json.Marshal(c)
	return string(b)
}

var (
	cohortFormRE     = regexp.MustCompile(`(?s)<form method="post" action="([^"]*)"[^>]*>(.*?)</form>`)
	cohortInputRE    = regexp.MustCompile(`<input ([^>]*)>`)
	cohortAttrRE     = regexp.MustCompile(`([a-z_-]+)(?:="([^"]*)")?`)
	cohortSelectRE   = regexp.MustCompile(`(?s)<select [^>]*name="([^"]+)"[^>]*>(.*?)</select>`)
	cohortOptionRE   = regexp.MustCompile(`<option value="([^"]*)"( selected)?>`)
	cohortTextareaRE = regexp.MustCompile(`(?s)<textarea [^>]*name="([^"]+)"[^>]*>(.*?)</textarea>`)
)

// cohortScrapeForm reads the values a browser would send from the page's
// form that posts to action: inputs (checked boxes only), selected
// options, textareas.
func cohortScrapeForm(t *testing.T, body, action string) url.Values {
	t.Helper()
	for _, m := range cohortFormRE.FindAllStringSubmatch(body, -1) {
		if html.UnescapeString(m[1]) != action {
			continue
		}
		f := url.Values{}
		for _, in := range cohortInputRE.FindAllStringSubmatch(m[2], -1) {
			attrs := map[string]string{}
			for _, a := range cohortAttrRE.FindAllStringSubmatch(in[1], -1) {
				attrs[a[1]] = html.UnescapeString(a[2])
			}
			if _, checked := attrs["checked"]; attrs["type"] == "checkbox" && !checked || attrs["name"] == "" {
				continue
			}
			f.Add(attrs["name"], attrs["value"])
		}
		for _, s := range cohortSelectRE.FindAllStringSubmatch(m[2], -1) {
			opts := cohortOptionRE.FindAllStringSubmatch(s[2], -1)
			if len(opts) == 0 {
				continue
			}
			v := opts[0][1]
			for _, o := range opts {
				if o[2] != "" {
					v = o[1]
				}
			}
			f.Add(s[1], html.UnescapeString(v))
		}
		for _, ta := range cohortTextareaRE.FindAllStringSubmatch(m[2], -1) {
			f.Add(ta[1], html.UnescapeString(ta[2]))
		}
		return f
	}
	t.Fatalf("no form posts to %s:\n%s", action, body)
	return nil
}

// TestCohortPreview: the editor's preview is the API's, with links to the
// users in the sample.
func TestCohortPreview(t *testing.T) {
	e := startCohortEnv(t)
	e.seed(t)
	form := cohortRowForm("Payers", "and",
		map[string]string{"kind": "event", "event_type": "purchase", "count_op": "at_least", "count": "1", "within_days": "7"},
		map[string]string{"kind": "user_property", "property": "tier", "op": "in", "value": "gold, silver"})
	form.Set("action", "preview")
	e.b.get(e.base + "/cohorts/new")
	p := e.b.post(e.base+"/cohorts/new", form)
	if p.Status != 200 {
		t.Fatalf("preview: %d %s", p.Status, cohortError(p.Body))
	}
	var want touchpoint.CohortPreview
	e.s.api(t, 200, "POST", e.api+"/cohorts/preview", map[string]any{"definition": map[string]any{"and": []any{
		map[string]any{"event": map[string]any{"event_type": "purchase", "op": "at_least", "count": 1, "within_days": 7}},
		map[string]any{"user_property": map[string]any{"property": "tier", "op": "in", "values": []any{"gold", "silver"}}},
	}}}, &want)
	if want.Size != 2 {
		t.Fatalf("the API's preview = %+v, want users 1 and 2", want)
	}
	p.mustContain(t, fmt.Sprintf(`id="preview-size">%d<`, want.Size), "Nothing was stored")
	for _, id := range want.Sample {
		p.mustContain(t, fmt.Sprintf(`href="%s/users/%d"`, e.base, id))
	}
	// The preview keeps the rows and shows the same definition as JSON.
	p.mustContain(t, `name="c1.property" value="tier"`, `&#34;values&#34;: [`)
	var list struct{ Cohorts []touchpoint.Cohort }
	e.s.api(t, 200, "GET", e.api+"/cohorts", nil, &list)
	if len(list.Cohorts) != 0 {
		t.Fatalf("a preview stored cohorts: %+v", list.Cohorts)
	}

	// An edited JSON wins over the rows, and the rows then show it.
	f := cohortScrapeForm(t, p.Body, e.base+"/cohorts/new")
	f.Set("definition_json", `{"user_property":{"property":"tier","op":"=","value":"gold"}}`)
	f.Set("action", "preview")
	p = e.b.post(e.base+"/cohorts/new", f)
	p.mustContain(t, `id="preview-size">2<`, `name="c0.value" value="gold"`) // users 1 and 3
	if strings.Contains(p.Body, `name="c1.property" value="tier"`) {
		t.Error("the rows still show the second condition after the JSON replaced it")
	}
}

// TestCohortRefused: a definition the API refuses changes nothing, and the
// form comes back with the error in words, 400, and the values sent.
func TestCohortRefused(t *testing.T) {
	e := startCohortEnv(t)
	c := e.saveCohortForm(t, cohortRowForm("Kept", "and",
		map[string]string{"kind": "event", "event_type": "purchase", "count_op": "at_least", "count": "1", "within_days": "7"}))
	for _, tc := range []struct {
		name string
		form url.Values
		want string
	}{
		{"at least 0", cohortRowForm("Bad", "and",
			map[string]string{"kind": "event", "event_type": "purchase", "count_op": "at_least", "count": "0", "within_days": "7"}),
			"at_least 0 holds for everyone"},
		{"count not a number", cohortRowForm("Bad", "and",
			map[string]string{"kind": "event", "event_type": "purchase", "count_op": "at_least", "count": "many", "within_days": "7"}),
			`condition 1: count "many" is not a whole number`},
		{"both windows", cohortRowForm("Bad", "and",
			map[string]string{"kind": "first_seen", "within_days": "7", "from": "2026-01-01", "to": "2026-01-02"}),
			"give within_days or from and to, not both"},
		{"> a word", cohortRowForm("Bad", "or",
			map[string]string{"kind": "user_property", "property": "tier", "op": "=", "value": "gold"},
			map[string]string{"kind": "user_property", "property": "age", "op": ">", "value": "old"}),
			"definition.or[1].user_property.value must be a number for >"},
		{"no condition", cohortRowForm("Bad", "and", map[string]string{"kind": ""}), "the definition has no condition"},
		{"JSON not JSON", url.Values{"name": {"Bad"}, "definition_json": {`{"event":`}}, "the definition JSON is not valid"},
		{"JSON unknown field", url.Values{"name": {"Bad"}, "definition_json": {`{"evnt":{}}`}}, `unknown field "evnt"`},
		{"no name", cohortRowForm("", "and", map[string]string{"kind": "first_seen", "within_days": "7"}), "name is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, path := range []string{e.base + "/cohorts/new", fmt.Sprintf("%s/cohorts/%d/edit", e.base, c.ID)} {
				for _, action := range []string{"save", "preview"} {
					if tc.name == "no name" && action == "preview" {
						continue // a preview needs no name
					}
					f := url.Values{}
					for k, v := range tc.form {
						f[k] = v
					}
					f.Set("action", action)
					e.b.get(path)
					p := e.b.post(path, f)
					if p.Status != 400 || !strings.Contains(cohortError(p.Body), tc.want) {
						t.Fatalf("%s %s: %d %q, want 400 and %q", action, path, p.Status, cohortError(p.Body), tc.want)
					}
					if v := tc.form.Get("definition_json"); v != "" {
						p.mustContain(t, html.EscapeString(v)) // the JSON as sent, to fix
					}
					if v := tc.form.Get("c0.count"); v != "" {
						p.mustContain(t, fmt.Sprintf(`name="c0.count" value="%s"`, v))
					}
				}
			}
			var list struct{ Cohorts []touchpoint.Cohort }
			e.s.api(t, 200, "GET", e.api+"/cohorts", nil, &list)
			if len(list.Cohorts) != 1 {
				t.Fatalf("cohorts = %d, want the one kept", len(list.Cohorts))
			}
			if got := e.cohortFromAPI(t, c.ID); got.Name != "Kept" || got.Version != 1 || !reflect.DeepEqual(got.Definition, c.Definition) {
				t.Fatalf("a refused edit changed the cohort: %+v", got)
			}
		})
	}
}

// TestCohortPage: the list, the cohort's page, compute now, delete.
func TestCohortPage(t *testing.T) {
	e := startCohortEnv(t)
	e.b.mustGet(e.base+"/cohorts", "This project has no cohort yet", e.base+"/cohorts/new")
	e.seed(t)
	c := e.saveCohortForm(t, cohortRowForm("Gold", "and",
		map[string]string{"kind": "user_property", "property": "tier", "op": "=", "value": "gold"}))
	page := fmt.Sprintf("%s/cohorts/%d", e.base, c.ID)
	e.b.mustGet(e.base+"/cohorts", ">Gold</a>", `user property &#34;tier&#34; = gold`, "not yet")
	e.b.mustGet(page, "Not computed yet", "no AppsFlyer Audiences destination", "Versions")

	e.b.get(page)
	p := e.b.post(page+"/compute", nil)
	p.mustContain(t, "Computed: 2 members; 2 entered and 0 left")
	var members struct{ Members []touchpoint.CohortMember }
	e.s.api(t, 200, "GET", fmt.Sprintf("%s/cohorts/%d/members", e.api, c.ID), nil, &members)
	if len(members.Members) != 2 {
		t.Fatalf("members = %+v", members.Members)
	}
	for _, m := range members.Members {
		p.mustContain(t, fmt.Sprintf(`href="%s/users/%d">%d</a>`, e.base, m.AmplitudeID, m.AmplitudeID), m.UserID)
	}
	e.b.mustGet(e.base+"/cohorts", `<td class="num">2</td>`)

	// Unknown and foreign cohorts are not found, in words.
	if p := e.b.get(e.base + "/cohorts/999"); p.Status != 404 || !strings.Contains(p.Body, "cohort 999") {
		t.Fatalf("an unknown cohort: %d %s", p.Status, cohortError(p.Body))
	}
	var other touchpoint.Project
	e.s.api(t, 201, "POST", "/api/v1/projects", map[string]any{"name": "Other"}, &other)
	if p := e.b.get(fmt.Sprintf("/projects/%d/cohorts/%d", other.ID, c.ID)); p.Status != 404 {
		t.Fatalf("another project's cohort: %d", p.Status)
	}

	e.b.get(page)
	p = e.b.post(page+"/delete", nil)
	p.mustContain(t, "Cohort Gold deleted")
	e.s.api(t, 404, "GET", fmt.Sprintf("%s/cohorts/%d", e.api, c.ID), nil, nil)
}

// TestCohortSync: a sync to an AppsFlyer Audiences destination (this
// server's) created on the cohort's page, run now, its run shown, changed
// and deleted.
func TestCohortSync(t *testing.T) {
	e := startCohortEnv(t)
	e.seed(t)
	c := e.saveCohortForm(t, cohortRowForm("Gold", "and",
		map[string]string{"kind": "user_property", "property": "tier", "op": "=", "value": "gold"}))
	page := fmt.Sprintf("%s/cohorts/%d", e.base, c.ID)

	// The destination, through its form.
	e.b.get(e.base + "/destinations/new?kind=appsflyer-cohort")
	p := e.b.post(e.base+"/destinations/new", url.Values{"kind": {"appsflyer-cohort"}, "name": {"AF audiences"},
		"appsflyer_app_id": {cohortApp}, "api_token": {e.app.APIToken}, "platform": {"android"}, "identifier": {"gaid"}, "enabled": {"1"}})
	if p.Status != 200 || cohortError(p.Body) != "" {
		t.Fatalf("create the destination: %d %s", p.Status, cohortError(p.Body))
	}
	var dests struct{ Destinations []touchpoint.Destination }
	e.s.api(t, 200, "GET", e.api+"/destinations", nil, &dests)
	if len(dests.Destinations) != 1 || dests.Destinations[0].APIToken != e.app.APIToken {
		t.Fatalf("destinations = %+v", dests.Destinations)
	}
	dest := dests.Destinations[0]
	p.mustContain(t, "••••"+e.app.APIToken[len(e.app.APIToken)-4:])
	if strings.Contains(p.Body, e.app.APIToken) {
		t.Fatal("the destination's page shows its API token")
	}

	// A refused sync changes nothing.
	e.b.get(page)
	p = e.b.post(page+"/syncs", url.Values{"destination_id": {fmt.Sprint(dest.ID)}, "cadence": {"weekly"}, "batch_size": {"100"}})
	if p.Status != 400 || !strings.Contains(cohortError(p.Body), `cadence "weekly"`) {
		t.Fatalf("cadence weekly: %d %q", p.Status, cohortError(p.Body))
	}
	p = e.b.post(page+"/syncs", url.Values{"destination_id": {fmt.Sprint(dest.ID)}, "cadence": {"once"}, "batch_size": {"20000"}})
	if p.Status != 400 || !strings.Contains(cohortError(p.Body), "batch_size 20000 is out of range") {
		t.Fatalf("batch 20000: %d %q", p.Status, cohortError(p.Body))
	}
	var syncs struct{ Syncs []touchpoint.CohortSync }
	e.s.api(t, 200, "GET", fmt.Sprintf("%s/cohorts/%d/syncs", e.api, c.ID), nil, &syncs)
	if len(syncs.Syncs) != 0 {
		t.Fatalf("refused syncs were stored: %+v", syncs.Syncs)
	}

	// A sync that runs only by hand, so the test runs it.
	p = e.b.post(page+"/syncs", url.Values{"destination_id": {fmt.Sprint(dest.ID)}, "cadence": {"daily"}, "batch_size": {"100"}})
	p.mustContain(t, "created: it runs only when run by hand", "No run yet")
	e.s.api(t, 200, "GET", fmt.Sprintf("%s/cohorts/%d/syncs", e.api, c.ID), nil, &syncs)
	if len(syncs.Syncs) != 1 {
		t.Fatalf("syncs = %+v", syncs.Syncs)
	}
	sy := syncs.Syncs[0]
	if sy.Destination != dest.ID || sy.Cadence != "daily" || sy.BatchSize != 100 || sy.Enabled {
		t.Fatalf("sync = %+v", sy)
	}
	syncPath := fmt.Sprintf("%s/syncs/%d", page, sy.ID)
	p = e.b.post(syncPath+"/run", nil)
	p.mustContain(t, fmt.Sprintf("Sync %d ran: ok; 2 members, 2 added, 0 removed", sy.ID), `<span class="badge ok">ok</span>`)
	var runs struct{ Runs []touchpoint.SyncRun }
	e.s.api(t, 200, "GET", fmt.Sprintf("%s/cohorts/%d/syncs/%d/runs", e.api, c.ID, sy.ID), nil, &runs)
	if len(runs.Runs) != 1 || runs.Runs[0].Added != 2 || runs.Runs[0].Status != touchpoint.RunOK {
		t.Fatalf("runs = %+v", runs.Runs)
	}
	p.mustContain(t, datetimeText(runs.Runs[0].StartedAt))
	e.s.api(t, 200, "GET", fmt.Sprintf("%s/cohorts/%d/syncs/%d", e.api, c.ID, sy.ID), nil, &sy)
	p.mustContain(t, "Audience <strong>"+html.EscapeString(sy.AudienceName)+"</strong>")
	e.b.mustGet(e.base+"/destinations", "1 syncs, last run")

	// Changed: hourly and enabled.
	p = e.b.post(syncPath, url.Values{"cadence": {"hourly"}, "batch_size": {"50"}, "enabled": {"1"}})
	p.mustContain(t, fmt.Sprintf("Sync %d saved.", sy.ID))
	e.s.api(t, 200, "GET", fmt.Sprintf("%s/cohorts/%d/syncs/%d", e.api, c.ID, sy.ID), nil, &sy)
	if sy.Cadence != "hourly" || sy.BatchSize != 50 || !sy.Enabled {
		t.Fatalf("after the change: %+v", sy)
	}

	// A destination in use is not deleted.
	e.b.get(e.base + "/destinations")
	p = e.b.post(fmt.Sprintf("%s/destinations/%d/delete", e.base, dest.ID), nil)
	if p.Status != 409 || !strings.Contains(cohortError(p.Body), "used by 1 cohort syncs") {
		t.Fatalf("deleting a destination in use: %d %q", p.Status, cohortError(p.Body))
	}

	p = e.b.post(syncPath+"/delete", nil)
	p.mustContain(t, fmt.Sprintf("Sync %d deleted", sy.ID))
	e.s.api(t, 404, "GET", fmt.Sprintf("%s/cohorts/%d/syncs/%d", e.api, c.ID, sy.ID), nil, nil)
}

// datetimeText is a time as the pages write it.
func datetimeText(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") + " UTC" }
