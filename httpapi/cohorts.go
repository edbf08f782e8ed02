package httpapi

import (
	"net/http"
	"strconv"

	"github.com/touchpointhq/touchpoint"
)

func (s *Server) registerCohortRoutes(mux *http.ServeMux) {
	s.handleAdmin(mux, "POST /api/v1/projects/{project}/cohorts", s.handleCohortCreate)
	s.handleAdmin(mux, "GET /api/v1/projects/{project}/cohorts", s.handleCohortList)
	s.handleAdmin(mux, "POST /api/v1/projects/{project}/cohorts/preview", s.handleCohortPreview)
	s.handleAdmin(mux, "GET /api/v1/projects/{project}/cohorts/{id}", s.handleCohortGet)
	s.handleAdmin(mux, "PATCH /api/v1/projects/{project}/cohorts/{id}", s.handleCohortUpdate)
	s.handleAdmin(mux, "DELETE /api/v1/projects/{project}/cohorts/{id}", s.handleCohortDelete)
	s.handleAdmin(mux, "GET /api/v1/projects/{project}/cohorts/{id}/versions", s.handleCohortVersions)
	s.handleAdmin(mux, "POST /api/v1/projects/{project}/cohorts/{id}/compute", s.handleCohortCompute)
	s.handleAdmin(mux, "GET /api/v1/projects/{project}/cohorts/{id}/members", s.handleCohortMembers)
	s.handleAdmin(mux, "POST /api/v1/projects/{project}/cohorts/{id}/syncs", s.handleSyncCreate)
	s.handleAdmin(mux, "GET /api/v1/projects/{project}/cohorts/{id}/syncs", s.handleSyncList)
	s.handleAdmin(mux, "GET /api/v1/projects/{project}/cohorts/{id}/syncs/{sync}", s.handleSyncGet)
	s.handleAdmin(mux, "PATCH /api/v1/projects/{project}/cohorts/{id}/syncs/{sync}", s.handleSyncUpdate)
	s.handleAdmin(mux, "DELETE /api/v1/projects/{project}/cohorts/{id}/syncs/{sync}", s.handleSyncDelete)
	s.handleAdmin(mux, "GET /api/v1/projects/{project}/cohorts/{id}/syncs/{sync}/runs", s.handleSyncRuns)
	s.handleAdmin(mux, "POST /api/v1/projects/{project}/cohorts/{id}/syncs/{sync}/run", s.handleSyncRun)
}

// pathID parses a numeric path value.
func pathID(r *http.Request, name, what string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, touchpoint.Errorf(touchpoint.EINVALID, "%s id %q is not a number", what, r.PathValue(name))
	}
	return id, nil
}

// projectCohort returns the cohort of the path, of the path's project.
func (s *Server) projectCohort(r *http.Request) (*touchpoint.Cohort, error) {
	project, err := pathID(r, "project", "project")
	if err != nil {
		return nil, err
	}
	id, err := pathID(r, "id", "cohort")
	if err != nil {
		return nil, err
	}
	c, err := s.Store.FindCohort(r.Context(), id)
	if err == nil && c.Project != project {
		err = touchpoint.Errorf(touchpoint.ENOTFOUND, "cohort %d not found in project %d", id, project)
	}
	return c, err
}

// cohortSync returns the sync of the path, of the path's cohort.
func (s *Server) cohortSync(r *http.Request) (*touchpoint.CohortSync, error) {
	c, err := s.projectCohort(r)
	if err != nil {
		return nil, err
	}
	id, err := pathID(r, "sync", "sync")
	if err != nil {
		return nil, err
	}
	sy, err := s.Store.FindCohortSync(r.Context(), id)
	if err == nil && sy.Cohort != c.ID {
		err = touchpoint.Errorf(touchpoint.ENOTFOUND, "cohort %d has no sync %d", c.ID, id)
	}
	return sy, err
}

// CohortCreate is the body of POST /api/v1/projects/{project}/cohorts.
type CohortCreate struct {
	Name        string               `json:"name"`
	Description string               `json:"description"`
	Definition  touchpoint.Condition `json:"definition"`
}

// POST /api/v1/projects/{project}/cohorts
func (s *Server) handleCohortCreate(w http.ResponseWriter, r *http.Request) {
	project, err := pathID(r, "project", "project")
	if err != nil {
		writeError(w, r, err)
		return
	}
	var req CohortCreate
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	c := &touchpoint.Cohort{Project: project, Name: req.Name, Description: req.Description, Definition: req.Definition}
	if err := s.Store.CreateCohort(r.Context(), c); err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, c)
}

// GET /api/v1/projects/{project}/cohorts
func (s *Server) handleCohortList(w http.ResponseWriter, r *http.Request) {
	project, err := pathID(r, "project", "project")
	if err == nil {
		_, err = s.Store.FindProject(r.Context(), project)
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	cs, err := s.Store.ListCohorts(r.Context(), project)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"cohorts": cs})
}

// CohortPreviewRequest is the body of POST
// /api/v1/projects/{project}/cohorts/preview. Sample defaults to 100.
type CohortPreviewRequest struct {
	Definition touchpoint.Condition `json:"definition"`
	Sample     *int                 `json:"sample"`
}

// POST /api/v1/projects/{project}/cohorts/preview
func (s *Server) handleCohortPreview(w http.ResponseWriter, r *http.Request) {
	project, err := pathID(r, "project", "project")
	if err != nil {
		writeError(w, r, err)
		return
	}
	var req CohortPreviewRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	sample := 100
	if req.Sample != nil {
		if *req.Sample < 0 || *req.Sample > 1000 {
			writeError(w, r, touchpoint.Errorf(touchpoint.EINVALID, "sample %d: want 0 to 1000 members", *req.Sample))
			return
		}
		sample = *req.Sample
	}
	p, err := s.svc.PreviewCohort(r.Context(), project, req.Definition, sample)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// GET /api/v1/projects/{project}/cohorts/{id}
func (s *Server) handleCohortGet(w http.ResponseWriter, r *http.Request) {
	c, err := s.projectCohort(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// PATCH /api/v1/projects/{project}/cohorts/{id}
func (s *Server) handleCohortUpdate(w http.ResponseWriter, r *http.Request) {
	c, err := s.projectCohort(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	var upd touchpoint.CohortUpdate
	if err := decode(r, &upd); err != nil {
		writeError(w, r, err)
		return
	}
	if c, err = s.Store.UpdateCohort(r.Context(), c.ID, upd); err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// DELETE /api/v1/projects/{project}/cohorts/{id}
func (s *Server) handleCohortDelete(w http.ResponseWriter, r *http.Request) {
	c, err := s.projectCohort(r)
	if err == nil {
		err = s.Store.DeleteCohort(r.Context(), c.ID)
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// GET /api/v1/projects/{project}/cohorts/{id}/versions
func (s *Server) handleCohortVersions(w http.ResponseWriter, r *http.Request) {
	c, err := s.projectCohort(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	vs, err := s.Store.CohortVersions(r.Context(), c.ID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"versions": vs})
}

// CohortComputation answers POST .../cohorts/{id}/compute: the
// membership, how many entered and left, up to 100 of each, and how long
// it took.
type CohortComputation struct {
	touchpoint.Membership
	EnteredCount int     `json:"entered_count"`
	LeftCount    int     `json:"left_count"`
	Entered      []int64 `json:"entered"`
	Left         []int64 `json:"left"`
	TookMS       int64   `json:"took_ms"`
}

// POST /api/v1/projects/{project}/cohorts/{id}/compute
func (s *Server) handleCohortCompute(w http.ResponseWriter, r *http.Request) {
	c, err := s.projectCohort(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	m, err := s.svc.ComputeCohort(r.Context(), c)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, CohortComputation{Membership: *m, EnteredCount: len(m.Entered), LeftCount: len(m.Left),
		Entered: m.Entered[:min(100, len(m.Entered))], Left: m.Left[:min(100, len(m.Left))], TookMS: m.Took.Milliseconds()})
}

// CohortMemberPage is a page of a cohort's members.
type CohortMemberPage struct {
	Members []touchpoint.CohortMember `json:"members"`
	Next    int64                     `json:"next_cursor,omitempty"`
}

// GET /api/v1/projects/{project}/cohorts/{id}/members?cursor=&limit=
func (s *Server) handleCohortMembers(w http.ResponseWriter, r *http.Request) {
	c, err := s.projectCohort(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	cursor, limit, err := parsePage(r.URL.Query(), 1000, 10000)
	if err != nil {
		writeError(w, r, err)
		return
	}
	ms, err := s.Store.CohortMembers(r.Context(), c.ID, cursor, limit+1)
	if err != nil {
		writeError(w, r, err)
		return
	}
	page := CohortMemberPage{Members: ms}
	if len(ms) > limit {
		page.Members = ms[:limit]
		page.Next = ms[limit-1].AmplitudeID
	}
	writeJSON(w, http.StatusOK, page)
}

// SyncCreate is the body of POST .../cohorts/{id}/syncs. Cadence
// defaults to once, BatchSize to 10,000, Enabled to true.
type SyncCreate struct {
	Destination int64  `json:"destination_id"`
	Cadence     string `json:"cadence"`
	BatchSize   int    `json:"batch_size"`
	Enabled     *bool  `json:"enabled"`
}

// POST /api/v1/projects/{project}/cohorts/{id}/syncs
func (s *Server) handleSyncCreate(w http.ResponseWriter, r *http.Request) {
	c, err := s.projectCohort(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	var req SyncCreate
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	sy := &touchpoint.CohortSync{Cohort: c.ID, Destination: req.Destination, Cadence: req.Cadence, BatchSize: req.BatchSize,
		Enabled: req.Enabled == nil || *req.Enabled}
	if err := s.svc.CreateCohortSync(r.Context(), sy); err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, sy)
}

// GET /api/v1/projects/{project}/cohorts/{id}/syncs
func (s *Server) handleSyncList(w http.ResponseWriter, r *http.Request) {
	c, err := s.projectCohort(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	ss, err := s.Store.ListCohortSyncs(r.Context(), c.ID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"syncs": ss})
}

// GET /api/v1/projects/{project}/cohorts/{id}/syncs/{sync}
func (s *Server) handleSyncGet(w http.ResponseWriter, r *http.Request) {
	sy, err := s.cohortSync(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, sy)
}

// PATCH /api/v1/projects/{project}/cohorts/{id}/syncs/{sync}
func (s *Server) handleSyncUpdate(w http.ResponseWriter, r *http.Request) {
	sy, err := s.cohortSync(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	var upd touchpoint.CohortSyncUpdate
	if err := decode(r, &upd); err != nil {
		writeError(w, r, err)
		return
	}
	if sy, err = s.svc.UpdateCohortSync(r.Context(), sy.ID, upd); err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, sy)
}

// DELETE /api/v1/projects/{project}/cohorts/{id}/syncs/{sync}
func (s *Server) handleSyncDelete(w http.ResponseWriter, r *http.Request) {
	sy, err := s.cohortSync(r)
	if err == nil {
		err = s.Store.DeleteCohortSync(r.Context(), sy.ID)
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// GET /api/v1/projects/{project}/cohorts/{id}/syncs/{sync}/runs?limit=
func (s *Server) handleSyncRuns(w http.ResponseWriter, r *http.Request) {
	sy, err := s.cohortSync(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	_, limit, err := parsePage(r.URL.Query(), 20, 1000)
	if err != nil {
		writeError(w, r, err)
		return
	}
	runs, err := s.Store.SyncRuns(r.Context(), sy.ID, limit)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"runs": runs})
}

// POST /api/v1/projects/{project}/cohorts/{id}/syncs/{sync}/run: run
// now, whatever the cadence, and answer the run.
func (s *Server) handleSyncRun(w http.ResponseWriter, r *http.Request) {
	sy, err := s.cohortSync(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	run, err := s.svc.RunCohortSync(r.Context(), sy.ID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, run)
}
