package httpapi

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/touchpointhq/touchpoint/api"
	"go.yaml.in/yaml/v3"
)

// The API reference: GET /api/openapi.yaml serves the OpenAPI file as it
// is embedded (package api), and GET /docs the same file as one page of
// HTML, rendered here with no script and no other origin's style or font,
// under the dashboard's Content-Security-Policy. Both are public: the file
// is documentation, and it holds no secret.

//go:embed apidocs
var apidocsFiles embed.FS

// apidocsCSP is the dashboard's policy (web.contentSecurityPolicy; a test
// checks they are the same): the page loads its one stylesheet from here.
const apidocsCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func (s *Server) registerAPIDocsRoutes(mux *http.ServeMux) {
	s.handle(mux, "GET /api/openapi.yaml", s.handleOpenAPI)
	s.handle(mux, "GET /docs", s.handleAPIDocs)
	// The page's stylesheet, an asset like the dashboard's /static/ files
	// (no API route).
	mux.Handle("GET /docs/docs.css", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		css, _ := apidocsFiles.ReadFile("apidocs/docs.css")
		serveDoc(w, r, "text/css; charset=utf-8", css)
	}))
}

// GET /api/openapi.yaml: the OpenAPI file.
func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	serveDoc(w, r, "application/yaml", api.OpenAPI)
}

// GET /docs: the OpenAPI file, as a page.
func (s *Server) handleAPIDocs(w http.ResponseWriter, r *http.Request) {
	page, err := apiDocsPage()
	if err != nil {
		// The embedded file does not render: a bug a test catches.
		s.Logger.Error("api docs", "err", err)
		http.Error(w, "the API reference could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Security-Policy", apidocsCSP)
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Referrer-Policy", "same-origin")
	serveDoc(w, r, "text/html; charset=utf-8", page)
}

// serveDoc answers one of the documents, which change only with the
// binary: tagged with their hash, so a browser asks again cheaply.
func serveDoc(w http.ResponseWriter, r *http.Request, contentType string, b []byte) {
	sum := sha256.Sum256(b)
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:12])+`"`)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(b))
}

// apiDocsPage is the page, rendered once.
var apiDocsPage = sync.OnceValues(func() ([]byte, error) {
	d, err := newAPIDocs(api.OpenAPI)
	if err != nil {
		return nil, err
	}
	t, err := template.New("").Funcs(template.FuncMap{"text": docText}).ParseFS(apidocsFiles, "apidocs/*.html")
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "page", d); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
})

// apiDocs is what the page shows: the file's operations, then its schemas.
type apiDocs struct {
	Title, Version string
	Description    string
	Operations     []*docOperation
	Schemas        []*docSchemaEntry
}

type docOperation struct {
	ID, Method, Path     string
	Summary, Description string
	Auth                 []docAuth
	Parameters           []docParameter
	Body                 *docBody
	Responses            []docResponse
}

type docAuth struct{ Name, Description string }

type docParameter struct {
	Name, In    string
	Required    bool
	Description string
	Schema      *docSchema
}

type docBody struct {
	Required    bool
	Description string
	Content     []docContent
}

type docContent struct {
	MediaType string
	Schema    *docSchema
	Example   string // indented JSON
}

type docResponse struct {
	Status, Description string
	Ref                 string // the components/responses entry it is
	Headers             []docParameter
	Content             []docContent
}

// docSchemaEntry is one of components/schemas, with what uses it.
type docSchemaEntry struct {
	Name   string
	Schema *docSchema
	UsedBy []*docOperation
	UsedIn []string // other schemas naming it
}

// docSchema is a schema as the page shows it: a type in words, its
// properties, items or variants, and its constraints.
type docSchema struct {
	Ref         string // a components/schemas name: shown as a link
	Type        string // "string (date-time)", "object", "array"…
	Description string
	Enum        []string
	Facts       []string // constraints, defaults, examples
	Properties  []docProperty
	Items       *docSchema
	Additional  *docSchema // additionalProperties, when a schema
	Variants    []docSchema
	VariantKind string // "one of", "any of", "all of", "not"
	// Resolved is the schema a Ref names, one level deep, where the
	// page shows an operation's bodies.
	Resolved *docSchema
}

type docProperty struct {
	Name     string
	Required bool
	Schema   *docSchema
}

var methods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// newAPIDocs reads an OpenAPI file into the page's view.
func newAPIDocs(b []byte) (*apiDocs, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, err
	}
	spec, ok := ordered(&root).(*omap)
	if !ok {
		return nil, fmt.Errorf("openapi: not a mapping")
	}
	info := spec.m("info")
	components := spec.m("components")
	d := &apiDocs{Title: info.str("title"), Version: info.str("version"), Description: info.str("description")}
	r := &docReader{
		schemas:    components.m("schemas"),
		parameters: components.m("parameters"),
		responses:  components.m("responses"),
		security:   components.m("securitySchemes"),
	}
	entries := map[string]*docSchemaEntry{}
	for _, name := range r.schemas.keys() {
		e := &docSchemaEntry{Name: name}
		entries[name] = e
		d.Schemas = append(d.Schemas, e)
	}
	for _, e := range d.Schemas {
		r.refs = nil
		e.Schema = r.schema(r.schemas.get(e.Name), 0, false)
		for _, ref := range r.refs {
			if u := entries[ref]; u != nil && ref != e.Name && !slices.Contains(u.UsedIn, e.Name) {
				u.UsedIn = append(u.UsedIn, e.Name)
			}
		}
	}
	paths := spec.m("paths")
	for _, path := range paths.keys() {
		item := paths.m(path)
		for _, method := range item.keys() {
			if !slices.Contains(methods, method) {
				continue
			}
			r.refs = nil
			op := r.operation(method, path, item, item.m(method))
			d.Operations = append(d.Operations, op)
			for _, ref := range r.refs {
				if e := entries[ref]; e != nil && !slices.Contains(e.UsedBy, op) {
					e.UsedBy = append(e.UsedBy, op)
				}
			}
		}
	}
	return d, nil
}

// docReader turns the parts of the file into the page's view, resolving
// the $refs of components and noting the schemas named (refs).
type docReader struct {
	schemas, parameters, responses, security *omap
	refs                                     []string
}

func (r *docReader) operation(method, path string, item, op *omap) *docOperation {
	o := &docOperation{ID: operationID(method, path), Method: strings.ToUpper(method), Path: path,
		Summary: op.str("summary"), Description: op.str("description")}
	for _, req := range op.list("security") {
		req, _ := req.(*omap)
		for _, name := range req.keys() {
			o.Auth = append(o.Auth, docAuth{Name: name, Description: r.security.m(name).str("description")})
		}
	}
	// The path's parameters, then the operation's (which override them).
	var params []docParameter
	for _, list := range [][]any{item.list("parameters"), op.list("parameters")} {
		for _, p := range list {
			dp := r.parameter(p)
			params = slices.DeleteFunc(params, func(q docParameter) bool { return q.Name == dp.Name && q.In == dp.In })
			params = append(params, dp)
		}
	}
	o.Parameters = params
	if body := op.m("requestBody"); body != nil {
		o.Body = &docBody{Required: body.get("required") == true, Description: body.str("description"),
			Content: r.content(body.m("content"))}
	}
	responses := op.m("responses")
	for _, status := range responses.keys() {
		resp := responses.m(status)
		dr := docResponse{Status: status}
		if ref := resp.str("$ref"); ref != "" {
			dr.Ref = refName(ref)
			resp = r.responses.m(dr.Ref)
		}
		dr.Description = resp.str("description")
		headers := resp.m("headers")
		for _, name := range headers.keys() {
			h := headers.m(name)
			dr.Headers = append(dr.Headers, docParameter{Name: name, Description: h.str("description"),
				Schema: r.schema(h.get("schema"), 0, true)})
		}
		dr.Content = r.content(resp.m("content"))
		o.Responses = append(o.Responses, dr)
	}
	return o
}

func (r *docReader) parameter(p any) docParameter {
	m, _ := p.(*omap)
	if ref := m.str("$ref"); ref != "" {
		m = r.parameters.m(refName(ref))
	}
	return docParameter{Name: m.str("name"), In: m.str("in"), Required: m.get("required") == true,
		Description: m.str("description"), Schema: r.schema(m.get("schema"), 0, true)}
}

func (r *docReader) content(c *omap) []docContent {
	var out []docContent
	for _, mediaType := range c.keys() {
		mt := c.m(mediaType)
		dc := docContent{MediaType: mediaType, Schema: r.schema(mt.get("schema"), 0, true)}
		if ex := mt.get("example"); ex != nil {
			dc.Example = jsonText(ex, "  ")
		}
		out = append(out, dc)
	}
	return out
}

// maxSchemaDepth bounds how deep inline schemas are shown.
const maxSchemaDepth = 8

// schema is the view of schema s. A $ref is a link; where resolve is set
// (an operation's parameters and bodies), the schema it names is shown
// too, one level: its own $refs stay links.
func (r *docReader) schema(s any, depth int, resolve bool) *docSchema {
	m, ok := s.(*omap)
	if !ok || m == nil {
		if s == true {
			return &docSchema{Type: "any"}
		}
		return nil
	}
	if ref := m.str("$ref"); ref != "" {
		name := refName(ref)
		r.refs = append(r.refs, name)
		ds := &docSchema{Ref: name, Description: m.str("description")}
		if resolve {
			ds.Resolved = r.schema(r.schemas.get(name), depth+1, false)
		}
		return ds
	}
	ds := &docSchema{Type: schemaType(m), Description: m.str("description")}
	for _, v := range m.list("enum") {
		ds.Enum = append(ds.Enum, scalarText(v))
	}
	for _, f := range []struct{ key, label string }{
		{"const", "always"}, {"default", "default"}, {"minimum", "at least"}, {"exclusiveMinimum", "more than"},
		{"maximum", "at most"}, {"exclusiveMaximum", "less than"}, {"minLength", "characters, at least"},
		{"maxLength", "characters, at most"}, {"pattern", "matches"}, {"minItems", "items, at least"},
		{"maxItems", "items, at most"}, {"uniqueItems", "unique items"}, {"minProperties", "properties, at least"},
		{"maxProperties", "properties, at most"}, {"example", "example"},
	} {
		if v := m.get(f.key); v != nil {
			ds.Facts = append(ds.Facts, f.label+": "+scalarText(v))
		}
	}
	if depth >= maxSchemaDepth {
		return ds
	}
	required := map[string]bool{}
	for _, name := range m.list("required") {
		required[scalarText(name)] = true
	}
	props := m.m("properties")
	for _, name := range props.keys() {
		ds.Properties = append(ds.Properties, docProperty{Name: name, Required: required[name],
			Schema: r.schema(props.get(name), depth+1, false)})
	}
	if items := m.get("items"); items != nil {
		ds.Items = r.schema(items, depth+1, resolve)
	}
	switch ap := m.get("additionalProperties").(type) {
	case *omap:
		ds.Additional = r.schema(ap, depth+1, false)
	case bool:
		if !ap {
			ds.Facts = append(ds.Facts, "no other properties")
		}
	}
	for _, k := range []struct{ key, kind string }{{"oneOf", "one of"}, {"anyOf", "any of"}, {"allOf", "all of"}} {
		for _, v := range m.list(k.key) {
			if vs := r.schema(v, depth+1, resolve); vs != nil {
				ds.Variants = append(ds.Variants, *vs)
				ds.VariantKind = k.kind
			}
		}
	}
	if not := m.get("not"); not != nil {
		if vs := r.schema(not, depth+1, false); vs != nil {
			ds.Variants = append(ds.Variants, *vs)
			ds.VariantKind = "not"
		}
	}
	return ds
}

// schemaType says a schema's type in words: "string (date-time)",
// "integer or null", "array".
func schemaType(m *omap) string {
	var types []string
	switch t := m.get("type").(type) {
	case string:
		types = []string{t}
	case []any:
		for _, v := range t {
			types = append(types, scalarText(v))
		}
	}
	if len(types) == 0 {
		switch {
		case m.get("properties") != nil:
			types = []string{"object"}
		case m.get("items") != nil:
			types = []string{"array"}
		}
	}
	s := strings.Join(types, " or ")
	if f := m.str("format"); f != "" {
		s += " (" + f + ")"
	}
	return s
}

func scalarText(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case nil:
		return "null"
	case *omap, []any:
		return jsonText(v, "")
	}
	return fmt.Sprint(v)
}

// jsonText is v as JSON, indented by indent when it is not "".
func jsonText(v any, indent string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // the template escapes
	enc.SetIndent("", indent)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSpace(b.String())
}

// refName is the last part of a $ref: "#/components/schemas/App" is App.
func refName(ref string) string { return ref[strings.LastIndex(ref, "/")+1:] }

var idUnsafe = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// operationID is the page's anchor of an operation: "post-sdk-v1-apps-app_id-launches".
func operationID(method, path string) string {
	return strings.TrimSuffix(method+"-"+strings.Trim(idUnsafe.ReplaceAllString(path, "-"), "-"), "-")
}

// docText renders a description: its paragraphs and lists ("- "), with
// `code` spans; everything else is text, escaped (a link in a description
// stays text: the page links only to itself).
func docText(s string) template.HTML {
	var b strings.Builder
	for _, block := range regexp.MustCompile(`\n\s*\n`).Split(strings.TrimSpace(s), -1) {
		lines := strings.Split(block, "\n")
		if strings.HasPrefix(strings.TrimSpace(lines[0]), "- ") {
			// A list; a line not starting with "- " continues its item.
			var items []string
			for _, l := range lines {
				if l = strings.TrimSpace(l); strings.HasPrefix(l, "- ") || len(items) == 0 {
					items = append(items, strings.TrimPrefix(l, "- "))
				} else {
					items[len(items)-1] += "\n" + l
				}
			}
			b.WriteString("<ul>")
			for _, item := range items {
				b.WriteString("<li>" + inlineText(item) + "</li>\n")
			}
			b.WriteString("</ul>\n")
			continue
		}
		b.WriteString("<p>" + inlineText(block) + "</p>\n")
	}
	return template.HTML(b.String())
}

var codeSpan = regexp.MustCompile("`([^`]+)`")

func inlineText(s string) string {
	return codeSpan.ReplaceAllString(template.HTMLEscapeString(s), "<code>$1</code>")
}

// omap is a YAML mapping in the file's order: the page lists paths,
// methods and properties as the file does.
type omap struct {
	order []string
	vals  map[string]any
}

// ordered converts a YAML node: mappings to *omap, sequences to []any,
// scalars to their Go values.
func ordered(n *yaml.Node) any {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil
		}
		return ordered(n.Content[0])
	case yaml.AliasNode:
		return ordered(n.Alias)
	case yaml.MappingNode:
		m := &omap{vals: map[string]any{}}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if _, dup := m.vals[k]; !dup {
				m.order = append(m.order, k)
			}
			m.vals[k] = ordered(n.Content[i+1])
		}
		return m
	case yaml.SequenceNode:
		out := []any{}
		for _, c := range n.Content {
			out = append(out, ordered(c))
		}
		return out
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return n.Value
	}
	return v
}

func (m *omap) keys() []string {
	if m == nil {
		return nil
	}
	return m.order
}

func (m *omap) get(k string) any {
	if m == nil {
		return nil
	}
	return m.vals[k]
}

func (m *omap) m(k string) *omap {
	v, _ := m.get(k).(*omap)
	return v
}

func (m *omap) str(k string) string {
	v, _ := m.get(k).(string)
	return v
}

func (m *omap) list(k string) []any {
	v, _ := m.get(k).([]any)
	return v
}

// MarshalJSON writes the mapping in its order (examples).
func (m *omap) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range m.order {
		if i > 0 {
			b.WriteByte(',')
		}
		// Without HTML escapes, as jsonText writes: the template escapes.
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(k); err != nil {
			return nil, err
		}
		b.Truncate(b.Len() - 1) // Encode's newline
		b.WriteByte(':')
		if err := enc.Encode(m.vals[k]); err != nil {
			return nil, err
		}
		b.Truncate(b.Len() - 1)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}
