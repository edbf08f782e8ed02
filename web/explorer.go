package web

import (
	"cmp"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/attribution"
	"github.com/touchpointhq/touchpoint/service"
)

func (h *Handler) registerExplorerRoutes(r *routes) {
	r.page("GET /apps/{app}/explorer", h.handleExplorer)
}

// explorerData is the install explorer's page.
type explorerData struct {
	// ID is the id searched for ("" before a search).
	ID string
	// Found is the device's history when a device has used ID; FoundBy
	// says which of its ids it is.
	Found   *service.DeviceHistory
	FoundBy string
	IDs     []namedID
	// Installs are the device's decided launches, newest first.
	Installs []explainedInstall
	// ClickURL is a click to try when the app has no devices yet.
	ClickURL string
}

// namedID is one of a device's ids with its name.
type namedID struct{ Name, Value string }

// explainedInstall is an install with its decision in words and its
// candidates in the order of their touches.
type explainedInstall struct {
	*touchpoint.Install
	// Decision is the sentence the API's summary writes for this install.
	Decision   string
	Candidates []timelineTouch
}

// timelineTouch is a candidate on the install's timeline: Class is win
// for the touch that won, lost otherwise.
type timelineTouch struct {
	touchpoint.Candidate
	Class string
	// Before is how long before the launch the touch was.
	Before time.Duration
}

// GET /apps/{app}/explorer?id=…
func (h *Handler) handleExplorer(w http.ResponseWriter, r *http.Request, v *View) error {
	v.Title, v.Section = "Installs", "explorer"
	app := v.App
	d := &explorerData{ID: strings.TrimSpace(r.URL.Query().Get("id"))}
	if d.ID == "" {
		d.ClickURL = h.tryClickURL(r, app)
		return v.Render("explorer", d)
	}
	var err error
	d.Found, err = h.Service().FindDeviceHistory(r.Context(), app.ID, d.ID)
	switch touchpoint.ErrorCode(err) {
	case "":
	case touchpoint.EINVALID, touchpoint.ENOTFOUND:
		// In words above the form, with what was searched.
		v.Fail(err)
		return v.Render("explorer", d)
	default:
		return err
	}
	dev := d.Found.Device
	d.FoundBy = foundByWords(d.Found.FoundBy)
	for typ, id := range dev.IDs {
		if id.Raw != "" {
			d.IDs = append(d.IDs, namedID{touchpoint.DeviceIDParams[typ], id.Raw})
		}
	}
	for _, in := range d.Found.Installs {
		ei := explainedInstall{Install: in, Decision: attribution.Summary(dev, []*touchpoint.Install{in})}
		for _, c := range in.Candidates {
			class := "lost"
			if c.Outcome == touchpoint.OutcomeWon {
				class = "win"
			}
			ei.Candidates = append(ei.Candidates, timelineTouch{Candidate: c, Class: class, Before: in.Time.Sub(c.TouchTime).Round(time.Second)})
		}
		slices.SortStableFunc(ei.Candidates, func(a, b timelineTouch) int {
			return cmp.Or(a.TouchTime.Compare(b.TouchTime), cmp.Compare(a.TouchID, b.TouchID))
		})
		d.Installs = append(d.Installs, ei)
	}
	return v.Render("explorer", d)
}

// foundByWords says which id of its the device was found by.
func foundByWords(by string) string {
	switch by {
	case "device_id":
		return "its device id (AppsFlyer id)"
	case "customer_user_id":
		return "its customer user id"
	}
	return "its " + by
}
