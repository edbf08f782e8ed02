package httpapi

import (
	"net/http"
	"time"

	"github.com/touchpointhq/touchpoint"
)

func (s *Server) registerPartnerRoutes(mux *http.ServeMux) {
	const p = "/api/v1/apps/{app_id}/partners"
	s.handleAdmin(mux, "POST "+p, s.handlePartnerCreate)
	s.handleAdmin(mux, "GET "+p, s.handlePartnerList)
	s.handleAdmin(mux, "GET "+p+"/{pid}", s.handlePartnerGet)
	s.handleAdmin(mux, "PATCH "+p+"/{pid}", s.handlePartnerUpdate)
	s.handleAdmin(mux, "DELETE "+p+"/{pid}", s.handlePartnerDelete)
	s.handleAdmin(mux, "POST "+p+"/{pid}/secrets", s.handleSecretCreate)
	s.handleAdmin(mux, "GET "+p+"/{pid}/secrets", s.handleSecretList)
	s.handleAdmin(mux, "DELETE "+p+"/{pid}/secrets/{secret_id}", s.handleSecretRevoke)
	s.handleAdmin(mux, "GET "+p+"/{pid}/signing-report", s.handleSigningReport)
}

// PartnerCreate is the body of POST /api/v1/apps/{app_id}/partners
// (touchpoint.PartnerCreate).
type PartnerCreate = touchpoint.PartnerCreate

// POST /api/v1/apps/{app_id}/partners
func (s *Server) handlePartnerCreate(w http.ResponseWriter, r *http.Request) {
	var req PartnerCreate
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	p := req.Partner(r.PathValue("app_id"))
	if err := s.svc.CreatePartner(r.Context(), p); err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, p)
}

// GET /api/v1/apps/{app_id}/partners
func (s *Server) handlePartnerList(w http.ResponseWriter, r *http.Request) {
	ps, err := s.Store.ListPartners(r.Context(), r.PathValue("app_id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	if ps == nil {
		ps = []*touchpoint.Partner{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"partners": ps})
}

// GET /api/v1/apps/{app_id}/partners/{pid}
func (s *Server) handlePartnerGet(w http.ResponseWriter, r *http.Request) {
	p, err := s.Store.FindPartner(r.Context(), r.PathValue("app_id"), r.PathValue("pid"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// PATCH /api/v1/apps/{app_id}/partners/{pid}
func (s *Server) handlePartnerUpdate(w http.ResponseWriter, r *http.Request) {
	var upd touchpoint.PartnerUpdate
	if err := decode(r, &upd); err != nil {
		writeError(w, r, err)
		return
	}
	p, err := s.svc.UpdatePartner(r.Context(), r.PathValue("app_id"), r.PathValue("pid"), upd)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// DELETE /api/v1/apps/{app_id}/partners/{pid}
func (s *Server) handlePartnerDelete(w http.ResponseWriter, r *http.Request) {
	if err := s.svc.DeletePartner(r.Context(), r.PathValue("app_id"), r.PathValue("pid")); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// POST /api/v1/apps/{app_id}/partners/{pid}/secrets?ttl-hours=36
//
// As AppsFlyer's click-signing API: ttl-hours from 1 to 1440, 36 by
// default. The answer is the only time the secret is shown.
func (s *Server) handleSecretCreate(w http.ResponseWriter, r *http.Request) {
	ttl, err := touchpoint.ParseSecretTTL(r.URL.Query().Get("ttl-hours"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	sec, err := s.svc.CreateSecret(r.Context(), r.PathValue("app_id"), r.PathValue("pid"), ttl)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, sec)
}

// GET /api/v1/apps/{app_id}/partners/{pid}/secrets: ids and times, never
// the secrets themselves.
func (s *Server) handleSecretList(w http.ResponseWriter, r *http.Request) {
	secrets, err := s.svc.Secrets(r.Context(), r.PathValue("app_id"), r.PathValue("pid"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"secrets": secrets})
}

// DELETE /api/v1/apps/{app_id}/partners/{pid}/secrets/{secret_id}
func (s *Server) handleSecretRevoke(w http.ResponseWriter, r *http.Request) {
	if err := s.svc.RevokeSecret(r.Context(), r.PathValue("app_id"), r.PathValue("pid"), r.PathValue("secret_id")); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// SigningReportRow is one hour of a partner's click-signing report, with
// AppsFlyer's report columns.
type SigningReportRow struct {
	Hour             time.Time `json:"hour"`
	TotalClicks      int64     `json:"total_clicks"`
	ValidClicks      int64     `json:"valid_clicks"`
	MissingSignature int64     `json:"missing_signature"`
	ExpiredClicks    int64     `json:"expired_clicks"`
	InvalidSignature int64     `json:"invalid_signature"`
	NoActiveSecrets  int64     `json:"no_active_secrets"`
}

// GET /api/v1/apps/{app_id}/partners/{pid}/signing-report?from=…&to=…
//
// Hourly counts of checked clicks per verdict; from and to are RFC 3339
// times (default: the last 24 hours).
func (s *Server) handleSigningReport(w http.ResponseWriter, r *http.Request) {
	to := s.Store.Now().UTC()
	from := to.Add(-24 * time.Hour)
	q := r.URL.Query()
	var err error
	if from, err = parseTime(q.Get("from"), "from", from); err != nil {
		writeError(w, r, err)
		return
	}
	if to, err = parseTime(q.Get("to"), "to", to); err != nil {
		writeError(w, r, err)
		return
	}
	counts, err := s.svc.SigningReport(r.Context(), r.PathValue("app_id"), r.PathValue("pid"), from, to)
	if err != nil {
		writeError(w, r, err)
		return
	}
	rows := []SigningReportRow{}
	for _, c := range counts {
		rows = append(rows, SigningReportRow{
			Hour:             c.Hour,
			TotalClicks:      c.Total(),
			ValidClicks:      c.Counts[touchpoint.VerdictValid],
			MissingSignature: c.Counts[touchpoint.VerdictMissingSignature],
			ExpiredClicks:    c.Counts[touchpoint.VerdictClickExpired],
			InvalidSignature: c.Counts[touchpoint.VerdictInvalidSignature],
			NoActiveSecrets:  c.Counts[touchpoint.VerdictNoActiveSecrets],
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"from": from, "to": to, "hours": rows})
}

// parseTime reads an RFC 3339 query value, or returns def when it is empty.
func parseTime(v, name string, def time.Time) (time.Time, error) {
	if v == "" {
		return def, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, touchpoint.Errorf(touchpoint.EINVALID, "%s %q is not an RFC 3339 time such as 2026-11-23T00:00:00Z", name, v)
	}
	return t.UTC(), nil
}
