package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/touchpointhq/touchpoint/internal/apispec"
)

func TestExplorerFindsByEveryID(t *testing.T) {
	s, clk := startServer(t)
	tr := sendTraffic(t, s, clk)
	b := signIn(t, s)

	for _, tc := range []struct{ id, by string }{
		{tr.deviceID, "its device id (AppsFlyer id)"},
		{gaid, "its advertising_id"},
		{strings.ToUpper(gaid), "its advertising_id"},
		{idfv, "its idfv"},
		{"  " + cuid + " ", "its customer user id"},
	} {
		p := b.mustGet("/apps/"+gameApp+"/explorer?"+url.Values{"id": {tc.id}}.Encode(), `aria-current="page">Installs`)
		p.mustShow(t, "Device "+tr.deviceID, "Found by "+tc.by+".",
			// The summary and the install's decision, in the API's words.
			"Installed on 2026-03-10 12:01:10 UTC: credited to examplenet_int (campaign launch) for click",
			"matched by device id, 1m before the launch. 1 other touch lost; see candidates for why.",
			"Attribution</th><td>examplenet_int, campaign launch, ad set set1, ad ad1: click",
			"Match type</th><td>id_matching</td>",
			"Contributors</th><td>owned_email (spring): click at 2026-03-10 12:00:00 UTC, id_matching</td>",
			cuid, idfv, gaid,
			// Its conversion.
			"<td>af_purchase</td><td class=\"num\">9.99 USD</td><td>SDK</td>")
		// The timeline: the custom source's click lost to the later one.
		p.mustContain(t, `<ol class="timeline">`, `<li class="lost">`, `<li class="win">`)
		lost := p.text()[strings.Index(p.text(), `<li class="lost">`):]
		lost = lost[:strings.Index(lost, "</li>")]
		for _, want := range []string{"1m10s before the launch", "from owned_email, campaign spring", "but a later touch", "won: the last touch wins."} {
			if !strings.Contains(lost, want) {
				t.Errorf("%s: the lost touch does not say %q: %s", tc.id, want, lost)
			}
		}
		if strings.Index(p.Body, `<li class="lost">`) > strings.Index(p.Body, `<li class="win">`) {
			t.Errorf("%s: the timeline is not in the touches' order", tc.id)
		}
	}

	// The organic device: no candidate, said in words.
	p := b.mustGet("/apps/" + gameApp + "/explorer?id=" + tr.organic)
	p.mustShow(t, "Installed on 2026-03-10 12:01:10 UTC: organic.", "No touch was a candidate", "No conversions")
}

func TestExplorerNotFound(t *testing.T) {
	s, clk := startServer(t)
	sendTraffic(t, s, clk)
	b := signIn(t, s)

	p := b.get("/apps/" + gameApp + "/explorer?id=nobody-1")
	if p.Status != http.StatusNotFound {
		t.Errorf("not found: %d", p.Status)
	}
	p.mustShow(t, `no device of app com.example.game has used the id "nobody-1": searched device ids (AppsFlyer ids), advertising ids (GAID), IDFAs, IDFVs`,
		"customer user ids", `value="nobody-1"`)
	p.mustNotShow(t, "Found by", "Installs</h2>")

	// Too long to be anyone's id.
	p = b.get("/apps/" + gameApp + "/explorer?id=" + strings.Repeat("x", 300))
	if p.Status != http.StatusBadRequest {
		t.Errorf("a 300-character id: %d", p.Status)
	}
	p.mustShow(t, "id is longer than 256 characters")

	// Before a search: the form and what to do.
	p = b.mustGet("/apps/"+gameApp+"/explorer", `<label for="id">`)
	p.mustShow(t, `curl -i "`+s.URL()+`/c/com.example.game?pid=examplenet_int&c=launch"`)
}

func TestDeviceFindAPI(t *testing.T) {
	s, clk := startServer(t)
	tr := sendTraffic(t, s, clk)
	schema := installViewSchema(t)

	var want json.RawMessage
	s.api(t, 200, "GET", "/api/v1/apps/"+gameApp+"/installs/"+tr.deviceID, nil, &want)
	for _, tc := range []struct{ id, by string }{
		{tr.deviceID, "device_id"}, {gaid, "advertising_id"}, {strings.ToLower(gaid), "advertising_id"}, {idfv, "idfv"}, {cuid, "customer_user_id"},
	} {
		id := tc.id
		var got json.RawMessage
		s.api(t, 200, "GET", "/api/v1/apps/"+gameApp+"/devices?"+url.Values{"id": {id}}.Encode(), nil, &got)
		var g, w map[string]any
		json.Unmarshal(got, &g)
		json.Unmarshal(want, &w)
		// The same view, and which id it was found by.
		var all any
		json.Unmarshal(got, &all)
		if err := schema.Validate(all); err != nil {
			t.Errorf("devices?id=%s does not match the OpenAPI schema: %v", id, err)
		}
		if g["found_by"] != tc.by {
			t.Errorf("devices?id=%s: found_by %v, want %s", id, g["found_by"], tc.by)
		}
		delete(g, "found_by")
		if !reflect.DeepEqual(g, w) {
			t.Errorf("devices?id=%s answered\n%s\nwant the install view\n%s", id, got, want)
		}

	}
	var e struct{ Error, Code string }
	for _, tc := range []struct {
		query  string
		status int
		want   string
	}{
		{"id=nobody", 404, `has used the id "nobody"`},
		{"", 400, "id is required"},
		{"id=%20", 400, "id is required"},
		{"id=x&colour=red", 400, `unknown parameter "colour"`},
	} {
		s.api(t, tc.status, "GET", "/api/v1/apps/"+gameApp+"/devices?"+tc.query, nil, &e)
		if !strings.Contains(e.Error, tc.want) {
			t.Errorf("devices?%s: %q, want %q", tc.query, e.Error, tc.want)
		}
	}
	s.api(t, 404, "GET", "/api/v1/apps/com.nope/devices?id="+gaid, nil, &e)
	if !strings.Contains(e.Error, "com.nope") {
		t.Errorf("unknown app: %q", e.Error)
	}
}

// installViewSchema compiles the OpenAPI file's InstallView schema
// (OpenAPI 3.1: JSON Schema 2020-12).
func installViewSchema(t *testing.T) *jsonschema.Schema {
	return apispec.Schemas(t, "InstallView")["InstallView"]
}
