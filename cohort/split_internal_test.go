package cohort

import (
	"net/http"
	"testing"

	"github.com/touchpointhq/touchpoint"
)

// TestSplit: which refusals make a batch be sent again in smaller ones,
// and how small.
func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
		n      int
		want   int
	}{
		{http.StatusBadRequest, `{"message":"Cannot process more than 3 devices per request (10 devices counted in this request)"}`, 10, 3},
		{http.StatusRequestEntityTooLarge, ``, 9, 5},
		// Our own import API refuses a body over 16 MB (long user ids).
		{http.StatusBadRequest, `{"message":"The request body is larger than 16 MB"}`, 10, 5},
		{http.StatusBadRequest, `{"message":"Invalid audience platform"}`, 10, 0},
		{http.StatusBadRequest, `{"message":"The request body is larger than 16 MB"}`, 1, 0},
		{http.StatusInternalServerError, `The request body is larger than 16 MB`, 10, 0},
	} {
		if got := split(touchpoint.SyncResponse{Status: tc.status, Body: tc.body}, tc.n); got != tc.want {
			t.Errorf("%d %s, batch of %d: split into %d, want %d", tc.status, tc.body, tc.n, got, tc.want)
		}
	}
}
