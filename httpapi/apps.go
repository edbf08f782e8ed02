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

// AppCreate is the body of POST /api/v1/apps. Unset windows take
// AppsFlyer's defaults; an unset store URL is the platform's store page.
type AppCreate struct {
	ID       string                   `json:"app_id"`
	Platform touchpoint.Platform      `json:"platform"`
	Name     string                   `json:"name"`
	StoreURL string                   `json:"store_url"`
	Windows  touchpoint.WindowsUpdate `json:"windows"`
	MinCTIT  *int                     `json:"min_ctit_seconds"`
	// TestMode gives the app a test clock, starting at TestClock (default:
	// now) and standing still until moved.
	TestMode  bool       `json:"test_mode"`
	TestClock *time.Time `json:"test_clock"`
}

// POST /api/v1/apps
func (s *Server) handleAppCreate(w http.ResponseWriter, r *http.Request) {
	var req AppCreate
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	a := &touchpoint.App{ID: req.ID, Platform: req.Platform, Name: req.Name, StoreURL: req.StoreURL,
		Windows: req.Windows.Apply(touchpoint.DefaultWindows()), MinCTIT: touchpoint.DefaultMinCTIT, TestMode: req.TestMode,
		TestClock: req.TestClock}
	if req.MinCTIT != nil {
		a.MinCTIT = *req.MinCTIT
	}
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

// TestClockMove is the body of POST /api/v1/apps/{app_id}/test_clock: set
// the clock to Time, or advance it by Advance ("8d", "36h", or a Go
// duration such as "90m" or "30s").
type TestClockMove struct {
	Time    *time.Time `json:"time"`
	Advance string     `json:"advance"`
}

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
	if (req.Time == nil) == (req.Advance == "") {
		return nil, 0, touchpoint.Errorf(touchpoint.EINVALID, "send either time (RFC 3339) or advance (like \"8d\", \"36h\" or \"90s\")")
	}
	if req.Time != nil {
		return req.Time, 0, nil
	}
	step, err := parseStep(req.Advance)
	return nil, step, err
}

// parseStep reads a test clock step: a window ("8d", "36h") or a positive Go
// duration ("90m", "1h30m", "45s").
func parseStep(s string) (time.Duration, error) {
	if w, err := touchpoint.ParseWindow(s); err == nil {
		return w.Duration(), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, touchpoint.Errorf(touchpoint.EINVALID, "advance %q: want a positive length like \"8d\", \"36h\", \"90m\" or \"30s\"", s)
	}
	return d, nil
}
