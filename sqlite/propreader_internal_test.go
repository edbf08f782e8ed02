package sqlite

import (
	"fmt"
	"testing"
)

// TestPropReaderDuplicateNames: a stored event keeps its members as they
// came, a name repeated too (HTTP V2 takes that); cohort conditions read
// the last of each, as JSON.parse does, and every property after the
// repeated one, rather than stopping there.
func TestPropReaderDuplicateNames(t *testing.T) {
	r := newPropReader([]string{"level", "color", "os_version"})
	vals := make([]any, 3)
	r.read([]byte(`{"device_id":"d","os_version":"16","os_version":"17","event_properties":{"level":1,"level":2,"color":"red"}}`), vals)
	if fmt.Sprint(vals[0]) != "2" || vals[1] != "red" || vals[2] != "17" {
		t.Errorf("read = %#v, want level 2, color red, os_version 17 (the last of each)", vals)
	}
}
