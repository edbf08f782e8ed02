package touchpoint_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// FuzzCohortDefinition decodes random cohort bodies as the admin API does
// (unknown fields refused) and validates them. Validation refuses with
// EINVALID only; a valid cohort's definition is stored as JSON and read
// back (as the store does): it must come back the same, still valid, and
// encode to the same bytes; and evaluating its conditions never panics.
func FuzzCohortDefinition(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		var req struct {
			Name        string               `json:"name"`
			Description string               `json:"description"`
			Definition  touchpoint.Condition `json:"definition"`
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if dec.Decode(&req) != nil || dec.More() {
			return // the API refuses it before validating
		}
		c := &touchpoint.Cohort{Name: req.Name, Description: req.Description, Definition: req.Definition}
		c.Normalize()
		if err := c.Validate(); err != nil {
			if touchpoint.ErrorCode(err) != touchpoint.EINVALID {
				t.Fatalf("Validate: %v, want EINVALID", err)
			}
			return
		}
		stored, err := json.Marshal(c.Definition)
		if err != nil {
			t.Fatalf("a valid definition does not encode: %v", err)
		}
		var back touchpoint.Condition
		if err := json.Unmarshal(stored, &back); err != nil {
			t.Fatalf("stored definition %s does not decode: %v", stored, err)
		}
		if !reflect.DeepEqual(back, emptyListsNil(c.Definition)) {
			t.Errorf("definition changed by storing:\n got %#v\nwant %#v\nstored %s", back, c.Definition, stored)
		}
		c2 := *c
		c2.Definition = back
		if err := c2.Validate(); err != nil {
			t.Errorf("stored definition %s no longer valid: %v", stored, err)
		}
		if again, _ := json.Marshal(back); !bytes.Equal(again, stored) {
			t.Errorf("stored definition re-encodes differently:\n%s\n%s", stored, again)
		}
		evaluate(&c.Definition)
	})
}

// emptyListsNil returns c with its empty where and values lists nil: both
// encode as none (omitempty), and mean none.
func emptyListsNil(c touchpoint.Condition) touchpoint.Condition {
	vc := func(v touchpoint.ValueCondition) touchpoint.ValueCondition {
		if len(v.Values) == 0 {
			v.Values = nil
		}
		return v
	}
	for i := range c.And {
		c.And[i] = emptyListsNil(c.And[i])
	}
	for i := range c.Or {
		c.Or[i] = emptyListsNil(c.Or[i])
	}
	if c.Not != nil {
		n := emptyListsNil(*c.Not)
		c.Not = &n
	}
	if c.Event != nil {
		e := *c.Event
		if len(e.Where) == 0 {
			e.Where = nil
		}
		for i := range e.Where {
			e.Where[i] = vc(e.Where[i])
		}
		c.Event = &e
	}
	if c.UserProperty != nil {
		v := vc(*c.UserProperty)
		c.UserProperty = &v
	}
	return c
}

// evaluate runs what computing a cohort runs on each condition, on values
// of every kind a property holds.
func evaluate(c *touchpoint.Condition) {
	values := []any{nil, "", "x", "3", 3.5, int64(-2), true, json.Number("1e999"), json.Number("7"), []any{"x", 1.0}, []any{}}
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	match := func(v *touchpoint.ValueCondition) {
		for _, x := range values {
			v.Match(x)
		}
	}
	for i := range c.And {
		evaluate(&c.And[i])
	}
	for i := range c.Or {
		evaluate(&c.Or[i])
	}
	if c.Not != nil {
		evaluate(c.Not)
	}
	if c.Event != nil {
		c.Event.TimeRange.Bounds(now)
		for i := range c.Event.Where {
			match(&c.Event.Where[i])
		}
	}
	if c.UserProperty != nil {
		match(c.UserProperty)
	}
	if c.FirstSeen != nil {
		c.FirstSeen.Bounds(now)
	}
}
