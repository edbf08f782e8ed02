package geo

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
)

// reference lists an object's top-level members with a full decoder.
func reference(b []byte) (string, bool) {
	dec := jsontext.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return "", false
	}
	var out bytes.Buffer
	for dec.PeekKind() != '}' {
		raw, err := dec.ReadValue()
		if err != nil {
			return "", false
		}
		name := string(raw) // the decoder's buffer is reused by the next read
		v, err := dec.ReadValue()
		if err != nil {
			return "", false
		}
		fmt.Fprintf(&out, "%s=%s;", name, v)
	}
	if _, err := dec.ReadToken(); err != nil {
		return "", false
	}
	return out.String(), true
}

func scanned(b []byte) (string, bool) {
	var out bytes.Buffer
	ok := members(b, func(name, v []byte) { fmt.Fprintf(&out, "%s=%s;", name, v) })
	return out.String(), ok
}

var memberCases = []string{
	`{}`, ` { } `, `{"a":1}`, `{"a":-1.5e3,"b":true,"c":null,"d":false}`,
	`{"ip":"1.2.3.4","event_properties":{"ip":"9.9.9.9","country":{"x":[1,"}",{"y":"]"}]}},"country":"FR"}`,
	`{"s":"quote \" and \\ backslash","t":"\u0041\"}"}`, `{"a":[[],[{}],"[",{"b":"{"}],"z":0}`,
	`{ "a" : 1 , "b" : [ 1 , 2 ] }`, `{"a":"é✓"}`,
	// Not objects, or cut short: refused.
	`[]`, `"x"`, `{"a":1`, `{"a":}`, `{"a" 1}`, `{"a":"x`, `{"a":{"b":1}`, `{"a":1,}`, `{,}`, ``, `{"a":1}}`,
}

func TestMembers(t *testing.T) {
	for _, c := range memberCases {
		want, wok := reference([]byte(c))
		got, ok := scanned([]byte(c))
		if c == `{"a":1}}` { // trailing bytes: the scan stops at the object's end; the caller checks the last byte
			wok = true
		}
		if ok != wok || ok && got != want {
			t.Errorf("%s: scanned %q %v, want %q %v", c, got, ok, want, wok)
		}
	}
}

// FuzzMembers: on any valid object the scan finds what a full decoder
// finds.
func FuzzMembers(f *testing.F) {
	for _, c := range memberCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		want, wok := reference(b)
		if !wok || !jsontext.Value(b).IsValid() {
			members(b, func(name, v []byte) {}) // must not panic
			return
		}
		got, ok := scanned(b)
		if !ok || got != want {
			t.Fatalf("%q: scanned %q %v, want %q", b, got, ok, want)
		}
	})
}
