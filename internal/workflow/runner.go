package workflow

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/socmond/socmond/internal/leader"
	"github.com/socmond/socmond/internal/probes"
	"github.com/socmond/socmond/internal/scheduler"
)

// Runner runs one pipeline's passive check and (when set) canary on
// their schedules, keeps the latest reports, feeds the metrics and tells
// subscribers (the alerting engine, the status panel) about every round.
type Runner struct {
	Place           probes.Place // the pipeline's: its metrics' labels
	Passive         *Passive     // nil: no passive check
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

	// pub is held while a round is published and while Reconfigure swaps
	// the settings, so no round of the settings before is published after.
	pub         sync.Mutex
	mu          sync.Mutex
	gen         uint64               // Reconfigure's count
	sched       *scheduler.Scheduler // while Run runs
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
// stopping cut it short (stopping). A round that Reconfigure overtook is
// not published (it saw the settings before) and runs again on the new
// ones.
func (r *Runner) RunPassive(ctx context.Context) PassiveReport {
	for {
		r.mu.Lock()
		p, timeout, gen := r.Passive, r.PassiveTimeout, r.gen
		r.mu.Unlock()
		if p == nil {
			return PassiveReport{}
		}
		rep := runPassive(ctx, p, timeout)
		if stopping(ctx) {
			return rep
		}
		if r.publishPassive(rep, gen) || ctx.Err() != nil {
			return rep
		}
	}
}

func runPassive(ctx context.Context, p *Passive, timeout time.Duration) PassiveReport {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	return p.Run(ctx)
}

// publishPassive records rep, run on the settings of gen, and tells the
// subscribers, unless the settings changed since.
func (r *Runner) publishPassive(rep PassiveReport, gen uint64) bool {
	r.pub.Lock()
	defer r.pub.Unlock()
	r.mu.Lock()
	if gen != r.gen {
		r.mu.Unlock()
		return false
	}
	m := r.Metrics
	r.lastPassive = &rep
	hooks := slices.Clone(r.onPassive)
	r.mu.Unlock()
	if m != nil {
		m.ObservePassive(rep)
	}
	for _, h := range hooks {
		h(rep)
	}
	return true
}

// RunCanary runs the canary once now and records it, unless socmond
// stopping cut it short (stopping) or Reconfigure overtook it.
func (r *Runner) RunCanary(ctx context.Context) CanaryReport {
	r.mu.Lock()
	c, lead, gen := r.Canary, r.Leader, r.gen
	r.mu.Unlock()
	if c == nil {
		return CanaryReport{}
	}
	if lead != nil {
		term, ok := lead.Term()
		if !ok {
			return CanaryReport{} // another replica leads: the canary is its to run
		}
		var cancel context.CancelFunc
		ctx, cancel = term.Bind(ctx)
		defer cancel()
	}
	rep := c.Run(ctx, nil)
	if stopping(ctx) || errors.Is(context.Cause(ctx), leader.ErrLost) {
		// Cut short because leadership moved: the failed calls say nothing
		// about the pipeline, and the new leader runs the next one.
		return rep
	}
	r.pub.Lock()
	defer r.pub.Unlock()
	r.mu.Lock()
	if gen != r.gen {
		r.mu.Unlock()
		return rep
	}
	m := r.Metrics
	r.lastCanary = &rep
	hooks := slices.Clone(r.onCanary)
	r.mu.Unlock()
	if m != nil {
		m.ObserveCanary(rep)
	}
	for _, h := range hooks {
		h(rep)
	}
	return rep
}

// Settings are what Reconfigure swaps: the Runner's exported fields but
// the subscribers.
type Settings struct {
	Place           probes.Place
	Passive         *Passive
	PassiveSchedule string
	PassiveTimeout  time.Duration
	Canary          *Canary
	CanarySchedule  string
	Metrics         *Metrics
	Leader          interface {
		Term() (leader.Term, bool)
	}
}

// Reconfigure swaps the settings whole (a config reload). Rounds in flight
// publish nothing; a running Runner schedules the new jobs and runs a
// passive round at once, so what it discovers follows the new config
// without waiting for the schedule. A round of the old settings still
// running runs again on the new ones.
//
// swap, when set, runs while no round can be published: the caller swaps
// there what its subscribers read, so every round they hear of after it
// ran on the new settings.
func (r *Runner) Reconfigure(s Settings, swap func()) error {
	r.pub.Lock()
	defer r.pub.Unlock()
	if swap != nil {
		swap()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Place, r.Passive, r.PassiveSchedule, r.PassiveTimeout = s.Place, s.Passive, s.PassiveSchedule, s.PassiveTimeout
	r.Canary, r.CanarySchedule, r.Metrics, r.Leader = s.Canary, s.CanarySchedule, s.Metrics, s.Leader
	r.gen++
	if r.Passive == nil {
		r.lastPassive = nil
	}
	if r.Canary == nil {
		r.lastCanary = nil
	}
	if r.sched == nil {
		return nil
	}
	if err := r.scheduleLocked(r.sched); err != nil {
		return err
	}
	if r.Passive != nil {
		r.sched.RunNow(passiveJob)
	}
	return nil
}

// scheduleLocked makes s's jobs those of the settings; r.mu is held.
func (r *Runner) scheduleLocked(s *scheduler.Scheduler) error {
	for _, j := range []struct {
		on       bool
		key      string
		schedule string
		run      func(context.Context)
	}{
		{r.Passive != nil, passiveJob, r.PassiveSchedule, func(ctx context.Context) { r.RunPassive(ctx) }},
		{r.Canary != nil, canaryJob, r.CanarySchedule, func(ctx context.Context) { r.RunCanary(ctx) }},
	} {
		if !j.on {
			s.Remove(j.key)
			continue
		}
		job := scheduler.Job{Key: j.key, Group: j.key, Schedule: j.schedule, Run: j.run}
		if slices.Contains(s.Keys(), j.key) {
			if err := s.Update(job); err != nil {
				return err
			}
		} else if err := s.Add(job); err != nil {
			return err
		}
	}
	return nil
}

// ForgetCanary drops the last canary run, its series and what subscribers
// were told of it: a replica that no longer leads will not run the canary
// again, so its last verdict would otherwise stand for ever (or, on the
// Prometheus path, beside the new leader's). The new leader reports at its
// next scheduled run.
func (r *Runner) ForgetCanary() {
	r.mu.Lock()
	r.lastCanary = nil
	m, place := r.Metrics, r.Place
	r.mu.Unlock()
	if m != nil {
		m.ForgetCanary(place)
	}
}

// Run runs the schedules until ctx ends: the passive check at once and then
// on its schedule, the canary on its schedule only (it writes, so it never
// runs merely because the daemon started). Runs of one kind never overlap.
func (r *Runner) Run(ctx context.Context) error {
	// The same scheduler as every other check: no overlapping runs of one
	// kind, panics recovered, a bounded stop.
	s := scheduler.New(scheduler.Options{MaxConcurrent: 2, MaxPerGroup: 1})
	r.mu.Lock()
	err := r.scheduleLocked(s)
	if err == nil {
		r.sched = s
	}
	passive := r.Passive != nil
	r.mu.Unlock()
	if err != nil {
		return err
	}
	s.Start()
	if passive {
		s.RunNow(passiveJob)
	}
	<-ctx.Done()
	r.mu.Lock()
	r.sched = nil
	r.mu.Unlock()
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
