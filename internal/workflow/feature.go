package workflow

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/socmond/socmond/internal/alerting"
	"github.com/socmond/socmond/internal/awsclient"
	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/leader"
	"github.com/socmond/socmond/internal/probes"
	"github.com/socmond/socmond/internal/server"
)

// Alert names of the workflow (a contract with deploy/ and the runbooks).
const (
	AlertExecutionsFailing = "WorkflowExecutionsFailing"
	AlertCanaryFailed      = "CanaryFailed"
)

// Owner is the name the workflow's discovered Lambda functions are
// recorded under in the monitor.
const Owner = "workflow"

// Recorder is where the discovered functions' results go: the monitor,
// which gives them windows, series and alerts like the configured
// functions, and drops them when a round no longer discovers them.
type Recorder interface {
	SetRecorded(owner string, targets []config.Target)
	RecordOwned(owner string, r probes.Result) bool
}

// FeatureOptions are what the daemon hands the workflow feature.
type FeatureOptions struct {
	Config     *config.Config
	Clients    *awsclient.Clients
	Registerer prometheus.Registerer
	Recorder   Recorder
	Alerts     *alerting.Engine // nil: no in-daemon alerts
	Elector    leader.Elector   // who runs the canary
	Logger     zerolog.Logger
}

// Feature is the workflow in the daemon: the passive check on every
// replica and the scheduled canary on the elected leader, their metrics,
// the "workflow" panel, their alerts, and the discovered Lambda functions
// recorded like probes. Apply follows a config reload: the rules, the
// state machine and the canary change in place, a round runs at once, and
// the discovered functions that stay keep their windows while those no
// longer discovered lose them, their series and their alerts.
type Feature struct {
	o      FeatureOptions
	runner *Runner

	mu         sync.Mutex
	cfg        *config.Config // in force
	metrics    *Metrics       // nil while neither check runs
	passive    bool
	canary     bool
	discovered []string // the functions of the last round that read the definition
	letters    []Letter // the dead-letter queues found, each as of the last round that read where it was found
	leading    bool
}

// NewFeature builds the feature on o.Config; Run runs it.
func NewFeature(o FeatureOptions) (*Feature, error) {
	f := &Feature{o: o, runner: &Runner{}, leading: o.Elector.Status().Leading}
	f.runner.SubscribePassive(f.passiveDone)
	f.runner.SubscribeCanary(f.canaryDone)
	o.Elector.Subscribe(f.leadership)
	if err := f.Apply(o.Config, o.Clients); err != nil {
		return nil, err
	}
	return f, nil
}

// Check accepts every config: config.Load has checked the workflow and
// canary sections, and building the checks cannot fail.
func (f *Feature) Check(*config.Config, *awsclient.Clients) error { return nil }

// Apply puts cfg in force on clients.
func (f *Feature) Apply(cfg *config.Config, clients *awsclient.Clients) error {
	passive, canary := cfg.WorkflowEnabled(), cfg.Canary.Enabled && cfg.CanaryLeader()
	s := Settings{PassiveSchedule: cfg.Workflow.Schedule, PassiveTimeout: cfg.Workflow.Timeout.D(), CanarySchedule: cfg.Canary.Schedule}
	if passive {
		s.Passive = PassiveFromConfig(cfg, clients)
	}
	if canary {
		s.Canary, s.Leader = CanaryFromConfig(cfg, clients), f.o.Elector
	}
	f.mu.Lock()
	m, sm := f.metrics, cfg.Pipeline.StateMachine
	f.mu.Unlock()
	ratio := 0.0
	if cfg.Workflow.FailureRatio != nil {
		ratio = *cfg.Workflow.FailureRatio
	}
	switch on := passive || canary; {
	case on && m == nil:
		m = NewMetrics(f.o.Registerer, sm, ratio)
	case !on && m != nil:
		m.Unregister(f.o.Registerer)
		m = nil
	case on:
		m.SetTarget(sm, cfg.Workflow.Rules, ratio)
	}
	s.Metrics = m
	return f.runner.Reconfigure(s, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if old := f.cfg; old != nil {
			// Alerts nothing will evaluate again resolve.
			moved := old.Pipeline.StateMachine != sm
			if f.passive && (moved || !passive) {
				f.raise(executionsCleared(old))
			}
			if f.canary && (moved || !canary) {
				f.raise(canaryCleared(old))
			}
		}
		f.cfg, f.metrics, f.passive, f.canary = cfg, m, passive, canary
		if !passive {
			f.discovered, f.letters = nil, nil
		}
		// The same functions, with the settings of cfg, until the round
		// Reconfigure starts says which the definition invokes now.
		f.o.Recorder.SetRecorded(Owner, f.targetsLocked())
	})
}

// targetsLocked are the discovered functions' targets; f.mu is held.
func (f *Feature) targetsLocked() []config.Target {
	ts := make([]config.Target, 0, len(f.discovered))
	for _, fn := range f.discovered {
		ts = append(ts, f.cfg.DiscoveredTarget(probes.ServiceLambda, fn, ""))
	}
	for _, l := range f.letters {
		ts = append(ts, f.cfg.DiscoveredTarget(l.Target.Service, l.Target.Resource, l.Target.Owner))
	}
	return ts
}

// Run runs the checks until ctx ends.
func (f *Feature) Run(ctx context.Context) {
	if err := f.runner.Run(ctx); err != nil {
		f.o.Logger.Error().Err(err).Msg("workflow checks not scheduled")
	}
}

// Runner is the feature's runner (tests run rounds on it directly).
func (f *Feature) Runner() *Runner { return f.runner }

// passiveDone publishes a round: the results of the discovered functions
// and dead-letter queues, and WorkflowExecutionsFailing. A round that
// could not read the definition leaves the functions discovered before as
// they were; one that could not read a rule's targets or a function's
// configuration (or the definition) leaves the queues that rule (or
// function) named before as they were.
func (f *Feature) passiveDone(rep PassiveReport) {
	f.mu.Lock()
	cfg := f.cfg
	if rep.DefinitionRead {
		f.discovered = f.discovered[:0:0]
		for _, r := range rep.Lambdas {
			f.discovered = append(f.discovered, r.Resource)
		}
	}
	f.letters = keptLetters(f.letters, rep)
	f.o.Recorder.SetRecorded(Owner, f.targetsLocked())
	f.mu.Unlock()
	for _, r := range slices.Concat(rep.Lambdas, rep.DeadLetters) {
		f.o.Recorder.RecordOwned(Owner, r)
	}
	f.raise(ExecutionsSignal(cfg, rep))
}

// keptLetters are the dead-letter queues after rep: those it found, and
// those found before where rep could not look again.
func keptLetters(before []Letter, rep PassiveReport) []Letter {
	out := slices.Clone(rep.Letters)
	for _, l := range before {
		unread := slices.Contains(rep.Unread, l.From) || (l.From.Kind == SourceFunction && !rep.DefinitionRead)
		if unread && !slices.ContainsFunc(out, func(o Letter) bool { return o.Target.Resource == l.Target.Resource }) {
			out = append(out, l)
		}
	}
	return out
}

func (f *Feature) canaryDone(rep CanaryReport) {
	f.mu.Lock()
	cfg := f.cfg
	f.mu.Unlock()
	f.raise(CanarySignal(cfg, rep))
}

// leadership: a replica that stops leading runs no more canaries, so it
// withdraws its last verdict: its CanaryFailed resolves and its canary
// series go, as when a leader stops for good. The new leader reports at
// its next scheduled run.
func (f *Feature) leadership(st leader.Status) {
	f.mu.Lock()
	was, canary, cfg := f.leading, f.canary, f.cfg
	f.leading = st.Leading
	f.mu.Unlock()
	if canary && was && !st.Leading {
		f.runner.ForgetCanary()
		f.raise(canaryCleared(cfg))
	}
}

// raise raises a workflow alert under the tenant in force: a reload may
// change the tenant, and the engine then moves the alerts in force to it
// (Engine.Reconcile); a signal under another tenant would raise a second
// alert beside the moved one, which nothing would evaluate again.
func (f *Feature) raise(s alerting.Signal) {
	if f.o.Alerts == nil {
		return
	}
	s.Labels["tenant"] = f.o.Alerts.Settings().Tenant
	f.o.Alerts.Set(s, time.Now())
}

// signal is a workflow alert's signal; raise adds the tenant label. Both
// workflow alerts page (docs/alerting.md): investigations are being lost.
// The severity must be one Alertmanager's routing knows
// (config.Severities); any other falls through to the ticket queue.
func signal(name, resource string, active bool, summary, description, hint string) alerting.Signal {
	return alerting.Signal{
		Labels: map[string]string{"alertname": name, "service": "workflow", "resource": resource,
			"severity": "page"},
		Annotations: map[string]string{"summary": summary, "description": description, "hint": hint},
		Active:      active,
	}
}

// ExecutionsSignal is WorkflowExecutionsFailing as of rep under cfg.
func ExecutionsSignal(cfg *config.Config, rep PassiveReport) alerting.Signal {
	// docs/alerting.md: the ratio breaches, at least two failed, and the
	// newest finished execution failed (so it resolves when one succeeds,
	// not an execution window later).
	x := rep.Executions
	active := x.Failing() && x.FailureRatio > *cfg.Workflow.FailureRatio
	desc := "no executions could be listed"
	if x != nil {
		desc = fmt.Sprintf("%d of %d executions in the last %s failed (threshold %.0f%%)", x.Failed, x.Total, x.Window, 100**cfg.Workflow.FailureRatio)
		if f := x.NewestFailure; f != nil {
			desc += fmt.Sprintf("; newest failure in state %q: %s: %s", f.State, f.Error, f.Cause)
		}
	}
	return signal(AlertExecutionsFailing, cfg.Pipeline.StateMachine, active,
		"SOC pipeline executions are failing", desc, "Open the newest failed execution in the Step Functions console and the failing stage's CloudWatch logs.")
}

// CanarySignal is CanaryFailed as of rep under cfg.
func CanarySignal(cfg *config.Config, rep CanaryReport) alerting.Signal {
	desc := "all eight steps passed"
	if s, failed := rep.FailedStep(); failed {
		desc = fmt.Sprintf("step %d (%s) failed: %s", s.Number, s.Name, s.Reason)
	}
	return signal(AlertCanaryFailed, cfg.Pipeline.StateMachine, !rep.Passed,
		"The synthetic end-to-end canary failed", desc, "Run `socmond e2e` to reproduce; the failed step names the stage.")
}

func executionsCleared(cfg *config.Config) alerting.Signal {
	return signal(AlertExecutionsFailing, cfg.Pipeline.StateMachine, false, "", "", "")
}

func canaryCleared(cfg *config.Config) alerting.Signal {
	return signal(AlertCanaryFailed, cfg.Pipeline.StateMachine, false, "", "", "")
}

// Panel renders the latest passive round and canary run for
// /api/v1/status and the status page.
func (f *Feature) Panel(time.Time) server.Panel {
	f.mu.Lock()
	on := f.passive || f.canary
	f.mu.Unlock()
	if !on {
		return server.Panel{} // no panel while neither check runs
	}
	p := server.Panel{ID: "workflow", Title: "Workflow and canary"}
	passive, canary := f.runner.Latest()
	if passive != nil {
		for _, c := range passive.Checks {
			p.Items = append(p.Items, server.PanelItem{Name: c.Name, Resource: c.Resource, State: passFail(c.OK), OK: c.OK, Reason: c.Reason, At: passive.At})
		}
		for _, l := range passive.Lambdas {
			p.Items = append(p.Items, server.PanelItem{Name: "discovered_function", Resource: l.Resource, State: string(l.Status),
				OK: l.Status == probes.Healthy, Reason: l.Detail, Hint: l.Hint, At: l.Start})
		}
		for _, l := range passive.DeadLetters {
			p.Items = append(p.Items, server.PanelItem{Name: "dead_letter_queue", Resource: l.Resource, State: string(l.Status),
				OK: l.Status == probes.Healthy, Reason: l.Detail, Hint: l.Hint, At: l.Start})
		}
	}
	if canary != nil {
		for _, s := range canary.Steps {
			p.Items = append(p.Items, server.PanelItem{Name: "canary_" + s.Name, Resource: canary.InvestigationID, State: s.Status,
				OK: s.Status == Passed, Reason: s.Reason, At: canary.Start,
				Details: map[string]string{"step": fmt.Sprint(s.Number), "duration": s.Duration.Round(time.Millisecond).String()}})
		}
	}
	return p
}

func passFail(ok bool) string {
	if ok {
		return "pass"
	}
	return "fail"
}

// WarnCanaryLeader says what the deprecated canary.leader does now.
func WarnCanaryLeader(cfg *config.Config, log zerolog.Logger) {
	if cfg.Canary.Leader == nil {
		return
	}
	ev := log.Warn().Bool("canary.leader", *cfg.Canary.Leader)
	if *cfg.Canary.Leader {
		ev.Msg("canary.leader is deprecated and has no effect: the elected leader runs the canary (--leader-election.backend, docs/operations.md); remove it")
		return
	}
	ev.Msg("canary.leader is deprecated: false still keeps this replica from running the canary even when it is elected; elect with --leader-election.backend instead and remove it")
}
