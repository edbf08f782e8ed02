package httpapi

import (
	"net/http"
	"time"

	"github.com/touchpointhq/touchpoint"
)

func (s *Server) registerAppRoutes(mux *http.ServeMux) {
	s.handleAdmin(mux, "POST /api/v1/apps", s.handleAppCreate)
	s.handleAdmin(mux, "GET /api/v1/apps", s.handleAppList)
	s.handleAdmin(mux, "GET /api/v1/apps/{app_id}", s.handleAppGet)
	s.handleAdmin(mux, "PATCH /api/v1/apps/{app_id}", s.handleAppUpdate)
	s.handleAdmin(mux, "POST /api/v1/apps/{app_id}/test_clock", s.handleTestClock)
	s.handleAdmin(mux, "POST /api/v1/apps/{app_id}/keys/rotate", s.handleAppKeyRotate)
}

// AppCreate is the body of POST /api/v1/apps (touchpoint.AppCreate).
type AppCreate = touchpoint.AppCreate

// POST /api/v1/apps
func (s *Server) handleAppCreate(w http.ResponseWriter, r *http.Request) {
	var req AppCreate
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	a := req.App()
	if err := s.svc.CreateApp(r.Context(), a); err != nil {
		writeError(w, r, err)
		return
	}
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
	a, err := s.svc.UpdateApp(r.Context(), r.PathValue("app_id"), upd)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

// KeyRotate is the body of POST /api/v1/apps/{app_id}/keys/rotate (Key:
// dev_key or api_token) and POST /api/v1/projects/{project}/keys/rotate
// (api_key or secret_key).
type KeyRotate struct {
	Key touchpoint.KeyKind `json:"key"`
}

// POST /api/v1/apps/{app_id}/keys/rotate: the answer is the app with the
// new key, the only time it is shown; the old key stops working at once.
func (s *Server) handleAppKeyRotate(w http.ResponseWriter, r *http.Request) {
	var req KeyRotate
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	a, err := s.svc.RotateAppKey(r.Context(), r.PathValue("app_id"), req.Key)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

// TestClockMove is the body of POST /api/v1/apps/{app_id}/test_clock
// (touchpoint.TestClockMove).
type TestClockMove = touchpoint.TestClockMove

// POST /api/v1/apps/{app_id}/test_clock
func (s *Server) handleTestClock(w http.ResponseWriter, r *http.Request) {
	to, step, err := decodeTestClockMove(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	a, err := s.svc.MoveTestClock(r.Context(), r.PathValue("app_id"), to, step)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

// decodeTestClockMove reads a TestClockMove: the time to set, or the step
// to advance by.
func decodeTestClockMove(r *http.Request) (*time.Time, time.Duration, error) {
	var req TestClockMove
	if err := decode(r, &req); err != nil {
		return nil, 0, err
	}
	return req.Target()
}
