package web

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"maps"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/touchpointhq/touchpoint"
)

// mustParse parses every page: templates/layout.html and the partials
// (templates/_*.html) with each page's own file. A template that does not
// parse is a bug caught by the first test that builds a Handler.
func mustParse() map[string]*template.Template {
	base := template.Must(template.New("").Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/_*.html"))
	names, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		panic(err)
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" || strings.HasPrefix(name, "_") {
			continue
		}
		pages[name] = template.Must(template.Must(base.Clone()).ParseFS(files, n))
	}
	return pages
}

// funcs are the templates' helpers: formatting only, no rules.
var funcs = template.FuncMap{
	"appPath":     appPath,
	"projectPath": projectPath,
	"money":       money,
	"percent":     percent,
	"ratio":       ratio,
	"date":        func(t time.Time) string { return t.UTC().Format(time.DateOnly) },
	"datetime":    datetime,
	"datetimep": func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return datetime(*t)
	},
	"seconds": func(s float64) string { return (time.Duration(s) * time.Second).String() },
	"join":    strings.Join,
	"query":   query,
	"sortedKeys": func(m map[string]int64) []string {
		return slices.Sorted(maps.Keys(m))
	},
	"add":  func(a, b int) int { return a + b },
	"json": prettyJSON,
}

// appPath is the dashboard path of an app's page: appPath "id123" "overview".
func appPath(id string, page ...string) string {
	p := "/apps/" + url.PathEscape(id)
	for _, s := range page {
		p += "/" + s
	}
	return p
}

// projectPath is the path segment of a project.
func projectPath(p *touchpoint.Project) string {
	return strconv.FormatInt(p.ID, 10)
}

// money writes amounts in several currencies: "USD 12.5 · EUR 3".
func money(m map[string]touchpoint.Amount) string {
	if len(m) == 0 {
		return "–"
	}
	var parts []string
	for _, c := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, c+" "+m[c].String())
	}
	return strings.Join(parts, " · ")
}

// percent writes n/d as a percentage with one decimal; "–" when d is 0.
func percent(n, d int64) string {
	if d == 0 {
		return "–"
	}
	return strconv.FormatFloat(100*float64(n)/float64(d), 'f', 1, 64) + "%"
}

// ratio writes a share in [0, 1] as a percentage.
func ratio(f float64) string {
	return strconv.FormatFloat(100*f, 'f', 1, 64) + "%"
}

func datetime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05") + " UTC"
}

// query builds a query string from pairs: query "from" "2026-01-01" "to" "…".
func query(kv ...any) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if v := fmt.Sprint(kv[i+1]); v != "" {
			q.Set(fmt.Sprint(kv[i]), v)
		}
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// prettyJSON writes v as indented JSON (a delivery's payload, a cohort's
// definition), unescaped: the template escapes it for HTML.
func prettyJSON(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}
