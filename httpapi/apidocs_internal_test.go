package httpapi

import "testing"

// Descriptions are text: their HTML is escaped, and only `code` spans,
// paragraphs and "- " lists become markup.
func TestDocText(t *testing.T) {
	for in, want := range map[string]string{
		"a <b>bold</b> & `x<y` claim":   "<p>a &lt;b&gt;bold&lt;/b&gt; &amp; <code>x&lt;y</code> claim</p>\n",
		"one\n\ntwo":                    "<p>one</p>\n<p>two</p>\n",
		"- first\n  goes on\n- second":  "<ul><li>first\ngoes on</li>\n<li>second</li>\n</ul>\n",
		"[a link](https://example.com)": "<p>[a link](https://example.com)</p>\n",
	} {
		if got := string(docText(in)); got != want {
			t.Errorf("docText(%q) = %q, want %q", in, got, want)
		}
	}
}
