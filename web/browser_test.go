package web_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sync"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/touchpointhq/touchpoint/internal/testenv"
)

// chrome is a tab of headless Chromium on the dashboard: a real browser
// that runs app.js under the Content-Security-Policy. Anything the page
// logs as an error or a policy violation fails the test.
type chrome struct {
	t    testing.TB
	ctx  context.Context
	base string
	// shots is where screenshots go: $TOUCHPOINT_SCREENSHOTS, or
	// web/screenshots (ignored by git). They are artifacts for a person
	// to look at, not golden files.
	shots string
}

func newChrome(t testing.TB, base string) *chrome {
	t.Helper()
	bctx := testenv.Chromium(t, 4*time.Minute)
	var mu sync.Mutex
	var problems []string
	report := func(p string) {
		mu.Lock()
		problems = append(problems, p)
		mu.Unlock()
	}
	ctx, cancel := chromedp.NewContext(bctx, chromedp.WithListener(func(ev any) {
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			report("exception: " + e.ExceptionDetails.Text + " " + e.ExceptionDetails.URL)
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeWarning {
				var args []string
				for _, a := range e.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				report(string(e.Type) + ": " + strings.Join(args, " "))
			}
		case *log.EventEntryAdded:
			// The browser's own complaints: a policy violation, a failed
			// load. (Favicon probes and the like are warnings at most.)
			// A form refused answers 4xx on purpose: a network entry is a
			// problem only for the page's assets.
			if e.Entry.Level == log.EntryLevelError && (e.Entry.Source != log.EntrySourceNetwork || strings.Contains(e.Entry.URL, "/static/")) {
				report("error: " + e.Entry.Text + " " + e.Entry.URL)
			}
		}
	}))
	t.Cleanup(cancel)
	// The tab lives as long as the context of its first run: this one,
	// not a step's (run's timeouts).
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	c := &chrome{t: t, ctx: ctx, base: base, shots: os.Getenv("TOUCHPOINT_SCREENSHOTS")}
	if c.shots == "" {
		c.shots = "screenshots"
	}
	if err := os.MkdirAll(c.shots, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range problems {
			t.Errorf("the page reported %s", p)
		}
	})
	c.run(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, log.Enable, cdp.Empty{})
		return err
	}), chromedp.EmulateViewport(1280, 900))
	return c
}

// run runs actions, failing the test on an error; each step has a minute.
func (c *chrome) run(actions ...chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		c.t.Fatalf("browser: %v", err)
	}
}

// value runs an action that answers a value.
func value[T any](c *chrome, a chromedp.Action[T]) T {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, time.Minute)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		c.t.Fatalf("browser: %v", err)
	}
	return v
}

// open goes to a path of the dashboard and waits for its heading.
func (c *chrome) open(path string) {
	c.t.Helper()
	if !strings.HasPrefix(path, "http") {
		path = c.base + path
	}
	c.run(chromedp.Navigate(path), chromedp.WaitVisible(chromedp.CSS("main h1")))
}

// text returns the text of the first element matching sel.
func (c *chrome) text(sel string) string {
	c.t.Helper()
	return value(c, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
}

// waitText waits (up to the step's minute) until the first element
// matching sel contains want.
func (c *chrome) waitText(sel, want string) {
	c.t.Helper()
	value(c, chromedp.Poll[bool](`(() => { const e = document.querySelector(`+jsString(sel)+`); return !!e && e.textContent.includes(`+jsString(want)+`); })()`,
		chromedp.WithPollingInterval(50*time.Millisecond)))
}

// navigate runs action (a submit, a click on a link) and waits (up to a
// minute) until the page it leads to has loaded, and returns its path and
// query. The old page is marked first, so a new page is told from it even
// at the same address.
func (c *chrome) navigate(action chromedp.Action[chromedp.Void]) string {
	c.t.Helper()
	c.run(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[any](`window.tpOld = true`)(ctx, t)
		return err
	}), action)
	deadline := time.Now().Add(time.Minute)
	var last string
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(c.ctx, 5*time.Second)
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(window.tpOld ? "old" : document.readyState) + " " + location.pathname + location.search`))
		cancel()
		if err == nil {
			last = v
			if state, path, _ := strings.Cut(v, " "); state == "complete" {
				return path
			}
		}
		time.Sleep(30 * time.Millisecond)
	}
	c.t.Fatalf("no new page loaded: last %q", last)
	return ""
}

// submit fills a form's fields (by id) and submits it by the element
// submit (a button's selector), and returns the path it led to.
func (c *chrome) submit(fields map[string]string, submit string) string {
	c.t.Helper()
	for id, v := range fields {
		c.set("#"+id, v)
	}
	return c.navigate(chromedp.Click(chromedp.CSS(submit)))
}

// set gives the form control matching sel (a CSS selector) a value, as
// typing or choosing it would.
func (c *chrome) set(sel, v string) {
	c.t.Helper()
	ok := value(c, chromedp.Evaluate[bool](`(() => {
		const el = document.querySelector(`+jsString(sel)+`);
		if (!el) return false;
		el.value = `+jsString(v)+`;
		el.dispatchEvent(new Event("input", {bubbles: true}));
		el.dispatchEvent(new Event("change", {bubbles: true}));
		return el.value === `+jsString(v)+`;
	})()`))
	if !ok {
		c.t.Fatalf("cannot set %s to %q on %s", sel, v, value(c, chromedp.Evaluate[string](`location.pathname`)))
	}
}

// shot writes a screenshot of the whole page at width px (1280 or 390).
func (c *chrome) shot(name string, width int64) {
	c.t.Helper()
	var opts []chromedp.EmulateViewportOption
	if width < 600 {
		opts = append(opts, chromedp.EmulateMobile)
	}
	c.run(chromedp.EmulateViewport(width, 900, opts...), chromedp.Sleep(50*time.Millisecond))
	png := value(c, chromedp.FullScreenshot(100))
	c.run(chromedp.EmulateViewport(1280, 900))
	if err := os.WriteFile(filepath.Join(c.shots, name+".png"), png, 0o644); err != nil {
		c.t.Fatal(err)
	}
}

func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, "`", "\\`", "$", "\\$")
	return "`" + r.Replace(s) + "`"
}

// TestBrowserSignIn signs in through the form in Chromium: the CSP lets
// the page's own script and style load and nothing else breaks.
func TestBrowserSignIn(t *testing.T) {
	s, _ := startServer(t)
	c := newChrome(t, s.URL())
	c.open("/settings")
	if got := c.text("main h1"); got != "Sign in" {
		t.Fatalf("heading %q, want Sign in", got)
	}
	c.submit(map[string]string{"token": "wrong"}, `main button[type="submit"]`)
	if got := c.text("main .error"); !strings.Contains(got, "not the admin token") {
		t.Fatalf("wrong token: %q", got)
	}
	if path := c.submit(map[string]string{"token": token}, `main button[type="submit"]`); path != "/settings" {
		t.Fatalf("signed in at %s, want /settings", path)
	}
	c.run(chromedp.WaitVisible(chromedp.CSS("form.signout")))
	// The stylesheet applied (a rule of app.css), and app.js ran.
	display := value(c, chromedp.Evaluate[string](`getComputedStyle(document.querySelector("header.top")).display`))
	if display != "flex" {
		t.Fatalf("header display %q: app.css did not apply", display)
	}
	c.shot("signed-in-settings", 1280)
}

// checkPage checks the page open now the way a person with a keyboard, a
// screen reader or a phone meets it: every control has a label, nothing
// takes a positive tabindex, there is one h1, and at 390 px wide nothing
// but a table's own scroller is wider than the screen.
func (c *chrome) checkPage(name string) {
	c.t.Helper()
	bad := value(c, chromedp.Evaluate[[]string](`(() => {
		const bad = [];
		for (const el of document.querySelectorAll("input:not([type=hidden]), select, textarea, button")) {
			if (el.tagName === "BUTTON") {
				if (!el.textContent.trim() && !el.getAttribute("aria-label")) bad.push("a button without a name");
				continue;
			}
			const labelled = (el.id && document.querySelector('label[for="' + CSS.escape(el.id) + '"]')) ||
				el.closest("label") || el.getAttribute("aria-label") || el.getAttribute("aria-labelledby");
			if (!labelled) bad.push("no label: " + el.outerHTML.slice(0, 100));
		}
		if (document.querySelector('[tabindex]:not([tabindex="0"]):not([tabindex="-1"])')) bad.push("a positive tabindex");
		if (document.querySelectorAll("h1").length !== 1) bad.push("not one h1");
		return bad;
	})()`))
	for _, b := range bad {
		c.t.Errorf("%s: %s", name, b)
	}
	c.run(chromedp.EmulateViewport(390, 800, chromedp.EmulateMobile), chromedp.Sleep(30*time.Millisecond))
	wide := value(c, chromedp.Evaluate[string](`(() => {
		if (document.documentElement.scrollWidth <= window.innerWidth + 1) return "";
		let widest = null;
		for (const el of document.querySelectorAll("main *")) {
			if (el.closest(".table")) continue;
			const r = el.getBoundingClientRect();
			if (r.right > window.innerWidth + 1 && (!widest || r.width > widest.getBoundingClientRect().width)) widest = el;
		}
		return document.documentElement.scrollWidth + "px wide; widest: " + (widest ? widest.outerHTML.slice(0, 120) : "?");
	})()`))
	c.run(chromedp.EmulateViewport(1280, 900))
	if wide != "" {
		c.t.Errorf("%s at 390 px: %s", name, wide)
	}
}

// TestBrowserKeyboard: the dashboard works from the keyboard: sign in by
// typing the token and Enter (the field has the focus), then Tab reaches
// the link that skips to the content first, and Enter follows it.
func TestBrowserKeyboard(t *testing.T) {
	s, _ := startServer(t)
	c := newChrome(t, s.URL())
	c.open("/signin")
	if focused := value(c, chromedp.Evaluate[string](`document.activeElement.id`)); focused != "token" {
		t.Fatalf("the sign-in page's focus is on %q, want the token", focused)
	}
	if path := c.navigate(chromedp.KeyEvent(token + kb.Enter)); path != "/" {
		t.Fatalf("signed in with the keyboard at %s, want /", path)
	}
	c.run(chromedp.KeyEvent(kb.Tab))
	if focused := value(c, chromedp.Evaluate[string](`document.activeElement.textContent`)); focused != "Skip to content" {
		t.Fatalf("the first Tab focuses %q, want the skip link", focused)
	}
	c.run(chromedp.KeyEvent(kb.Enter))
	if hash := value(c, chromedp.Evaluate[string](`location.hash`)); hash != "#main" {
		t.Fatalf("Enter on the skip link: at %q", hash)
	}
	// Focus is visible: the stylesheet outlines a focused control.
	c.run(chromedp.KeyEvent(kb.Tab))
	if outline := value(c, chromedp.Evaluate[string](`getComputedStyle(document.activeElement).outlineStyle`)); outline == "none" {
		t.Fatal("a focused control has no outline")
	}
}
