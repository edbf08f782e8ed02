package chart

import (
	"reflect"
	"strings"
	"testing"
)

// TestNewFilter reads filters from a form's parts: the value by its
// operator, the scope event by default. ParseFilter's text form is
// tested with the CLI that reads --where (cmd/touchpoint).
func TestNewFilter(t *testing.T) {
	for _, tc := range []struct {
		scope, prop, op, value string
		want                   Filter
	}{
		{"", "price", ">", " 20 ", Filter{Type: "event", Property: "price", Op: ">", Value: 20.0}},
		{"user", "[AppsFlyer] media source", "=", "examplenet", Filter{Type: "user", Property: "[AppsFlyer] media source", Op: "=", Value: "examplenet"}},
		{"event", "country", "in", "US, DE,FR", Filter{Type: "event", Property: "country", Op: "in", Values: []any{"US", "DE", "FR"}}},
		{"event", "note", "contains", "a=b", Filter{Type: "event", Property: "note", Op: "contains", Value: "a=b"}},
	} {
		got, err := NewFilter(tc.scope, tc.prop, tc.op, tc.value)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("NewFilter(%q, %q, %q, %q) = %+v, %v; want %+v", tc.scope, tc.prop, tc.op, tc.value, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ scope, prop, op, value, want string }{
		{"group", "plan", "=", "x", `"group" is not a scope`},
		{"", "", "=", "x", "give a property"},
		{"", "plan", "", "x", "give an operator"},
		{"", "plan", ">=", "1", `">=" is not an operator`},
		{"", "price", "<", "cheap", `< compares numbers: "cheap" is not one`},
		{"", "plan", "!=", "  ", "no value after !="},
		{"", "country", "in", "US,,DE", "none empty"},
	} {
		if _, err := NewFilter(tc.scope, tc.prop, tc.op, tc.value); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewFilter(%q, %q, %q, %q): error %v, want one saying %q", tc.scope, tc.prop, tc.op, tc.value, err, tc.want)
		}
	}
}
