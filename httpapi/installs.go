package httpapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/touchpointhq/touchpoint"
)

func (s *Server) registerInstallRoutes(mux *http.ServeMux) {
	s.handleAdmin(mux, "GET /api/v1/apps/{app_id}/installs/{device_id}", s.handleInstallGet)
	s.handleAdmin(mux, "GET /api/v1/apps/{app_id}/report", s.handleReport)
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

// GET /api/v1/apps/{app_id}/report?from=2026-11-01&to=2026-11-30&group_by=media_source,day
// from and to are UTC dates, both included.
func (s *Server) handleReport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for k := range q {
		if k != "from" && k != "to" && k != "group_by" {
			writeError(w, r, touchpoint.Errorf(touchpoint.EINVALID, "unknown parameter %q: use from, to, group_by", k))
			return
		}
	}
	f := touchpoint.ReportFilter{App: r.PathValue("app_id")}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		v := q.Get(p.name)
		d, err := time.Parse(time.DateOnly, v)
		if err != nil {
			writeError(w, r, touchpoint.Errorf(touchpoint.EINVALID, "%s %q: want a date like 2026-11-01", p.name, v))
			return
		}
		*p.dst = d
	}
	f.To = f.To.AddDate(0, 0, 1)
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
