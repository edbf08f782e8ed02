package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/touchpointhq/touchpoint/httpapi"
)

// DemoCommand is "touchpoint demo": a server on a fresh store, set up
// through its own admin API with every part of the product (apps,
// partners, postbacks, click signing, the analytics project and its
// integrations, a cohort synced to AppsFlyer Audiences), fed simulated
// traffic until stopped. See docs/demo.md.
type DemoCommand struct {
	Stdout io.Writer
	Stderr io.Writer

	opts demoOptions
}

// demoOptions are the knobs tests turn: the clock the simulation follows,
// and how often things happen. The zero value is the command's.
type demoOptions struct {
	// now is the demo's clock: the simulated time catches up with it, then
	// follows it. Default time.Now.
	now func() time.Time
	// tick is how often the simulation moves once it has caught up
	// (default 1 s); historyStep how far one step goes while it plays the
	// history (default 15 minutes).
	tick        time.Duration
	historyStep time.Duration
	// summaryEvery is how often the summary is redrawn (default 2 s on a
	// terminal, 5 s otherwise).
	summaryEvery time.Duration
	// historyPerDay is the history's new users a day (default 50 × --rate):
	// a test whose clock runs fast keeps the live rate low and the
	// history full.
	historyPerDay float64
	// ready, when set, is called once the demo is set up, before traffic.
	ready func(*demo)
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return (&DemoCommand{Stdout: stdout, Stderr: stderr}).Run(ctx, args)
}

// demoConfig is the command line of "touchpoint demo".
type demoConfig struct {
	listen      string
	dataDir     string
	seed        uint64
	rate        float64
	historyDays int
	logLevel    string
}

const defaultDemoListen = "127.0.0.1:8080"

func (c *DemoCommand) parseFlags(args []string) (demoConfig, error) {
	var cfg demoConfig
	fs := newFlagSet("demo", c.Stderr, "[flags]")
	fs.StringVar(&cfg.listen, "listen", defaultDemoListen, "address to serve on; when the default is taken, a free port on 127.0.0.1 is used")
	fs.StringVar(&cfg.dataDir, "data-dir", "", "keep the demo's store in this new or empty directory (default: a temporary one, removed on exit)")
	fs.Uint64Var(&cfg.seed, "seed", 1, "seed of the simulated traffic: the same seed plays the same users")
	fs.Float64Var(&cfg.rate, "rate", 2, "new users (clicks that convert, organic installs, reinstalls, re-engagements) per second, live; the history has 50 times as many a day")
	fs.IntVar(&cfg.historyDays, "history-days", 7, "days of history played (fast) before the live traffic, so that the daily charts, retention and LTV have something to show; 0 to 25")
	fs.StringVar(&cfg.logLevel, "log-level", "warn", "the server's log level: debug, info, warn or error")
	if err := parseFlags(fs, args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return cfg, fmt.Errorf("demo takes no arguments, only flags (got %q)", fs.Arg(0))
	}
	switch {
	case !(cfg.rate > 0 && cfg.rate <= 200):
		return cfg, fmt.Errorf("--rate %v: want a number of users per second above 0, at most 200", cfg.rate)
	case cfg.historyDays < 0 || cfg.historyDays > 25:
		// Launch times may be at most 30 days old; the history's users
		// keep coming back for a week after their install.
		return cfg, fmt.Errorf("--history-days %d: want 0 to 25", cfg.historyDays)
	}
	return cfg, nil
}

// Run starts the server, sets it up, and sends traffic until ctx ends.
func (c *DemoCommand) Run(ctx context.Context, args []string) error {
	cfg, err := c.parseFlags(args)
	if err != nil {
		return err
	}
	dataDir, cleanup, err := demoDataDir(cfg.dataDir)
	if err != nil {
		return err
	}
	defer cleanup()
	addr, note, err := demoListenAddr(cfg.listen)
	if err != nil {
		return err
	}
	if note != "" {
		fmt.Fprintln(c.Stdout, note)
	}

	// The sink stands in for the ad network that receives postbacks.
	sink, err := startSink()
	if err != nil {
		return err
	}
	defer sink.Close()

	// The server: serve itself, with its flags given explicitly so that
	// no TOUCHPOINT_* variable of the shell (TOUCHPOINT_DB,
	// TOUCHPOINT_ADMIN_TOKEN…) points the demo at another store.
	sctx, stopServer := context.WithCancel(context.WithoutCancel(ctx))
	defer stopServer()
	ready := make(chan *httpapi.Server, 1)
	serve := &ServeCommand{Stdout: &bytes.Buffer{}, Stderr: c.Stderr, Ready: ready}
	served := make(chan error, 1)
	go func() {
		served <- serve.Run(sctx, demoServeArgs(ctx, map[string]string{"addr": addr, "data-dir": dataDir,
			"allow-private-postback-hosts": "true", "log-level": cfg.logLevel}))
	}()
	var srv *httpapi.Server
	select {
	case srv = <-ready:
	case err := <-served:
		if err == nil {
			err = errors.New("the server stopped before it listened")
		}
		return fmt.Errorf("starting the server on %s: %w", addr, err)
	case <-ctx.Done():
		stopServer()
		<-served
		return nil
	}
	stop := func() error {
		stopServer()
		return <-served
	}
	tok, err := os.ReadFile(filepath.Join(dataDir, tokenFile))
	if err != nil {
		stop()
		return err
	}
	token := strings.TrimSpace(string(tok))
	base := strings.TrimRight(srv.URL(), "/")

	d := newDemo(c.opts, cfg, base, token, sink)
	if err := d.setup(ctx); err != nil {
		stop()
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("setting the demo up: %w", err)
	}
	kept := "removed on exit"
	if cfg.dataDir != "" {
		kept = "kept"
	}
	fmt.Fprintf(c.Stdout, `Touchpoint demo: a server on a fresh store, set up through its admin API, fed simulated traffic.

  Dashboard   %s/  (the Android app's overview: %s/apps/%s/overview)
  Sign in     with the admin token %s
  Data dir    %s (%s)
  CLI         touchpoint report %s --server %s --admin-token %s

Apps %s (Android) and %s (iOS), partners %s (postbacks), %s (signed clicks) and %s (SRN),
analytics project %d, %d days of history played first, then live traffic. Ctrl-C stops it.

`, base, base, demoAndroid, token, dataDir, kept, demoAndroid, base, token, demoAndroid, demoIOS, pidPostbacks, pidSigned, pidSRN, d.project, cfg.historyDays)
	if c.opts.ready != nil {
		c.opts.ready(d)
	}

	summaryDone := make(chan struct{})
	sumCtx, stopSummary := context.WithCancel(ctx)
	go func() {
		defer close(summaryDone)
		d.printSummaries(sumCtx, c.Stdout)
	}()
	trafficErr := d.traffic(ctx)
	stopSummary()
	<-summaryDone
	if err := stop(); err != nil {
		return err
	}
	if trafficErr != nil && ctx.Err() == nil {
		return trafficErr
	}
	return nil
}

// demoDataDir returns the store's directory: the one given, which must be
// new or empty (the demo sets up a fresh store and would collide with
// what another server left), or a temporary one removed by cleanup.
func demoDataDir(dir string) (string, func(), error) {
	if dir == "" {
		tmp, err := os.MkdirTemp("", "touchpoint-demo-")
		if err != nil {
			return "", nil, err
		}
		return tmp, func() { os.RemoveAll(tmp) }, nil
	}
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return dir, func() {}, nil
	case err != nil:
		return "", nil, fmt.Errorf("--data-dir %s: %w", dir, err)
	case len(entries) > 0:
		return "", nil, fmt.Errorf("--data-dir %s is not empty: the demo sets up a fresh store; give a new or empty directory "+
			"(to look at a kept demo store again, run: touchpoint serve --data-dir %s)", dir, dir)
	}
	return dir, func() {}, nil
}

// demoListenAddr checks that addr is free. The default falls back to a
// free port (a newcomer may well have something on 8080), saying so; an
// address given explicitly that is taken is an error.
func demoListenAddr(addr string) (string, string, error) {
	l, err := net.Listen("tcp", addr)
	if err == nil {
		l.Close()
		return addr, "", nil
	}
	if addr != defaultDemoListen {
		return "", "", fmt.Errorf("--listen %s: %v (give another address, such as --listen 127.0.0.1:8081)", addr, err)
	}
	l, err2 := net.Listen("tcp", "127.0.0.1:0")
	if err2 != nil {
		return "", "", fmt.Errorf("--listen %s: %v; and no free port on 127.0.0.1: %v", addr, err, err2)
	}
	free := l.Addr().String()
	l.Close()
	return free, fmt.Sprintf("%s is taken (%v); serving on %s instead (--listen chooses).", addr, err, free), nil
}

// sink is the ad network's postback endpoint: an HTTP listener in the
// demo's process that counts what it receives.
type sink struct {
	srv      *http.Server
	url      string
	installs atomic.Int64
	events   atomic.Int64
}

func startSink() (*sink, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("the postback sink: %w", err)
	}
	s := &sink{url: "http://" + l.Addr().String()}
	mux := http.NewServeMux()
	mux.HandleFunc("/install", func(w http.ResponseWriter, r *http.Request) { s.installs.Add(1) })
	mux.HandleFunc("/event", func(w http.ResponseWriter, r *http.Request) { s.events.Add(1) })
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(l)
	return s, nil
}

func (s *sink) Close() error { return s.srv.Close() }

// demoServeArgs are serve's arguments for the demo: the settings given,
// and every other serve flag at its default, so that no TOUCHPOINT_*
// variable or config file left in the shell (TOUCHPOINT_DB,
// TOUCHPOINT_CONFIG, TOUCHPOINT_GEOIP_DB…) changes the demo or points it at
// another store: a flag given on the command line wins over both.
func demoServeArgs(ctx context.Context, set map[string]string) []string {
	var args []string
	flags, _ := flagsOf(ctx, []string{"serve"})
	for _, f := range flags {
		v, ok := set[f.Name]
		if !ok {
			v = f.DefValue
		}
		args = append(args, "--"+f.Name+"="+v)
	}
	return args
}
