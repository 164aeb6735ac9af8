// Package metrics exports what socmond sees as Prometheus metrics: per-probe
// counters and latency from each Result, and the current status, error ratio
// and availability from each health Snapshot. It owns its registry, so tests
// and other packages never share state through the global one.
package metrics

import (
	"runtime"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

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

// Metrics holds socmond's collectors and the state of every target seen,
// so the hot path does no label lookups.
type Metrics struct {
	reg *prometheus.Registry
	lag prometheus.Histogram

	// mu guards targets. It is held only for the lookup: an update racing
	// Forget lands on a deleted series and is dropped with it, which is what
	// should happen to a removed resource anyway.
	mu      sync.RWMutex
	targets map[probes.Target]*series
}

// New builds the collectors and registers them, with the Go and process
// collectors and socmond_build_info, on a new registry.
func New(version, revision string) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
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
		newReservedNames(), m.lag,
		buildInfo,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Registry is where other packages (compliance, alerting) register their
// own collectors so that one /metrics serves them all. It is only the
// registering side: the per-resource families are not in the registry, so
// what /metrics serves is read through Handler (testenv.Scrape in tests).
func (m *Metrics) Registry() prometheus.Registerer { return m.reg }

// Thresholds are a resource's thresholds, exported beside its ratios so
// that Prometheus rules follow per-resource settings.
type Thresholds struct {
	ResponseTime            time.Duration
	ErrorRate, Availability float64
}

// Observe records one probe Result (run counters, failure class, latency)
// and the Snapshot health derived after it (status, error ratio,
// availability, the alert conditions with the resource's thresholds).
func (m *Metrics) Observe(r probes.Result, s health.Snapshot, th Thresholds) {
	rs := m.series(r.Target)
	var ss *series
	if s.Target == r.Target {
		ss = rs
	} else if s.Target != (probes.Target{}) {
		// A zero snapshot (none given) is not exported: that would mint a
		// series with empty labels.
		ss = m.series(s.Target)
	}

	rs.mu.Lock()
	if i := statusIndex(r.Status); i >= 0 {
		rs.probes[i]++
	}
	if r.Class != probes.ClassNone {
		rs.failures[classIndex(r.Class)]++
	}
	if r.IsError() {
		rs.errors++
	}
	if r.Backlog != nil {
		rs.backlog, rs.hasBacklog = float64(*r.Backlog), true
	}
	rs.observe(r.Duration.Seconds())
	if ss == rs {
		rs.setHealth(s, th)
	}
	rs.mu.Unlock()

	if ss != nil && ss != rs {
		ss.mu.Lock()
		ss.setHealth(s, th)
		ss.mu.Unlock()
	}
}

// setHealth takes the status, ratios and conditions of s; the caller holds
// the lock.
func (ss *series) setHealth(s health.Snapshot, th Thresholds) {
	ss.status = statusIndex(s.Status)
	ss.errorRatio = s.ErrorRatio
	ss.availability = s.Availability
	c := &ss.conditions
	c.rtThreshold, c.errThreshold, c.availThreshold = th.ResponseTime.Seconds(), th.ErrorRate, th.Availability
	c.errSamples, c.errMin = float64(s.ErrorSamples), float64(s.ErrorMinSamples)
	c.availSamples, c.availMin = float64(s.AvailabilitySamples), float64(s.AvailabilityMinSamples)
	for k := range health.NumKinds {
		c.failing[k] = s.Conditions[k].Failing
	}
}

// SchedulerLag records how late a run started after its planned time.
func (m *Metrics) SchedulerLag(d time.Duration) {
	m.lag.Observe(d.Seconds())
}

// Skipped counts a scheduled run of t that was skipped because the previous
// one had not finished.
func (m *Metrics) Skipped(t probes.Target) {
	s := m.series(t)
	s.mu.Lock()
	s.skipped++
	s.mu.Unlock()
}

// Panicked counts a run of t that panicked.
func (m *Metrics) Panicked(t probes.Target) {
	s := m.series(t)
	s.mu.Lock()
	s.panics++
	s.mu.Unlock()
}

// Forget deletes every series of t, so a resource removed by a config
// reload stops being exported instead of freezing at its last value.
func (m *Metrics) Forget(t probes.Target) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.targets, t)
}

// series returns the state of t, creating it on first sight: from then on
// every series of t is exported, counters at 0, which is what lets rate()
// and increase() see the first failure.
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
	s = newSeries(t)
	m.targets[t] = s
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
