package compliance

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/socmond/socmond/internal/leader"
	"github.com/socmond/socmond/internal/probes"
	"github.com/socmond/socmond/internal/scheduler"
)

// DefaultSchedule is how often the checks run. A violation must page
// within a minute of the change (docs/alerting.md, "Compliance:
// immediate"): with Alertmanager's group_wait that leaves 30 s for the
// check to see it. A round is a handful of read calls, so this is cheap.
const DefaultSchedule = "@every 30s"

// Settings are what a Runner checks and when; a config reload swaps them
// whole with Reconfigure.
type Settings struct {
	// Pipelines are the checks and evidence of each pipeline: the one of
	// a config without tenants, else one per tenant's pipeline (config's
	// Places). None means compliance is disabled: rounds then find
	// nothing, and the findings of earlier rounds go away.
	Pipelines []Pipeline
	Schedule  string // default DefaultSchedule
	// EvidenceSchedule is when the pipelines with Evidence write a report
	// besides when a known verdict of theirs changes (e.g. "@daily").
	EvidenceSchedule string
}

// Pipeline is what one pipeline checks and where its evidence goes.
type Pipeline struct {
	// Checker runs its checks, on its account's clients in its region;
	// its Place is the pipeline's.
	Checker *Checker
	// Evidence, when set, writes a report of this pipeline's findings on
	// EvidenceSchedule and whenever one of its known verdicts changes
	// (the first round counts as a change). An UNKNOWN is no change: a
	// failed read says nothing about the resource, and each report stays
	// in the Object-Lock bucket for years.
	Evidence *Evidence
}

// Validate reports whether a Runner can take s: its schedules must parse
// and every pipeline needs checks (evidence reports them). It changes
// nothing, so a config reload can ask before it applies anything.
func (s Settings) Validate() error {
	if err := scheduler.ValidateSchedule(s.schedule()); err != nil {
		return fmt.Errorf("compliance: schedule %q: %w", s.schedule(), err)
	}
	for _, p := range s.Pipelines {
		if p.Checker == nil {
			return fmt.Errorf("compliance: a pipeline without checks (evidence would have nothing to report)")
		}
	}
	if s.hasEvidence() && s.EvidenceSchedule != "" {
		if err := scheduler.ValidateSchedule(s.EvidenceSchedule); err != nil {
			return fmt.Errorf("compliance: evidence schedule %q: %w", s.EvidenceSchedule, err)
		}
	}
	return nil
}

func (s Settings) schedule() string {
	if s.Schedule == "" {
		return DefaultSchedule
	}
	return s.Schedule
}

// hasEvidence reports whether any pipeline writes evidence.
func (s Settings) hasEvidence() bool {
	for _, p := range s.Pipelines {
		if p.Evidence != nil {
			return true
		}
	}
	return false
}

// evidenceJob reports whether s schedules reports.
func (s Settings) evidenceJob() bool { return s.hasEvidence() && s.EvidenceSchedule != "" }

// sameChecks reports whether s and o run the same checks, pipeline by
// pipeline.
func (s Settings) sameChecks(o Settings) bool {
	return slices.EqualFunc(s.Pipelines, o.Pipelines, func(a, b Pipeline) bool { return a.Checker.Same(b.Checker) })
}

// newEvidence reports whether a pipeline that s and o both have writes
// other evidence in o. A pipeline o adds or drops is a change of checks:
// an added one's first verdicts are a change its report follows, and a
// dropped one writes nothing more, so neither has the others write.
func (s Settings) newEvidence(o Settings) bool {
	for _, b := range o.Pipelines {
		for _, a := range s.Pipelines {
			if a.Checker.Place == b.Checker.Place && !sameEvidence(a.Evidence, b.Evidence) {
				return true
			}
		}
	}
	return false
}

// Run runs every pipeline's checks once, each pipeline on its own
// goroutine: one whose account's role or region does not answer delays
// no other pipeline's calls. The findings come pipeline by pipeline, in
// the order of Pipelines.
func (s Settings) Run(ctx context.Context) []Finding {
	out := make([][]Finding, len(s.Pipelines))
	var wg sync.WaitGroup
	for i, p := range s.Pipelines {
		wg.Go(func() { out[i] = p.Checker.Run(ctx) })
	}
	wg.Wait()
	return slices.Concat(out...)
}

// RunnerOptions configure a Runner.
type RunnerOptions struct {
	Settings
	// Registerer gets the socmond_compliance_* collectors (nil: none).
	Registerer prometheus.Registerer
	Logger     zerolog.Logger
	Version    string // recorded in evidence
	Now        func() time.Time
	// Leader, when set, gates the evidence writes: only a replica that
	// holds a valid lease at the instant of the write writes, under a
	// context that ends with its term (nil: always write, one socmond).
	Leader Leader
}

// Leader is the part of leader.Elector evidence needs.
type Leader interface {
	Term() (leader.Term, bool)
	Status() leader.Status
}

// Runner runs the checks on a schedule and keeps the latest findings.
type Runner struct {
	o       RunnerOptions // Settings only under mu, through settings()
	metrics *metrics
	sched   *scheduler.Scheduler

	runMu  sync.Mutex // one round at a time
	swapMu sync.Mutex // one Reconfigure at a time: it reschedules after the swap

	mu sync.Mutex
	// gen counts Reconfigure swaps of the checks: a round whose checks
	// were swapped while it ran publishes nothing and runs again with the
	// new ones.
	gen    uint64
	latest []Finding
	// known is the last known verdict (never UNKNOWN) of each finding
	// that has had one, by Key: what evidence writes follow.
	known     map[string]Verdict
	last      map[string]Finding // by Key, to tell subscribers what went away
	subs      []func(Finding)
	lastWrite Written
	writeErr  error // of the last round that wrote
	// termPending asks the next round to write a report because this
	// replica became the leader (NewTerm); termWritten is the token of the
	// term the last report was written under.
	termPending bool
	termWritten int64
}

const (
	jobChecks   = "compliance"
	jobEvidence = "compliance-evidence"
)

// NewRunner validates the options and registers the metrics.
func NewRunner(o RunnerOptions) (*Runner, error) {
	if err := o.Settings.Validate(); err != nil {
		return nil, err
	}
	o.Schedule = o.schedule()
	if o.Now == nil {
		o.Now = time.Now
	}
	m, err := newMetrics(o.Registerer)
	if err != nil {
		return nil, fmt.Errorf("compliance: register metrics: %w", err)
	}
	r := &Runner{o: o, metrics: m, sched: scheduler.New(scheduler.Options{MaxConcurrent: 1, MaxPerGroup: 1}), termWritten: -1}
	if err := r.sched.Add(r.checksJob(o.Schedule)); err != nil {
		return nil, fmt.Errorf("compliance: schedule %q: %w", o.Schedule, err)
	}
	if o.evidenceJob() {
		if err := r.sched.Add(r.evidenceJob(o.EvidenceSchedule)); err != nil {
			return nil, fmt.Errorf("compliance: evidence schedule %q: %w", o.EvidenceSchedule, err)
		}
	}
	return r, nil
}

func (r *Runner) checksJob(schedule string) scheduler.Job {
	return scheduler.Job{Key: jobChecks, Group: "compliance", Schedule: schedule,
		Run: func(ctx context.Context) { r.RunOnce(ctx) }}
}

func (r *Runner) evidenceJob(schedule string) scheduler.Job {
	return scheduler.Job{Key: jobEvidence, Group: "compliance", Schedule: schedule,
		Run: func(ctx context.Context) { r.round(ctx, true) }}
}

// settings are the Settings in force.
func (r *Runner) settings() (Settings, uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.o.Settings, r.gen
}

// Enabled reports whether the settings in force have checks to run.
func (r *Runner) Enabled() bool {
	s, _ := r.settings()
	return len(s.Pipelines) > 0
}

// Reconfigure swaps in new settings (a config reload); it fails, changing
// nothing, when s does not Validate. Settings equal to those in force
// change nothing: no round, no reset. New checks (targets, clients,
// timeout) start a round at once rather than at the next tick, so new
// targets get findings at once and the findings, metric series and
// subscribers' state of targets no longer checked go away (record). New
// evidence settings write a report at once. A new schedule alone only
// reschedules.
func (r *Runner) Reconfigure(s Settings) error {
	if err := s.Validate(); err != nil {
		return err
	}
	s.Schedule = s.schedule()
	r.swapMu.Lock()
	defer r.swapMu.Unlock()
	r.mu.Lock()
	old := r.o.Settings
	checksChanged := !old.sameChecks(s)
	evidenceChanged := old.newEvidence(s)
	if !checksChanged && !evidenceChanged && old.Schedule == s.Schedule && old.EvidenceSchedule == s.EvidenceSchedule {
		r.mu.Unlock()
		return nil
	}
	r.o.Settings = s
	if checksChanged {
		r.gen++
	}
	r.mu.Unlock()

	// The schedules parsed in Validate, and the job keys are this
	// runner's own, so these cannot fail.
	if err := r.sched.Update(r.checksJob(s.Schedule)); err != nil {
		return err
	}
	switch {
	case !s.evidenceJob():
		r.sched.Remove(jobEvidence)
	case !old.evidenceJob():
		if err := r.sched.Add(r.evidenceJob(s.EvidenceSchedule)); err != nil {
			return err
		}
	default:
		if err := r.sched.Update(r.evidenceJob(s.EvidenceSchedule)); err != nil {
			return err
		}
	}
	// A RunNow is skipped when a round of its job is in flight: a round
	// sees the new generation and runs again itself.
	switch {
	case s.evidenceJob() && evidenceChanged:
		// New evidence settings: a full round that also writes a
		// report, as the first round at start-up does.
		r.sched.RunNow(jobEvidence)
	case checksChanged:
		r.sched.RunNow(jobChecks)
	}
	return nil
}

func sameEvidence(a, b *Evidence) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// Subscribe calls fn with every finding of every round, after the metrics
// are updated. fn runs on the round's goroutine and must not block.
func (r *Runner) Subscribe(fn func(Finding)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.subs = append(r.subs, fn)
}

// Findings returns the latest round's findings (nil before the first).
func (r *Runner) Findings() []Finding {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Finding(nil), r.latest...)
}

// LastEvidence is the last report written and the last write error.
func (r *Runner) LastEvidence() (Written, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastWrite, r.writeErr
}

// RunOnce runs every check now, records the findings and tells
// subscribers. It writes evidence when a known verdict changed.
func (r *Runner) RunOnce(ctx context.Context) []Finding { return r.round(ctx, false) }

func (r *Runner) round(ctx context.Context, forceEvidence bool) []Finding {
	r.runMu.Lock()
	defer r.runMu.Unlock()
	for {
		s, gen := r.settings()
		findings := s.Run(ctx)
		if errors.Is(context.Cause(ctx), scheduler.ErrStopped) {
			// Cut short because socmond is stopping: its reads failed
			// because socmond stopped, so this round is no verdict at all.
			return nil
		}
		changed, removed, current := r.record(findings, gen)
		if !current {
			if ctx.Err() != nil {
				return nil
			}
			continue // swapped while it ran: these findings may name removed targets
		}
		r.publish(s, findings, removed)
		if s.hasEvidence() && ctx.Err() == nil {
			r.writeReports(ctx, s, findings, changed, forceEvidence || r.newTerm())
		}
		// A swap during publishing had its RunNow skipped (this round
		// was in flight): run again so its targets do not wait a tick.
		if _, g := r.settings(); g == gen || ctx.Err() != nil {
			return findings
		}
	}
}

// writeReports writes the report of each pipeline with evidence whose
// known verdicts changed (all of them when force), side by side: a
// pipeline whose account does not answer holds up no other's report.
func (r *Runner) writeReports(ctx context.Context, s Settings, findings []Finding, changed map[probes.Place]bool, force bool) {
	errs := make([]error, len(s.Pipelines))
	var wg sync.WaitGroup
	writes := 0
	for i, p := range s.Pipelines {
		if p.Evidence == nil || !(changed[p.Checker.Place] || force) {
			continue
		}
		writes++
		wg.Go(func() { errs[i] = r.writeEvidence(ctx, p, placeFindings(findings, p.Checker.Place)) })
	}
	wg.Wait()
	if writes > 0 {
		r.wrote(errors.Join(errs...))
	}
}

// placeFindings are the findings of the pipeline at place: those its own
// evidence reports.
func placeFindings(findings []Finding, place probes.Place) []Finding {
	var out []Finding
	for _, f := range findings {
		if f.Place == place {
			out = append(out, f)
		}
	}
	return out
}

// record stores the round unless the settings changed since generation
// gen (current false). It reports the pipelines (by place) where a known
// verdict changed — an UNKNOWN keeps the last known one, and a pair that
// never had one has none — and the last findings of the (check, resource)
// pairs this round no longer has.
func (r *Runner) record(findings []Finding, gen uint64) (changed map[probes.Place]bool, removed []Finding, current bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if gen != r.gen {
		return nil, nil, false
	}
	known := make(map[string]Verdict, len(findings))
	last := make(map[string]Finding, len(findings))
	for _, f := range findings {
		last[f.Key()] = f
		if f.Verdict != Unknown {
			known[f.Key()] = f.Verdict
		} else if v, ok := r.known[f.Key()]; ok {
			known[f.Key()] = v
		}
	}
	// Pairs added or removed count as changes; before the first round
	// r.known is nil, so a first round with any known verdict writes.
	changed = map[probes.Place]bool{}
	for k, v := range known {
		if was, ok := r.known[k]; !ok || was != v {
			changed[last[k].Place] = true
		}
	}
	for k := range r.known {
		if _, ok := known[k]; !ok {
			changed[r.last[k].Place] = true
		}
	}
	for k, f := range r.last {
		if _, ok := last[k]; !ok {
			removed = append(removed, f)
		}
	}
	// r.latest is set in publish, once the metrics agree with it.
	r.known, r.last = known, last
	return changed, removed, true
}

// publish updates the metrics, logs failures and tells subscribers. A pair
// no longer checked loses its series, and subscribers get a last
// NOT_APPLICABLE finding for it so whatever they raised for it clears.
func (r *Runner) publish(s Settings, findings, removed []Finding) {
	now := r.o.Now()
	gone := make([]Finding, 0, len(removed))
	for _, f := range removed {
		r.metrics.remove(f)
		gone = append(gone, Finding{Check: f.Check, Resource: f.Resource, Place: f.Place, Verdict: NotApplicable, Start: now,
			Reason: "no longer checked: the configuration no longer names it"})
		logPlace(r.o.Logger.Info(), f.Place).Str("check", f.Check).Str("resource", f.Resource).Msg("compliance check removed")
	}
	for _, f := range findings {
		r.metrics.record(f)
		if f.Verdict != Pass {
			logPlace(r.o.Logger.Warn(), f.Place).Str("check", f.Check).Str("resource", f.Resource).Str("verdict", string(f.Verdict)).
				Str("code", f.Code).Str("request_id", f.RequestID).Msg(f.Reason)
		}
	}
	// Findings, the metrics and subscribers then agree in that order: a
	// reader that sees this round's findings sees its series too.
	r.mu.Lock()
	r.latest = findings
	subs := append([](func(Finding)){}, r.subs...)
	r.mu.Unlock()
	for _, f := range append(gone, findings...) {
		for _, fn := range subs {
			fn(f)
		}
	}
}

// NewTerm tells the runner this replica became the leader: it writes a
// report at once, unless it already wrote one under this term. Verdicts
// that changed while another replica led, or while none did, are then on
// record, and the audit bucket holds one report per change and per term
// rather than one per replica.
func (r *Runner) NewTerm() {
	r.mu.Lock()
	r.termPending = true
	r.mu.Unlock()
	r.sched.RunNow(jobChecks)
}

// newTerm reports whether a round must write because of NewTerm.
func (r *Runner) newTerm() bool {
	if r.o.Leader == nil {
		return false
	}
	term, ok := r.o.Leader.Term()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.termPending && ok && term.Token != r.termWritten
}

// writeEvidence writes the report of one pipeline's findings to its own
// audit bucket, with its own clients and key.
func (r *Runner) writeEvidence(ctx context.Context, p Pipeline, findings []Finding) error {
	min := p.Checker.Targets.MinRetention
	if min == (Retention{}) {
		min = DefaultRetention
	}
	now := r.o.Now()
	rep := NewReport(r.o.Version, now, min, findings)
	rep.Place = p.Checker.Place
	if r.o.Leader != nil {
		// Immediately before the write: a replica that does not hold a
		// valid lease now writes nothing, and the write is bound to the
		// term, so it completes while the lease is valid or is cancelled.
		term, ok := r.o.Leader.Term()
		if !ok {
			r.o.Logger.Debug().Msg("compliance evidence not written here: another replica leads")
			return errNotLeading
		}
		var cancel context.CancelFunc
		ctx, cancel = term.Context(ctx)
		defer cancel()
		rep.Writer, rep.LeaseToken = r.o.Leader.Status().Identity, term.Token
	}
	w, err := p.Evidence.Write(ctx, rep, now)
	if err != nil {
		logPlace(r.o.Logger.Error(), rep.Place).Err(err).Msg("compliance evidence was not written")
		return err
	}
	r.mu.Lock()
	r.lastWrite = w
	r.mu.Unlock()
	logPlace(r.o.Logger.Info(), rep.Place).Str("uri", w.URI()).Str("version_id", w.VersionID).Time("retain_until", w.RetainUntil).Msg("compliance evidence written")
	return nil
}

// errNotLeading is a report not written because this replica does not
// lead: no failure, and no report under this replica's term either.
var errNotLeading = errors.New("compliance evidence not written: another replica leads")

// wrote records how a round's writes went: err joins the pipelines'
// failures. Once every report of a round is written under a term, the
// term has its reports (NewTerm).
func (r *Runner) wrote(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if errors.Is(err, errNotLeading) {
		return
	}
	r.writeErr = err
	if err == nil && r.o.Leader != nil {
		if term, ok := r.o.Leader.Term(); ok {
			r.termPending, r.termWritten = false, term.Token
		}
	}
}

// logPlace adds a tenant's pipeline's place to a log line; nothing for
// the zero place, so a config without tenants logs as it always has.
func logPlace(e *zerolog.Event, p probes.Place) *zerolog.Event {
	if p.IsZero() {
		return e
	}
	return e.Str("tenant", p.Tenant).Str("account", p.Account).Str("region", p.Region)
}

// Run runs a first round at once, then the schedule, until ctx ends.
func (r *Runner) Run(ctx context.Context) {
	r.sched.Start()
	r.sched.RunNow(jobChecks)
	<-ctx.Done()
	stop, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = r.sched.Stop(stop)
}
