// Package metrics exports what socmond sees as Prometheus metrics: per-probe
// counters and latency from each Result, and the current status, error ratio
// and availability from each health Snapshot. It owns its registry, so tests
// and other packages never share state through the global one.
package metrics

import (
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/socmond/socmond/internal/health"
	"github.com/socmond/socmond/internal/probes"
)

const namespace = "socmond"

// DurationBuckets resolve sub-100 ms calls and put a boundary on the 5 s
// response-time threshold, so "slower than the threshold" is a bucket query.
var DurationBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 7.5, 10, 30}

// LagBuckets resolve the scheduler's own delay around the 20 ms a probe may
// start late without its samples drifting; one histogram for all targets
// keeps the cost of a series per resource away from a diagnostic.
var LagBuckets = []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .25, .5, 1, 2.5, 5, 10}

// Metrics holds socmond's collectors and a cache of the metric children of
// every target seen, so the hot path does no label lookups.
type Metrics struct {
	reg *prometheus.Registry

	probesTotal  *prometheus.CounterVec
	failures     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	status       *prometheus.GaugeVec
	errorRatio   *prometheus.GaugeVec
	availability *prometheus.GaugeVec
	skipped      *prometheus.CounterVec
	panics       *prometheus.CounterVec
	lag          prometheus.Histogram

	// mu guards targets. It is held only for the lookup: an update racing
	// Forget lands on a deleted child and is dropped with it, which is what
	// should happen to a removed resource anyway.
	mu      sync.RWMutex
	targets map[probes.Target]*series
}

// series is the metric children of one target, looked up once.
type series struct {
	probes       []prometheus.Counter // indexed like probes.Statuses
	status       []prometheus.Gauge   // indexed like probes.Statuses
	failures     map[probes.Class]prometheus.Counter
	duration     prometheus.Observer
	errorRatio   prometheus.Gauge
	availability prometheus.Gauge
	skipped      prometheus.Counter
	panics       prometheus.Counter
}

// New builds the collectors and registers them, with the Go and process
// collectors and socmond_build_info, on a new registry.
func New(version, revision string) *Metrics {
	targetLabels := []string{"service", "resource"}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		probesTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "probes_total",
			Help: "Probe runs by resulting status (healthy, degraded, unavailable).",
		}, []string{"service", "resource", "status"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "probe_failures_total",
			Help: "Probe runs that did not come back healthy, by failure class (slow is a class of its own).",
		}, []string{"service", "resource", "class"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "probe_duration_seconds",
			Help:    "Duration of the AWS call made by each probe run.",
			Buckets: DurationBuckets,
		}, targetLabels),
		status: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "service_status",
			Help: "Current status of a resource: 1 for the status it is in, 0 for the others.",
		}, []string{"service", "resource", "status"}),
		errorRatio: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "service_error_ratio",
			Help: "Share of probe runs in the error-rate window that failed (0 to 1).",
		}, targetLabels),
		availability: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "service_availability_ratio",
			Help: "Share of probe runs in the availability window that were not unavailable (0 to 1).",
		}, targetLabels),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "scheduler_skipped_total",
			Help: "Scheduled probe runs skipped because the previous run of the same probe was still going.",
		}, targetLabels),
		panics: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "probe_panics_total",
			Help: "Probe runs that panicked and were recovered by the scheduler.",
		}, targetLabels),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Name: "scheduler_lag_seconds",
			Help:    "Delay between the time a probe run was planned for and the time it started (queueing for a slot included).",
			Buckets: LagBuckets,
		}),
		targets: make(map[probes.Target]*series),
	}
	buildInfo := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Name: "build_info",
		Help:        "A metric with a constant 1 value labelled by the version, revision and Go version socmond was built from.",
		ConstLabels: prometheus.Labels{"version": version, "revision": revision, "goversion": runtime.Version()},
	})
	buildInfo.Set(1)

	m.reg.MustRegister(
		m.probesTotal, m.failures, m.duration, m.status,
		m.errorRatio, m.availability, m.skipped, m.panics, m.lag,
		buildInfo,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Registry is where other packages (compliance, alerting) register their
// own collectors so that one /metrics serves them all.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Observe records one probe Result (run counters, failure class, latency)
// and the Snapshot health derived after it (status, error ratio,
// availability).
func (m *Metrics) Observe(r probes.Result, s health.Snapshot) {
	rs := m.series(r.Target)
	if i := statusIndex(r.Status); i >= 0 {
		rs.probes[i].Inc()
	}
	if r.Class != probes.ClassNone {
		c, ok := rs.failures[r.Class]
		if !ok {
			// An unknown class must not mint a new label value: the
			// label set is a contract and has to stay bounded.
			c = rs.failures[probes.ClassOther]
		}
		c.Inc()
	}
	rs.duration.Observe(r.Duration.Seconds())

	if s.Target == (probes.Target{}) {
		// No snapshot was given; exporting one would mint a series with
		// empty labels.
		return
	}
	ss := rs
	if s.Target != r.Target {
		ss = m.series(s.Target)
	}
	cur := statusIndex(s.Status)
	for i, g := range ss.status {
		if i == cur {
			g.Set(1)
		} else {
			g.Set(0)
		}
	}
	ss.errorRatio.Set(s.ErrorRatio)
	ss.availability.Set(s.Availability)
}

// SchedulerLag records how late a run started after its planned time.
func (m *Metrics) SchedulerLag(d time.Duration) {
	m.lag.Observe(d.Seconds())
}

// Skipped counts a scheduled run of t that was skipped because the previous
// one had not finished.
func (m *Metrics) Skipped(t probes.Target) {
	m.series(t).skipped.Inc()
}

// Panicked counts a run of t that panicked.
func (m *Metrics) Panicked(t probes.Target) {
	m.series(t).panics.Inc()
}

// Forget deletes every series of t, so a resource removed by a config
// reload stops being exported instead of freezing at its last value.
func (m *Metrics) Forget(t probes.Target) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.targets, t)
	labels := prometheus.Labels{"service": t.Service, "resource": t.Resource}
	m.probesTotal.DeletePartialMatch(labels)
	m.failures.DeletePartialMatch(labels)
	m.duration.DeletePartialMatch(labels)
	m.status.DeletePartialMatch(labels)
	m.errorRatio.DeletePartialMatch(labels)
	m.availability.DeletePartialMatch(labels)
	m.skipped.DeletePartialMatch(labels)
	m.panics.DeletePartialMatch(labels)
}

// Handler serves the registry in the Prometheus exposition formats, and
// counts its own scrapes as promhttp_metric_handler_requests_total.
func (m *Metrics) Handler() http.Handler {
	return promhttp.InstrumentMetricHandler(m.reg, promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		// A collector that fails should cost its own series, not the scrape.
		ErrorHandling: promhttp.ContinueOnError,
		// Counts errors as promhttp_metric_handler_errors_total.
		Registry: m.reg,
		// Bounds the work a burst of scrapes can cause.
		MaxRequestsInFlight: 4,
	}))
}

// series returns the cached children of t, creating them on first sight.
func (m *Metrics) series(t probes.Target) *series {
	m.mu.RLock()
	s, ok := m.targets[t]
	m.mu.RUnlock()
	if ok {
		return s
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.targets[t]; ok {
		return s
	}
	s = m.newSeries(t)
	m.targets[t] = s
	return s
}

// newSeries creates every child of t. Creating a counter child exports it
// at 0, which is what lets rate() and increase() see the first failure.
func (m *Metrics) newSeries(t probes.Target) *series {
	svc, res := t.Service, t.Resource
	s := &series{
		failures:     make(map[probes.Class]prometheus.Counter, len(probes.Classes)),
		duration:     m.duration.WithLabelValues(svc, res),
		errorRatio:   m.errorRatio.WithLabelValues(svc, res),
		availability: m.availability.WithLabelValues(svc, res),
		skipped:      m.skipped.WithLabelValues(svc, res),
		panics:       m.panics.WithLabelValues(svc, res),
		probes:       make([]prometheus.Counter, len(probes.Statuses)),
		status:       make([]prometheus.Gauge, len(probes.Statuses)),
	}
	for i, st := range probes.Statuses {
		s.probes[i] = m.probesTotal.WithLabelValues(svc, res, string(st))
		s.status[i] = m.status.WithLabelValues(svc, res, string(st))
	}
	for _, c := range probes.Classes {
		s.failures[c] = m.failures.WithLabelValues(svc, res, string(c))
	}
	return s
}

// statusIndex is st's index in probes.Statuses, or -1 for a status that is
// not one of them (e.g. a snapshot without data).
func statusIndex(st probes.Status) int {
	for i, v := range probes.Statuses {
		if v == st {
			return i
		}
	}
	return -1
}
