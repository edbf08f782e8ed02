package chart

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// The text forms a person types a query's parts in: the CLI's flags
// ("touchpoint charts") and the dashboard's chart forms read them with
// these functions, so both take the same words. Their errors are plain
// sentences for that person; a caller that answers over HTTP wraps them
// as EINVALID.

// filterSyntax is a filter's text form, for error messages.
const filterSyntax = "[event:|user:]PROPERTY OP VALUE, OP one of = != contains > < in"

// Operators of a filter, in the order a form lists them.
var Operators = []string{touchpoint.OpEq, touchpoint.OpNe, touchpoint.OpContains, touchpoint.OpGt, touchpoint.OpLt, touchpoint.OpIn}

// ParseFilter reads a filter written as text (the CLI's --where):
// [event:|user:]PROPERTY OP VALUE. The property ends at its first
// operator (= != > < anywhere, contains and in as words between spaces)
// and is quoted ("…") when its name holds one. VALUE is read as
// NewFilter reads it.
func ParseFilter(s string) (Filter, error) {
	scope := "event"
	rest := strings.TrimSpace(s)
	if r, ok := strings.CutPrefix(rest, "user:"); ok {
		scope, rest = "user", r
	} else if r, ok := strings.CutPrefix(rest, "event:"); ok {
		rest = r
	}
	var prop, op, value string
	var ok bool
	if quoted, found := strings.CutPrefix(strings.TrimLeft(rest, " "), `"`); found {
		end := strings.IndexByte(quoted, '"')
		if end < 0 {
			return Filter{Type: scope}, fmt.Errorf("%q: the property's quote is not closed", s)
		}
		var before string
		before, op, value, ok = cutOperator(quoted[end+1:])
		if ok && strings.TrimSpace(before) != "" {
			return Filter{Type: scope}, fmt.Errorf("%q: want an operator right after the quoted property: %s", s, filterSyntax)
		}
		prop = quoted[:end]
	} else {
		prop, op, value, ok = cutOperator(rest)
		prop = strings.TrimSpace(prop)
	}
	switch {
	case !ok:
		return Filter{Type: scope}, fmt.Errorf("%q: no operator: want %s", s, filterSyntax)
	case prop == "":
		return Filter{Type: scope}, fmt.Errorf("%q: no property before %s: want %s", s, op, filterSyntax)
	case (op == ">" || op == "<" || op == "=") && strings.HasPrefix(value, "="):
		return Filter{Type: scope}, fmt.Errorf("%q: %s= is not an operator: want %s", s, op, filterSyntax)
	}
	f, err := NewFilter(scope, prop, op, value)
	if err != nil {
		return f, fmt.Errorf("%q: %w", s, err)
	}
	return f, nil
}

// NewFilter makes a filter from its parts as a form gives them: scope
// event (or empty) or user, a property, an operator of Operators, and
// the value as typed. The value is text for = != and contains, a number
// for > and <, and a comma-separated list for in (each item trimmed,
// none empty).
func NewFilter(scope, property, op, value string) (Filter, error) {
	f := Filter{Type: scope, Property: property, Op: op}
	switch scope {
	case "":
		f.Type = "event"
	case "event", "user":
	default:
		return f, fmt.Errorf("%q is not a scope: event or user", scope)
	}
	if f.Property == "" {
		return f, errors.New("give a property")
	}
	value = strings.TrimSpace(value)
	switch op {
	case touchpoint.OpIn:
		for _, v := range strings.Split(value, ",") {
			if v = strings.TrimSpace(v); v == "" {
				return f, errors.New("in takes a comma-separated list of values, none empty")
			}
			f.Values = append(f.Values, v)
		}
	case touchpoint.OpGt, touchpoint.OpLt:
		n, err := strconv.ParseFloat(value, 64)
		if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
			return f, fmt.Errorf("%s compares numbers: %q is not one", op, value)
		}
		f.Value = n
	case touchpoint.OpEq, touchpoint.OpNe, touchpoint.OpContains:
		if value == "" {
			return f, fmt.Errorf("no value after %s", op)
		}
		f.Value = value
	case "":
		return f, errors.New("give an operator: = != contains > < in")
	default:
		return f, fmt.Errorf("%q is not an operator: = != contains > < in", op)
	}
	return f, nil
}

// cutOperator cuts s at its first operator: = != > < anywhere, contains
// and in after a space and before a space or the end.
func cutOperator(s string) (before, op, after string, ok bool) {
	for i := 0; i < len(s); i++ {
		switch {
		case strings.HasPrefix(s[i:], "!="):
			return s[:i], "!=", s[i+2:], true
		case s[i] == '=' || s[i] == '>' || s[i] == '<':
			return s[:i], s[i : i+1], s[i+1:], true
		}
		for _, word := range []string{" contains", " in"} {
			if after, found := strings.CutPrefix(s[i:], word); found && (after == "" || after[0] == ' ') {
				return s[:i], word[1:], after, true
			}
		}
	}
	return s, "", "", false
}

// ParseWindow reads a funnel's conversion window: Nd or Nh, or a Go
// duration (24h, 90m, 1h30m), in whole seconds, at least one.
func ParseWindow(s string) (int64, error) {
	d, err := time.ParseDuration(s)
	if w, werr := touchpoint.ParseWindow(s); werr == nil {
		d, err = w.Duration(), nil
	}
	if err != nil {
		return 0, fmt.Errorf("%q: want 7d, 24h or 90m", s)
	}
	if d < time.Second {
		return 0, fmt.Errorf("%q: at least a second", s)
	}
	return int64(d / time.Second), nil
}
