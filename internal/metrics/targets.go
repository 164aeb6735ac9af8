package metrics

import (
	"strings"
	"sync"

	"github.com/socmond/socmond/internal/probes"
)

// The per-resource families are not built from one prometheus.Counter,
// Gauge or Histogram object per series: each of those carries its own
// descriptor, label pairs, atomics and bookkeeping, about 12.7 KB per
// resource for 34 series, which at 10,000 resources was half of socmond's
// heap. A series here is a number in a fixed struct, and the handler writes
// the exposition text straight from it (expose.go). Every series a resource
// had before is still exported, at 0 from the first time the resource is
// seen, so rate() and increase() see its first failure.

// series is the state of every per-resource series of one target.
type series struct {
	target probes.Target // as configured
	// resource and service are the label values as exported (valid
	// UTF-8), which is what the exposition is sorted by; so are account,
	// region and tenant for a placed target (placed: it has a tenant,
	// account or region), which exports all three.
	resource, service       string
	account, region, tenant string
	placed                  bool
	// labels is every label pair, sorted by name and escaped for the text
	// format once, so that a scrape only copies it: `resource="…",
	// service="…"`, or `account="…",region="…",resource="…",service="…",
	// tenant="…"` placed. A family's own label sorts among them: first
	// (class, condition) or after service (status) unplaced, after
	// account (class, condition) or before tenant (status) placed; pre and
	// post are labels split where class and condition go, head and tail
	// where status goes (the commas around the gap are theirs).
	labels     string
	pre, post  string
	head, tail string

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
	errors       uint64 // results that count as errors (probes.Result.IsError)
	conditions   conditionState
	// backlog is the items the resource held at the latest probe that read
	// them (probes.Result.Backlog); the series exists once one did.
	backlog    float64
	hasBacklog bool
}

// conditionState is what the Prometheus rules need to evaluate a resource's
// alert conditions as socmond does (docs/alerting.md): its thresholds,
// how many results its windows hold and must hold, and whether each
// condition is failing.
type conditionState struct {
	rtThreshold, errThreshold, availThreshold  float64
	errSamples, errMin, availSamples, availMin float64
	failing                                    [len(conditionNames)]bool
}

func newSeries(t probes.Target) *series {
	s := &series{
		target:   t,
		resource: validLabelValue(t.Resource),
		service:  validLabelValue(t.Service),
		probes:   make([]uint64, len(probes.Statuses)),
		failures: make([]uint64, len(probes.Classes)),
		buckets:  make([]uint64, len(DurationBuckets)+1),
		status:   -1,
	}
	// Label pairs sorted by name, as the registry wrote them.
	rs := labelText("resource", s.resource) + "," + labelText("service", s.service)
	if t.Place.IsZero() {
		s.labels = rs
		s.post, s.head = ","+rs, rs+","
		return s
	}
	s.placed = true
	s.account, s.region, s.tenant = validLabelValue(t.Account), validLabelValue(t.Region), validLabelValue(t.Tenant)
	acct, tenant := labelText("account", s.account), labelText("tenant", s.tenant)
	rest := labelText("region", s.region) + "," + rs
	s.labels = acct + "," + rest + "," + tenant
	s.pre, s.post = acct+",", ","+rest+","+tenant
	s.head, s.tail = acct+","+rest+",", ","+tenant
	return s
}

// validLabelValue is v as it can be exported: a label value must be UTF-8,
// and a scrape that fails on one resource's name is worse than a replaced
// byte (prometheus.*Vec used to panic on it).
func validLabelValue(v string) string {
	return strings.ToValidUTF8(v, "\uFFFD")
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
