package touchpoint_test

import (
	"fmt"
	"testing"

	"github.com/touchpointhq/touchpoint"
)

// TestPropReaderDuplicateNames: a stored event keeps its members as they
// came, a name repeated too (HTTP V2 takes that); cohort conditions read
// the last of each, as JSON.parse does, and every property after the
// repeated one, rather than stopping there.
func TestPropReaderDuplicateNames(t *testing.T) {
	r := touchpoint.NewPropReader([]string{"level", "color", "os_version"}, nil)
	vals := make([]any, 3)
	r.Read([]byte(`{"device_id":"d","os_version":"16","os_version":"17","event_properties":{"level":1,"level":2,"color":"red"}}`), vals)
	if fmt.Sprint(vals[0]) != "2" || vals[1] != "red" || vals[2] != "17" {
		t.Errorf("read = %#v, want level 2, color red, os_version 17 (the last of each)", vals)
	}
}

// TestPropReaderTopOnly: a name read among the top-level fields only
// skips event_properties, where another name of the reader still looks
// first; a missing name is nil, and what is not an object has none.
func TestPropReaderTopOnly(t *testing.T) {
	r := touchpoint.NewPropReader([]string{"revenue", "platform", "coupon"}, []bool{true, false, false})
	vals := make([]any, 3)
	r.Read([]byte(`{"revenue":3.5,"platform":"iOS","event_properties":{"revenue":9,"platform":"web"}}`), vals)
	if vals[0] != 3.5 || vals[1] != "web" || vals[2] != nil {
		t.Errorf("read = %#v, want revenue 3.5 (top level), platform web (event_properties), coupon nil", vals)
	}
	r.Read([]byte(`[1,2]`), vals)
	if vals[0] != nil || vals[1] != nil || vals[2] != nil {
		t.Errorf("read of a list = %#v, want nothing", vals)
	}
}
