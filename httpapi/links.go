package httpapi

import (
	"net/http"

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
	c, err := s.svc.CheckLink(r.Context(), req.URL)
	if err != nil {
		writeError(w, r, err)
		return
	}
	res := LinkTestResult{Result: "passed"}
	if c.Verdict != touchpoint.VerdictValid {
		res = LinkTestResult{Result: "failed", Reason: c.Verdict.String()}
	}
	writeJSON(w, http.StatusOK, res)
}
