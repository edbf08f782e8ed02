package main

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/touchpointhq/touchpoint/internal/testenv"
)

// TestTablePrintable: what a table prints cannot drive a terminal: a
// click's campaign or user agent holding escape sequences (ESC, BEL, C1
// controls) prints them as U+FFFD, tabs and line breaks as spaces, in rows
// and in lines.
func TestTablePrintable(t *testing.T) {
	var b bytes.Buffer
	tb := newTable(&b)
	tb.Head("CAMPAIGN", "UA")
	tb.Row("\x1b[2J\x1b[31mHACKED", "a\tb\nc\x07\u009b31m")
	tb.Line("last: %s", "\x1b]52;c;aGk=\x07")
	tb.end()
	out := b.String()
	for _, r := range out {
		if r != '\n' && (r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0)) {
			t.Fatalf("a control character %U is printed: %q", r, out)
		}
	}
	for _, want := range []string{"\uFFFD[2J\uFFFD[31mHACKED", "a b c\uFFFD\uFFFD31m", "last: \uFFFD]52;c;aGk=\uFFFD"} {
		if !strings.Contains(out, want) {
			t.Errorf("%q not in %q", want, out)
		}
	}
}

// TestFishQuoted: fish reads back exactly what fishQuoted quoted, where
// a backslash or a quote in it would otherwise end or change the string.
func TestFishQuoted(t *testing.T) {
	if _, err := exec.LookPath("fish"); err != nil {
		testenv.Skip(t, "fish is not installed: `apt-get install -y fish`")
	}
	for _, s := range []string{`plain`, `it's`, `a\`, `a\'b`, `c:\\dir`, `$HOME (x) "q"`} {
		out, err := exec.Command("fish", "--no-config", "-c", "printf '%s' "+fishQuoted(s)).Output()
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if string(out) != s {
			t.Errorf("fish read %q back as %q", s, out)
		}
	}
}
