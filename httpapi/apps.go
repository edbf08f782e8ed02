package httpapi

import (
	"net/http"

	"github.com/touchpointhq/touchpoint"
)

func (s *Server) registerAppRoutes(mux *http.ServeMux) {
	s.handleAdmin(mux, "POST /api/v1/apps", s.handleAppCreate)
	s.handleAdmin(mux, "GET /api/v1/apps", s.handleAppList)
	s.handleAdmin(mux, "GET /api/v1/apps/{app_id}", s.handleAppGet)
	s.handleAdmin(mux, "PATCH /api/v1/apps/{app_id}", s.handleAppUpdate)
}

// AppCreate is the body of POST /api/v1/apps. Unset windows take
// AppsFlyer's defaults; an unset store URL is the platform's store page.
type AppCreate struct {
	ID       string                   `json:"app_id"`
	Platform touchpoint.Platform      `json:"platform"`
	Name     string                   `json:"name"`
	StoreURL string                   `json:"store_url"`
	Windows  touchpoint.WindowsUpdate `json:"windows"`
}

// POST /api/v1/apps
func (s *Server) handleAppCreate(w http.ResponseWriter, r *http.Request) {
	var req AppCreate
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	a := &touchpoint.App{ID: req.ID, Platform: req.Platform, Name: req.Name, StoreURL: req.StoreURL,
		Windows: req.Windows.Apply(touchpoint.DefaultWindows())}
	if a.StoreURL == "" && touchpoint.ValidateAppID(a.Platform, a.ID) == nil {
		a.StoreURL = touchpoint.DefaultStoreURL(a.Platform, a.ID)
	}
	if err := s.Store.CreateApp(r.Context(), a); err != nil {
		writeError(w, r, err)
		return
	}
	s.changed(r)
	writeJSON(w, http.StatusCreated, a)
}

// GET /api/v1/apps
func (s *Server) handleAppList(w http.ResponseWriter, r *http.Request) {
	apps, err := s.Store.ListApps(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	if apps == nil {
		apps = []*touchpoint.App{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"apps": apps})
}

// GET /api/v1/apps/{app_id}
func (s *Server) handleAppGet(w http.ResponseWriter, r *http.Request) {
	a, err := s.Store.FindApp(r.Context(), r.PathValue("app_id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

// PATCH /api/v1/apps/{app_id}
func (s *Server) handleAppUpdate(w http.ResponseWriter, r *http.Request) {
	var upd touchpoint.AppUpdate
	if err := decode(r, &upd); err != nil {
		writeError(w, r, err)
		return
	}
	a, err := s.Store.UpdateApp(r.Context(), r.PathValue("app_id"), upd)
	if err != nil {
		writeError(w, r, err)
		return
	}
	s.changed(r)
	writeJSON(w, http.StatusOK, a)
}
