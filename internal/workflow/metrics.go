package workflow

import (
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics exports passive workflow health and canary outcomes.
type Metrics struct {
	ruleEnabled    *prometheus.GaugeVec
	ruleTarget     *prometheus.GaugeVec
	standard       prometheus.Gauge
	functions      prometheus.Gauge
	executions     *prometheus.GaugeVec
	failureRatio   prometheus.Gauge
	passiveOK      prometheus.Gauge
	canaryRuns     *prometheus.CounterVec
	canaryStep     *prometheus.GaugeVec
	canaryDuration *prometheus.GaugeVec
	canaryLast     prometheus.Gauge
	// The alert conditions' inputs (docs/alerting.md), labelled with the
	// state machine as the in-daemon alerts are.
	failing     *prometheus.GaugeVec // one series, the state machine's
	threshold   prometheus.Gauge
	canaryPassd *prometheus.GaugeVec // one series once the canary has run

	mu       sync.Mutex
	resource string
	rules    map[string]bool // the rule label values set
}

// NewMetrics registers the workflow collectors on reg. stateMachine labels
// the alert conditions' gauges (resource, as on the alerts), and
// maxFailureRatio is workflow.failure_ratio, exported for the rules.
func NewMetrics(reg prometheus.Registerer, stateMachine string, maxFailureRatio float64) *Metrics {
	m := &Metrics{
		failing: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "socmond_workflow_failing",
			Help: "1 while at least two executions in the window failed and the newest finished one did (WorkflowExecutionsFailing's failing part)."}, []string{"resource"}),
		threshold: prometheus.NewGauge(prometheus.GaugeOpts{Name: "socmond_workflow_execution_failure_ratio_threshold",
			Help: "workflow.failure_ratio: a share of failed executions above it breaches."}),
		canaryPassd: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "socmond_canary_passed",
			Help: "1 when the last canary run passed all eight steps, 0 when it failed (CanaryFailed); absent before the first run."}, []string{"resource"}),
		resource: stateMachine,
		rules:    map[string]bool{},
		ruleEnabled: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "socmond_workflow_rule_enabled",
			Help: "1 when the EventBridge rule that routes alerts is ENABLED."}, []string{"rule"}),
		ruleTarget: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "socmond_workflow_rule_targets_state_machine",
			Help: "1 when the rule targets the configured state machine."}, []string{"rule"}),
		standard: prometheus.NewGauge(prometheus.GaugeOpts{Name: "socmond_workflow_state_machine_standard",
			Help: "1 when the state machine is a STANDARD machine whose executions can be followed."}),
		functions: prometheus.NewGauge(prometheus.GaugeOpts{Name: "socmond_workflow_discovered_functions",
			Help: "Lambda functions the state machine definition invokes."}),
		executions: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "socmond_workflow_executions",
			Help: "Executions started within the execution window, by status."}, []string{"status"}),
		failureRatio: prometheus.NewGauge(prometheus.GaugeOpts{Name: "socmond_workflow_execution_failure_ratio",
			Help: "Share of executions in the window that FAILED, TIMED_OUT or were ABORTED."}),
		passiveOK: prometheus.NewGauge(prometheus.GaugeOpts{Name: "socmond_workflow_healthy",
			Help: "1 when every passive workflow check passed in the last round."}),
		canaryRuns: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "socmond_canary_runs_total",
			Help: "Synthetic end-to-end canary runs, by result (pass, fail)."}, []string{"result"}),
		canaryStep: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "socmond_canary_step_passed",
			Help: "1 when the step passed in the last canary run, 0 when it failed or was skipped."}, []string{"step"}),
		canaryDuration: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "socmond_canary_duration_seconds",
			Help: "Duration of the last canary run (stage=\"total\") and of each Lambda stage in it."}, []string{"stage"}),
		canaryLast: prometheus.NewGauge(prometheus.GaugeOpts{Name: "socmond_canary_last_run_timestamp_seconds",
			Help: "When the last canary run started."}),
	}
	m.threshold.Set(maxFailureRatio)
	m.failing.WithLabelValues(stateMachine)
	reg.MustRegister(m.collectors()...)
	for _, r := range []string{"pass", "fail"} {
		m.canaryRuns.WithLabelValues(r)
	}
	return m
}

func (m *Metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.ruleEnabled, m.ruleTarget, m.standard, m.functions, m.executions, m.failureRatio, m.passiveOK,
		m.canaryRuns, m.canaryStep, m.canaryDuration, m.canaryLast, m.failing, m.threshold, m.canaryPassd}
}

// Unregister removes every workflow series from reg (a reload disabled
// the workflow checks).
func (m *Metrics) Unregister(reg prometheus.Registerer) {
	for _, c := range m.collectors() {
		reg.Unregister(c)
	}
}

// SetTarget follows a reload: the series of rules no longer checked go, and
// a new state machine starts its alert conditions' series anew (its
// canary's too: the last run was the old machine's).
func (m *Metrics) SetTarget(stateMachine string, rules []string, maxFailureRatio float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.threshold.Set(maxFailureRatio)
	for r := range m.rules {
		if !slices.Contains(rules, r) {
			m.ruleEnabled.DeleteLabelValues(r)
			m.ruleTarget.DeleteLabelValues(r)
			delete(m.rules, r)
		}
	}
	if stateMachine == m.resource {
		return
	}
	m.resource = stateMachine
	m.failing.Reset()
	m.failing.WithLabelValues(stateMachine)
	m.canaryPassd.Reset()
	m.canaryStep.Reset()
	m.canaryDuration.Reset()
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// ObservePassive records one passive round.
func (m *Metrics) ObservePassive(r PassiveReport) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range r.Checks {
		switch c.Name {
		case "rule_enabled":
			m.rules[c.Resource] = true
			m.ruleEnabled.WithLabelValues(c.Resource).Set(b2f(c.OK))
		case "rule_target":
			m.rules[c.Resource] = true
			m.ruleTarget.WithLabelValues(c.Resource).Set(b2f(c.OK))
		case "state_machine_type":
			m.standard.Set(b2f(c.OK))
		}
	}
	m.functions.Set(float64(len(Functions(r.Functions))))
	if x := r.Executions; x != nil {
		m.executions.Reset()
		for _, s := range []string{"RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE"} {
			m.executions.WithLabelValues(s).Set(float64(x.Counts[s]))
		}
		m.failureRatio.Set(x.FailureRatio)
		m.failing.WithLabelValues(m.resource).Set(b2f(x.Failing()))
	}
	m.passiveOK.Set(b2f(r.OK()))
}

// ForgetCanary removes the last run's gauges (the run counter stays: it
// counts what this replica ran).
func (m *Metrics) ForgetCanary() {
	m.canaryPassd.Reset()
	m.canaryStep.Reset()
	m.canaryDuration.Reset()
}

// ObserveCanary records one canary run.
func (m *Metrics) ObserveCanary(r CanaryReport) {
	m.mu.Lock()
	defer m.mu.Unlock()
	result := "fail"
	if r.Passed {
		result = "pass"
	}
	m.canaryRuns.WithLabelValues(result).Inc()
	m.canaryPassd.WithLabelValues(m.resource).Set(b2f(r.Passed))
	for _, s := range r.Steps {
		m.canaryStep.WithLabelValues(s.Name).Set(b2f(s.Status == Passed))
	}
	m.canaryDuration.Reset()
	m.canaryDuration.WithLabelValues("total").Set(r.Duration.Seconds())
	for _, st := range r.Stages {
		m.canaryDuration.WithLabelValues(st.State).Set(st.Duration.Seconds())
	}
	m.canaryLast.Set(float64(r.Start.UnixMilli()) / 1000)
}
