package httpapi_test

import (
	"bytes"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/touchpointhq/touchpoint/api"
	"go.yaml.in/yaml/v3"
	"golang.org/x/net/html"
)

// GET /api/openapi.yaml answers the embedded file, byte for byte, to
// anyone: the admin API's catch-all at /api/ does not take it.
func TestOpenAPIServed(t *testing.T) {
	s := startServer(t)
	resp, body := s.get(t, "/api/openapi.yaml")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/yaml") {
		t.Fatalf("GET /api/openapi.yaml: %s %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	if body != string(api.OpenAPI) {
		t.Fatalf("GET /api/openapi.yaml: %d bytes, not the %d of api/openapi.yaml", len(body), len(api.OpenAPI))
	}
	// An asked-again copy is not sent twice.
	resp, _ = s.get(t, "/api/openapi.yaml", "If-None-Match", resp.Header.Get("ETag"))
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("GET /api/openapi.yaml with its ETag: %s", resp.Status)
	}
	// The rest of /api/ is still the admin API's.
	if resp, _ := s.get(t, "/api/openapi.json"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /api/openapi.json without a token: %s, want the admin API's 401", resp.Status)
	}
}

// GET /docs shows every operation of the file, with its summary and
// description, to anyone, and links only within the server.
func TestAPIDocsPage(t *testing.T) {
	s := startServer(t)
	resp, body := s.get(t, "/docs")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET /docs: %s %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	page, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}

	// Every operation of the file has its section: "METHOD path" as its
	// heading, its summary and its description in it.
	var spec struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(api.OpenAPI, &spec); err != nil {
		t.Fatal(err)
	}
	sections := map[string]string{} // heading: the section's text
	ids := map[string]bool{}
	var hrefs []string
	for n := range page.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		if id := attr(n, "id"); id != "" {
			ids[id] = true
		}
		for _, a := range []string{"href", "src", "action", "srcset", "poster", "data", "formaction"} {
			if v := attr(n, a); v != "" {
				hrefs = append(hrefs, v)
			}
		}
		switch {
		case n.Data == "script", n.Data == "style", n.Data == "iframe", n.Data == "object":
			t.Errorf("/docs has a <%s>: the dashboard's Content-Security-Policy refuses it", n.Data)
		case attr(n, "style") != "":
			t.Errorf("/docs has an inline style (%s): the dashboard's Content-Security-Policy refuses it", attr(n, "style"))
		case slices.ContainsFunc(n.Attr, func(a html.Attribute) bool { return strings.HasPrefix(a.Key, "on") }):
			t.Errorf("/docs has an event handler attribute on <%s>", n.Data)
		case n.Data == "section" && strings.Contains(attr(n, "class"), "op"):
			for h := range n.Descendants() {
				if h.Type == html.ElementNode && h.Data == "h3" {
					sections[words(textOf(h))] = words(textOf(n))
					break
				}
			}
		}
	}
	n := 0
	for path, ops := range spec.Paths {
		for method, v := range ops {
			if method == "parameters" {
				continue // the path's, not an operation
			}
			n++
			op, _ := v.(map[string]any)
			summary, _ := op["summary"].(string)
			description, _ := op["description"].(string)
			heading := strings.ToUpper(method) + " " + path
			text, ok := sections[heading]
			switch {
			case !ok:
				t.Errorf("/docs has no section %q", heading)
			case !strings.Contains(text, words(summary)):
				t.Errorf("/docs %s lacks its summary %q", heading, summary)
			case !strings.Contains(text, words(strings.ReplaceAll(description, "`", ""))):
				t.Errorf("/docs %s lacks its description %q", heading, description)
			}
		}
	}
	// An operation's body shows the schema it names, one level deep:
	// LaunchRequest's properties in the launch's section.
	if text := sections["POST /sdk/v1/apps/{app_id}/launches"]; !strings.Contains(text, "advertising_id") || !strings.Contains(text, "install_begin_ts") {
		t.Errorf("/docs POST /sdk/v1/apps/{app_id}/launches does not show LaunchRequest's properties:\n%s", text)
	}
	if n < 80 || len(sections) != n {
		t.Errorf("/docs has %d operations, the file %d", len(sections), n)
	}

	// Links stay on the page or on this server: the page's own anchors,
	// which all exist, and same-origin paths.
	for _, h := range hrefs {
		switch {
		case strings.HasPrefix(h, "#"):
			if !ids[h[1:]] {
				t.Errorf("/docs links to %s, which it does not have", h)
			}
		case strings.HasPrefix(h, "/") && !strings.HasPrefix(h, "//"):
			if resp, _ := s.get(t, h); resp.StatusCode != 200 {
				t.Errorf("/docs links to %s: %s", h, resp.Status)
			}
		default:
			t.Errorf("/docs links to %q, off this server", h)
		}
	}
	// Operations link to the schemas they use, and schemas back to them.
	for _, want := range []string{`href="#schema-LaunchRequest"`, `id="schema-LaunchRequest"`} {
		if !strings.Contains(body, want) {
			t.Errorf("/docs lacks %s", want)
		}
	}
	if !regexp.MustCompile(`(?s)id="schema-LaunchRequest".*?Used by <a href="#post-sdk-v1-apps-app_id-launches">`).MatchString(body) {
		t.Errorf("/docs: LaunchRequest does not link back to POST /sdk/v1/apps/{app_id}/launches")
	}
}

// /docs is sent under the dashboard's Content-Security-Policy (TestAPIDocsPage
// checks it keeps to it), and its stylesheet under the same.
func TestAPIDocsContentSecurityPolicy(t *testing.T) {
	s := startServer(t)
	signin, _ := s.get(t, "/signin")
	dashboard := signin.Header.Get("Content-Security-Policy")
	if !strings.Contains(dashboard, "default-src 'none'") {
		t.Fatalf("the dashboard's policy: %q", dashboard)
	}
	docs, _ := s.get(t, "/docs")
	if got := docs.Header.Get("Content-Security-Policy"); got != dashboard {
		t.Errorf("/docs: Content-Security-Policy %q, the dashboard's %q", got, dashboard)
	}
	css, body := s.get(t, "/docs/docs.css")
	if css.StatusCode != 200 || !strings.HasPrefix(css.Header.Get("Content-Type"), "text/css") {
		t.Fatalf("/docs/docs.css: %s %q", css.Status, css.Header.Get("Content-Type"))
	}
	// Fonts and images of another host would be refused (default-src
	// 'none'): the stylesheet names none.
	if strings.Contains(body, "url(") || strings.Contains(body, "@import") || strings.Contains(body, "@font-face") {
		t.Errorf("/docs/docs.css loads something: %s", body)
	}
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func textOf(n *html.Node) string {
	var b bytes.Buffer
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return b.String()
}

// words is s with its runs of white space as one space.
func words(s string) string { return strings.Join(strings.Fields(s), " ") }
