// Package web is Touchpoint's dashboard: server-rendered HTML pages over
// the application layer (package service) and the store's plain reads,
// served by `touchpoint serve` at /.
//
// The pages are html/template files and one small script, embedded in the
// binary: nothing is fetched from elsewhere, and there is no build step, so
// the dashboard works offline and what is served is what is in the
// repository. Charts are SVG drawn on the server. The script only adds what
// HTML cannot do alone (copy buttons, the live feed, confirmations, and
// the parts of a page that are slow to compute, fetched once the page has
// painted: a chart, a long range's counts); every page works, and every
// form posts, without it.
//
// Sign-in takes the admin token once and sets a session cookie (auth.go).
// Every form carries a CSRF token, and every answer a Content-Security-
// Policy that allows no inline script or style.
//
// The dashboard adds no rule of its own: a form is parsed into the same
// values the JSON API takes, and handed to the same calls.
package web

import (
	"bytes"
	"cmp"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/service"
)

//go:embed all:templates static
var files embed.FS

// Handler serves the dashboard. Set the exported fields, then Register.
type Handler struct {
	// Service is the application; a function, because the HTTP server
	// opens it after building its routes.
	Service    func() *service.Service
	Store      touchpoint.Store
	AdminToken string
	Logger     *slog.Logger
	// TLS reports whether a request came over TLS (directly or through a
	// trusted proxy): the session cookie is then Secure. Nil: r.TLS.
	TLS func(r *http.Request) bool

	pages map[string]*template.Template
}

// Register adds the dashboard's routes to mux. Handle measures a route
// under its pattern (the server's metrics).
func (h *Handler) Register(mux *http.ServeMux, handle func(mux *http.ServeMux, pattern string, hf http.HandlerFunc)) {
	h.Logger = cmp.Or(h.Logger, slog.Default())
	h.pages = mustParse()
	static, _ := fs.Sub(files, "static")
	mux.Handle("GET /static/", secure(http.StripPrefix("/static/", staticFiles(static))))
	handle(mux, "GET /{$}", h.page(h.handleHome))
	handle(mux, "GET /signin", h.public(h.handleSignInForm))
	handle(mux, "POST /signin", h.public(h.handleSignIn))
	handle(mux, "POST /signout", h.page(h.handleSignOut))
	// Any other path (the API's own are more specific): a page that says
	// so, not a blank one.
	mux.Handle("/", h.public(func(w http.ResponseWriter, r *http.Request, v *View) error {
		return touchpoint.Errorf(touchpoint.ENOTFOUND, "there is no page at %s", r.URL.Path)
	}))
	r := &routes{h: h, mux: mux, handle: handle}
	h.registerOverviewRoutes(r)
	h.registerLiveRoutes(r)
	h.registerExplorerRoutes(r)
	h.registerPartnerRoutes(r)
	h.registerLinkRoutes(r)
	h.registerDeliveryRoutes(r)
	h.registerAnalyticsRoutes(r)
	h.registerCohortRoutes(r)
	h.registerSettingsRoutes(r)
}

// routes registers a dashboard's pages: every one behind the session, and
// every POST behind the CSRF check.
type routes struct {
	h      *Handler
	mux    *http.ServeMux
	handle func(mux *http.ServeMux, pattern string, hf http.HandlerFunc)
}

// page registers a page that needs a signed-in session.
func (r *routes) page(pattern string, hf pageFunc) {
	r.handle(r.mux, pattern, r.h.page(hf))
}

// stream registers an endpoint (server-sent events) that needs a session
// and writes its own answer.
func (r *routes) stream(pattern string, hf http.HandlerFunc) {
	r.handle(r.mux, pattern, r.h.session(hf))
}

// pageFunc answers a request with a page to render, or an error to show in
// words. A POST that succeeds usually answers a redirect (see redirect).
type pageFunc func(w http.ResponseWriter, r *http.Request, v *View) error

// View is what every page template gets: the page's own data in Data,
// the chrome (navigation, the CSRF token, a notice) around it.
type View struct {
	Title string
	// Section names the navigation entry to highlight ("overview", …).
	Section string
	// App and Project are the app and project the page is about, when it
	// is about one: the navigation then offers its pages.
	App     *touchpoint.App
	Project *touchpoint.Project
	Apps    []*touchpoint.App
	// Projects are the analytics projects, for the navigation.
	Projects []*touchpoint.Project
	CSRF     string
	// Notice is a one-line message from the last form ("Partner saved.").
	Notice string
	// Error is an error to show above the page (a form that was refused
	// is rendered again with its values and the error).
	Error string
	Data  any

	template string
	// part, when set, names the template of the page's to render alone,
	// without the layout: a fragment a page's script fetches.
	part   string
	status int
	req    *http.Request
}

// Render asks for template name (templates/name.html) with data.
func (v *View) Render(name string, data any) error {
	v.template, v.Data = name, data
	return nil
}

// Status sets the HTTP status of the rendered page (a form refused: 400).
func (v *View) Status(code int) { v.status = code }

// Fail shows err above the page that is rendered (a refused form's, with
// the values sent), with the error's status.
func (v *View) Fail(err error) {
	v.Error = touchpoint.ErrorMessage(err)
	v.status = touchpoint.StatusOf(touchpoint.ErrorCode(err))
}

// redirectAfterPost answers a form that succeeded: to the page at path,
// with a notice shown once there.
func redirect(w http.ResponseWriter, r *http.Request, path, notice string) error {
	if notice != "" {
		http.SetCookie(w, &http.Cookie{Name: noticeCookie, Value: url.QueryEscape(notice), Path: "/", MaxAge: 60,
			HttpOnly: true, SameSite: http.SameSiteStrictMode})
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
	return nil
}

const noticeCookie = "tp_notice"

// page wraps a page handler: a session is required (else the sign-in
// page), POSTs must carry the session's CSRF token, the navigation is
// loaded, and the page or the error is rendered.
func (h *Handler) page(hf pageFunc) http.HandlerFunc {
	return h.session(func(w http.ResponseWriter, r *http.Request) {
		s := sessionOf(r)
		v := &View{CSRF: s.csrf(), req: r}
		if c, err := r.Cookie(noticeCookie); err == nil {
			v.Notice, _ = url.QueryUnescape(c.Value)
			http.SetCookie(w, &http.Cookie{Name: noticeCookie, Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
		}
		if r.Method == http.MethodPost {
			if err := s.checkForm(r); err != nil {
				h.fail(w, r, v, err)
				return
			}
		}
		if err := h.nav(r, v); err != nil {
			h.fail(w, r, v, err)
			return
		}
		if err := hf(w, r, v); err != nil {
			h.fail(w, r, v, err)
			return
		}
		if v.template == "" {
			return // answered (a redirect)
		}
		h.render(w, v)
	})
}

// public wraps the pages that need no session (sign-in).
func (h *Handler) public(hf pageFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		setSecurityHeaders(w)
		v := &View{req: r}
		if err := hf(w, r, v); err != nil {
			h.fail(w, r, v, err)
			return
		}
		if v.template != "" {
			h.render(w, v)
		}
	}
}

// nav loads what the navigation shows: the apps and projects, and the app
// or project the path names.
func (h *Handler) nav(r *http.Request, v *View) error {
	ctx := r.Context()
	apps, err := h.Store.ListApps(ctx)
	if err != nil {
		return err
	}
	projects, err := h.Store.ListProjects(ctx)
	if err != nil {
		return err
	}
	v.Apps, v.Projects = apps, projects
	if id := r.PathValue("app"); id != "" {
		for _, a := range apps {
			if a.ID == id {
				v.App = a
			}
		}
		if v.App == nil {
			return touchpoint.Errorf(touchpoint.ENOTFOUND, "there is no app %q: pick one from the list, or create it under Settings", id)
		}
	}
	if id := r.PathValue("project"); id != "" {
		for _, p := range projects {
			if projectPath(p) == id {
				v.Project = p
			}
		}
		if v.Project == nil {
			return touchpoint.Errorf(touchpoint.ENOTFOUND, "there is no project %q: pick one from the list, or create it under Settings", id)
		}
	}
	return nil
}

// fail renders err in words, inside the page chrome when it can, with the
// error's status. Internal errors are logged and not shown in detail.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, v *View, err error) {
	code := touchpoint.ErrorCode(err)
	if code == touchpoint.EINTERNAL {
		h.Logger.Error("dashboard", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	v.Error = touchpoint.ErrorMessage(err)
	v.status = touchpoint.StatusOf(code)
	v.template, v.Data = "error", nil
	v.Title = cmp.Or(v.Title, "Error")
	h.render(w, v)
}

// render executes the view's template into a buffer first: a template
// that fails answers an error page, never half a page.
func (h *Handler) render(w http.ResponseWriter, v *View) {
	t := h.pages[v.template]
	var buf bytes.Buffer
	if t == nil {
		h.Logger.Error("dashboard: no such template", "template", v.template)
		t, v.status, v.Error, v.Data = h.pages["error"], 500, "Internal error.", nil
	}
	var err error
	switch {
	case v.part == "":
		err = t.ExecuteTemplate(&buf, "layout", v)
	case v.template == "error":
		err = t.ExecuteTemplate(&buf, "error-part", v)
	default:
		if err = t.ExecuteTemplate(&buf, "error-part", v); err == nil {
			err = t.ExecuteTemplate(&buf, v.part, v)
		}
	}
	if err != nil {
		h.Logger.Error("dashboard: render", "template", v.template, "err", err)
		buf.Reset()
		v.status, v.Error, v.Data = 500, "Internal error: the page could not be drawn.", nil
		_ = h.pages["error"].ExecuteTemplate(&buf, "layout", v)
	}
	setSecurityHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(cmp.Or(v.status, http.StatusOK))
	w.Write(buf.Bytes())
}

// contentSecurityPolicy allows the dashboard's own files and nothing else:
// no inline script or style, no other origin, no framing.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func setSecurityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
}

// secure adds the security headers to a handler's answers.
func secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setSecurityHeaders(w)
		next.ServeHTTP(w, r)
	})
}

// staticFiles serves the embedded assets, cached for a day (their names
// do not change with their content; a day keeps an upgrade visible soon).
func staticFiles(fsys fs.FS) http.Handler {
	fh := http.FileServerFS(fsys)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") || r.URL.Path == "" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=86400")
		fh.ServeHTTP(w, r)
	})
}

// baseURL is this server's address as the browser reached it: what the
// curl commands and links of empty states name.
func (h *Handler) baseURL(r *http.Request) string {
	if h.isTLS(r) {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

// GET /: the first app's overview, or what to do first.
func (h *Handler) handleHome(w http.ResponseWriter, r *http.Request, v *View) error {
	if len(v.Apps) > 0 {
		http.Redirect(w, r, "/apps/"+url.PathEscape(v.Apps[0].ID)+"/overview", http.StatusSeeOther)
		return nil
	}
	v.Title = "Welcome"
	return v.Render("home", struct{ Server string }{h.baseURL(r)})
}
