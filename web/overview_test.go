package web_test

import (
	"encoding/json"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The app of the overview, live and explorer tests.
const (
	gameApp = "com.example.game"
	gaid    = "38400000-8cf0-11bd-b23e-10b96e40000d"
	idfv    = "IDFV-0000-1111"
	cuid    = "player-42"
)

// traffic is what sendTraffic sent.
type traffic struct {
	devKey   string
	deviceID string // the attributed install's device
	organic  string // the organic install's device
}

// newGameApp creates the app with one partner, examplenet_int, and returns
// its dev key.
func newGameApp(t *testing.T, s *server, extra map[string]any) string {
	t.Helper()
	body := map[string]any{"app_id": gameApp, "platform": "android", "name": "Game"}
	for k, v := range extra {
		body[k] = v
	}
	var app struct {
		DevKey string `json:"dev_key"`
	}
	s.api(t, 201, "POST", "/api/v1/apps", body, &app)
	s.api(t, 201, "POST", "/api/v1/apps/"+gameApp+"/partners", map[string]any{"pid": "examplenet_int"}, nil)
	return app.DevKey
}

// click sends a click through the app's link and fails the test unless it
// is redirected.
func click(t *testing.T, s *server, query string) {
	t.Helper()
	if code, body := s.send(t, "GET", "/c/"+gameApp+"?"+query, nil, ""); code != http.StatusFound {
		t.Fatalf("click %s: %d %s", query, code, body)
	}
}

// sdk posts to the app's SDK API and decodes the answer into out.
func sdk(t *testing.T, s *server, devKey, path string, body map[string]any, out any) {
	t.Helper()
	b, _ := json.Marshal(body)
	code, answer := s.send(t, "POST", "/sdk/v1/apps/"+gameApp+path, http.Header{"Authorization": {"Bearer " + devKey}}, string(b))
	if code != http.StatusOK {
		t.Fatalf("POST %s %s: %d %s", path, b, code, answer)
	}
	if out != nil {
		if err := json.Unmarshal([]byte(answer), out); err != nil {
			t.Fatalf("POST %s: %v in %s", path, err, answer)
		}
	}
}

// launch reports a launch and returns the device id it answers.
func launch(t *testing.T, s *server, devKey string, body map[string]any) string {
	t.Helper()
	var resp struct {
		DeviceID string `json:"device_id"`
		Type     string `json:"type"`
	}
	sdk(t, s, devKey, "/launches", body, &resp)
	if resp.DeviceID == "" || resp.Type != "install" {
		t.Fatalf("launch %v: %+v", body, resp)
	}
	return resp.DeviceID
}

// sendTraffic sends, on the epoch's day: a click of a custom source, a
// click of examplenet_int (campaign launch, ad set set1, ad ad1, cost 0.5
// USD), a launch a minute later that the second click wins, a purchase of
// 9.99 USD on it, and an organic install of another device.
func sendTraffic(t *testing.T, s *server, clk *clock) traffic {
	t.Helper()
	tr := traffic{devKey: newGameApp(t, s, nil)}
	click(t, s, "pid=owned_email&c=spring&advertising_id="+gaid)
	clk.Add(10 * time.Second)
	click(t, s, "pid=examplenet_int&c=launch&af_adset=set1&af_ad=ad1&advertising_id="+gaid+
		"&af_cost_model=CPI&af_cost_value=0.5&af_cost_currency=USD")
	clk.Add(time.Minute)
	tr.deviceID = launch(t, s, tr.devKey, map[string]any{"advertising_id": gaid, "idfv": idfv, "customer_user_id": cuid})
	sdk(t, s, tr.devKey, "/events", map[string]any{"device_id": tr.deviceID, "event_name": "af_purchase", "revenue": "9.99", "currency": "USD"}, nil)
	tr.organic = launch(t, s, tr.devKey, map[string]any{"advertising_id": "aaaaaaaa-0000-0000-0000-000000000001"})
	return tr
}

// text is a page's body as a browser shows its text: entities decoded.
func (p page) text() string { return html.UnescapeString(p.Body) }

func (p page) mustShow(t *testing.T, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(p.text(), w) {
			t.Errorf("%s does not show %q:\n%s", p.URL, w, p.Body)
		}
	}
}

func (p page) mustNotShow(t *testing.T, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(p.text(), w) {
			t.Errorf("%s shows %q:\n%s", p.URL, w, p.Body)
		}
	}
}

var (
	rowRE  = regexp.MustCompile(`(?s)<tr>(.*?)</tr>`)
	cellRE = regexp.MustCompile(`(?s)<t[hd][^>]*>(.*?)</t[hd]>`)
	tagRE  = regexp.MustCompile(`<[^>]*>`)
)

// rowCells returns the cells after the first of the table row whose first
// cell is name, as text.
func rowCells(p page, name string) []string {
	for _, row := range rowRE.FindAllStringSubmatch(p.Body, -1) {
		var cells []string
		for _, c := range cellRE.FindAllStringSubmatch(row[1], -1) {
			cells = append(cells, strings.TrimSpace(html.UnescapeString(tagRE.ReplaceAllString(c[1], ""))))
		}
		if len(cells) > 0 && cells[0] == name {
			return cells[1:]
		}
	}
	return nil
}

// tile is how the overview writes a tile.
func tile(value, name string) string {
	return `<div class="v">` + value + `</div><div class="k">` + name
}

func TestOverviewNumbers(t *testing.T) {
	s, clk := startServer(t)
	sendTraffic(t, s, clk)
	b := signIn(t, s)

	// The default range: the 7 days up to the app's today.
	p := b.mustGet("/apps/" + gameApp + "/overview")
	p.mustContain(t, `name="from" value="2026-03-04"`, `name="to" value="2026-03-10"`, "Days are counted in UTC",
		`aria-current="page">Overview`,
		tile("2", "Clicks"), tile("0", "Impressions"), tile("1", "Installs, non-organic"), tile("1", "Installs, organic"),
		tile("50.0%", "Conversion rate"), tile("USD 0.5", "Cost"), tile("USD 0.5", "eCPI"), tile("1", "Conversions"),
		tile("USD 9.99", "Revenue"), tile("USD 1998.0%", "ROAS"), tile("0", "Rejected installs"),
		`<svg class="chart"`, "Installs (non-organic)", "Mar 10")
	p.mustNotShow(t, "curl -i")

	// The table by media source: examplenet_int's row, owned_email's
	// (a click, no install), organic's.
	p.mustShow(t, `<a href="/apps/com.example.game/overview?from=2026-03-04&media_source=examplenet_int&to=2026-03-10">examplenet_int</a>`)
	for name, want := range map[string][]string{
		// name, clicks, impressions, installs, organic, conversion rate,
		// cost, eCPI, conversions, revenue, ROAS, rejected
		"examplenet_int": {"1", "0", "1", "0", "100.0%", "USD 0.5", "USD 0.5", "1", "USD 9.99", "USD 1998.0%", "0"},
		"owned_email":    {"1", "0", "0", "0", "0.0%", "–", "–", "0", "–", "–", "0"},
		"organic":        {"0", "0", "0", "1", "–", "–", "–", "0", "–", "–", "0"},
	} {
		if got := rowCells(p, name); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("row %s: %q, want %q", name, got, want)
		}
	}

	// A range without the epoch's day has nothing.
	p = b.mustGet("/apps/" + gameApp + "/overview?from=2026-03-01&to=2026-03-09")
	p.mustShow(t, "Nothing was recorded from 2026-03-01 to 2026-03-09 (UTC)")
}

func TestOverviewDrillDown(t *testing.T) {
	s, clk := startServer(t)
	sendTraffic(t, s, clk)
	b := signIn(t, s)
	base := "/apps/" + gameApp + "/overview?from=2026-03-10&to=2026-03-10"

	// Media source → its campaigns, with the way back.
	p := b.mustGet(base + "&media_source=examplenet_int")
	p.mustContain(t, "By campaign", `<th scope="col">Campaign</th>`, tile("1", "Clicks"), tile("1", "Installs, non-organic"),
		tile("0", "Installs, organic"))
	p.mustShow(t, `<a href="/apps/com.example.game/overview?from=2026-03-10&to=2026-03-10">All media sources</a>`,
		`<strong aria-current="page">Media source examplenet_int</strong>`,
		`<a href="/apps/com.example.game/overview?campaign=launch&from=2026-03-10&media_source=examplenet_int&to=2026-03-10">launch</a>`,
		`<input type="hidden" name="media_source" value="examplenet_int">`)
	p.mustNotShow(t, ">organic<", ">owned_email<")

	// Campaign → its ad sets.
	p = b.mustGet(base + "&media_source=examplenet_int&campaign=launch")
	p.mustContain(t, "By ad set", tile("USD 0.5", "Cost"), tile("USD 9.99", "Revenue"))
	p.mustShow(t, `>Media source examplenet_int</a>`, `<strong aria-current="page">Campaign launch</strong>`,
		`<a href="/apps/com.example.game/overview?af_adset=set1&campaign=launch&from=2026-03-10&media_source=examplenet_int&to=2026-03-10">set1</a>`)

	// Ad set → its ads, the last level: no link further.
	p = b.mustGet(base + "&media_source=examplenet_int&campaign=launch&af_adset=set1")
	p.mustContain(t, "By ad", `<th scope="col">Ad</th>`, `<th scope="row">ad1</th>`, tile("1", "Installs, non-organic"))
	p.mustShow(t, `>Campaign launch</a>`, `<strong aria-current="page">Ad set set1</strong>`)

	// The custom source's campaign; a campaign nobody has is empty.
	p = b.mustGet(base + "&media_source=owned_email")
	p.mustContain(t, ">spring</a>", tile("1", "Clicks"), tile("0", "Installs, non-organic"))
	p = b.mustGet(base + "&media_source=examplenet_int&campaign=nope")
	p.mustShow(t, "Nothing was recorded from 2026-03-10 to 2026-03-10 (UTC) for this selection")

	// The organic installs have no campaign: "(none)", and its link keeps
	// the empty campaign.
	p = b.mustGet(base + "&media_source=organic")
	p.mustShow(t, `campaign=&from=2026-03-10&media_source=organic&to=2026-03-10">(none)</a>`)
	p = b.mustGet(base + "&media_source=organic&campaign=")
	p.mustContain(t, tile("1", "Installs, organic"), "By ad set")
}

func TestOverviewEmpty(t *testing.T) {
	s, _ := startServer(t)
	newGameApp(t, s, nil)
	b := signIn(t, s)
	p := b.mustGet("/apps/" + gameApp + "/overview")
	p.mustShow(t, "Nothing was recorded from 2026-03-04 to 2026-03-10 (UTC)",
		`curl -i "`+s.URL()+`/c/com.example.game?pid=examplenet_int&c=launch"`,
		`<a href="/apps/com.example.game/links">Links</a>`)
	p.mustNotShow(t, `<svg class="chart"`)

	// The click it shows is one the server takes, and then counts.
	if code, _ := s.send(t, "GET", "/c/com.example.game?pid=examplenet_int&c=launch", nil, ""); code != http.StatusFound {
		t.Fatalf("the empty state's click: %d", code)
	}
	p = b.mustGet("/apps/" + gameApp + "/overview")
	p.mustContain(t, tile("1", "Clicks"))
	p.mustNotShow(t, "curl -i")
}

func TestOverviewTestClock(t *testing.T) {
	s, _ := startServer(t)
	// An app in test mode: its today is its own clock's.
	newGameApp(t, s, map[string]any{"test_mode": true, "test_clock": "2026-11-02T09:00:00Z"})
	b := signIn(t, s)
	b.mustGet("/apps/"+gameApp+"/overview", `name="from" value="2026-10-27"`, `name="to" value="2026-11-02"`)
	// One date given: the other defaults around it.
	b.mustGet("/apps/"+gameApp+"/overview?to=2026-01-31", `name="from" value="2026-01-25"`, `name="to" value="2026-01-31"`)
}

func TestOverviewBadInput(t *testing.T) {
	s, _ := startServer(t)
	newGameApp(t, s, nil)
	b := signIn(t, s)
	for _, tc := range []struct{ query, want string }{
		{"from=yesterday&to=2026-03-10", `from "yesterday": want a date like 2026-11-01`},
		{"from=2026-03-01&to=2026-02-30", `to "2026-02-30": want a date like 2026-11-01`},
		{"from=2026-03-10&to=2026-03-01", "to 2026-03-01 is before from 2026-03-10"},
		{"from=2024-01-01&to=2026-03-10", "longer than 366 days"},
		{"campaign=launch", "campaign needs media_source: pick a media source first"},
		{"media_source=x&af_adset=set1", "af_adset needs campaign: pick a campaign first"},
	} {
		p := b.get("/apps/" + gameApp + "/overview?" + tc.query)
		if p.Status != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", tc.query, p.Status)
		}
		p.mustShow(t, tc.want)
		// The form is there to correct it, with what was sent.
		p.mustContain(t, `<form class="inline card" method="get"`)
		p.mustNotShow(t, "Totals,")
	}
	// An app that does not exist.
	if p := b.get("/apps/com.nope/overview"); p.Status != http.StatusNotFound {
		t.Errorf("unknown app: %d", p.Status)
	}
	// The report API says the same in its own shape.
	var e struct{ Error string }
	s.api(t, 400, "GET", "/api/v1/apps/"+gameApp+"/report?from=2026-03-10&to=2026-03-01", nil, &e)
	if !strings.Contains(e.Error, "is before from") {
		t.Errorf("report API: %q", e.Error)
	}
}
