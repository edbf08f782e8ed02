package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/touchpointhq/touchpoint"
)

// pathID reads the id a path names (a cohort's, a delivery's): a positive
// whole number, else there is no such thing (404), what names it.
func pathID(r *http.Request, name, what string) (int64, error) {
	raw := r.PathValue(name)
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return 0, touchpoint.Errorf(touchpoint.ENOTFOUND, "there is no %s %q: %s ids are whole numbers", what, raw, what)
	}
	return id, nil
}

// wholeNumber reads a form's whole number; field names it in the error.
func wholeNumber(field, s string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, touchpoint.Errorf(touchpoint.EINVALID, "%s %q: want a whole number", field, s)
	}
	return n, nil
}
