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

// Feature is the workflow in the daemon: each pipeline's (config.Places:
// one per tenant's pipeline, or the config's one) passive check on every
// replica and scheduled canary on the elected leader, each on its
// pipeline's clients and names, their metrics, the "workflow" panel,
// their alerts, and the discovered Lambda functions and dead-letter
// queues recorded like probes, with their pipeline's place. Apply follows
// a config reload: the rules, the state machine and the canary change in
// place, a round runs at once, and the discovered resources that stay
// keep their windows while those no longer discovered lose them, their
// series and their alerts; a pipeline the reload removed loses its series
// and its alerts resolve.
type Feature struct {
	o FeatureOptions

	mu        sync.Mutex
	metrics   *Metrics // nil while neither check runs
	passive   bool
	canary    bool
	pipelines map[probes.Place]*pipeline
	order     []probes.Place // the pipelines in config order (the panel's)
	leading   bool
	// ctx is Run's while it runs (nil before): a pipeline a reload adds
	// starts its runner under it. stopped: Run is waiting for them to end.
	ctx     context.Context
	stopped bool
	running sync.WaitGroup
}

// pipeline is one place's workflow: its runner and what its rounds found.
// Its fields but runner are guarded by Feature.mu.
type pipeline struct {
	place  probes.Place
	runner *Runner
	// cfg, passive and canary are those in force, swapped with the
	// runner's settings so a round is always read with its own.
	cfg        *config.Config
	passive    bool
	canary     bool
	discovered []string           // the functions of the last round that read the definition
	letters    []Letter           // the dead-letter queues found, each as of the last round that read where it was found
	stop       context.CancelFunc // ends the runner's Run; nil while it does not run
}

// NewFeature builds the feature on o.Config; Run runs it.
func NewFeature(o FeatureOptions) (*Feature, error) {
	f := &Feature{o: o, pipelines: map[probes.Place]*pipeline{}, leading: o.Elector.Status().Leading}
	o.Elector.Subscribe(f.leadership)
	if err := f.Apply(o.Config, o.Clients); err != nil {
		return nil, err
	}
	return f, nil
}

// Check accepts a config whose every pipeline has clients: config.Load
// has checked the workflow and canary sections, and building the checks
// cannot fail.
func (f *Feature) Check(cfg *config.Config, clients *awsclient.Clients) error {
	_, err := f.settings(cfg, clients)
	return err
}

// settings are the runners' settings of cfg, one per pipeline in order.
func (f *Feature) settings(cfg *config.Config, clients *awsclient.Clients) ([]Settings, error) {
	passive, canary := cfg.WorkflowEnabled(), cfg.Canary.Enabled && cfg.CanaryLeader()
	var out []Settings
	for _, place := range cfg.Places() {
		s := Settings{Place: place, PassiveSchedule: cfg.Workflow.Schedule, PassiveTimeout: cfg.Workflow.Timeout.D(), CanarySchedule: cfg.Canary.Schedule}
		if passive || canary {
			pc, err := cfg.ClientsAt(clients, place)
			if err != nil {
				return nil, fmt.Errorf("workflow: %w", err)
			}
			if passive {
				s.Passive = PassiveAt(cfg, pc, place)
			}
			if canary {
				s.Canary, s.Leader = CanaryAt(cfg, pc, place), f.o.Elector
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// Apply puts cfg in force on clients.
func (f *Feature) Apply(cfg *config.Config, clients *awsclient.Clients) error {
	all, err := f.settings(cfg, clients)
	if err != nil {
		return err
	}
	passive, canary := cfg.WorkflowEnabled(), cfg.Canary.Enabled && cfg.CanaryLeader()
	places := cfg.Places()
	placed := !places[0].IsZero()
	ratio := 0.0
	if cfg.Workflow.FailureRatio != nil {
		ratio = *cfg.Workflow.FailureRatio
	}

	f.mu.Lock()
	m := f.metrics
	var gone []*pipeline
	for place, p := range f.pipelines {
		if !slices.Contains(places, place) {
			gone = append(gone, p)
		}
	}
	f.mu.Unlock()

	on := passive || canary
	if m != nil && (!on || m.Placed() != placed) {
		m.Unregister(f.o.Registerer)
		m = nil
	}
	if on && m == nil {
		m = NewMetrics(f.o.Registerer, placed)
	}

	// Pipelines the reload removed: their rounds in flight publish
	// nothing, their alerts resolve, their discovered resources and their
	// series go.
	for _, p := range gone {
		err := p.runner.Reconfigure(Settings{Place: p.place}, func() {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.clearLocked(p, true, true)
			delete(f.pipelines, p.place)
			f.o.Recorder.SetRecorded(Owner, f.targetsLocked())
		})
		if err != nil {
			return err
		}
		if m != nil {
			m.Forget(p.place)
		}
		f.mu.Lock()
		if p.stop != nil {
			p.stop()
		}
		f.mu.Unlock()
	}

	f.mu.Lock()
	f.metrics, f.passive, f.canary, f.order = m, passive, canary, places
	f.mu.Unlock()
	for _, s := range all {
		place := s.Place
		names := cfg.PipelineAt(place)
		if m != nil {
			m.SetTarget(place, names.StateMachine, cfg.WorkflowRulesAt(place), ratio)
		}
		s.Metrics = m
		f.mu.Lock()
		p, ok := f.pipelines[place]
		if !ok {
			p = &pipeline{place: place, runner: &Runner{}}
			p.runner.SubscribePassive(f.passiveDone)
			p.runner.SubscribeCanary(f.canaryDone)
		}
		f.mu.Unlock()
		err := p.runner.Reconfigure(s, func() {
			f.mu.Lock()
			defer f.mu.Unlock()
			if old := p.cfg; old != nil {
				// Alerts nothing will evaluate again resolve.
				moved := old.PipelineAt(place).StateMachine != names.StateMachine
				f.clearLocked(p, moved || !passive, moved || !canary)
			}
			p.cfg, p.passive, p.canary = cfg, passive, canary
			if !passive {
				p.discovered, p.letters = nil, nil
			}
			f.pipelines[place] = p
			// The same resources, with the settings of cfg, until the
			// round Reconfigure starts says which the definition invokes
			// now.
			f.o.Recorder.SetRecorded(Owner, f.targetsLocked())
		})
		if err != nil {
			return err
		}
		if !ok {
			f.mu.Lock()
			f.startLocked(p)
			f.mu.Unlock()
		}
	}
	return nil
}

// clearLocked resolves the alerts of p's checks in force that stop:
// WorkflowExecutionsFailing when passive, CanaryFailed when canary.
// f.mu is held.
func (f *Feature) clearLocked(p *pipeline, passive, canary bool) {
	if p.passive && passive {
		f.raise(executionsCleared(p.cfg, p.place))
	}
	if p.canary && canary {
		f.raise(canaryCleared(p.cfg, p.place))
	}
}

// startLocked runs p's runner under Run's context, if Run runs; f.mu is
// held.
func (f *Feature) startLocked(p *pipeline) {
	if f.ctx == nil || f.stopped || p.stop != nil {
		return
	}
	ctx, cancel := context.WithCancel(f.ctx)
	p.stop = cancel
	f.running.Add(1)
	go func() {
		defer f.running.Done()
		if err := p.runner.Run(ctx); err != nil {
			f.o.Logger.Error().Err(err).Str("tenant", p.place.Tenant).Str("account", p.place.Account).Str("region", p.place.Region).
				Msg("workflow checks not scheduled")
		}
	}()
}

// targetsLocked are the discovered resources' targets of every pipeline;
// f.mu is held.
func (f *Feature) targetsLocked() []config.Target {
	var ts []config.Target
	for _, p := range f.pipelines {
		for _, fn := range p.discovered {
			ts = append(ts, discoveredTarget(p.cfg, p.place, probes.ServiceLambda, fn, ""))
		}
		for _, l := range p.letters {
			ts = append(ts, discoveredTarget(p.cfg, p.place, l.Target.Service, l.Target.Resource, l.Target.Owner))
		}
	}
	return ts
}

// Run runs every pipeline's checks until ctx ends.
func (f *Feature) Run(ctx context.Context) {
	f.mu.Lock()
	f.ctx = ctx
	for _, p := range f.pipelines {
		f.startLocked(p)
	}
	f.mu.Unlock()
	<-ctx.Done()
	f.mu.Lock()
	f.stopped = true
	f.mu.Unlock()
	f.running.Wait()
}

// Runner is the runner of the first pipeline (tests run rounds on it
// directly); RunnerAt is any pipeline's.
func (f *Feature) Runner() *Runner {
	f.mu.Lock()
	first := f.order[0]
	f.mu.Unlock()
	return f.RunnerAt(first)
}

// RunnerAt is the runner of the pipeline at place; nil when there is none.
func (f *Feature) RunnerAt(place probes.Place) *Runner {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p, ok := f.pipelines[place]; ok {
		return p.runner
	}
	return nil
}

// passiveDone publishes a round: the results of the discovered functions
// and dead-letter queues, and WorkflowExecutionsFailing. A round that
// could not read the definition leaves the functions discovered before as
// they were; one that could not read a rule's targets or a function's
// configuration (or the definition) leaves the queues that rule (or
// function) named before as they were.
func (f *Feature) passiveDone(rep PassiveReport) {
	f.mu.Lock()
	p, ok := f.pipelines[rep.Place]
	if !ok {
		f.mu.Unlock()
		return
	}
	cfg := p.cfg
	if rep.DefinitionRead {
		p.discovered = p.discovered[:0:0]
		for _, r := range rep.Lambdas {
			p.discovered = append(p.discovered, r.Resource)
		}
	}
	p.letters = keptLetters(p.letters, rep)
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
	p, ok := f.pipelines[rep.Place]
	f.mu.Unlock()
	if ok {
		f.raise(CanarySignal(p.cfg, rep))
	}
}

// leadership: a replica that stops leading runs no more canaries, so it
// withdraws its last verdicts: its CanaryFailed alerts resolve and its
// canary series go, as when a leader stops for good. The new leader
// reports at its next scheduled runs.
func (f *Feature) leadership(st leader.Status) {
	f.mu.Lock()
	was := f.leading
	f.leading = st.Leading
	var ps []*pipeline
	if was && !st.Leading {
		for _, p := range f.pipelines {
			if p.canary {
				ps = append(ps, p)
			}
		}
	}
	f.mu.Unlock()
	for _, p := range ps {
		p.runner.ForgetCanary()
		f.mu.Lock()
		cfg := p.cfg
		f.mu.Unlock()
		f.raise(canaryCleared(cfg, p.place))
	}
}

// raise raises a workflow alert. A placed pipeline's carries its own
// tenant (signal); the config's one pipeline's, the tenant in force: a
// reload may change the tenant, and the engine then moves the alerts in
// force to it (Engine.Reconcile); a signal under another tenant would
// raise a second alert beside the moved one, which nothing would evaluate
// again.
func (f *Feature) raise(s alerting.Signal) {
	if f.o.Alerts == nil {
		return
	}
	if s.Labels["account"] == "" {
		s.Labels["tenant"] = f.o.Alerts.Settings().Tenant
	}
	f.o.Alerts.Set(s, time.Now())
}

// signal is a workflow alert's signal of the pipeline at place; raise
// adds the config's tenant to an unplaced one. Both workflow alerts page
// (docs/alerting.md): investigations are being lost. The severity must be
// one Alertmanager's routing knows (config.Severities); any other falls
// through to the ticket queue.
func signal(name string, place probes.Place, resource string, active bool, summary, description, hint string) alerting.Signal {
	labels := map[string]string{"alertname": name, "service": "workflow", "resource": resource, "severity": "page"}
	alerting.PlaceLabels(labels, place)
	if !place.IsZero() && summary != "" {
		summary += fmt.Sprintf(" (tenant %s, account %s, %s)", place.Tenant, place.Account, place.Region)
	}
	return alerting.Signal{
		Labels:      labels,
		Annotations: map[string]string{"summary": summary, "description": description, "hint": hint},
		Active:      active,
	}
}

// ExecutionsSignal is WorkflowExecutionsFailing of rep's pipeline as of
// rep under cfg.
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
	return signal(AlertExecutionsFailing, rep.Place, cfg.PipelineAt(rep.Place).StateMachine, active,
		"SOC pipeline executions are failing", desc, "Open the newest failed execution in the Step Functions console and the failing stage's CloudWatch logs.")
}

// CanarySignal is CanaryFailed of rep's pipeline as of rep under cfg.
func CanarySignal(cfg *config.Config, rep CanaryReport) alerting.Signal {
	desc := "all eight steps passed"
	if s, failed := rep.FailedStep(); failed {
		desc = fmt.Sprintf("step %d (%s) failed: %s", s.Number, s.Name, s.Reason)
	}
	hint := "Run `socmond e2e` to reproduce; the failed step names the stage."
	if p := rep.Place; !p.IsZero() {
		hint = fmt.Sprintf("Run `socmond e2e --tenant %s --account %s --region %s` to reproduce; the failed step names the stage.", p.Tenant, p.Account, p.Region)
	}
	return signal(AlertCanaryFailed, rep.Place, cfg.PipelineAt(rep.Place).StateMachine, !rep.Passed,
		"The synthetic end-to-end canary failed", desc, hint)
}

func executionsCleared(cfg *config.Config, place probes.Place) alerting.Signal {
	return signal(AlertExecutionsFailing, place, cfg.PipelineAt(place).StateMachine, false, "", "", "")
}

func canaryCleared(cfg *config.Config, place probes.Place) alerting.Signal {
	return signal(AlertCanaryFailed, place, cfg.PipelineAt(place).StateMachine, false, "", "", "")
}

// Panel renders each pipeline's latest passive round and canary run for
// /api/v1/status and the status page; a placed pipeline's items carry its
// place, by which the page and the API filter them.
func (f *Feature) Panel(time.Time) server.Panel {
	f.mu.Lock()
	on := f.passive || f.canary
	var runners []*Runner
	for _, place := range f.order {
		if p, ok := f.pipelines[place]; ok {
			runners = append(runners, p.runner)
		}
	}
	f.mu.Unlock()
	if !on {
		return server.Panel{} // no panel while neither check runs
	}
	p := server.Panel{ID: "workflow", Title: "Workflow and canary"}
	for _, r := range runners {
		passive, canary := r.Latest()
		p.Items = append(p.Items, panelItems(passive, canary)...)
	}
	return p
}

// panelItems are one pipeline's items of the panel.
func panelItems(passive *PassiveReport, canary *CanaryReport) []server.PanelItem {
	var items []server.PanelItem
	if passive != nil {
		for _, c := range passive.Checks {
			items = append(items, server.PanelItem{Name: c.Name, Resource: c.Resource, Place: passive.Place, State: passFail(c.OK), OK: c.OK,
				Reason: c.Reason, Hint: c.Hint, At: passive.At})
		}
		for _, l := range passive.Lambdas {
			items = append(items, server.PanelItem{Name: "discovered_function", Resource: l.Resource, Place: l.Place, State: string(l.Status),
				OK: l.Status == probes.Healthy, Reason: l.Detail, Hint: l.Hint, At: l.Start})
		}
		for _, l := range passive.DeadLetters {
			items = append(items, server.PanelItem{Name: "dead_letter_queue", Resource: l.Resource, Place: l.Place, State: string(l.Status),
				OK: l.Status == probes.Healthy, Reason: l.Detail, Hint: l.Hint, At: l.Start})
		}
	}
	if canary != nil {
		for _, s := range canary.Steps {
			items = append(items, server.PanelItem{Name: "canary_" + s.Name, Resource: canary.InvestigationID, Place: canary.Place, State: s.Status,
				OK: s.Status == Passed, Reason: s.Reason, At: canary.Start,
				Details: map[string]string{"step": fmt.Sprint(s.Number), "duration": s.Duration.Round(time.Millisecond).String()}})
		}
	}
	return items
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
