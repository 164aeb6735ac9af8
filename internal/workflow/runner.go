package workflow

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/socmond/socmond/internal/leader"
	"github.com/socmond/socmond/internal/scheduler"
)

// Runner runs the passive check and (when set) the canary on their
// schedules, keeps the latest reports, feeds the metrics and tells
// subscribers (the alerting engine, the status panel) about every round.
type Runner struct {
	Passive         *Passive // nil: no passive check
	PassiveSchedule string
	PassiveTimeout  time.Duration
	Canary          *Canary // nil: the canary does not run on this replica
	CanarySchedule  string
	Metrics         *Metrics // optional
	// Leader, when set, gates the canary: a scheduled run starts only on a
	// replica that holds a valid lease at that instant (its first step is
	// the write, PutEvents), and it is cancelled, unrecorded, when the term
	// ends. nil: this replica runs every scheduled canary.
	Leader interface {
		Term() (leader.Term, bool)
	}

	mu          sync.Mutex
	lastPassive *PassiveReport
	lastCanary  *CanaryReport
	onPassive   []func(PassiveReport)
	onCanary    []func(CanaryReport)
}

// SubscribePassive adds a hook called after every passive round.
func (r *Runner) SubscribePassive(f func(PassiveReport)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.onPassive = append(r.onPassive, f)
}

// SubscribeCanary adds a hook called after every canary run.
func (r *Runner) SubscribeCanary(f func(CanaryReport)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.onCanary = append(r.onCanary, f)
}

// Latest returns the newest reports; nil when there is none yet.
func (r *Runner) Latest() (*PassiveReport, *CanaryReport) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastPassive, r.lastCanary
}

// RunPassive runs one passive round now and records it, unless socmond
// stopping cut it short (stopping).
func (r *Runner) RunPassive(ctx context.Context) PassiveReport {
	rctx := ctx
	if r.PassiveTimeout > 0 {
		var cancel context.CancelFunc
		rctx, cancel = context.WithTimeout(ctx, r.PassiveTimeout)
		defer cancel()
	}
	rep := r.Passive.Run(rctx)
	if stopping(ctx) {
		return rep
	}
	if r.Metrics != nil {
		r.Metrics.ObservePassive(rep)
	}
	r.mu.Lock()
	r.lastPassive = &rep
	hooks := slices.Clone(r.onPassive)
	r.mu.Unlock()
	for _, h := range hooks {
		h(rep)
	}
	return rep
}

// RunCanary runs the canary once now and records it, unless socmond
// stopping cut it short (stopping).
func (r *Runner) RunCanary(ctx context.Context) CanaryReport {
	if r.Leader != nil {
		term, ok := r.Leader.Term()
		if !ok {
			return CanaryReport{} // another replica leads: the canary is its to run
		}
		var cancel context.CancelFunc
		ctx, cancel = term.Bind(ctx)
		defer cancel()
	}
	rep := r.Canary.Run(ctx, nil)
	if stopping(ctx) || errors.Is(context.Cause(ctx), leader.ErrLost) {
		// Cut short because leadership moved: the failed calls say nothing
		// about the pipeline, and the new leader runs the next one.
		return rep
	}
	if r.Metrics != nil {
		r.Metrics.ObserveCanary(rep)
	}
	r.mu.Lock()
	r.lastCanary = &rep
	hooks := slices.Clone(r.onCanary)
	r.mu.Unlock()
	for _, h := range hooks {
		h(rep)
	}
	return rep
}

// ForgetCanary drops the last canary run, its series and what subscribers
// were told of it: a replica that no longer leads will not run the canary
// again, so its last verdict would otherwise stand for ever (or, on the
// Prometheus path, beside the new leader's). The new leader reports at its
// next scheduled run.
func (r *Runner) ForgetCanary() {
	r.mu.Lock()
	r.lastCanary = nil
	r.mu.Unlock()
	if r.Metrics != nil {
		r.Metrics.ForgetCanary()
	}
}

// Run runs the schedules until ctx ends: the passive check at once and then
// on its schedule, the canary on its schedule only (it writes, so it never
// runs merely because the daemon started). Runs of one kind never overlap.
func (r *Runner) Run(ctx context.Context) error {
	// The same scheduler as every other check: no overlapping runs of one
	// kind, panics recovered, a bounded stop.
	s := scheduler.New(scheduler.Options{MaxConcurrent: 2, MaxPerGroup: 1})
	if r.Passive != nil {
		if err := s.Add(scheduler.Job{Key: passiveJob, Group: passiveJob, Schedule: r.PassiveSchedule,
			Run: func(ctx context.Context) { r.RunPassive(ctx) }}); err != nil {
			return err
		}
	}
	if r.Canary != nil {
		if err := s.Add(scheduler.Job{Key: canaryJob, Group: canaryJob, Schedule: r.CanarySchedule,
			Run: func(ctx context.Context) { r.RunCanary(ctx) }}); err != nil {
			return err
		}
	}
	s.Start()
	if r.Passive != nil {
		s.RunNow(passiveJob)
	}
	<-ctx.Done()
	stop, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = s.Stop(stop)
	return nil
}

// stopping reports whether ctx was cancelled because the scheduler stopped
// at the end of its grace period: the calls of a round cut short then
// failed because socmond stopped, not because the pipeline did, so the
// round is neither a metric nor an alert, nor the health of the functions
// it probed.
func stopping(ctx context.Context) bool {
	return errors.Is(context.Cause(ctx), scheduler.ErrStopped)
}

const (
	passiveJob = "workflow-passive"
	canaryJob  = "workflow-canary"
)
