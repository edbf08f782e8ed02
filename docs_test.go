package touchpoint_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// maxREADME is the README's budget: what it is, its status, how to
// install and run it, and where the rest is (docs/).
const maxREADME = 10 << 10

func TestREADMESize(t *testing.T) {
	fi, err := os.Stat("README.md")
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() >= maxREADME {
		t.Errorf("README.md is %d bytes, want under %d: move the detail into docs/", fi.Size(), maxREADME)
	}
}

// TestDocLinks checks every relative link of README.md and docs/*.md: it
// names a file of the repository that exists, and its #anchor, if any, a
// heading of that file (as GitHub makes anchors of headings). Links to
// the web are not followed.
func TestDocLinks(t *testing.T) {
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	pages, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	pages = append([]string{"README.md"}, pages...)
	anchors := map[string]map[string]bool{} // by page, cached
	anchorsOf := func(page string) (map[string]bool, error) {
		if a, ok := anchors[page]; ok {
			return a, nil
		}
		b, err := os.ReadFile(page)
		if err != nil {
			return nil, err
		}
		anchors[page] = headingAnchors(string(b))
		return anchors[page], nil
	}
	for _, page := range pages {
		b, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "../shared") {
			t.Errorf("%s points outside the repository (../shared): the repository stands alone", page)
		}
		for _, target := range relativeLinks(string(b)) {
			path, anchor, _ := strings.Cut(target, "#")
			dest := page
			if path != "" {
				dest = filepath.Join(filepath.Dir(page), filepath.FromSlash(path))
				abs, err := filepath.Abs(dest)
				if err != nil {
					t.Fatal(err)
				}
				if rel, err := filepath.Rel(root, abs); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
					t.Errorf("%s: link %q leaves the repository", page, target)
					continue
				}
				if _, err := os.Stat(dest); err != nil {
					t.Errorf("%s: link %q: no such file %s", page, target, dest)
					continue
				}
			}
			if anchor == "" {
				continue
			}
			if !strings.HasSuffix(dest, ".md") {
				t.Errorf("%s: link %q: an anchor into a file that is not Markdown", page, target)
				continue
			}
			a, err := anchorsOf(dest)
			if err != nil {
				t.Fatal(err)
			}
			if !a[anchor] {
				t.Errorf("%s: link %q: %s has no heading whose anchor is #%s", page, target, dest, anchor)
			}
		}
	}
}

var (
	fence      = regexp.MustCompile("(?ms)^ *```.*?^ *```[ \t]*$")
	codeSpan   = regexp.MustCompile("`[^`\n]*`")
	linkTarget = regexp.MustCompile(`\]\(([^()\s]+)(?:\s+"[^"]*")?\)`)
	scheme     = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*:`)
)

// prose is a Markdown text without its code blocks and code spans, where
// brackets are not links.
func prose(md string) string {
	return codeSpan.ReplaceAllString(fence.ReplaceAllString(md, ""), "")
}

// relativeLinks returns the targets of md's inline links that are not
// URLs with a scheme (https:, mailto:…).
func relativeLinks(md string) []string {
	var targets []string
	for _, m := range linkTarget.FindAllStringSubmatch(prose(md), -1) {
		if !scheme.MatchString(m[1]) {
			targets = append(targets, m[1])
		}
	}
	return targets
}

// headingAnchors returns the anchors GitHub gives md's headings: the text
// in lower case, without punctuation but hyphens and underscores, spaces
// made hyphens, and -1, -2… after a repeated one.
func headingAnchors(md string) map[string]bool {
	anchors := map[string]bool{}
	seen := map[string]int{}
	for _, line := range strings.Split(fence.ReplaceAllString(md, ""), "\n") {
		text, ok := strings.CutPrefix(line, "#")
		if !ok {
			continue
		}
		text = strings.TrimLeft(text, "#")
		if !strings.HasPrefix(text, " ") {
			continue
		}
		var slug strings.Builder
		for _, r := range strings.ToLower(strings.TrimSpace(text)) {
			switch {
			case r == ' ':
				slug.WriteRune('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				slug.WriteRune(r)
			}
		}
		s := slug.String()
		if n := seen[s]; n > 0 {
			anchors[fmt.Sprintf("%s-%d", s, n)] = true
		} else {
			anchors[s] = true
		}
		seen[s]++
	}
	return anchors
}

func TestHeadingAnchors(t *testing.T) {
	got := headingAnchors("# Touchpoint\n## Integrations (attribution ⇄ analytics)\n```sh\n# a comment\n```\n" +
		"## S2S in-app events\n### Charts\n## Charts\n#not a heading\n## `POST /inappevent/{app_id}`\n")
	for _, want := range []string{"touchpoint", "integrations-attribution--analytics", "s2s-in-app-events", "charts", "charts-1", "post-inappeventapp_id"} {
		if !got[want] {
			t.Errorf("no anchor %q in %v", want, got)
		}
	}
	if got["a-comment"] || got["not-a-heading"] {
		t.Errorf("a comment in a code block or a line without a space after # made an anchor: %v", got)
	}
}
