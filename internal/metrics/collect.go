package metrics

import (
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/socmond/socmond/internal/probes"
)

// descs are the descriptors of the per-resource families, in the order
// collect emits them.
type descs struct {
	probes, failures, duration, status, errorRatio, availability, skipped, panics *prometheus.Desc
}

func newDescs() descs {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(namespace, "", name), help, labels, nil)
	}
	return descs{
		probes:   d("probes_total", "Probe runs by resulting status (healthy, degraded, unavailable).", "service", "resource", "status"),
		failures: d("probe_failures_total", "Probe runs that did not come back healthy, by failure class (slow is a class of its own).", "service", "resource", "class"),
		duration: d("probe_duration_seconds", "Duration of the AWS call made by each probe run.", "service", "resource"),
		status:   d("service_status", "Current status of a resource: 1 for the status it is in, 0 for the others.", "service", "resource", "status"),
		errorRatio: d("service_error_ratio",
			"Share of probe runs in the error-rate window that failed (0 to 1).", "service", "resource"),
		availability: d("service_availability_ratio",
			"Share of probe runs in the availability window that were not unavailable (0 to 1).", "service", "resource"),
		skipped: d("scheduler_skipped_total", "Scheduled probe runs skipped because the previous run of the same probe was still going.", "service", "resource"),
		panics:  d("probe_panics_total", "Probe runs that panicked and were recovered by the scheduler.", "service", "resource"),
	}
}

func (d descs) each(f func(*prometheus.Desc)) {
	for _, x := range []*prometheus.Desc{d.probes, d.failures, d.duration, d.status, d.errorRatio, d.availability, d.skipped, d.panics} {
		f(x)
	}
}

// targetCollector exports the series of every target in Metrics.targets.
type targetCollector struct{ m *Metrics }

func (c targetCollector) Describe(ch chan<- *prometheus.Desc) {
	c.m.descs.each(func(d *prometheus.Desc) { ch <- d })
}

// values is a copy of one series' numbers, taken under its lock so that a
// scrape holds up a probe no longer than the copy.
type values struct {
	probes, failures, buckets []uint64
	sum                       float64
	count                     uint64
	status                    int
	errorRatio, availability  float64
	skipped, panics           uint64
}

// Collect sends each family's series already in the order the registry
// sorts them into (label values, labels by name), so its sort finds them
// sorted and does no work: with 2,000 resources that sort was a tenth of a
// scrape.
func (c targetCollector) Collect(ch chan<- prometheus.Metric) {
	list := c.m.sortedSeries()
	vals := make([]values, len(list))
	for i, s := range list {
		s.mu.Lock()
		vals[i] = values{
			probes: slices.Clone(s.probes), failures: slices.Clone(s.failures), buckets: slices.Clone(s.buckets),
			sum: s.sum, count: s.count, status: s.status,
			errorRatio: s.errorRatio, availability: s.availability,
			skipped: s.skipped, panics: s.panics,
		}
		s.mu.Unlock()
	}

	d := &c.m.descs
	n := len(list)
	// The samples and their counter and gauge messages are allocated in
	// three blocks rather than one by one: at 68,000 series per scrape the
	// allocations were a visible share of it.
	out := make([]sample, 0, n*(2*len(probes.Statuses)+len(probes.Classes)+5))
	counters := make([]dto.Counter, n*(len(probes.Statuses)+len(probes.Classes)+2))
	gauges := make([]dto.Gauge, n*(len(probes.Statuses)+2))
	emit := func(desc *prometheus.Desc, labels []*dto.LabelPair, kind sampleKind, v float64) {
		out = append(out, sample{desc: desc, labels: labels, kind: kind, value: v})
		smp := &out[len(out)-1]
		if kind == counterKind {
			smp.counter, counters = &counters[0], counters[1:]
		} else {
			smp.gauge, gauges = &gauges[0], gauges[1:]
		}
		ch <- smp
	}
	// Labels resource, service, status: targets in order, then statuses
	// by name.
	for i, s := range list {
		for _, st := range statusOrder {
			emit(d.probes, s.byStatus[st], counterKind, float64(vals[i].probes[st]))
		}
	}
	for i, s := range list {
		for _, st := range statusOrder {
			emit(d.status, s.byStatus[st], gaugeKind, b2f(vals[i].status == st))
		}
	}
	// Labels class, resource, service: classes by name, then targets.
	for _, cl := range classOrder {
		for i, s := range list {
			emit(d.failures, s.byClass[cl], counterKind, float64(vals[i].failures[cl]))
		}
	}
	for i, s := range list {
		emit(d.errorRatio, s.base, gaugeKind, vals[i].errorRatio)
	}
	for i, s := range list {
		emit(d.availability, s.base, gaugeKind, vals[i].availability)
	}
	for i, s := range list {
		emit(d.skipped, s.base, counterKind, float64(vals[i].skipped))
	}
	for i, s := range list {
		emit(d.panics, s.base, counterKind, float64(vals[i].panics))
	}
	hists := make([]histSample, n)
	cumulative := make([]uint64, n*len(DurationBuckets))
	for i, s := range list {
		h := &hists[i]
		h.bounds, h.count, h.sum = DurationBuckets, vals[i].count, vals[i].sum
		h.cumulative = cumulative[i*len(DurationBuckets) : (i+1)*len(DurationBuckets)]
		var cum uint64
		for b := range DurationBuckets {
			cum += vals[i].buckets[b]
			h.cumulative[b] = cum
		}
		out = append(out, sample{desc: d.duration, labels: s.base, kind: histogramKind, hist: h})
		ch <- &out[len(out)-1]
	}
}

// statusOrder and classOrder are the indexes of probes.Statuses and
// probes.Classes sorted by label value, the order of the exposition.
var (
	statusOrder = byValue(probes.Statuses)
	classOrder  = byValue(probes.Classes)
)

func byValue[T ~string](values []T) []int {
	idx := make([]int, len(values))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return strings.Compare(string(values[a]), string(values[b])) })
	return idx
}

// sortedSeries returns every target's series ordered by resource, then
// service: the order of their label values (resource sorts before service).
func (m *Metrics) sortedSeries() []*series {
	m.mu.RLock()
	list := make([]*series, 0, len(m.targets))
	for _, s := range m.targets {
		list = append(list, s)
	}
	m.mu.RUnlock()
	slices.SortFunc(list, func(a, b *series) int {
		if c := strings.Compare(a.target.Resource, b.target.Resource); c != 0 {
			return c
		}
		return strings.Compare(a.target.Service, b.target.Service)
	})
	return list
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

type sampleKind uint8

const (
	counterKind sampleKind = iota
	gaugeKind
	histogramKind
)

// sample is one series as read at scrape time; it implements
// prometheus.Metric with label pairs shared with its series (the
// exposition only reads them).
type sample struct {
	desc   *prometheus.Desc
	labels []*dto.LabelPair
	kind   sampleKind
	value  float64
	hist   *histSample

	// counter or gauge is where Write puts the value, allocated by Collect.
	counter *dto.Counter
	gauge   *dto.Gauge
}

type histSample struct {
	bounds     []float64
	cumulative []uint64
	count      uint64
	sum        float64
}

func (s *sample) Desc() *prometheus.Desc { return s.desc }

func (s *sample) Write(out *dto.Metric) error {
	out.Label = s.labels
	switch s.kind {
	case counterKind:
		s.counter.Value = &s.value
		out.Counter = s.counter
	case gaugeKind:
		s.gauge.Value = &s.value
		out.Gauge = s.gauge
	case histogramKind:
		// No +Inf bucket: the exposition adds it from the sample count.
		h := s.hist
		buckets := make([]dto.Bucket, len(h.bounds))
		out.Histogram = &dto.Histogram{
			SampleCount: &h.count,
			SampleSum:   &h.sum,
			Bucket:      make([]*dto.Bucket, len(h.bounds)),
		}
		for i := range h.bounds {
			buckets[i].UpperBound = &h.bounds[i]
			buckets[i].CumulativeCount = &h.cumulative[i]
			out.Histogram.Bucket[i] = &buckets[i]
		}
	}
	return nil
}
