package touchpoint_test

import (
	"encoding/json"
	"testing"

	"github.com/touchpointhq/touchpoint"
)

func TestApplyUserProperties(t *testing.T) {
	for _, tc := range []struct {
		name          string
		props, change string
		want          string
		changed       bool
	}{
		{"plain keys are $set", `{"a":1}`, `{"a":2,"b":"x"}`, `{"a":2,"b":"x"}`, true},
		{"$set same value changes nothing", `{"a":1}`, `{"$set":{"a":1}}`, `{"a":1}`, false},
		{"$setOnce keeps the first", `{"a":1}`, `{"$setOnce":{"a":2,"b":3}}`, `{"a":1,"b":3}`, true},
		{"$add integers", `{"n":5}`, `{"$add":{"n":3,"m":-2}}`, `{"m":-2,"n":8}`, true},
		{"$add floats", `{"n":1.5}`, `{"$add":{"n":1}}`, `{"n":2.5}`, true},
		{"$add numeric string", `{"n":"4"}`, `{"$add":{"n":"3"}}`, `{"n":7}`, true},
		{"$add to a non-number replaces it", `{"n":"abc"}`, `{"$add":{"n":2}}`, `{"n":2}`, true},
		{"$add overflow goes to float", `{"n":9223372036854775807}`, `{"$add":{"n":1}}`, `{"n":9223372036854776000}`, true},
		// Strings Go parses as numbers but JSON cannot hold, and sums past
		// float64's range, add nothing: user properties stay encodable.
		{"$add NaN adds nothing", `{"n":5}`, `{"$add":{"n":"NaN"}}`, `{"n":5}`, false},
		{"$add -Inf adds nothing", `{"n":5}`, `{"$add":{"n":"-Inf"}}`, `{"n":5}`, false},
		{"$add hex adds nothing", `{"n":5}`, `{"$add":{"n":"0x10"}}`, `{"n":5}`, false},
		{"$add NaN to absent is 0", `{}`, `{"$add":{"n":" NaN "}}`, `{"n":0}`, true},
		{"$add overflowing float keeps the value", `{"n":1e308}`, `{"$add":{"n":1e308}}`, `{"n":1e308}`, false},
		{"$add to a stored 1e999 replaces it", `{"n":1e999}`, `{"$add":{"n":1}}`, `{"n":1}`, true},
		{"$append scalar makes a list", `{"l":"a"}`, `{"$append":{"l":"b"}}`, `{"l":["a","b"]}`, true},
		{"$append array adds each", `{"l":["a"]}`, `{"$append":{"l":["b","a"]}}`, `{"l":["a","b","a"]}`, true},
		{"$append to absent", `{}`, `{"$append":{"l":1}}`, `{"l":[1]}`, true},
		{"$prepend", `{"l":["a"]}`, `{"$prepend":{"l":"b"}}`, `{"l":["b","a"]}`, true},
		{"$postInsert skips held values", `{"l":["a"]}`, `{"$postInsert":{"l":["a","b"]}}`, `{"l":["a","b"]}`, true},
		{"$preInsert skips held values", `{"l":["a"]}`, `{"$preInsert":{"l":["a","b"]}}`, `{"l":["b","a"]}`, true},
		{"$postInsert of held value changes nothing", `{"l":["a"]}`, `{"$postInsert":{"l":"a"}}`, `{"l":["a"]}`, false},
		{"$remove every occurrence", `{"l":["a","b","a"]}`, `{"$remove":{"l":"a"}}`, `{"l":["b"]}`, true},
		{"$remove from absent", `{}`, `{"$remove":{"l":"a"}}`, `{}`, false},
		{"$unset", `{"a":1,"b":2}`, `{"$unset":{"a":"-"}}`, `{"b":2}`, true},
		{"$unset absent", `{"b":2}`, `{"$unset":{"a":"-"}}`, `{"b":2}`, false},
		{"several ops: set before unset", `{}`, `{"$set":{"a":1},"$unset":{"a":"-"},"$setOnce":{"b":1}}`, `{"b":1}`, true},
		{"nested objects are values", `{}`, `{"$set":{"o":{"x":[1,{"y":2}]}}}`, `{"o":{"x":[1,{"y":2}]}}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			props, err := touchpoint.DecodeProperties([]byte(tc.props))
			if err != nil {
				t.Fatal(err)
			}
			change, err := touchpoint.DecodeProperties([]byte(tc.change))
			if err != nil {
				t.Fatal(err)
			}
			if err := touchpoint.CheckUserProperties(change); err != nil {
				t.Fatalf("CheckUserProperties: %v", err)
			}
			if props == nil {
				props = map[string]any{}
			}
			changed := touchpoint.ApplyUserProperties(props, change)
			got, err := json.Marshal(props)
			if err != nil {
				t.Fatalf("the properties cannot be encoded: %v", err)
			}
			if string(got) != tc.want {
				t.Errorf("props = %s, want %s", got, tc.want)
			}
			if changed != tc.changed {
				t.Errorf("changed = %v, want %v", changed, tc.changed)
			}
		})
	}
}

func TestCheckUserProperties(t *testing.T) {
	for _, tc := range []struct {
		change string
		ok     bool
	}{
		{`{"a":1}`, true},
		{`{"$set":{"a":1},"$add":{"n":1}}`, true},
		{`{"$set":{"a":1},"b":2}`, false},     // mixed
		{`{"$bogus":{"a":1}}`, false},         // unknown operation
		{`{"$set":"a"}`, false},               // not an object
		{`{"$unset":{"a":"-"},"x":1}`, false}, // mixed
	} {
		change, err := touchpoint.DecodeProperties([]byte(tc.change))
		if err != nil {
			t.Fatal(err)
		}
		err = touchpoint.CheckUserProperties(change)
		if (err == nil) != tc.ok {
			t.Errorf("CheckUserProperties(%s) = %v, want ok %v", tc.change, err, tc.ok)
		} else if err != nil && touchpoint.ErrorCode(err) != touchpoint.EINVALID {
			t.Errorf("CheckUserProperties(%s) code = %s", tc.change, touchpoint.ErrorCode(err))
		}
	}
}
