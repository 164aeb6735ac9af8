package workflow

import (
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/socmond/socmond/internal/probes"
)

// Metrics exports passive workflow health and canary outcomes, one set of
// series per pipeline. A placed pipeline's (config's tenants:) carry
// account, region and tenant, as a placed resource's probe series do; the
// one pipeline of a config without tenants carries none, so its series
// are those of a single-account socmond.
type Metrics struct {
	placed         bool // the series carry account, region and tenant
	ruleEnabled    *prometheus.GaugeVec
	ruleTarget     *prometheus.GaugeVec
	standard       *prometheus.GaugeVec
	functions      *prometheus.GaugeVec
	executions     *prometheus.GaugeVec
	failureRatio   *prometheus.GaugeVec
	passiveOK      *prometheus.GaugeVec
	canaryRuns     *prometheus.CounterVec
	canaryStep     *prometheus.GaugeVec
	canaryDuration *prometheus.GaugeVec
	canaryLast     *prometheus.GaugeVec
	// The alert conditions' inputs (docs/alerting.md), labelled with the
	// state machine as the in-daemon alerts are. The threshold carries
	// the pipeline's place too, so a rule compares each pipeline's ratio
	// with it one to one.
	failing     *prometheus.GaugeVec // one series per pipeline, its state machine's
	threshold   *prometheus.GaugeVec
	canaryPassd *prometheus.GaugeVec // one series per pipeline once its canary has run

	mu     sync.Mutex
	places map[probes.Place]*placeSeries
}

// placeSeries is what Metrics remembers of one pipeline's series.
type placeSeries struct {
	resource string          // its state machine
	rules    map[string]bool // the rule label values set
}

// placeLabelNames are the labels a placed pipeline's series add, in the
// order lv appends their values.
var placeLabelNames = []string{"account", "region", "tenant"}

// NewMetrics registers the workflow collectors on reg; placed says whether
// the pipelines are a tenants: config's (their series then carry account,
// region and tenant). SetTarget adds each pipeline's series.
func NewMetrics(reg prometheus.Registerer, placed bool) *Metrics {
	names := func(base ...string) []string {
		if placed {
			return append(base, placeLabelNames...)
		}
		return base
	}
	gauge := func(name, help string, base ...string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, names(base...))
	}
	m := &Metrics{
		placed: placed,
		places: map[probes.Place]*placeSeries{},
		failing: gauge("socmond_workflow_failing",
			"1 while at least two executions in the window failed and the newest finished one did (WorkflowExecutionsFailing's failing part).", "resource"),
		threshold: gauge("socmond_workflow_execution_failure_ratio_threshold",
			"workflow.failure_ratio: a share of failed executions above it breaches."),
		canaryPassd: gauge("socmond_canary_passed",
			"1 when the last canary run passed all eight steps, 0 when it failed (CanaryFailed); absent before the first run.", "resource"),
		ruleEnabled: gauge("socmond_workflow_rule_enabled", "1 when the EventBridge rule that routes alerts is ENABLED.", "rule"),
		ruleTarget:  gauge("socmond_workflow_rule_targets_state_machine", "1 when the rule targets the configured state machine.", "rule"),
		standard: gauge("socmond_workflow_state_machine_standard",
			"1 when the state machine is a STANDARD machine whose executions can be followed."),
		functions:  gauge("socmond_workflow_discovered_functions", "Lambda functions the state machine definition invokes."),
		executions: gauge("socmond_workflow_executions", "Executions started within the execution window, by status.", "status"),
		failureRatio: gauge("socmond_workflow_execution_failure_ratio",
			"Share of executions in the window that FAILED, TIMED_OUT or were ABORTED."),
		passiveOK: gauge("socmond_workflow_healthy", "1 when every passive workflow check passed in the last round."),
		canaryRuns: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "socmond_canary_runs_total",
			Help: "Synthetic end-to-end canary runs, by result (pass, fail)."}, names("result")),
		canaryStep: gauge("socmond_canary_step_passed",
			"1 when the step passed in the last canary run, 0 when it failed or was skipped.", "step"),
		canaryDuration: gauge("socmond_canary_duration_seconds",
			"Duration of the last canary run (stage=\"total\") and of each Lambda stage in it.", "stage"),
		canaryLast: gauge("socmond_canary_last_run_timestamp_seconds", "When the last canary run started."),
	}
	reg.MustRegister(m.collectors()...)
	return m
}

func (m *Metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.ruleEnabled, m.ruleTarget, m.standard, m.functions, m.executions, m.failureRatio, m.passiveOK,
		m.canaryRuns, m.canaryStep, m.canaryDuration, m.canaryLast, m.failing, m.threshold, m.canaryPassd}
}

// Placed reports whether the series carry account, region and tenant.
func (m *Metrics) Placed() bool { return m.placed }

// Unregister removes every workflow series from reg (a reload disabled
// the workflow checks).
func (m *Metrics) Unregister(reg prometheus.Registerer) {
	for _, c := range m.collectors() {
		reg.Unregister(c)
	}
}

// lv are the label values of a series of the pipeline at p: vals, then
// its place's when the series are placed.
func (m *Metrics) lv(p probes.Place, vals ...string) []string {
	if m.placed {
		return append(vals, p.Account, p.Region, p.Tenant)
	}
	return vals
}

// deletePlace drops the series of the pipeline at p from vecs.
func (m *Metrics) deletePlace(p probes.Place, vecs ...interface {
	Reset()
	DeletePartialMatch(prometheus.Labels) int
}) {
	for _, v := range vecs {
		if !m.placed {
			v.Reset() // the one pipeline's
			continue
		}
		v.DeletePartialMatch(prometheus.Labels{"account": p.Account, "region": p.Region, "tenant": p.Tenant})
	}
}

// SetTarget gives the pipeline at p its series, or follows a reload: the
// series of rules no longer checked go, and a new state machine starts
// its alert conditions' series anew (its canary's too: the last run was
// the old machine's).
func (m *Metrics) SetTarget(p probes.Place, stateMachine string, rules []string, maxFailureRatio float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.threshold.WithLabelValues(m.lv(p)...).Set(maxFailureRatio)
	s, ok := m.places[p]
	if !ok {
		// The series a round has not set yet read 0, as they always have.
		s = &placeSeries{resource: stateMachine, rules: map[string]bool{}}
		m.places[p] = s
		for _, g := range []*prometheus.GaugeVec{m.standard, m.functions, m.failureRatio, m.passiveOK, m.canaryLast} {
			g.WithLabelValues(m.lv(p)...)
		}
		m.failing.WithLabelValues(m.lv(p, stateMachine)...)
		for _, r := range []string{"pass", "fail"} {
			m.canaryRuns.WithLabelValues(m.lv(p, r)...)
		}
		return
	}
	for r := range s.rules {
		if !slices.Contains(rules, r) {
			m.ruleEnabled.DeleteLabelValues(m.lv(p, r)...)
			m.ruleTarget.DeleteLabelValues(m.lv(p, r)...)
			delete(s.rules, r)
		}
	}
	if stateMachine == s.resource {
		return
	}
	s.resource = stateMachine
	m.deletePlace(p, m.failing, m.canaryPassd, m.canaryStep, m.canaryDuration)
	m.failing.WithLabelValues(m.lv(p, stateMachine)...)
}

// Forget drops every series of the pipeline at p (a reload removed it).
func (m *Metrics) Forget(p probes.Place) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.places[p]; !ok {
		return // not this Metrics' pipeline: the unplaced one's would drop every series
	}
	delete(m.places, p)
	m.deletePlace(p, m.ruleEnabled, m.ruleTarget, m.standard, m.functions, m.executions, m.failureRatio, m.passiveOK,
		m.canaryRuns, m.canaryStep, m.canaryDuration, m.canaryLast, m.failing, m.threshold, m.canaryPassd)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// ObservePassive records one passive round of the pipeline at r.Place.
func (m *Metrics) ObservePassive(r PassiveReport) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := r.Place
	s, ok := m.places[p]
	if !ok {
		return // removed by a reload since
	}
	for _, c := range r.Checks {
		switch c.Name {
		case "rule_enabled":
			s.rules[c.Resource] = true
			m.ruleEnabled.WithLabelValues(m.lv(p, c.Resource)...).Set(b2f(c.OK))
		case "rule_target":
			s.rules[c.Resource] = true
			m.ruleTarget.WithLabelValues(m.lv(p, c.Resource)...).Set(b2f(c.OK))
		case "state_machine_type":
			m.standard.WithLabelValues(m.lv(p)...).Set(b2f(c.OK))
		}
	}
	m.functions.WithLabelValues(m.lv(p)...).Set(float64(len(Functions(r.Functions))))
	if x := r.Executions; x != nil {
		m.deletePlace(p, m.executions)
		for _, st := range []string{"RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE"} {
			m.executions.WithLabelValues(m.lv(p, st)...).Set(float64(x.Counts[st]))
		}
		m.failureRatio.WithLabelValues(m.lv(p)...).Set(x.FailureRatio)
		m.failing.WithLabelValues(m.lv(p, s.resource)...).Set(b2f(x.Failing()))
	}
	m.passiveOK.WithLabelValues(m.lv(p)...).Set(b2f(r.OK()))
}

// ForgetCanary removes the last run's gauges of the pipeline at p (the
// run counter stays: it counts what this replica ran).
func (m *Metrics) ForgetCanary(p probes.Place) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.deletePlace(p, m.canaryPassd, m.canaryStep, m.canaryDuration)
}

// ObserveCanary records one canary run of the pipeline at r.Place.
func (m *Metrics) ObserveCanary(r CanaryReport) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := r.Place
	s, ok := m.places[p]
	if !ok {
		return // removed by a reload since
	}
	result := "fail"
	if r.Passed {
		result = "pass"
	}
	m.canaryRuns.WithLabelValues(m.lv(p, result)...).Inc()
	m.canaryPassd.WithLabelValues(m.lv(p, s.resource)...).Set(b2f(r.Passed))
	for _, st := range r.Steps {
		m.canaryStep.WithLabelValues(m.lv(p, st.Name)...).Set(b2f(st.Status == Passed))
	}
	m.deletePlace(p, m.canaryDuration)
	m.canaryDuration.WithLabelValues(m.lv(p, "total")...).Set(r.Duration.Seconds())
	for _, st := range r.Stages {
		m.canaryDuration.WithLabelValues(m.lv(p, st.State)...).Set(st.Duration.Seconds())
	}
	m.canaryLast.WithLabelValues(m.lv(p)...).Set(float64(r.Start.UnixMilli()) / 1000)
}
