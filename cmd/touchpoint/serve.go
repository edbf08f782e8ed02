package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/geo"
	"github.com/touchpointhq/touchpoint/httpapi"
	"github.com/touchpointhq/touchpoint/postgres"
	"github.com/touchpointhq/touchpoint/service"
	"github.com/touchpointhq/touchpoint/sqlite"
	"github.com/touchpointhq/touchpoint/task"
)

// ServeCommand runs the server: the composition root.
type ServeCommand struct {
	Config ServeConfig
	Stdout io.Writer
	Stderr io.Writer

	// Store is the store serve runs on: the embedded one in --data-dir, or
	// PostgreSQL (--db).
	Store  Store
	Server *httpapi.Server
	// Tasks runs the background work (tasks).
	Tasks *task.Runner
	// Ready, when set, receives the server once it listens (tests).
	Ready chan<- *httpapi.Server
}

// Store is what serve runs on: every store interface, the store's own
// background work (in serve's one table of tasks), and Close.
type Store interface {
	touchpoint.Store
	Tasks() []task.Task
	Close() error
}

// ServeConfig is the configuration of "touchpoint serve".
type ServeConfig struct {
	Addr    string
	DataDir string
	// DB, when set, is a PostgreSQL URL (postgres://…): the store of
	// several nodes. Empty: the embedded store in DataDir.
	DB             string
	AdminToken     string
	TrustedProxies string
	Synchronous    string
	LogLevel       string
	LogFormat      string // text or json
	AccessLog      bool   // a line per HTTP request, at INFO
	PurgeInterval  time.Duration
	ShutdownGrace  time.Duration
	CommitLinger   time.Duration
	// DeliveryRetention is how long finished deliveries and attempts are
	// kept; 0: forever.
	DeliveryRetention time.Duration
	// GeoIPDB is a MaxMind DB file (GeoLite2/GeoIP2 City or Country,
	// DB-IP lite) to locate clients with; empty: no lookups.
	GeoIPDB string

	AllowPrivatePostbackHosts bool
	PostbackConcurrency       int
	PostbackTimeout           time.Duration
	PostbackLease             time.Duration

	MaxDecodingBytes int64
	MaxConns         int
	IdleTimeout      time.Duration

	// ConfigFile is the YAML file the settings not given as flags or
	// TOUCHPOINT_* variables were read from (config.go); fromFile says
	// where in it each was set, for errors.
	ConfigFile string
	fromFile   map[string]string
}

// DefaultServeConfig returns the defaults.
func DefaultServeConfig() ServeConfig {
	return ServeConfig{
		Addr:          ":8080",
		DataDir:       "data",
		Synchronous:   "normal",
		LogLevel:      "info",
		LogFormat:     "text",
		PurgeInterval: time.Hour,
		ShutdownGrace: 30 * time.Second,
		CommitLinger:  200 * time.Microsecond,

		// The dashboard's 7 days of delivery health, with room to look
		// into a partner's month and to retry what was given up.
		DeliveryRetention: service.DefaultDeliveryRetention,

		PostbackConcurrency: 16,
		PostbackTimeout:     10 * time.Second,

		MaxDecodingBytes: httpapi.DefaultMaxDecodingBytes,
		MaxConns:         httpapi.DefaultMaxConns,
		IdleTimeout:      httpapi.DefaultIdleTimeout,
	}
}

// ParseFlags reads the configuration from flags and environment.
func (c *ServeCommand) ParseFlags(args []string) error {
	c.Config = DefaultServeConfig()
	cfg := &c.Config
	fs := newFlagSet("serve", c.Stderr, "[flags]")
	fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "address to listen on")
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "directory of the SQLite database and the admin token")
	fs.StringVar(&cfg.DB, "db", "", "a PostgreSQL URL (postgres://user@host/db) to store everything there, for several nodes; empty: the embedded store in --data-dir")
	fs.StringVar(&cfg.AdminToken, "admin-token", "", "admin API token; when empty, one is generated on first start and kept in the data dir")
	fs.StringVar(&cfg.TrustedProxies, "trusted-proxies", "", "comma-separated addresses or CIDRs of proxies whose X-Forwarded-For is believed")
	fs.StringVar(&cfg.Synchronous, "sqlite-synchronous", cfg.Synchronous, "normal: a commit survives a process crash; full: also a power loss (an fsync per commit)")
	fs.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "debug, info, warn or error")
	fs.StringVar(&cfg.LogFormat, "log-format", cfg.LogFormat, "text (key=value lines) or json (a JSON object a line)")
	fs.StringVar(&cfg.GeoIPDB, "geoip-db", "", "a GeoLite2/GeoIP2 City or Country, or DB-IP lite, .mmdb file: events, clicks and launches get the country and city of their IP address (docs/geo.md); empty: no lookups")
	fs.BoolVar(&cfg.AccessLog, "access-log", cfg.AccessLog, "log every HTTP request at INFO: method, path (without the query string), status, bytes, duration and client IP")
	fs.DurationVar(&cfg.PurgeInterval, "purge-interval", cfg.PurgeInterval, "how often touches older than the longest lookback window (30 days), and deliveries past --delivery-retention, are purged; 0 disables")
	fs.DurationVar(&cfg.DeliveryRetention, "delivery-retention", cfg.DeliveryRetention, "how long finished deliveries (postbacks, forwards, streamed events: sent or given up) and delivery attempts are kept, "+
		"purged every --purge-interval; pending ones stay until sent or given up. 30 days by default: the dashboard shows 7 days of delivery health, "+
		"and a given-up delivery can be retried while it is kept. 0 keeps them forever")
	fs.DurationVar(&cfg.ShutdownGrace, "shutdown-grace", cfg.ShutdownGrace, "how long a shutdown waits for requests in flight")
	fs.DurationVar(&cfg.CommitLinger, "commit-linger", cfg.CommitLinger, "under concurrent load, how long a group commit waits for more clicks to join it")
	fs.BoolVar(&cfg.AllowPrivatePostbackHosts, "allow-private-postback-hosts", cfg.AllowPrivatePostbackHosts, "let every outbound URL (postbacks, analytics forwards, destinations) name private, loopback and other non-public hosts (tests, closed networks)")
	fs.IntVar(&cfg.PostbackConcurrency, "postback-concurrency-per-host", cfg.PostbackConcurrency, "concurrent postback sends to one host")
	fs.DurationVar(&cfg.PostbackTimeout, "postback-timeout", cfg.PostbackTimeout, "how long one postback send may take; no answer by then is retried like a 5xx")
	fs.DurationVar(&cfg.PostbackLease, "postback-lease", cfg.PostbackLease, "how long the outbox's claim of a postback lasts: what a node claimed and did not send (it died) is sent by another once it lapses; must be longer than --postback-timeout; 0: the default, from the timeout and the concurrency (6 minutes with theirs)")
	fs.Int64Var(&cfg.MaxDecodingBytes, "max-decoding-bytes", cfg.MaxDecodingBytes, "bytes of upload bodies read and decoded at once; more uploads wait, then get 503 (decoding takes about 4 times a body in memory)")
	fs.IntVar(&cfg.MaxConns, "max-conns", cfg.MaxConns, "open connections at most; near it, idle keep-alive connections are closed")
	fs.DurationVar(&cfg.IdleTimeout, "idle-timeout", cfg.IdleTimeout, "how long an idle keep-alive connection stays open")
	fs.StringVar(&cfg.ConfigFile, configFlag, "", "a YAML file of these settings, keyed by flag name (addr: \":8080\"; docs/configuration.md); a flag or a TOUCHPOINT_ variable wins over it")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var err error
	cfg.fromFile, err = applyConfigFile(fs)
	return err
}

// Run parses flags, starts everything, and blocks until ctx ends (SIGINT or
// SIGTERM), then shuts down gracefully: stop accepting, finish requests in
// flight, commit what they queued, close the database.
func (c *ServeCommand) Run(ctx context.Context, args []string) (err error) {
	if err := c.ParseFlags(args); err != nil {
		return err
	}
	// A value the config file gave and serve refuses: say where it is.
	defer func() { err = placeError(err, c.Config.fromFile) }()
	cfg := c.Config
	logger, err := newLogger(c.Stderr, cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return err
	}
	if cfg.DeliveryRetention < 0 {
		return fmt.Errorf("--delivery-retention %s: want a duration such as 720h (30 days), or 0 to keep deliveries forever", cfg.DeliveryRetention)
	}
	if cfg.PostbackLease < 0 || cfg.PostbackLease > 0 && cfg.PostbackLease <= cfg.PostbackTimeout {
		return fmt.Errorf("--postback-lease %s: want 0 (the default) or longer than --postback-timeout (%s)", cfg.PostbackLease, cfg.PostbackTimeout)
	}
	proxies, err := parsePrefixes(cfg.TrustedProxies)
	if err != nil {
		return err
	}
	var geoIP *geo.DB
	if cfg.GeoIPDB != "" {
		if geoIP, err = geo.Open(cfg.GeoIPDB); err != nil {
			return fmt.Errorf("--geoip-db: %w", err)
		}
		defer geoIP.Close()
		logger.Info("geoip database", "path", cfg.GeoIPDB, "type", geoIP.Type)
	}
	token, err := c.openStore(ctx, logger)
	if err != nil {
		return err
	}
	defer c.Store.Close()

	c.Server = httpapi.NewServer(c.Store)
	c.Server.Addr = cfg.Addr
	c.Server.AdminToken = token
	c.Server.TrustedProxies = proxies
	c.Server.AccessLog = cfg.AccessLog
	c.Server.GeoIP = geoIP
	c.Server.CommitLinger = cfg.CommitLinger
	c.Server.AllowPrivatePostbackHosts = cfg.AllowPrivatePostbackHosts
	c.Server.PostbackConcurrency = cfg.PostbackConcurrency
	c.Server.PostbackTimeout = cfg.PostbackTimeout
	c.Server.PostbackLease = cfg.PostbackLease
	c.Server.MaxDecodingBytes = cfg.MaxDecodingBytes
	c.Server.MaxConns = cfg.MaxConns
	c.Server.IdleTimeout = cfg.IdleTimeout
	c.Server.PurgeInterval = cfg.PurgeInterval
	c.Server.ExternalTasks = true // in the table below
	c.Server.Logger = logger.WithGroup("http")
	if err := c.Server.Open(); err != nil {
		return err
	}
	// The service's tasks are read below, into serve's table.
	c.Server.Service().DeliveryRetention = cfg.DeliveryRetention
	if cfg.DeliveryRetention == 0 {
		c.Server.Service().DeliveryRetention = -1 // forever
	}
	c.Tasks = &task.Runner{Tasks: c.tasks(), Leases: c.Store, Holder: nodeName(), Clock: c.Store, Logger: logger.WithGroup("task")}
	c.Server.Metrics.Registry.MustRegister(c.Tasks.Collector())
	if err := c.Tasks.Start(); err != nil {
		return err
	}
	defer c.Tasks.Stop()
	where := []any{"data_dir", cfg.DataDir}
	if cfg.DB != "" {
		where = []any{"db", redactURL(cfg.DB)}
	}
	if cfg.ConfigFile != "" {
		where = append(where, "config", cfg.ConfigFile)
	}
	logger.Info("touchpoint serving", append([]any{"addr", c.Server.URL()}, where...)...)
	if c.Ready != nil {
		c.Ready <- c.Server
	}

	<-ctx.Done()
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace)
	defer cancel()
	if err := c.Server.Close(sctx); err != nil {
		logger.Warn("shutdown", "err", err)
	}
	// The store's background work stops before the store closes.
	c.Tasks.Stop()
	if err := c.Store.Close(); err != nil {
		return err
	}
	logger.Info("stopped")
	return nil
}

// newLogger returns the server's logger: --log-level's level, in
// --log-format's form.
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

// tasks is the server's one table of background work: the store's
// (loading and indexing touches, checkpoints) and the application's (the
// outbox, cohort syncs, catalog refreshes, purges). The runner starts once
// the server listens and stops after the server has finished its
// requests, before the store closes.
func (c *ServeCommand) tasks() []task.Task {
	return append(c.Store.Tasks(), c.Server.Service().Tasks()...)
}

// openStore opens the store the configuration names, and returns the
// admin token. The embedded store lives in the data dir, with the token
// (generated on first start unless given). PostgreSQL is shared by every
// node, so the token must be given, the same on each: sessions and API
// calls go to any of them.
func (c *ServeCommand) openStore(ctx context.Context, logger *slog.Logger) (string, error) {
	cfg := c.Config
	if cfg.DB != "" {
		if !strings.HasPrefix(cfg.DB, "postgres://") && !strings.HasPrefix(cfg.DB, "postgresql://") {
			return "", fmt.Errorf("--db %q: want a PostgreSQL URL such as postgres://user@host:5432/touchpoint", redactURL(cfg.DB))
		}
		if cfg.AdminToken == "" {
			return "", errors.New("--db postgres://…: give --admin-token (or TOUCHPOINT_ADMIN_TOKEN), the same on every node: " +
				"a node's sessions and API calls are accepted by the others")
		}
		db, err := postgres.Open(ctx, cfg.DB)
		if err != nil {
			return "", err
		}
		c.Store = db
		return cfg.AdminToken, nil
	}
	if err := secureDataDir(cfg.DataDir, logger); err != nil {
		return "", err
	}
	token, generated, err := adminToken(cfg.DataDir, cfg.AdminToken)
	if err != nil {
		return "", err
	}
	if generated {
		fmt.Fprintf(c.Stdout, "Generated an admin token (kept in %s):\n\n    %s\n\n", filepath.Join(cfg.DataDir, tokenFile), token)
	}
	db := sqlite.NewDB(filepath.Join(cfg.DataDir, "touchpoint.db"))
	db.Synchronous = cfg.Synchronous
	db.Logger = logger.WithGroup("sqlite")
	db.ExternalTasks = true // in serve's table of tasks
	if err := db.Open(); err != nil {
		return "", err
	}
	c.Store = db
	return token, nil
}

// redactURL hides a URL's password, for logs and errors.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(a URL that does not parse)"
	}
	return u.Redacted()
}

// nodeName names this process to the leases of the store: the host name
// and a random suffix, unique among servers over one database.
func nodeName() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "touchpoint"
	}
	return host + "-" + touchpoint.RandomString(8)
}

const tokenFile = "admin-token"

// secureDataDir creates the data dir 0700, or tightens an existing one: it
// takes the group's and others' permissions from the dir, from what is in
// it, and from what is in its directories (the journal's segments), so
// that the files the server creates 0600 and the directories 0700 are so
// again, and logs each path it changed. The database holds the secrets
// the server must be able to read (click-signing secrets, credentials it
// sends to AppsFlyer and analytics destinations), and the admin-token file
// the token itself: other users of the machine must not read them. The
// owner's permissions are left as they are, nothing deeper than the
// journal's level is visited, and symbolic links in it are not followed, so a
// --data-dir pointed at the wrong place costs nothing but privacy.
func secureDataDir(dir string, logger *slog.Logger) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if runtime.GOOS == "windows" {
		return nil // no Unix modes to set
	}
	// A data dir that is a link to a directory is that directory.
	dir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return err
	}
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if rel, _ := filepath.Rel(dir, path); d.IsDir() && strings.Count(rel, string(filepath.Separator)) >= 1 {
			return fs.SkipDir // deeper than the journal's segments
		}
		if !d.IsDir() && !d.Type().IsRegular() {
			return nil
		}
		return sqlite.TightenMode(path, "data-dir", logger)
	})
}

// adminToken returns the configured token, or the one kept in the data
// dir, or a new one written there (generated = true).
func adminToken(dataDir, configured string) (token string, generated bool, err error) {
	if configured != "" {
		return configured, false, nil
	}
	path := filepath.Join(dataDir, tokenFile)
	b, err := os.ReadFile(path)
	if err == nil && strings.TrimSpace(string(b)) != "" {
		return strings.TrimSpace(string(b)), false, nil
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", false, err
	}
	token = touchpoint.RandomString(32)
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		return "", false, err
	}
	return token, true, nil
}

func parsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("--trusted-proxies: %q is not an address or CIDR", f)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("--trusted-proxies: %q is not an address or CIDR", f)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
