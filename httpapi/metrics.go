package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/touchpointhq/touchpoint"
)

// Metrics are the server's Prometheus metrics, in a registry of their own so
// that several servers can run in one process (tests).
type Metrics struct {
	Registry *prometheus.Registry

	requests      *prometheus.CounterVec
	latency       *prometheus.HistogramVec
	touches       *prometheus.CounterVec
	touchCounts   [3][]prometheus.Counter // by kind, by verdict; the last is "rejected"
	batchSize     prometheus.Histogram
	commitLatency prometheus.Histogram
	commitErrors  prometheus.Counter
	launches      *prometheus.CounterVec
	conversions   *prometheus.CounterVec
	// Deliveries (postbacks and, later, every outbound kind).
	postbacks       *prometheus.CounterVec
	postbackLatency *prometheus.HistogramVec
	// Analytics ingestion.
	events *prometheus.CounterVec
}

// NewMetrics registers the metrics.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "touchpoint_http_requests_total",
			Help: "HTTP requests by route pattern and status code.",
		}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "touchpoint_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
		touches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "touchpoint_touches_recorded_total",
			Help: "Touches recorded, by kind and signature verdict (rejected counts clicks blocked by click signing).",
		}, []string{"kind", "verdict"}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "touchpoint_commit_batch_size",
			Help:    "Touches per group commit.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 11),
		}),
		commitLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "touchpoint_commit_duration_seconds",
			Help:    "Time to commit one group of touches.",
			Buckets: []float64{.0002, .0005, .001, .002, .005, .01, .02, .05, .1},
		}),
		commitErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "touchpoint_commit_errors_total",
			Help: "Group commits that failed (their requests were answered 503).",
		}),
	}
	m.launches = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "touchpoint_launches_total",
		Help: "Launches decided, by type (install, reinstall, re-attribution, re-engagement, launch).",
	}, []string{"type"})
	m.conversions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "touchpoint_conversions_total",
		Help: "In-app events received, by outcome (stored, duplicate).",
	}, []string{"outcome"})
	m.postbacks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "touchpoint_delivery_attempts_total",
		Help: "Delivery attempts by app, partner, kind and the state they left the delivery in (succeeded, pending: a retry is due, failed: given up).",
	}, []string{"app", "pid", "kind", "state"})
	m.postbackLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "touchpoint_delivery_attempt_duration_seconds",
		Help:    "Delivery attempt latency by app and partner.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"app", "pid"})
	m.events = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "touchpoint_analytics_events_total",
		Help: "Analytics events by endpoint and answer: ingested (200; repeats of an insert_id included, as Amplitude counts them), or the 4xx code of a refused upload (events named in the answer).",
	}, []string{"endpoint", "code"})
	m.Registry.MustRegister(m.requests, m.latency, m.touches, m.batchSize, m.commitLatency, m.commitErrors, m.launches, m.conversions,
		m.postbacks, m.postbackLatency, m.events,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Every kind × verdict series exists from the start, at zero, on
	// purpose: a bounded set (2 × 7), and a zero there says something
	// ("no click was rejected"), where an absent series leaves a
	// rejection-rate alert or graph with nothing to compute. Every other
	// labelled series here appears with the first thing it counts.
	for _, k := range []touchpoint.TouchKind{touchpoint.Click, touchpoint.Impression} {
		for _, v := range touchpoint.Verdicts() {
			m.touchCounts[k] = append(m.touchCounts[k], m.touches.WithLabelValues(k.String(), v.String()))
		}
		m.touchCounts[k] = append(m.touchCounts[k], m.touches.WithLabelValues(k.String(), "rejected"))
	}
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}

func (m *Metrics) launchDecided(typ string) { m.launches.WithLabelValues(typ).Inc() }

func (m *Metrics) eventsIngested(endpoint string, n int) {
	m.events.WithLabelValues(endpoint, "200").Add(float64(n))
}

func (m *Metrics) eventsRefused(endpoint string, code, n int) {
	m.events.WithLabelValues(endpoint, strconv.Itoa(code)).Add(float64(n))
}

func (m *Metrics) postbackSent(d *touchpoint.Delivery, a *touchpoint.Attempt, state touchpoint.DeliveryState) {
	m.postbacks.WithLabelValues(d.App, d.PID, string(d.Kind), string(state)).Inc()
	m.postbackLatency.WithLabelValues(d.App, d.PID).Observe(a.Latency.Seconds())
}

func (m *Metrics) conversionStored(duplicate bool) {
	if duplicate {
		m.conversions.WithLabelValues("duplicate").Inc()
	} else {
		m.conversions.WithLabelValues("stored").Inc()
	}
}

func (m *Metrics) observeCommit(n int, d time.Duration, err error) {
	m.batchSize.Observe(float64(n))
	m.commitLatency.Observe(d.Seconds())
	if err != nil {
		m.commitErrors.Inc()
	}
}

func (m *Metrics) touchRecorded(t *touchpoint.Touch) {
	c := m.touchCounts[t.Kind]
	c[t.Verdict].Inc()
	if t.Rejected {
		c[len(c)-1].Inc()
	}
}

// statusWriter remembers the status code a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// instrument counts and times a route. Its series are made on the route's
// first request, not here: an idle server would otherwise expose a
// histogram of zeros for each of its ~150 routes (~250 kB a scrape). Once
// made, each is cached, so a request costs an atomic load, not a label
// lookup.
func (m *Metrics) instrument(route string, h http.HandlerFunc) http.Handler {
	var latencyOf atomic.Pointer[prometheus.Observer]
	latency := func() prometheus.Observer {
		if o := latencyOf.Load(); o != nil {
			return *o
		}
		// Two first requests at once both get here; WithLabelValues
		// returns the one histogram to both.
		o := m.latency.WithLabelValues(route)
		latencyOf.Store(&o)
		return o
	}
	// Counters per status code, made on first use.
	var codes [600]atomic.Pointer[prometheus.Counter]
	counter := func(status int) prometheus.Counter {
		if status < 100 || status >= len(codes) {
			return m.requests.WithLabelValues(route, strconv.Itoa(status))
		}
		if c := codes[status].Load(); c != nil {
			return *c
		}
		c := m.requests.WithLabelValues(route, strconv.Itoa(status))
		codes[status].Store(&c)
		return c
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		h(sw, r)
		latency().Observe(time.Since(start).Seconds())
		status := sw.status
		if status == 0 {
			status = http.StatusOK
		}
		counter(status).Inc()
	})
}

// backlogCollector reports each partner's pending deliveries when
// /metrics is scraped.
type backlogCollector struct {
	store touchpoint.DeliveryStore
	desc  *prometheus.Desc
}

func newBacklogCollector(store touchpoint.DeliveryStore) *backlogCollector {
	return &backlogCollector{store: store, desc: prometheus.NewDesc("touchpoint_delivery_backlog",
		"Pending deliveries (due or waiting for a retry) by app and partner.", []string{"app", "pid"}, nil)}
}

func (c *backlogCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *backlogCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	bs, err := c.store.DeliveryBacklog(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	for _, b := range bs {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(b.Pending), b.App, b.PID)
	}
}
