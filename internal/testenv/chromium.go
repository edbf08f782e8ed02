package testenv

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// ChromiumPath finds Chromium: $CHROMIUM, /usr/bin/chromium, or chromium
// on the PATH.
func ChromiumPath() (string, bool) {
	for _, p := range []string{os.Getenv("CHROMIUM"), "/usr/bin/chromium"} {
		if p != "" {
			if _, err := os.Stat(p); err == nil {
				return p, true
			}
		}
	}
	p, err := exec.LookPath("chromium")
	return p, err == nil
}

// Chromium starts a headless Chromium for t, bounded by limit (a hung page
// cannot hang the run), and returns its context (chromedp.NewContext of it
// opens a tab); or skips t, saying how to install Chromium. The browser is
// sealed: a fresh profile, no background traffic, and no host resolves but
// localhost and 127.0.0.1, so nothing leaves the machine. It stops when t
// ends.
func Chromium(t testing.TB, limit time.Duration, opts ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	chromium, ok := ChromiumPath()
	if !ok {
		Skip(t, "Chromium is not installed: `apt-get install -y chromium` (or set CHROMIUM to its path)")
	}
	bctx, cancelBound := context.WithTimeout(context.Background(), limit)
	all := append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"),
	}, opts...)
	actx, cancelAlloc := chromedp.NewExecAllocator(bctx, all...)
	ctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		cancelBound()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", chromium, err)
	}
	return ctx
}
