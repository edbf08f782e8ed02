// Package httpapi serves Touchpoint over HTTP: attribution links (/c, /v),
// the admin API (/api/v1), and the operational endpoints (/healthz, /readyz,
// /metrics). Handlers stay thin: they decode, call the application (package
// service) or, for plain reads and writes, the store, and encode.
package httpapi

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/touchpointhq/touchpoint"
	"github.com/touchpointhq/touchpoint/geo"
	"github.com/touchpointhq/touchpoint/service"
	"github.com/touchpointhq/touchpoint/task"
	"github.com/touchpointhq/touchpoint/web"
	"golang.org/x/net/netutil"
)

// Server is the HTTP server. Set the exported fields, then Open.
type Server struct {
	Addr       string
	Store      touchpoint.Store
	AdminToken string
	// TrustedProxies are the addresses whose X-Forwarded-For we believe.
	TrustedProxies []netip.Prefix
	Logger         *slog.Logger
	Metrics        *Metrics
	// MaxBatch bounds the clicks of one commit; CommitLinger is the longest
	// a commit waits for concurrent clicks to join it (see package batch).
	MaxBatch     int
	CommitLinger time.Duration
	// CatalogRefresh is how often apps and partners are re-read from the
	// store (changes made through this server apply at once; this picks up
	// other servers' changes). Zero disables it.
	CatalogRefresh time.Duration
	// AllowPrivatePostbackHosts lifts the outbound rule (package outbound)
	// for every outbound URL, postback templates, analytics forwards and
	// destinations alike, when saved and when sent: they may name
	// private, loopback and other non-public hosts (tests and closed
	// networks).
	AllowPrivatePostbackHosts bool
	// PostbackConcurrency bounds concurrent sends to one host;
	// PostbackTimeout bounds one send; PostbackLease, when set, is how
	// long a claim of deliveries lasts (see package delivery).
	PostbackConcurrency int
	PostbackTimeout     time.Duration
	PostbackLease       time.Duration
	// CohortSyncInterval is how often due cohort syncs are looked for;
	// CohortSyncBackoff is the first wait before a sync request is tried
	// again (package cohort; tests shorten both).
	CohortSyncInterval time.Duration
	CohortSyncBackoff  time.Duration
	// PurgeInterval is how often touches past the longest lookback window
	// are purged. Zero disables it.
	PurgeInterval time.Duration
	// ExternalTasks says the caller runs the background work (the
	// service's Tasks: the outbox, cohort syncs, catalog refreshes,
	// purges) in its own task runner, as serve does with every
	// background task; otherwise Open starts a runner of its own and
	// Close stops it. A caller's runner must stop after Close.
	ExternalTasks bool
	// MaxDecodingBytes bounds the bytes of upload bodies being read and
	// decoded at once, DecodeWait how long an upload waits for room;
	// MaxConns bounds the open connections; IdleTimeout is how long
	// an idle keep-alive connection stays open (limits.go). Zero: the
	// defaults.
	MaxDecodingBytes int64
	DecodeWait       time.Duration
	MaxConns         int
	IdleTimeout      time.Duration
	// AccessLog logs every request at INFO, one line each (accesslog.go).
	AccessLog bool
	// GeoIP, when set, locates clients by IP address (serve --geoip-db):
	// analytics events get their country, region and city, touches and
	// launches their country code and city (package geo).
	GeoIP *geo.DB

	ln   net.Listener
	http *http.Server
	// svc is the application the handlers call (package service).
	svc      *service.Service
	decoding *decodeBudget
	conns    atomic.Int64 // open connections
	shedding atomic.Bool  // keep-alives are off: too many connections
	shedMu   sync.Mutex
	ready    atomic.Bool
	runner   *task.Runner // of the service's Tasks, unless ExternalTasks
	routes   *[]string    // where handle lists the patterns (Routes)
}

// NewServer returns a server with defaults.
func NewServer(store touchpoint.Store) *Server {
	return &Server{
		Addr:           ":8080",
		Store:          store,
		Logger:         slog.Default(),
		MaxBatch:       1024,
		CommitLinger:   200 * time.Microsecond,
		CatalogRefresh: service.DefaultCatalogRefresh,
	}
}

// Open loads the catalog, binds the listener and starts serving. Bind errors
// come back here, so tests can listen on ":0".
func (s *Server) Open() error {
	if s.Metrics == nil {
		s.Metrics = NewMetrics()
	}
	// A second server on the same metrics (tests) reports the first's store.
	_ = s.Metrics.Registry.Register(newBacklogCollector(s.Store))
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return err
	}
	s.ln = ln
	// The catalog compiles integrations, which send to this server by
	// default: the service needs the address.
	s.svc = &service.Service{Store: s.Store, Logger: s.Logger, MaxBatch: s.MaxBatch, CommitLinger: s.CommitLinger,
		AllowPrivatePostbackHosts: s.AllowPrivatePostbackHosts, Self: s.selfURL(), SelfAddr: s.selfAddr(),
		ObserveTouchCommit:  s.Metrics.observeCommit,
		PostbackConcurrency: s.PostbackConcurrency, PostbackTimeout: s.PostbackTimeout, PostbackLease: s.PostbackLease, PostbackSent: s.Metrics.postbackSent,
		CohortSyncInterval: s.CohortSyncInterval, CohortSyncBackoff: s.CohortSyncBackoff,
		CatalogRefresh: orNone(s.CatalogRefresh), PurgeInterval: orNone(s.PurgeInterval)}
	if err := s.svc.Open(context.Background()); err != nil {
		ln.Close()
		return err
	}
	s.decoding = newDecodeBudget(s.MaxDecodingBytes)
	s.http = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       cmp.Or(s.IdleTimeout, DefaultIdleTimeout),
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.Logger.Handler(), slog.LevelWarn),
		ConnState:         s.trackConn,
	}
	if !s.ExternalTasks {
		s.runner = &task.Runner{Tasks: s.svc.Tasks(), Leases: s.Store, Holder: "httpapi-" + touchpoint.RandomString(8),
			Clock: s.Store, Logger: s.Logger}
		_ = s.Metrics.Registry.Register(s.runner.Collector())
		if err := s.runner.Start(); err != nil {
			s.svc.Close()
			ln.Close()
			return err
		}
	}
	s.ready.Store(true)
	go func() {
		if err := s.http.Serve(netutil.LimitListener(ln, s.maxConns())); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.Logger.Error("serve", "err", err)
		}
	}()
	return nil
}

// Service is the application the handlers call, for work beside the HTTP
// API (background jobs); nil until Open.
func (s *Server) Service() *service.Service {
	return s.svc
}

// URL is the base URL of the running server, for tests and logs.
func (s *Server) URL() string {
	return "http://" + s.ln.Addr().String()
}

// selfURL is the base URL integrations use to reach this server when they
// name no other.
func (s *Server) selfURL() string {
	return "http://" + s.selfAddr().String()
}

// selfAddr is the address this server listens on; the loopback address
// when it listens on every address.
func (s *Server) selfAddr() netip.AddrPort {
	ap := s.ln.Addr().(*net.TCPAddr).AddrPort()
	if ap.Addr().IsUnspecified() {
		// Listening on ":port" takes IPv4 and IPv6 alike.
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), ap.Port())
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// Close stops accepting connections, waits for requests in flight (until ctx
// ends), and commits every touch they queued.
func (s *Server) Close(ctx context.Context) error {
	s.ready.Store(false)
	var err error
	if s.http != nil {
		err = s.http.Shutdown(ctx)
	}
	if s.svc != nil {
		s.svc.Close()
	}
	// Last: the background work, the outbox's sends under way included,
	// finishes and is recorded.
	if s.runner != nil {
		s.runner.Stop()
	}
	return err
}

// orNone is a period where zero means none: the service's "none".
func orNone(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// Handler returns the routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	s.handle(mux, "GET /healthz", s.handleHealth)
	s.handle(mux, "GET /readyz", s.handleReady)
	mux.Handle("GET /metrics", s.Metrics.Handler())

	s.handle(mux, "GET /c/{app_id}", s.handleLink(touchpoint.Click))
	s.handle(mux, "GET /v/{app_id}", s.handleLink(touchpoint.Impression))

	s.registerAppRoutes(mux)
	s.registerPartnerRoutes(mux)
	s.registerDeliveryRoutes(mux)
	s.registerRateRoutes(mux)
	s.registerTouchRoutes(mux)
	s.registerLinkRoutes(mux)
	s.registerS2SRoutes(mux)
	s.registerIntegrationRoutes(mux)
	s.registerCohortRoutes(mux)
	s.registerAudienceRoutes(mux)
	s.registerSDKRoutes(mux)
	s.registerInstallRoutes(mux)
	s.registerIngestRoutes(mux)
	s.registerProjectRoutes(mux)
	s.registerAPIDocsRoutes(mux) // /docs and /api/openapi.yaml: public
	s.registerBackupRoutes(mux)
	// The dashboard, at /: its pages are not API routes (Routes).
	dash := &web.Handler{Service: s.Service, Store: s.Store, AdminToken: s.AdminToken, Logger: s.Logger, TLS: s.viaTLS}
	dash.Register(mux, func(mux *http.ServeMux, pattern string, h http.HandlerFunc) {
		mux.Handle(pattern, s.Metrics.instrument(pattern, h))
	})
	// Profiles, for operators: behind the admin token.
	mux.Handle("GET /debug/pprof/", s.admin(pprof.Index))
	mux.Handle("GET /debug/pprof/profile", s.admin(pprof.Profile))
	mux.Handle("GET /debug/pprof/trace", s.admin(pprof.Trace))
	s.handle(mux, "/api/", s.admin(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, touchpoint.Errorf(touchpoint.ENOTFOUND, "no such endpoint: %s %s", r.Method, r.URL.Path))
	}))
	if s.AccessLog {
		// Around the mux: unmatched paths and /metrics are logged too.
		return s.accessLog(mux)
	}
	return mux
}

// handle registers a handler measured under its route pattern.
func (s *Server) handle(mux *http.ServeMux, pattern string, h http.HandlerFunc) {
	mux.Handle(pattern, s.Metrics.instrument(pattern, h))
	if s.routes != nil {
		*s.routes = append(*s.routes, pattern)
	}
}

// Routes returns the patterns of the API's routes ("POST /2/httpapi"), as
// Handler registers them: what the OpenAPI files must document.
func (s *Server) Routes() []string {
	var routes []string
	r := &Server{Metrics: NewMetrics(), routes: &routes}
	r.Handler()
	return routes
}

// GET /healthz: the process is up.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

// GET /readyz: the server takes traffic: not while shutting down, nor
// while its store cannot write (its disk is full; reads still work).
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if !s.ready.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("shutting down\n"))
		return
	}
	if err := s.Store.Writable(); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("not ready: " + touchpoint.ErrorMessage(err) + "\n"))
		return
	}
	w.Write([]byte("ready\n"))
}
