package compliance

import "github.com/prometheus/client_golang/prometheus"

// metrics exports findings. A NOT_APPLICABLE finding has no
// socmond_compliance_check_passed series at all (its last-run timestamp
// still moves), so `socmond_compliance_check_passed == 0` selects exactly
// the failing checks and a check that does not apply never pages. An
// UNKNOWN finding leaves socmond_compliance_check_passed at the last known
// verdict (a failed read is no news about the resource) and sets
// socmond_compliance_check_unknown to 1.
type metrics struct {
	passed   *prometheus.GaugeVec
	unknown  *prometheus.GaugeVec
	lastRun  *prometheus.GaugeVec
	failures *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	labels := []string{"check", "resource"}
	m := &metrics{
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
	if reg != nil {
		for _, c := range []prometheus.Collector{m.passed, m.unknown, m.lastRun, m.failures} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

func (m *metrics) record(f Finding) {
	l := prometheus.Labels{"check": f.Check, "resource": f.Resource}
	m.lastRun.With(l).Set(float64(f.Start.UnixNano()) / 1e9)
	fails := m.failures.With(l) // created at 0 so rate() works from the first failure
	unknown := 0.0
	switch f.Verdict {
	case Pass:
		m.passed.With(l).Set(1)
	case Fail:
		m.passed.With(l).Set(0)
		fails.Inc()
	case Unknown:
		unknown = 1 // passed keeps the last known verdict
	default:
		m.passed.Delete(l)
	}
	m.unknown.With(l).Set(unknown)
}

// remove drops every series of a (check, resource) pair that is no longer
// checked, so neither dashboards nor `== 0` alerts see it again.
func (m *metrics) remove(f Finding) {
	l := prometheus.Labels{"check": f.Check, "resource": f.Resource}
	m.passed.Delete(l)
	m.unknown.Delete(l)
	m.lastRun.Delete(l)
	m.failures.Delete(l)
}
