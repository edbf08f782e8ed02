package httpapi

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/touchpointhq/touchpoint"
)

func (s *Server) registerTouchRoutes(mux *http.ServeMux) {
	s.handleAdmin(mux, "GET /api/v1/apps/{app_id}/touches", s.handleTouchList)
	s.handleAdmin(mux, "GET /api/v1/apps/{app_id}/touches/count", s.handleTouchCount)
	s.handleAdmin(mux, "GET /api/v1/apps/{app_id}/touches/{touch_id}", s.handleTouchGet)
}

// Page sizes of the touch list.
const (
	defaultTouchLimit = 50
	maxTouchLimit     = 1000
)

// touchFilter reads the list filters: pid, kind (click|impression), from and
// to (RFC 3339), device_id (raw, sha1 or md5), click_id, cursor, limit.
func touchFilter(r *http.Request) (touchpoint.TouchFilter, error) {
	q := r.URL.Query()
	f := touchpoint.TouchFilter{App: r.PathValue("app_id"), PID: q.Get("pid"), DeviceID: q.Get("device_id"),
		ClickID: q.Get("click_id"), Limit: defaultTouchLimit}
	for k := range q {
		switch k {
		case "pid", "kind", "from", "to", "device_id", "click_id", "cursor", "limit":
		default:
			return f, touchpoint.Errorf(touchpoint.EINVALID, "unknown filter %q: use pid, kind, from, to, device_id, click_id, cursor, limit", k)
		}
	}
	var err error
	if v := q.Get("kind"); v != "" {
		if f.Kind, err = touchpoint.ParseTouchKind(v); err != nil {
			return f, err
		}
	}
	if f.From, err = parseTime(q.Get("from"), "from", f.From); err != nil {
		return f, err
	}
	if f.To, err = parseTime(q.Get("to"), "to", f.To); err != nil {
		return f, err
	}
	f.Before, f.Limit, err = parsePage(q, f.Limit, maxTouchLimit)
	return f, err
}

// TouchPage is a page of touches, newest first. NextCursor, when set, is
// the cursor parameter of the next page.
type TouchPage struct {
	Touches    []*touchpoint.Touch `json:"touches"`
	NextCursor string              `json:"next_cursor,omitempty"`
	Next       string              `json:"next,omitempty"` // the next page's path and query
}

// GET /api/v1/apps/{app_id}/touches
func (s *Server) handleTouchList(w http.ResponseWriter, r *http.Request) {
	f, err := touchFilter(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	ts, next, err := s.Store.ListTouches(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	page := TouchPage{Touches: ts}
	if page.Touches == nil {
		page.Touches = []*touchpoint.Touch{}
	}
	page.NextCursor, page.Next = nextPage(r, next)
	writeJSON(w, http.StatusOK, page)
}

// GET /api/v1/apps/{app_id}/touches/count: the number of touches that match
// the same filters as the list.
func (s *Server) handleTouchCount(w http.ResponseWriter, r *http.Request) {
	f, err := touchFilter(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	n, err := s.Store.CountTouches(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int64{"count": n})
}

// GET /api/v1/apps/{app_id}/touches/{touch_id}
func (s *Server) handleTouchGet(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("touch_id"), 10, 64)
	if err != nil {
		writeError(w, r, touchpoint.Errorf(touchpoint.ENOTFOUND, "touch %q not found", r.PathValue("touch_id")))
		return
	}
	t, err := s.Store.FindTouch(r.Context(), r.PathValue("app_id"), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

// parsePage reads the paging parameters of a list: cursor (a next_cursor
// this API returned) and limit (1 to max; def when absent).
func parsePage(q url.Values, def, max int) (before int64, limit int, err error) {
	limit = def
	if v := q.Get("cursor"); v != "" {
		if before, err = strconv.ParseInt(v, 10, 64); err != nil || before <= 0 {
			return 0, 0, touchpoint.Errorf(touchpoint.EINVALID, "cursor %q is not one this API returned", v)
		}
	}
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > max {
			return 0, 0, touchpoint.Errorf(touchpoint.EINVALID, "limit %q: want a number from 1 to %d", v, max)
		}
	}
	return before, limit, nil
}

// nextPage returns the next_cursor and next link of a page whose store
// answered next (0: the last page).
func nextPage(r *http.Request, next int64) (cursor, link string) {
	if next == 0 {
		return "", ""
	}
	cursor = strconv.FormatInt(next, 10)
	q := r.URL.Query()
	q.Set("cursor", cursor)
	return cursor, (&url.URL{Path: r.URL.Path, RawQuery: q.Encode()}).String()
}
