package batch_test

import (
	"errors"
	"testing"

	"github.com/touchpointhq/touchpoint/batch"
)

// TestClosedError: after Close, Add returns the error Options.Closed
// names, so that a server can answer it as a store that cannot write.
func TestClosedError(t *testing.T) {
	shutting := errors.New("shutting down")
	r := newRecorder(false)
	c := batch.New(r.commit, batch.Options{Closed: shutting})
	c.Close()
	if got := collect(t, addAll(c, 1), 1)[1]; got != shutting {
		t.Fatalf("Add after Close = %v, want %v", got, shutting)
	}
	if got := r.snapshot(); len(got) != 0 {
		t.Fatalf("commit calls = %v, want none", got)
	}
}
