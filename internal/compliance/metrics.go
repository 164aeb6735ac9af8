package compliance

import "github.com/prometheus/client_golang/prometheus"

// metrics exports findings. A NOT_APPLICABLE finding has no
// socmond_compliance_check_passed series at all (its last-run timestamp
// still moves), so `socmond_compliance_check_passed == 0` selects exactly
// the failing checks and a check that does not apply never pages. An
// UNKNOWN finding leaves socmond_compliance_check_passed at the last known
// verdict (a failed read is no news about the resource) and sets
// socmond_compliance_check_unknown to 1.
//
// A tenant's pipeline's findings also carry account, region and tenant,
// as the per-target series do (internal/metrics); findings of a config
// without tenants carry only check and resource, as they always have.
type metrics struct {
	flat, placed family
}

// family is one set of the four series by label names.
type family struct {
	passed   *prometheus.GaugeVec
	unknown  *prometheus.GaugeVec
	lastRun  *prometheus.GaugeVec
	failures *prometheus.CounterVec
}

var (
	flatLabels   = []string{"check", "resource"}
	placedLabels = []string{"check", "resource", "account", "region", "tenant"}
)

func newFamily(labels []string) family {
	return family{
		passed: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "socmond_compliance_check_passed",
			Help: "1 when the compliance check's last known verdict is PASS, 0 when it is FAIL; kept while the check cannot read its facts (socmond_compliance_check_unknown); absent when the check does not apply (NOT_APPLICABLE) or has never read them.",
		}, labels),
		unknown: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "socmond_compliance_check_unknown",
			Help: "1 while the compliance check's last run could not read the facts it decides on (verdict UNKNOWN: the reads failed), 0 otherwise.",
		}, labels),
		lastRun: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "socmond_compliance_last_run_timestamp_seconds",
			Help: "Unix time of the compliance check's last run, whatever its verdict.",
		}, labels),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "socmond_compliance_failures_total",
			Help: "Compliance check runs that ended in FAIL.",
		}, labels),
	}
}

func (f family) collectors() []prometheus.Collector {
	return []prometheus.Collector{f.passed, f.unknown, f.lastRun, f.failures}
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{flat: newFamily(flatLabels), placed: newFamily(placedLabels)}
	if reg != nil {
		if err := reg.Register(m); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Describe describes nothing: the two sets share their names with
// different label names, which the registry accepts only of an unchecked
// collector. It still checks every series it gathers (type, help,
// uniqueness).
func (m *metrics) Describe(chan<- *prometheus.Desc) {}

// Collect gathers both sets.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	for _, c := range append(m.flat.collectors(), m.placed.collectors()...) {
		c.Collect(ch)
	}
}

// series are the family and labels of f's series.
func (m *metrics) series(f Finding) (family, prometheus.Labels) {
	l := prometheus.Labels{"check": f.Check, "resource": f.Resource}
	if f.Place.IsZero() {
		return m.flat, l
	}
	l["account"], l["region"], l["tenant"] = f.Account, f.Region, f.Tenant
	return m.placed, l
}

func (m *metrics) record(f Finding) {
	fam, l := m.series(f)
	fam.lastRun.With(l).Set(float64(f.Start.UnixNano()) / 1e9)
	fails := fam.failures.With(l) // created at 0 so rate() works from the first failure
	unknown := 0.0
	switch f.Verdict {
	case Pass:
		fam.passed.With(l).Set(1)
	case Fail:
		fam.passed.With(l).Set(0)
		fails.Inc()
	case Unknown:
		unknown = 1 // passed keeps the last known verdict
	default:
		fam.passed.Delete(l)
	}
	fam.unknown.With(l).Set(unknown)
}

// remove drops every series of a (check, resource) pair that is no longer
// checked, so neither dashboards nor `== 0` alerts see it again.
func (m *metrics) remove(f Finding) {
	fam, l := m.series(f)
	fam.passed.Delete(l)
	fam.unknown.Delete(l)
	fam.lastRun.Delete(l)
	fam.failures.Delete(l)
}
