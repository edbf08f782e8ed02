package web

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/destination/amplitude"
)

// The deliveries pages: how an app's postbacks and analytics forward
// fare (Store.DeliveryHealth), the deliveries that were given up or are
// being retried (Store.ListDeliveries), one delivery with every attempt,
// and a retry (service.RetryDelivery, as POST /api/v1/deliveries/{id}/retry).

func (h *Handler) registerDeliveryRoutes(r *routes) {
	r.page("GET /apps/{app}/deliveries", h.handleDeliveries)
	r.page("GET /apps/{app}/deliveries/{id}", h.handleDelivery)
	r.page("POST /apps/{app}/deliveries/{id}/retry", h.handleDeliveryRetry)
}

// deliveriesPageSize is how many deliveries a page lists.
const deliveriesPageSize = 25

// deliveryStates are the list's choices: the stored state, by what the
// page calls it. "all" lists every state.
var deliveryStates = []struct{ Value, Label string }{
	{string(touchpoint.DeliveryFailed), "given up"},
	{string(touchpoint.DeliveryPending), "pending (being retried)"},
	{string(touchpoint.DeliverySucceeded), "sent"},
	{"all", "all"},
}

// healthRow is one destination's health over one range, in words.
type healthRow struct {
	PID, Path string
	*touchpoint.DeliveryHealth
	Failed   int64 // attempts not answered 2xx or 3xx
	P50, P99 string
}

// healthTable is the health of every destination over one range.
type healthTable struct {
	Title string
	Rows  []healthRow
}

// deliveryRow is a delivery of the list with its last attempt.
type deliveryRow struct {
	*touchpoint.Delivery
	Path string
	Last *touchpoint.Attempt
}

// deliveriesPage is the health tables and the list.
type deliveriesPage struct {
	Health     []healthTable
	State, PID string
	States     []struct{ Value, Label string }
	PIDs       []string
	Rows       []deliveryRow
	Next       string // the next page's query; empty on the last
	// Any says whether the app has any delivery at all; None, when the
	// filter finds none, says so in words.
	Any  bool
	None string
}

// GET /apps/{app}/deliveries?state=…&pid=…&before=…
func (h *Handler) handleDeliveries(w http.ResponseWriter, r *http.Request, v *View) error {
	v.Title, v.Section = "Deliveries", "deliveries"
	ctx := r.Context()
	q := r.URL.Query()
	page := &deliveriesPage{State: q.Get("state"), PID: q.Get("pid"), States: deliveryStates}
	if page.State == "" {
		page.State = string(touchpoint.DeliveryFailed)
	}
	f := touchpoint.DeliveryFilter{App: v.App.ID, PID: page.PID, Limit: deliveriesPageSize}
	switch page.State {
	case "all":
	case string(touchpoint.DeliveryFailed), string(touchpoint.DeliveryPending), string(touchpoint.DeliverySucceeded):
		f.State = touchpoint.DeliveryState(page.State)
	default:
		return touchpoint.Errorf(touchpoint.EINVALID, "state %q: want failed (given up), pending, succeeded or all", page.State)
	}
	if b := q.Get("before"); b != "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n <= 0 {
			return touchpoint.Errorf(touchpoint.EINVALID, "before %q: want a delivery id (a number)", b)
		}
		f.Before = n
	}

	// Every partner, and the app's analytics forward when it has one.
	partners, err := h.Store.ListPartners(ctx, v.App.ID)
	if err != nil {
		return err
	}
	for _, p := range partners {
		page.PIDs = append(page.PIDs, p.PID)
	}
	switch _, err := h.Store.FindAnalyticsForward(ctx, v.App.ID); {
	case err == nil:
		page.PIDs = append(page.PIDs, amplitude.PID)
	case touchpoint.ErrorCode(err) != touchpoint.ENOTFOUND:
		return err
	}
	now := h.Store.Now().UTC()
	for _, rng := range []struct {
		title string
		d     time.Duration
	}{{"Last 24 hours", 24 * time.Hour}, {"Last 7 days", 7 * 24 * time.Hour}} {
		t := healthTable{Title: rng.title}
		for _, pid := range page.PIDs {
			hl, err := h.Store.DeliveryHealth(ctx, v.App.ID, pid, now.Add(-rng.d), now)
			if err != nil {
				return err
			}
			t.Rows = append(t.Rows, healthRow{PID: pid, Path: appPath(v.App.ID, "deliveries") + query("pid", pid, "state", "all"),
				DeliveryHealth: hl, Failed: hl.Attempts - hl.Succeeded, P50: millis(hl.P50Ms, hl.Attempts), P99: millis(hl.P99Ms, hl.Attempts)})
		}
		page.Health = append(page.Health, t)
	}

	ds, next, err := h.Store.ListDeliveries(ctx, f)
	if err != nil {
		return err
	}
	for _, d := range ds {
		// The list shows each one's last answer: its attempts are read
		// with it (a page is short).
		full, err := h.Store.FindDelivery(ctx, d.ID)
		if err != nil {
			return err
		}
		row := deliveryRow{Delivery: full, Path: appPath(v.App.ID, "deliveries", strconv.FormatInt(d.ID, 10))}
		if n := len(full.Attempts); n > 0 {
			row.Last = &full.Attempts[n-1]
		}
		page.Rows = append(page.Rows, row)
	}
	if next != 0 {
		page.Next = query("state", page.State, "pid", page.PID, "before", next)
	}
	page.Any = len(ds) > 0
	if !page.Any {
		to := ""
		if page.PID != "" {
			to = " to " + page.PID
		}
		page.None = map[string]string{
			string(touchpoint.DeliveryFailed):    "No given-up deliveries" + to + ": every delivery went through or is still being tried.",
			string(touchpoint.DeliveryPending):   "No pending deliveries" + to + ": nothing is waiting to be sent.",
			string(touchpoint.DeliverySucceeded): "No sent deliveries" + to + ".",
			"all":                                "No deliveries" + to + ".",
		}[page.State]
		any, _, err := h.Store.ListDeliveries(ctx, touchpoint.DeliveryFilter{App: v.App.ID, Limit: 1})
		if err != nil {
			return err
		}
		page.Any = len(any) > 0
	}
	return v.Render("deliveries", page)
}

// millis writes a latency in milliseconds; "–" when nothing was sent.
func millis(ms float64, attempts int64) string {
	if attempts == 0 {
		return "–"
	}
	return strconv.FormatFloat(ms, 'f', 1, 64) + " ms"
}

// deliveryPage is one delivery with its attempts.
type deliveryPage struct {
	D        *touchpoint.Delivery
	Attempts []attemptRow
	Retry    string // the retry form's action, when it can be retried
}

// attemptRow is an attempt with its latency in words.
type attemptRow struct {
	touchpoint.Attempt
	Latency string
}

// findAppDelivery reads the delivery a path names, if it is the app's.
func (h *Handler) findAppDelivery(r *http.Request, v *View) (*touchpoint.Delivery, error) {
	id, err := pathID(r, "id", "delivery")
	if err != nil {
		return nil, err
	}
	d, err := h.Store.FindDelivery(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if d.App != v.App.ID {
		return nil, touchpoint.Errorf(touchpoint.ENOTFOUND, "delivery %d is not one of app %s", id, v.App.ID)
	}
	return d, nil
}

func (h *Handler) renderDelivery(v *View, d *touchpoint.Delivery) error {
	v.Title, v.Section = fmt.Sprintf("Delivery %d", d.ID), "deliveries"
	page := &deliveryPage{D: d}
	for _, a := range d.Attempts {
		page.Attempts = append(page.Attempts, attemptRow{a, strconv.FormatFloat(float64(a.Latency)/float64(time.Millisecond), 'f', 1, 64) + " ms"})
	}
	if d.State == touchpoint.DeliveryFailed {
		page.Retry = appPath(v.App.ID, "deliveries", strconv.FormatInt(d.ID, 10), "retry")
	}
	return v.Render("delivery", page)
}

// GET /apps/{app}/deliveries/{id}
func (h *Handler) handleDelivery(w http.ResponseWriter, r *http.Request, v *View) error {
	d, err := h.findAppDelivery(r, v)
	if err != nil {
		return err
	}
	return h.renderDelivery(v, d)
}

// POST /apps/{app}/deliveries/{id}/retry: a given-up delivery is due
// again now, with as many tries as it had.
func (h *Handler) handleDeliveryRetry(w http.ResponseWriter, r *http.Request, v *View) error {
	d, err := h.findAppDelivery(r, v)
	if err != nil {
		return err
	}
	nd, err := h.Service().RetryDelivery(r.Context(), d.ID)
	if err != nil {
		v.Fail(err)
		return h.renderDelivery(v, d)
	}
	path := appPath(v.App.ID, "deliveries", strconv.FormatInt(d.ID, 10))
	tries := "tries"
	if nd.MaxTries-nd.Tries == 1 {
		tries = "try"
	}
	return redirect(w, r, path, fmt.Sprintf("Delivery %d is due again now, with %d more %s.", nd.ID, nd.MaxTries-nd.Tries, tries))
}
