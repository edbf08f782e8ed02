package httpapi

import (
	"net/http"
	"strconv"

	"github.com/touchpointhq/touchpoint"
)

func (s *Server) registerIntegrationRoutes(mux *http.ServeMux) {
	s.handleAdmin(mux, "PUT /api/v1/apps/{app_id}/analytics-forward", s.handleForwardPut)
	s.handleAdmin(mux, "GET /api/v1/apps/{app_id}/analytics-forward", s.handleForwardGet)
	s.handleAdmin(mux, "DELETE /api/v1/apps/{app_id}/analytics-forward", s.handleForwardDelete)
	s.handleAdmin(mux, "POST /api/v1/projects/{project}/destinations", s.handleDestinationCreate)
	s.handleAdmin(mux, "GET /api/v1/projects/{project}/destinations", s.handleDestinationList)
	s.handleAdmin(mux, "GET /api/v1/projects/{project}/destinations/{id}", s.handleDestinationGet)
	s.handleAdmin(mux, "PATCH /api/v1/projects/{project}/destinations/{id}", s.handleDestinationUpdate)
	s.handleAdmin(mux, "DELETE /api/v1/projects/{project}/destinations/{id}", s.handleDestinationDelete)
}

// ForwardPut is the body of PUT /api/v1/apps/{app_id}/analytics-forward
// (touchpoint.ForwardPut).
type ForwardPut = touchpoint.ForwardPut

// PUT /api/v1/apps/{app_id}/analytics-forward
func (s *Server) handleForwardPut(w http.ResponseWriter, r *http.Request) {
	var req ForwardPut
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	f := req.Forward(r.PathValue("app_id"))
	if err := s.svc.PutForward(r.Context(), f); err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, f)
}

// GET /api/v1/apps/{app_id}/analytics-forward
func (s *Server) handleForwardGet(w http.ResponseWriter, r *http.Request) {
	f, err := s.Store.FindAnalyticsForward(r.Context(), r.PathValue("app_id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, f)
}

// DELETE /api/v1/apps/{app_id}/analytics-forward
func (s *Server) handleForwardDelete(w http.ResponseWriter, r *http.Request) {
	if err := s.svc.DeleteForward(r.Context(), r.PathValue("app_id")); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// DestinationCreate is the body of POST
// /api/v1/projects/{project}/destinations. Kind defaults to
// appsflyer-events, Enabled to true.
type DestinationCreate struct {
	Kind                touchpoint.DestinationKind `json:"kind"`
	Name                string                     `json:"name"`
	AppsFlyerAppID      string                     `json:"appsflyer_app_id"`
	Key                 string                     `json:"key"`
	URL                 string                     `json:"url"`
	Filter              touchpoint.EventFilter     `json:"filter"`
	AppsFlyerIDProperty string                     `json:"appsflyer_id_property"`
	APIToken            string                     `json:"api_token"`
	Platform            touchpoint.Platform        `json:"platform"`
	Identifier          string                     `json:"identifier"`
	Enabled             *bool                      `json:"enabled"`
}

// POST /api/v1/projects/{project}/destinations
func (s *Server) handleDestinationCreate(w http.ResponseWriter, r *http.Request) {
	id, err := projectID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	var req DestinationCreate
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	d := &touchpoint.Destination{Project: id, Kind: req.Kind, Name: req.Name, AppsFlyerAppID: req.AppsFlyerAppID,
		Key: req.Key, URL: req.URL, Filter: req.Filter, AppsFlyerIDProperty: req.AppsFlyerIDProperty,
		APIToken: req.APIToken, Platform: req.Platform, Identifier: req.Identifier, Enabled: req.Enabled == nil || *req.Enabled}
	if err := s.svc.CreateDestination(r.Context(), d); err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, d)
}

// GET /api/v1/projects/{project}/destinations
func (s *Server) handleDestinationList(w http.ResponseWriter, r *http.Request) {
	p, ok := s.project(w, r)
	if !ok {
		return
	}
	ds, err := s.Store.ListDestinations(r.Context(), p.ID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if ds == nil {
		ds = []*touchpoint.Destination{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"destinations": ds})
}

// destination reads the {project} and {id} path values: a destination of
// that project.
func (s *Server) destination(w http.ResponseWriter, r *http.Request) (*touchpoint.Destination, bool) {
	project, err := projectID(r)
	if err == nil {
		id, perr := strconv.ParseInt(r.PathValue("id"), 10, 64)
		var d *touchpoint.Destination
		switch {
		case perr != nil || id <= 0:
			err = touchpoint.Errorf(touchpoint.ENOTFOUND, "destination %q not found: destination ids are numbers", r.PathValue("id"))
		default:
			d, err = s.svc.Destination(r.Context(), project, id)
		}
		if err == nil {
			return d, true
		}
	}
	writeError(w, r, err)
	return nil, false
}

// GET /api/v1/projects/{project}/destinations/{id}
func (s *Server) handleDestinationGet(w http.ResponseWriter, r *http.Request) {
	if d, ok := s.destination(w, r); ok {
		writeJSON(w, http.StatusOK, d)
	}
}

// PATCH /api/v1/projects/{project}/destinations/{id}
func (s *Server) handleDestinationUpdate(w http.ResponseWriter, r *http.Request) {
	d, ok := s.destination(w, r)
	if !ok {
		return
	}
	var upd touchpoint.DestinationUpdate
	if err := decode(r, &upd); err != nil {
		writeError(w, r, err)
		return
	}
	d, err := s.svc.UpdateDestination(r.Context(), d.ID, upd)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// DELETE /api/v1/projects/{project}/destinations/{id}
func (s *Server) handleDestinationDelete(w http.ResponseWriter, r *http.Request) {
	d, ok := s.destination(w, r)
	if !ok {
		return
	}
	if err := s.svc.DeleteDestination(r.Context(), d.ID); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
