package httpapi

import (
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/touchpointhq/touchpoint"
)

func (s *Server) registerDeliveryRoutes(mux *http.ServeMux) {
	s.handleAdmin(mux, "GET /api/v1/deliveries", s.handleDeliveryList)
	s.handleAdmin(mux, "GET /api/v1/deliveries/{id}", s.handleDeliveryGet)
	s.handleAdmin(mux, "POST /api/v1/deliveries/{id}/retry", s.handleDeliveryRetry)
	s.handleAdmin(mux, "GET /api/v1/apps/{app_id}/partners/{pid}/postback-health", s.handlePostbackHealth)
}

const (
	defaultDeliveryLimit = 100
	maxDeliveryLimit     = 1000
)

// deliveryFilter reads the list filters: app_id, project_id, pid, kind,
// state, from and to (RFC 3339, on the creation time), cursor, limit.
func deliveryFilter(r *http.Request) (touchpoint.DeliveryFilter, error) {
	q := r.URL.Query()
	f := touchpoint.DeliveryFilter{App: q.Get("app_id"), PID: q.Get("pid"), Kind: touchpoint.DeliveryKind(q.Get("kind")),
		State: touchpoint.DeliveryState(q.Get("state")), Limit: defaultDeliveryLimit}
	for k := range q {
		switch k {
		case "app_id", "project_id", "pid", "kind", "state", "from", "to", "cursor", "limit":
		default:
			return f, touchpoint.Errorf(touchpoint.EINVALID, "unknown filter %q: use app_id, project_id, pid, kind, state, from, to, cursor, limit", k)
		}
	}
	if v := q.Get("project_id"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return f, touchpoint.Errorf(touchpoint.EINVALID, "project_id %q: want a project id (a number)", v)
		}
		f.Project = id
	}
	if f.Kind != "" && !slices.Contains(touchpoint.DeliveryKinds, f.Kind) {
		return f, touchpoint.Errorf(touchpoint.EINVALID, "kind %q: want one of %v", f.Kind, touchpoint.DeliveryKinds)
	}
	switch f.State {
	case "", touchpoint.DeliveryPending, touchpoint.DeliverySucceeded, touchpoint.DeliveryFailed:
	default:
		return f, touchpoint.Errorf(touchpoint.EINVALID, "state %q: want pending, succeeded or failed", f.State)
	}
	var err error
	if f.From, err = parseTime(q.Get("from"), "from", f.From); err != nil {
		return f, err
	}
	if f.To, err = parseTime(q.Get("to"), "to", f.To); err != nil {
		return f, err
	}
	f.Before, f.Limit, err = parsePage(q, f.Limit, maxDeliveryLimit)
	return f, err
}

// DeliveryPage is a page of deliveries, newest first.
type DeliveryPage struct {
	Deliveries []*touchpoint.Delivery `json:"deliveries"`
	NextCursor string                 `json:"next_cursor,omitempty"`
	Next       string                 `json:"next,omitempty"`
}

// GET /api/v1/deliveries
func (s *Server) handleDeliveryList(w http.ResponseWriter, r *http.Request) {
	f, err := deliveryFilter(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	ds, next, err := s.Store.ListDeliveries(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	page := DeliveryPage{Deliveries: ds}
	if page.Deliveries == nil {
		page.Deliveries = []*touchpoint.Delivery{}
	}
	page.NextCursor, page.Next = nextPage(r, next)
	writeJSON(w, http.StatusOK, page)
}

func deliveryID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, touchpoint.Errorf(touchpoint.ENOTFOUND, "delivery %q not found", r.PathValue("id"))
	}
	return id, nil
}

// GET /api/v1/deliveries/{id}: one delivery with every attempt.
func (s *Server) handleDeliveryGet(w http.ResponseWriter, r *http.Request) {
	id, err := deliveryID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	d, err := s.Store.FindDelivery(r.Context(), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// POST /api/v1/deliveries/{id}/retry: a given-up delivery is due again,
// with as many tries as it had.
func (s *Server) handleDeliveryRetry(w http.ResponseWriter, r *http.Request) {
	id, err := deliveryID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	d, err := s.svc.RetryDelivery(r.Context(), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// GET /api/v1/apps/{app_id}/partners/{pid}/postback-health?from=&to=: the
// partner's attempts in the range (default: the last 24 hours), their
// success rate and latency, and its backlog.
func (s *Server) handlePostbackHealth(w http.ResponseWriter, r *http.Request) {
	p, err := s.Store.FindPartner(r.Context(), r.PathValue("app_id"), r.PathValue("pid"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	now := s.Store.Now().UTC()
	to, err := parseTime(r.URL.Query().Get("to"), "to", now)
	if err != nil {
		writeError(w, r, err)
		return
	}
	from, err := parseTime(r.URL.Query().Get("from"), "from", to.Add(-24*time.Hour))
	if err != nil {
		writeError(w, r, err)
		return
	}
	if !from.Before(to) {
		writeError(w, r, touchpoint.Errorf(touchpoint.EINVALID, "from must be before to"))
		return
	}
	h, err := s.Store.DeliveryHealth(r.Context(), p.AppID, p.PID, from, to)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, h)
}
