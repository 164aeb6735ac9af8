package metrics

import (
	"strings"
	"sync"

	dto "github.com/prometheus/client_model/go"

	"github.com/socmond/socmond/internal/probes"
)

// The per-resource families are not built from one prometheus.Counter,
// Gauge or Histogram object per series: each of those carries its own
// descriptor, label pairs, atomics and bookkeeping, about 12.7 KB per
// resource for 34 series, which at 10,000 resources was half of socmond's
// heap. A series here is a number in a fixed struct; the exposition objects
// are made at scrape time from it and dropped after. Every series a
// resource had before is still exported, at 0 from the first time the
// resource is seen, so rate() and increase() see its first failure.

// series is the state of every per-resource series of one target.
type series struct {
	target       probes.Target
	mu           sync.Mutex
	probes       []uint64 // indexed like probes.Statuses
	failures     []uint64 // indexed like probes.Classes
	buckets      []uint64 // per DurationBuckets bound, not cumulative; the last counts above every bound
	sum          float64  // of observed durations, seconds
	count        uint64
	status       int // index in probes.Statuses of the current status, -1 for none
	errorRatio   float64
	availability float64
	skipped      uint64
	panics       uint64

	// Label pairs, sorted by name as the exposition wants them, built once.
	base     []*dto.LabelPair   // resource, service
	byStatus [][]*dto.LabelPair // resource, service, status
	byClass  [][]*dto.LabelPair // class, resource, service
}

func newSeries(t probes.Target) *series {
	res := labelPair("resource", t.Resource)
	svc := labelPair("service", t.Service)
	s := &series{
		target:   t,
		probes:   make([]uint64, len(probes.Statuses)),
		failures: make([]uint64, len(probes.Classes)),
		buckets:  make([]uint64, len(DurationBuckets)+1),
		status:   -1,
		base:     []*dto.LabelPair{res, svc},
		byStatus: make([][]*dto.LabelPair, len(probes.Statuses)),
		byClass:  make([][]*dto.LabelPair, len(probes.Classes)),
	}
	for i := range probes.Statuses {
		s.byStatus[i] = []*dto.LabelPair{res, svc, statusPairs[i]}
	}
	for i := range probes.Classes {
		s.byClass[i] = []*dto.LabelPair{classPairs[i], res, svc}
	}
	return s
}

// The status and class label pairs are the same for every resource.
var (
	statusPairs = pairs("status", probes.Statuses)
	classPairs  = pairs("class", probes.Classes)
)

func pairs[T ~string](name string, values []T) []*dto.LabelPair {
	out := make([]*dto.LabelPair, len(values))
	for i, v := range values {
		out[i] = labelPair(name, string(v))
	}
	return out
}

func labelPair(name, value string) *dto.LabelPair {
	// A label value must be UTF-8; prometheus.*Vec panicked on anything
	// else, and a scrape that fails on one resource's name is worse.
	value = strings.ToValidUTF8(value, "\uFFFD")
	return &dto.LabelPair{Name: &name, Value: &value}
}

// observe adds one probe duration to the histogram state.
func (s *series) observe(seconds float64) {
	i := len(DurationBuckets)
	for j, le := range DurationBuckets {
		if seconds <= le {
			i = j
			break
		}
	}
	s.buckets[i]++
	s.sum += seconds
	s.count++
}

// classIndex is c's index in probes.Classes; an unknown class counts as
// other, so that it cannot mint a label value (the set is a contract).
func classIndex(c probes.Class) int {
	other := 0
	for i, v := range probes.Classes {
		if v == c {
			return i
		}
		if v == probes.ClassOther {
			other = i
		}
	}
	return other
}
