package httpapi

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/chart"
)

func (s *Server) registerProjectRoutes(mux *http.ServeMux) {
	s.handleAdmin(mux, "POST /api/v1/projects", s.handleProjectCreate)
	s.handleAdmin(mux, "GET /api/v1/projects", s.handleProjectList)
	s.handleAdmin(mux, "GET /api/v1/projects/{project}", s.handleProjectGet)
	s.handleAdmin(mux, "PATCH /api/v1/projects/{project}", s.handleProjectUpdate)
	s.handleAdmin(mux, "POST /api/v1/projects/{project}/keys/rotate", s.handleProjectKeyRotate)
	s.handleAdmin(mux, "POST /api/v1/projects/{project}/test_clock", s.handleProjectTestClock)
	s.handleAdmin(mux, "GET /api/v1/projects/{project}/users", s.handleUserLookup)
	s.handleAdmin(mux, "GET /api/v1/projects/{project}/users/{amplitude_id}", s.handleUserGet)
	s.handleAdmin(mux, "GET /api/v1/projects/{project}/users/{amplitude_id}/events", s.handleUserEvents)
	s.handleAdmin(mux, "GET /api/v1/projects/{project}/groups/{type}/{value}", s.handleGroupGet)
	s.handleAdmin(mux, "GET /api/v1/projects/{project}/attributions/pending", s.handlePendingAttributions)
	s.handleAdmin(mux, "POST /api/v1/projects/{project}/charts/{kind}", s.handleChart)
}

// ProjectCreate is the body of POST /api/v1/projects
// (touchpoint.ProjectCreate).
type ProjectCreate = touchpoint.ProjectCreate

// POST /api/v1/projects
func (s *Server) handleProjectCreate(w http.ResponseWriter, r *http.Request) {
	var req ProjectCreate
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	p := req.Project()
	if err := s.Store.CreateProject(r.Context(), p); err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, p)
}

// POST /api/v1/projects/{project}/test_clock: set a test-mode project's
// clock to time, or advance it (TestClockMove, as for apps).
func (s *Server) handleProjectTestClock(w http.ResponseWriter, r *http.Request) {
	id, err := projectID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	to, step, err := decodeTestClockMove(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	p, err := s.svc.MoveProjectTestClock(r.Context(), id, to, step)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// GET /api/v1/projects
func (s *Server) handleProjectList(w http.ResponseWriter, r *http.Request) {
	ps, err := s.Store.ListProjects(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	if ps == nil {
		ps = []*touchpoint.Project{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"projects": ps})
}

// projectID reads the {project} path value.
func projectID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("project"), 10, 64)
	if err != nil || id <= 0 {
		return 0, touchpoint.Errorf(touchpoint.ENOTFOUND, "project %q not found: project ids are numbers", r.PathValue("project"))
	}
	return id, nil
}

// project reads the {project} path value and checks that it exists.
func (s *Server) project(w http.ResponseWriter, r *http.Request) (*touchpoint.Project, bool) {
	id, err := projectID(r)
	if err == nil {
		var p *touchpoint.Project
		if p, err = s.Store.FindProject(r.Context(), id); err == nil {
			return p, true
		}
	}
	writeError(w, r, err)
	return nil, false
}

// GET /api/v1/projects/{project}
func (s *Server) handleProjectGet(w http.ResponseWriter, r *http.Request) {
	if p, ok := s.project(w, r); ok {
		writeJSON(w, http.StatusOK, p)
	}
}

// PATCH /api/v1/projects/{project}
func (s *Server) handleProjectUpdate(w http.ResponseWriter, r *http.Request) {
	id, err := projectID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	var upd touchpoint.ProjectUpdate
	if err := decode(r, &upd); err != nil {
		writeError(w, r, err)
		return
	}
	p, err := s.Store.UpdateProject(r.Context(), id, upd)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// POST /api/v1/projects/{project}/keys/rotate (KeyRotate): the answer is
// the project with the new key, the only time it is shown; the old key
// stops working at once.
func (s *Server) handleProjectKeyRotate(w http.ResponseWriter, r *http.Request) {
	id, err := projectID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	var req KeyRotate
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	p, err := s.Store.RotateProjectKey(r.Context(), id, req.Key)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// GET /api/v1/projects/{project}/users?user_id=…|device_id=…
func (s *Server) handleUserLookup(w http.ResponseWriter, r *http.Request) {
	p, ok := s.project(w, r)
	if !ok {
		return
	}
	u, err := s.Store.LookupUser(r.Context(), p.ID, r.URL.Query().Get("user_id"), r.URL.Query().Get("device_id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

// projectUser reads the {project} and {amplitude_id} path values.
func (s *Server) projectUser(w http.ResponseWriter, r *http.Request) (*touchpoint.Project, int64, bool) {
	p, ok := s.project(w, r)
	if !ok {
		return nil, 0, false
	}
	id, err := strconv.ParseInt(r.PathValue("amplitude_id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, r, touchpoint.Errorf(touchpoint.ENOTFOUND, "user %q not found: amplitude ids are numbers", r.PathValue("amplitude_id")))
		return nil, 0, false
	}
	return p, id, true
}

// GET /api/v1/projects/{project}/users/{amplitude_id}
func (s *Server) handleUserGet(w http.ResponseWriter, r *http.Request) {
	p, id, ok := s.projectUser(w, r)
	if !ok {
		return
	}
	u, err := s.Store.FindUser(r.Context(), p.ID, id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

// GET /api/v1/projects/{project}/users/{amplitude_id}/events?cursor=&limit=:
// the user's events, oldest first, each with the user properties it was
// stored with.
func (s *Server) handleUserEvents(w http.ResponseWriter, r *http.Request) {
	p, id, ok := s.projectUser(w, r)
	if !ok {
		return
	}
	cursor, limit, err := parsePage(r.URL.Query(), 100, 1000)
	if err != nil {
		writeError(w, r, err)
		return
	}
	page, err := s.Store.UserEvents(r.Context(), p.ID, id, cursor, limit)
	if err != nil {
		writeError(w, r, err)
		return
	}
	next, link := nextPage(r, page.Next)
	writeJSON(w, http.StatusOK, map[string]any{"events": page.Events, "next_cursor": next, "next": link})
}

// GET /api/v1/projects/{project}/groups/{type}/{value}
func (s *Server) handleGroupGet(w http.ResponseWriter, r *http.Request) {
	p, ok := s.project(w, r)
	if !ok {
		return
	}
	g, err := s.Store.FindGroup(r.Context(), p.ID, r.PathValue("type"), r.PathValue("value"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, g)
}

// GET /api/v1/projects/{project}/attributions/pending
func (s *Server) handlePendingAttributions(w http.ResponseWriter, r *http.Request) {
	id, err := projectID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	pend, err := s.svc.PendingAttributions(r.Context(), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, pend)
}

// POST /api/v1/projects/{project}/charts/{kind}: a chart (package chart)
// of the query in the body, in the project's time zone at its time.
func (s *Server) handleChart(w http.ResponseWriter, r *http.Request) {
	id, err := projectID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	q := chart.New(r.PathValue("kind"))
	if q == nil {
		writeError(w, r, touchpoint.Errorf(touchpoint.ENOTFOUND, "no chart %q: %s", r.PathValue("kind"), strings.Join(chart.Kinds, ", ")))
		return
	}
	if err := decode(r, q); err != nil {
		writeError(w, r, err)
		return
	}
	res, err := s.svc.Chart(r.Context(), id, q)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}
