package httpapi

import (
	"net/http"
	"slices"
	"strings"

	"github.com/touchpointhq/touchpoint"
)

func (s *Server) registerInstallRoutes(mux *http.ServeMux) {
	s.handleAdmin(mux, "GET /api/v1/apps/{app_id}/installs/{device_id}", s.handleInstallGet)
	s.handleAdmin(mux, "GET /api/v1/apps/{app_id}/report", s.handleReport)
	s.handleAdmin(mux, "GET /api/v1/apps/{app_id}/devices", s.handleDeviceFind)
}

// InstallView is a device's attribution explained.
type InstallView struct {
	Device *touchpoint.Device `json:"device"`
	// Summary says in a sentence or two what was decided and why.
	Summary string `json:"summary"`
	// Installs are the device's decided launches, newest first, each with
	// its candidates and why they lost.
	Installs    []*touchpoint.Install    `json:"installs"`
	Conversions []*touchpoint.Conversion `json:"conversions"`
	// FoundBy names the id a device looked up by any id was found by
	// (GET …/devices?id=): device_id, advertising_id, idfa, …, or
	// customer_user_id.
	FoundBy string `json:"found_by,omitempty"`
}

// GET /api/v1/apps/{app_id}/installs/{device_id}
func (s *Server) handleInstallGet(w http.ResponseWriter, r *http.Request) {
	h, err := s.svc.DeviceHistory(r.Context(), r.PathValue("app_id"), r.PathValue("device_id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, InstallView{Device: h.Device, Summary: h.Summary, Installs: h.Installs, Conversions: h.Conversions})
}

// GET /api/v1/apps/{app_id}/devices?id=…
// Finds a device by any id it used (see service.FindDeviceByAnyID) and
// answers as GET …/installs/{device_id} does.
func (s *Server) handleDeviceFind(w http.ResponseWriter, r *http.Request) {
	for k := range r.URL.Query() {
		if k != "id" {
			writeError(w, r, touchpoint.Errorf(touchpoint.EINVALID, "unknown parameter %q: use id", k))
			return
		}
	}
	h, err := s.svc.FindDeviceHistory(r.Context(), r.PathValue("app_id"), r.URL.Query().Get("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, InstallView{Device: h.Device, Summary: h.Summary, Installs: h.Installs, Conversions: h.Conversions,
		FoundBy: h.FoundBy})
}

// GET /api/v1/apps/{app_id}/report?from=2026-11-01&to=2026-11-30&group_by=media_source,day&media_source=…
// from and to are dates in the app's time zone, both included.
func (s *Server) handleReport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := touchpoint.ReportFilter{App: r.PathValue("app_id")}
	for k := range q {
		switch {
		case k == "from" || k == "to" || k == "group_by":
		case k != "day" && slices.Contains(touchpoint.ReportDimensions, k):
			if f.Where == nil {
				f.Where = map[string]string{}
			}
			f.Where[k] = q.Get(k)
		default:
			writeError(w, r, touchpoint.Errorf(touchpoint.EINVALID, "unknown parameter %q: use from, to, group_by, or a dimension's value (media_source=…)", k))
			return
		}
	}
	var err error
	if f.From, f.To, err = touchpoint.ParseReportRange(q.Get("from"), q.Get("to")); err != nil {
		writeError(w, r, err)
		return
	}
	if g := q.Get("group_by"); g != "" {
		f.GroupBy = strings.Split(g, ",")
	}
	if err := f.Validate(); err != nil {
		writeError(w, r, err)
		return
	}
	rows, err := s.Store.Report(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"app_id": f.App, "from": q.Get("from"), "to": q.Get("to"),
		"group_by": f.GroupBy, "rows": rows})
}
