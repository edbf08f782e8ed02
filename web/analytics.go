package web

// The analytics screens of a project (Amplitude's role): its charts
// (analytics_charts.go), its users and their timelines, and the
// attribution events waiting for a user (analytics_users.go). They read
// what the JSON API's project handlers read (httpapi/projects.go): the
// same service calls and store methods, with the queries parsed into
// package chart's types.

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/touchpointhq/touchpoint"
)

func (h *Handler) registerAnalyticsRoutes(r *routes) {
	r.page("GET /projects/{project}/charts", h.handleChartsHome)
	r.page("GET /projects/{project}/charts/{kind}", h.handleChart)
	r.page("GET /projects/{project}/users", h.handleUsers)
	r.page("GET /projects/{project}/users/{amplitude_id}", h.handleUser)
	r.page("GET /projects/{project}/attributions/pending", h.handlePending)
}

// analyticsBase is the dashboard path of a project's pages.
func analyticsBase(p *touchpoint.Project) string {
	return "/projects/" + projectPath(p)
}

// projectHasUsers reports whether a project has any analytics user yet:
// one event (or identify) makes one.
func (h *Handler) projectHasUsers(ctx context.Context, project int64) (bool, error) {
	n, err := h.Store.CountUsers(ctx, project)
	return n > 0, err
}

// sendEvents is what a page shows when a project has no events yet: the
// request that sends the first one, to this server.
type sendEvents struct {
	Curl string
	// Last4 are the last characters of the project's API key, the only
	// part of it the store keeps in the clear.
	Last4 string
}

// firstEvents returns the curl that sends a project its first event, to
// the server the browser reached. The key is a placeholder: the store
// keeps only its hash.
func (h *Handler) firstEvents(r *http.Request, p *touchpoint.Project) *sendEvents {
	return &sendEvents{Last4: p.APIKeyLast4, Curl: "curl -X POST " + h.baseURL(r) + "/2/httpapi \\\n" +
		"  -H 'Content-Type: application/json' \\\n" +
		`  -d '{"api_key":"YOUR_API_KEY","events":[{"user_id":"user-1","device_id":"device-1","event_type":"session_start","platform":"iOS","country":"US"}]}'`}
}

// choice is one entry of a <select>.
type choice struct {
	Value, Label string
	Selected     bool
}

// choices lists a select's entries from value, label pairs, the one
// equal to selected selected.
func choices(selected string, pairs ...string) []choice {
	out := make([]choice, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, choice{Value: pairs[i], Label: pairs[i+1], Selected: pairs[i] == selected})
	}
	return out
}

// chartNumber writes a chart's value: whole numbers as they are, others to
// two places.
func chartNumber(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// zoneTime writes a time in a project's zone, with the zone's name.
func zoneTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(loc).Format("2006-01-02 15:04:05 MST")
}

// shortDuration writes a number of seconds in its two largest units,
// the second left out when 0: 2d, 1d 2h, 3h 5m, 4m 10s, 12s.
func shortDuration(s float64) string {
	d := int64(math.Round(s))
	for _, u := range []struct {
		n          int64
		unit, next string
		of         int64
	}{{86400, "d", "h", 3600}, {3600, "h", "m", 60}, {60, "m", "s", 1}} {
		if d >= u.n {
			out := strconv.FormatInt(d/u.n, 10) + u.unit
			if r := d % u.n / u.of; r > 0 {
				out += " " + strconv.FormatInt(r, 10) + u.next
			}
			return out
		}
	}
	return strconv.FormatInt(d, 10) + "s"
}
