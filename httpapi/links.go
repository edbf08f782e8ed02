package httpapi

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/touchpointhq/touchpoint"
)

func (s *Server) registerLinkRoutes(mux *http.ServeMux) {
	s.handleAdmin(mux, "POST /api/v1/links/test", s.handleLinkTest)
}

// LinkTest is the body of POST /api/v1/links/test.
type LinkTest struct {
	URL string `json:"url"`
}

// LinkTestResult answers a link test as AppsFlyer's click-signing test
// endpoint does: passed, or failed with the failure code.
type LinkTestResult struct {
	Result string `json:"result"`           // passed | failed
	Reason string `json:"reason,omitempty"` // no_active_secrets | missing_signature | click_expired | invalid_signature
}

// POST /api/v1/links/test: checks the signature of a click URL
// (…/c/{app_id}?pid=…&expires=…&signature=…) against the partner's active
// secrets now, without recording anything.
func (s *Server) handleLinkTest(w http.ResponseWriter, r *http.Request) {
	var req LinkTest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	u, err := url.Parse(req.URL)
	if err != nil {
		writeError(w, r, touchpoint.Errorf(touchpoint.EINVALID, "url: %v", err))
		return
	}
	path := strings.TrimSuffix(u.Path, "/")
	appID := path[strings.LastIndex(path, "/")+1:]
	if !strings.HasPrefix(path, "/c/") && !strings.HasPrefix(path, "/v/") {
		writeError(w, r, touchpoint.Errorf(touchpoint.EINVALID, "url: want a link of this server, /c/{app_id}?pid=… or /v/{app_id}?pid=…"))
		return
	}
	pid := u.Query().Get("pid")
	if err := touchpoint.ValidatePID(pid); err != nil {
		writeError(w, r, err)
		return
	}
	v, err := s.svc.VerifyLink(r.Context(), appID, pid, u.RawQuery)
	if err != nil {
		writeError(w, r, err)
		return
	}
	res := LinkTestResult{Result: "passed"}
	if v != touchpoint.VerdictValid {
		res = LinkTestResult{Result: "failed", Reason: v.String()}
	}
	writeJSON(w, http.StatusOK, res)
}
