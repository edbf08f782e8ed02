package touchpoint

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"
)

// User-property operations (Amplitude's HTTP V2 and Identify API documentation): the keys
// of an identify's user_properties are either all operations or all plain
// properties, which are set as with $set.
const (
	OpSet        = "$set"
	OpSetOnce    = "$setOnce"
	OpAdd        = "$add"
	OpAppend     = "$append"
	OpPrepend    = "$prepend"
	OpUnset      = "$unset"
	OpPreInsert  = "$preInsert"
	OpPostInsert = "$postInsert"
	OpRemove     = "$remove"
)

// userPropertyOps are the operations in the order they are applied when an
// identify carries several. Amplitude does not publish an order
// (UNCONFIRMED); ours sets before it changes, and unsets last, so that
// {"$set":{"a":1},"$unset":{"a":"-"}} leaves a unset.
var userPropertyOps = []string{OpSetOnce, OpSet, OpAdd, OpAppend, OpPrepend, OpPreInsert, OpPostInsert, OpRemove, OpUnset}

// IsUserPropertyOp reports whether k names an operation.
func IsUserPropertyOp(k string) bool {
	for _, op := range userPropertyOps {
		if k == op {
			return true
		}
	}
	return false
}

// CheckUserProperties checks the shape of a user_properties object: not a
// mix of operations and plain keys, no unknown $-operation, and an object
// under every operation. The error says what is wrong.
func CheckUserProperties(changes map[string]any) error {
	var ops, plain int
	for k, v := range changes {
		if !strings.HasPrefix(k, "$") {
			plain++
			continue
		}
		if !IsUserPropertyOp(k) {
			return Errorf(EINVALID, "unknown user property operation %s: use one of %s", k, strings.Join(userPropertyOps, ", "))
		}
		ops++
		if _, ok := v.(map[string]any); !ok {
			return Errorf(EINVALID, "%s must be an object of properties", k)
		}
	}
	if ops > 0 && plain > 0 {
		return Errorf(EINVALID, "user_properties mixes operations ($set, $add, ...) with plain properties: put the plain ones under $set")
	}
	return nil
}

// ApplyUserProperties applies changes (checked by CheckUserProperties) to
// props and reports whether anything changed. Amplitude's rules:
//   - $set sets; $setOnce sets only what is not set yet;
//   - $add adds a number to a numeric property (absent counts as 0; a
//     non-numeric one is replaced);
//   - $append and $prepend add values (an array adds each element) to the
//     end or the front of a list, making one of a scalar;
//   - $postInsert and $preInsert do the same for values the list does not
//     hold yet;
//   - $remove takes every occurrence of the values out of a list;
//   - $unset removes properties.
//
// Numbers are json.Number, as DecodeProperties returns them.
func ApplyUserProperties(props, changes map[string]any) bool {
	if len(changes) == 0 {
		return false
	}
	for k := range changes {
		if !strings.HasPrefix(k, "$") {
			// Plain properties: $set.
			return applyOp(props, OpSet, changes)
		}
	}
	changed := false
	for _, op := range userPropertyOps {
		if m, ok := changes[op].(map[string]any); ok {
			changed = applyOp(props, op, m) || changed
		}
	}
	return changed
}

func applyOp(props map[string]any, op string, m map[string]any) bool {
	changed := false
	for k, v := range m {
		old, has := props[k]
		switch op {
		case OpSet:
			if has && reflect.DeepEqual(old, v) {
				continue
			}
			props[k] = v
		case OpSetOnce:
			if has {
				continue
			}
			props[k] = v
		case OpAdd:
			sum := addNumbers(old, v)
			if has && reflect.DeepEqual(old, sum) {
				continue
			}
			props[k] = sum
		case OpAppend, OpPrepend, OpPostInsert, OpPreInsert:
			list := asList(old, has)
			for _, x := range asList(v, true) {
				if (op == OpPostInsert || op == OpPreInsert) && contains(list, x) {
					continue
				}
				if op == OpAppend || op == OpPostInsert {
					list = append(list, x)
				} else {
					list = append([]any{x}, list...)
				}
			}
			if has && reflect.DeepEqual(old, list) {
				continue
			}
			props[k] = list
		case OpRemove:
			if !has {
				continue
			}
			drop := asList(v, true)
			var kept []any
			for _, x := range asList(old, true) {
				if !contains(drop, x) {
					kept = append(kept, x)
				}
			}
			if kept == nil {
				kept = []any{}
			}
			if reflect.DeepEqual(old, kept) {
				continue
			}
			props[k] = kept
		case OpUnset:
			if !has {
				continue
			}
			delete(props, k)
		}
		changed = true
	}
	return changed
}

// asList is v as a list: itself if it is one, else a list of it (none when
// absent).
func asList(v any, has bool) []any {
	if !has || v == nil {
		return nil
	}
	if l, ok := v.([]any); ok {
		return append([]any(nil), l...)
	}
	return []any{v}
}

func contains(list []any, x any) bool {
	for _, y := range list {
		if reflect.DeepEqual(y, x) {
			return true
		}
	}
	return false
}

// addNumbers adds v to old as integers when both are, else as floats. A
// non-numeric v adds nothing.
func addNumbers(old, v any) any {
	a, aok := number(old)
	b, bok := number(v)
	if !bok {
		if aok {
			return old
		}
		return json.Number("0")
	}
	if !aok {
		a = "0"
	}
	if x, err := strconv.ParseInt(string(a), 10, 64); err == nil {
		if y, err := strconv.ParseInt(string(b), 10, 64); err == nil {
			if s := x + y; (s > x) == (y > 0) || y == 0 {
				return json.Number(strconv.FormatInt(s, 10))
			}
		}
	}
	x, _ := strconv.ParseFloat(string(a), 64)
	y, _ := strconv.ParseFloat(string(b), 64)
	if s := x + y; !math.IsInf(s, 0) {
		return json.Number(formatFloat(s))
	}
	// The sum overflows float64: no number JSON can hold. The property
	// keeps its value (Amplitude does not say; we never store ±Inf).
	if aok {
		return old
	}
	return json.Number("0")
}

// formatFloat writes f as JavaScript does: plain digits below 1e21.
func formatFloat(f float64) string {
	if math.Abs(f) < 1e21 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// number is v as a json.Number: a finite number, or a string that holds
// one written as JSON writes numbers (Amplitude's $add takes "3"). "NaN",
// "Inf", "0x10" and 1e999 are not numbers here: Go would parse them, but
// no JSON can hold what they add up to.
func number(v any) (json.Number, bool) {
	var s string
	switch n := v.(type) {
	case json.Number:
		s = string(n)
	case string:
		s = strings.TrimSpace(n)
	case float64:
		if math.IsInf(n, 0) || math.IsNaN(n) {
			return "", false
		}
		return json.Number(formatFloat(n)), true
	default:
		return "", false
	}
	if !jsonNumber.MatchString(s) {
		return "", false
	}
	if _, err := strconv.ParseFloat(s, 64); err != nil {
		return "", false // out of float64's range
	}
	return json.Number(s), true
}

// jsonNumber is the grammar of a JSON number (RFC 8259 §6).
var jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

// DecodeProperties decodes a JSON object keeping numbers exact
// (json.Number). null decodes to nil.
func DecodeProperties(b []byte) (map[string]any, error) {
	if len(b) == 0 || string(b) == "null" {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	return m, nil
}
