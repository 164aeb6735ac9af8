package compliance

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/socmond/socmond/internal/scheduler"
)

// DefaultSchedule is how often the checks run: encryption settings change
// rarely, and each run costs a handful of read calls.
const DefaultSchedule = "@every 15m"

// RunnerOptions configure a Runner.
type RunnerOptions struct {
	Checker  *Checker
	Schedule string // default DefaultSchedule
	// Registerer gets the socmond_compliance_* collectors (nil: none).
	Registerer prometheus.Registerer
	Logger     zerolog.Logger
	// Evidence, when set, writes a report on EvidenceSchedule and whenever
	// a verdict changes (the first round counts as a change).
	Evidence         *Evidence
	EvidenceSchedule string // e.g. "@daily"
	Version          string // recorded in evidence
	Now              func() time.Time
}

// Runner runs the checks on a schedule and keeps the latest findings.
type Runner struct {
	o       RunnerOptions
	metrics *metrics
	sched   *scheduler.Scheduler

	runMu sync.Mutex // one round at a time

	mu        sync.Mutex
	latest    []Finding
	verdicts  map[string]Verdict
	subs      []func(Finding)
	lastWrite Written
	writeErr  error
}

// NewRunner validates the options and registers the metrics.
func NewRunner(o RunnerOptions) (*Runner, error) {
	if o.Checker == nil {
		return nil, fmt.Errorf("compliance: no checker")
	}
	if o.Schedule == "" {
		o.Schedule = DefaultSchedule
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	m, err := newMetrics(o.Registerer)
	if err != nil {
		return nil, fmt.Errorf("compliance: register metrics: %w", err)
	}
	r := &Runner{o: o, metrics: m, sched: scheduler.New(scheduler.Options{MaxConcurrent: 1, MaxPerGroup: 1})}
	if err := r.sched.Add(scheduler.Job{Key: "compliance", Group: "compliance", Schedule: o.Schedule,
		Run: func(ctx context.Context) { r.RunOnce(ctx) }}); err != nil {
		return nil, fmt.Errorf("compliance: schedule %q: %w", o.Schedule, err)
	}
	if o.Evidence != nil && o.EvidenceSchedule != "" {
		if err := r.sched.Add(scheduler.Job{Key: "compliance-evidence", Group: "compliance", Schedule: o.EvidenceSchedule,
			Run: func(ctx context.Context) { r.round(ctx, true) }}); err != nil {
			return nil, fmt.Errorf("compliance: evidence schedule %q: %w", o.EvidenceSchedule, err)
		}
	}
	return r, nil
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
// subscribers. It writes evidence when a verdict changed.
func (r *Runner) RunOnce(ctx context.Context) []Finding { return r.round(ctx, false) }

func (r *Runner) round(ctx context.Context, forceEvidence bool) []Finding {
	r.runMu.Lock()
	defer r.runMu.Unlock()
	findings := r.o.Checker.Run(ctx)
	changed := r.record(findings)
	for _, f := range findings {
		r.metrics.record(f)
		if f.Verdict != Pass {
			r.o.Logger.Warn().Str("check", f.Check).Str("resource", f.Resource).Str("verdict", string(f.Verdict)).
				Str("code", f.Code).Str("request_id", f.RequestID).Msg(f.Reason)
		}
	}
	r.mu.Lock()
	subs := append([](func(Finding)){}, r.subs...)
	r.mu.Unlock()
	for _, f := range findings {
		for _, fn := range subs {
			fn(f)
		}
	}
	if r.o.Evidence != nil && (changed || forceEvidence) && ctx.Err() == nil {
		r.writeEvidence(ctx, findings)
	}
	return findings
}

// record stores the round and reports whether any verdict changed.
func (r *Runner) record(findings []Finding) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	changed := r.verdicts == nil || len(r.verdicts) != len(findings)
	next := make(map[string]Verdict, len(findings))
	for _, f := range findings {
		next[f.Key()] = f.Verdict
		if !changed && r.verdicts[f.Key()] != f.Verdict {
			changed = true
		}
	}
	r.latest, r.verdicts = findings, next
	return changed
}

func (r *Runner) writeEvidence(ctx context.Context, findings []Finding) {
	min := r.o.Checker.Targets.MinRetention
	if min == (Retention{}) {
		min = DefaultRetention
	}
	now := r.o.Now()
	w, err := r.o.Evidence.Write(ctx, NewReport(r.o.Version, now, min, findings), now)
	r.mu.Lock()
	r.writeErr = err
	if err == nil {
		r.lastWrite = w
	}
	r.mu.Unlock()
	if err != nil {
		r.o.Logger.Error().Err(err).Msg("compliance evidence was not written")
		return
	}
	r.o.Logger.Info().Str("uri", w.URI()).Str("version_id", w.VersionID).Time("retain_until", w.RetainUntil).Msg("compliance evidence written")
}

// Run runs a first round at once, then the schedule, until ctx ends.
func (r *Runner) Run(ctx context.Context) {
	r.sched.Start()
	r.sched.RunNow("compliance")
	<-ctx.Done()
	stop, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = r.sched.Stop(stop)
}
