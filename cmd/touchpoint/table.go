package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/touchpointhq/touchpoint"
)

// table prints what a command shows a person: blocks of aligned columns
// (text/tabwriter, two spaces apart) between lines of text. Every table
// of the CLI goes through it, charts included, so they all look alike.
//
// A block is the rows between two lines of text (or heads). A block that
// starts with a head (Head) is a table: its columns of numbers (counts,
// amounts with their currency, percentages, "-" for none) are aligned
// right, head included, but for columns of ids (their head ends in "ID"),
// which are names more than numbers. A block without a head is a list of
// fields (Field), names then values, all aligned left.
type table struct {
	w      io.Writer
	indent string
	rows   [][]string
	head   bool
	err    error
}

func newTable(w io.Writer) *table { return &table{w: w} }

// Head starts a table with its column heads.
func (t *table) Head(cells ...string) {
	t.end()
	t.head = true
	t.Row(cells...)
}

// Row adds a row to the block, each cell made printable (printable).
func (t *table) Row(cells ...string) {
	row := make([]string, len(cells))
	for i, c := range cells {
		row[i] = printable(c)
	}
	t.rows = append(t.rows, row)
}

// printable returns s fit for a terminal: tabs and line breaks become
// spaces, so a cell stays on its line, and every other control character
// (ESC, BEL, the C1 controls…) becomes U+FFFD. What the tables print comes
// partly from the public (a click's parameters, its user agent), and an
// escape sequence printed raw would drive the operator's terminal: rewrite
// the screen, set the clipboard (OSC 52).
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return ' '
		case unicode.IsControl(r):
			return '\uFFFD'
		}
		return r
	}, s)
}

// Field adds a name and its value to a list of fields.
func (t *table) Field(name, value string) { t.Row(name, value) }

// Line ends the block and prints a line of text, as fmt.Sprintf makes it
// (indented as the rows are, unless empty).
func (t *table) Line(format string, args ...any) {
	t.end()
	if s := printable(fmt.Sprintf(format, args...)); s != "" {
		t.write(t.indent + s + "\n")
	} else {
		t.write("\n")
	}
}

// Indent sets what the rows of the blocks from now on start with.
func (t *table) Indent(s string) {
	t.end()
	t.indent = s
}

// Flush prints what is left and returns the first write error.
func (t *table) Flush() error {
	t.end()
	return t.err
}

func (t *table) write(s string) {
	if t.err == nil {
		_, t.err = io.WriteString(t.w, s)
	}
}

// numberCell is what a column of numbers holds: a count or an amount,
// perhaps a percentage, a currency or a share in brackets after it
// ("12", "4.99 USD", "75.0%", "3 (75.0%)"), or "-" for none.
var numberCell = regexp.MustCompile(`^(-|[-+]?[0-9][0-9,]*(\.[0-9]+)?%?( [A-Z]{3})?( \([^()]*\))?)$`)

// end prints the block: the cells of a table's number columns padded on
// the left to the column's width, then every column aligned by a
// tabwriter, each row ending without spaces.
func (t *table) end() {
	rows := t.rows
	t.rows = nil
	head := t.head
	t.head = false
	if len(rows) == 0 {
		return
	}
	cols := 0
	for _, r := range rows {
		cols = max(cols, len(r))
	}
	for c := 0; head && c < cols; c++ {
		if c < len(rows[0]) && strings.HasSuffix(rows[0][c], "ID") {
			continue
		}
		width, numbers, some := 0, true, false
		for i, r := range rows {
			if c >= len(r) {
				continue
			}
			width = max(width, utf8.RuneCountInString(r[c]))
			if i > 0 && r[c] != "" {
				some = some || r[c] != "-"
				numbers = numbers && numberCell.MatchString(r[c])
			}
		}
		if !numbers || !some {
			continue
		}
		for _, r := range rows {
			if c < len(r) && r[c] != "" {
				r[c] = strings.Repeat(" ", width-utf8.RuneCountInString(r[c])) + r[c]
			}
		}
	}
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	for _, r := range rows {
		// Every cell ends with a tab: every column is aligned, the last
		// too, and a short row does not split a column in two.
		cells := make([]string, cols)
		copy(cells, r)
		fmt.Fprint(tw, strings.Join(cells, "\t")+"\t\n")
	}
	tw.Flush()
	for _, line := range strings.SplitAfter(buf.String(), "\n") {
		if line == "" {
			continue
		}
		t.write(t.indent + strings.TrimRight(line, " \n") + "\n")
	}
}

// when prints a time in UTC, to the second (RFC 3339); "-" for none.
func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// amount prints money with at least two decimals (the four it is kept
// to when it has them): 4.99, 12.50, 0.0125.
func amount(a touchpoint.Amount) string {
	whole, frac, _ := strings.Cut(a.String(), ".")
	for len(frac) < 2 {
		frac += "0"
	}
	return whole + "." + frac
}

// money prints amounts by currency, each with its currency, in the
// currencies' order: "12.50 USD", "3.00 EUR, 1.99 USD"; "-" for none.
func money(m map[string]touchpoint.Amount) string {
	var out []string
	for _, cur := range slices.Sorted(maps.Keys(m)) {
		out = append(out, amount(m[cur])+" "+cur)
	}
	if len(out) == 0 {
		return "-"
	}
	return strings.Join(out, ", ")
}

// orDash is s, or "-" when empty: a cell that says there is nothing.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// yesNo prints a flag as a person reads it.
func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// plural is n and its noun: "1 touch", "3 touches".
func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// wrap breaks text into lines of at most width characters, between words.
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		switch {
		case line == "":
			line = w
		case utf8.RuneCountInString(line)+1+utf8.RuneCountInString(w) > width:
			lines = append(lines, line)
			line = w
		default:
			line += " " + w
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

// orderedFields are the fields of a JSON object in the order the server
// wrote them, values as text (strings as they are, others as JSON); nil
// when raw is not an object.
func orderedFields(raw json.RawMessage) [][2]string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil
	}
	var out [][2]string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return out
		}
		key, _ := tok.(string)
		var v any
		if err := dec.Decode(&v); err != nil {
			return out
		}
		s, ok := v.(string)
		if !ok {
			b, _ := marshalJSON(v)
			s = string(b)
		}
		out = append(out, [2]string{key, s})
	}
	return out
}

// renderAs returns a printer of an answer decoded into a T: the command's
// table. An answer that is not a T is an error that says so (--json
// prints it as it is).
func renderAs[T any](what string, print func(t *table, v *T)) func([]byte, io.Writer) error {
	return func(answer []byte, w io.Writer) error {
		var v T
		if err := json.Unmarshal(answer, &v); err != nil {
			return fmt.Errorf("the server's answer is not %s (--json prints it as it is): %v", what, err)
		}
		t := newTable(w)
		print(t, &v)
		return t.Flush()
	}
}
