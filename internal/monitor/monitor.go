// Package monitor is the daemon's core loop: it schedules each check, runs
// it, and hands its Result to the health store, the metrics and the status
// change log. It owns no AWS knowledge beyond calling a probe.
package monitor

import (
	"context"
	"errors"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/socmond/socmond/internal/awsclient"
	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/health"
	"github.com/socmond/socmond/internal/metrics"
	"github.com/socmond/socmond/internal/probes"
	"github.com/socmond/socmond/internal/scheduler"
)

// Check is one scheduled probe with its resolved settings.
type Check struct {
	Target config.Target
	Probe  probes.Probe
	// Region is where the probe's client calls. A resource of the same
	// name in another region is another resource, so Apply replaces a
	// check whose region changed rather than updating it.
	Region string
	// Gate, when set, is asked immediately before each run: false skips
	// the run, unrecorded. The billed Bedrock runtime probe is gated on
	// holding the leader lease at that instant, so a replica resumed from
	// a pause does not call before it learns it no longer leads.
	Gate func() bool

	// clients are those the probe calls through (ChecksFromConfig): a
	// check whose clients changed (its account's role, a new top-level
	// region's clients deriving it) gets its new probe, keeping its window.
	clients *awsclient.Clients

	gen uint64 // set by Apply; changes when the check is added or replaced
}

func (c Check) key() string { return c.Probe.Target().String() }

// Listener is told about every result after it has been recorded (the
// alerting engine subscribes here).
type Listener func(r probes.Result, s health.Snapshot, t config.Target)

// RemoveListener is told about every resource whose window and series the
// monitor dropped because nothing checks it any more (Apply, SetRecorded),
// so that whatever it fed stops standing for it (its alerts resolve).
type RemoveListener func(t probes.Target)

// Options configure a Monitor.
type Options struct {
	Logger    zerolog.Logger
	Metrics   *metrics.Metrics
	Scheduler scheduler.Options // OnSkip, OnPanic and OnStart are filled in by the Monitor
}

// Monitor runs checks on their schedules and records what they see.
type Monitor struct {
	log     zerolog.Logger
	metrics *metrics.Metrics
	store   *health.Store
	sched   *scheduler.Scheduler

	// filing is held for reading while a probe's result is filed and for
	// writing by Apply, so that a probe in flight when Apply removes its
	// check cannot file its result afterwards and bring back the health
	// window, series and alerts Apply removed.
	filing sync.RWMutex

	mu      sync.RWMutex
	checks  map[string]Check
	gen     uint64          // the last Check.gen given out
	pending map[string]bool // checks that have not produced a first result
	// recorded are the resources each owner checks itself and files with
	// RecordOwned (the workflow's discovered Lambda functions), by owner
	// and key: they have windows and series like scheduled checks, and
	// the same lifecycle (SetRecorded).
	recorded  map[string]map[string]config.Target
	listeners []Listener
	removed   []RemoveListener
	ready     atomic.Bool
}

// New builds a Monitor; Start begins scheduling.
func New(o Options) *Monitor {
	m := &Monitor{
		log:      o.Logger,
		metrics:  o.Metrics,
		store:    health.NewStore(),
		checks:   map[string]Check{},
		pending:  map[string]bool{},
		recorded: map[string]map[string]config.Target{},
	}
	so := o.Scheduler
	so.OnSkip = m.skipped
	so.OnPanic = m.panicked
	if o.Metrics != nil {
		so.OnStart = func(_ string, planned, actual time.Time) { o.Metrics.SchedulerLag(actual.Sub(planned)) }
	}
	m.sched = scheduler.New(so)
	return m
}

// Subscribe adds a listener for every recorded result.
func (m *Monitor) Subscribe(l Listener) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.listeners = append(m.listeners, l)
}

// SubscribeRemoved adds a listener for resources no longer checked.
func (m *Monitor) SubscribeRemoved(l RemoveListener) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.removed = append(m.removed, l)
}

// Apply makes the scheduled checks equal to checks: new ones are added,
// removed ones are dropped with their health windows and metric series, and
// changed ones are updated. A check whose region changed is replaced: it
// probes another resource, so its window, series and first result start
// anew, as for a removed check and an added one; only its place in the
// schedule is kept. A check whose settings did not change keeps its probe,
// its schedule phase and its window untouched.
func (m *Monitor) Apply(checks []Check) error {
	gone, err := m.apply(checks)
	m.removedNow(gone)
	return err
}

func (m *Monitor) apply(checks []Check) (gone []probes.Target, err error) {
	m.filing.Lock()
	defer m.filing.Unlock()
	m.mu.Lock()
	defer m.mu.Unlock()
	defer func() { m.forgetLocked(gone) }()
	want := make(map[string]Check, len(checks))
	for _, c := range checks {
		want[c.key()] = c
	}
	for k, old := range m.checks {
		if _, ok := want[k]; !ok {
			m.sched.Remove(k)
			delete(m.checks, k)
			delete(m.pending, k)
			if !m.isRecordedLocked(k) {
				gone = append(gone, old.Probe.Target())
			}
		}
	}
	keep := make(map[probes.Target]bool, len(want))
	for k, c := range want {
		old, exists := m.checks[k]
		switch {
		case !exists:
			if err := m.sched.Add(m.job(k, c)); err != nil {
				return gone, err
			}
			m.gen++
			c.gen = m.gen
			m.pending[k] = true
			m.ready.Store(false)
			m.checks[k] = c
		case old.Region != c.Region:
			if err := m.sched.Update(m.job(k, c)); err != nil {
				return gone, err
			}
			if m.metrics != nil {
				m.metrics.Forget(old.Probe.Target())
			}
			m.gen++
			c.gen = m.gen
			m.pending[k] = true
			m.ready.Store(false)
			m.checks[k] = c
			continue // not kept: Retain drops the old region's window
		case old.Target != c.Target || old.clients != c.clients:
			if err := m.sched.Update(m.job(k, c)); err != nil {
				return gone, err
			}
			c.gen = old.gen // the same resource: a run in flight still counts
			m.checks[k] = c
		}
		keep[c.Probe.Target()] = true
	}
	m.retainLocked(keep)
	return gone, nil
}

// SetRecorded makes the resources owner checks itself equal to targets,
// with the lifecycle of scheduled checks (Apply): one that stays keeps
// its window and takes its new settings at its next result, one that
// goes loses its window and series and the RemoveListeners are told, and
// a result filed for a resource not (or no longer) in its owner's set is
// dropped (RecordOwned), so a round in flight cannot bring one back. A
// resource that is also a scheduled check shares its window and is only
// forgotten when neither checks it.
func (m *Monitor) SetRecorded(owner string, targets []config.Target) {
	m.removedNow(m.setRecorded(owner, targets))
}

func (m *Monitor) setRecorded(owner string, targets []config.Target) (gone []probes.Target) {
	m.filing.Lock()
	defer m.filing.Unlock()
	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.recorded[owner]
	next := make(map[string]config.Target, len(targets))
	for _, t := range targets {
		next[recordedKey(t)] = t
	}
	if len(next) == 0 {
		delete(m.recorded, owner)
	} else {
		m.recorded[owner] = next
	}
	for k, t := range old {
		if _, ok := next[k]; ok {
			continue
		}
		if _, scheduled := m.checks[k]; scheduled || m.isRecordedLocked(k) {
			continue
		}
		gone = append(gone, t.ID())
	}
	if len(gone) > 0 {
		keep := make(map[probes.Target]bool, len(m.checks))
		for _, c := range m.checks {
			keep[c.Probe.Target()] = true
		}
		m.retainLocked(keep)
		m.forgetLocked(gone)
	}
	return gone
}

// RecordOwned files r like Record, with the settings SetRecorded gave its
// resource, if it is in owner's set; it reports whether it did.
func (m *Monitor) RecordOwned(owner string, r probes.Result) bool {
	m.filing.RLock()
	defer m.filing.RUnlock()
	m.mu.RLock()
	t, ok := m.recorded[owner][r.Target.String()]
	m.mu.RUnlock()
	if ok {
		m.Record(r, t)
	}
	return ok
}

func recordedKey(t config.Target) string { return t.ID().String() }

// isRecordedLocked reports whether any owner checks the resource of key;
// the caller holds mu.
func (m *Monitor) isRecordedLocked(key string) bool {
	for _, ts := range m.recorded {
		if _, ok := ts[key]; ok {
			return true
		}
	}
	return false
}

// retainLocked keeps the windows of keep and of every owner's recorded
// resources, and drops the rest; the caller holds mu.
func (m *Monitor) retainLocked(keep map[probes.Target]bool) {
	for _, ts := range m.recorded {
		for _, t := range ts {
			keep[t.ID()] = true
		}
	}
	m.store.Retain(keep)
}

// forgetLocked drops the series of resources nothing checks any more; the
// caller holds mu.
func (m *Monitor) forgetLocked(gone []probes.Target) {
	if m.metrics == nil {
		return
	}
	for _, t := range gone {
		m.metrics.Forget(t)
	}
}

// removedNow tells the RemoveListeners, outside the Monitor's locks.
func (m *Monitor) removedNow(gone []probes.Target) {
	if len(gone) == 0 {
		return
	}
	m.mu.RLock()
	ls := m.removed
	m.mu.RUnlock()
	for _, t := range gone {
		for _, l := range ls {
			l(t)
		}
	}
}

// job is the scheduler's job of a check: its service is its concurrency
// group, and a tenant's pipeline's resource is in its region's partition,
// so that a region whose endpoints hang holds at most its share of the
// probe slots and the other regions' probes run on schedule meanwhile
// (resources of a config without tenants are in none).
func (m *Monitor) job(key string, c Check) scheduler.Job {
	return scheduler.Job{
		Key:       key,
		Group:     c.Target.Service,
		Partition: c.Target.Place.Region,
		Schedule:  c.Target.Schedule,
		Run:       func(ctx context.Context) { m.runKey(ctx, key) },
	}
}

// runKey looks the check up at run time, so a settings change that keeps
// the schedule (a new threshold) applies from the next run on.
func (m *Monitor) runKey(ctx context.Context, key string) {
	m.mu.RLock()
	c, ok := m.checks[key]
	m.mu.RUnlock()
	if !ok || (c.Gate != nil && !c.Gate()) {
		return
	}
	r := probes.Run(ctx, c.Probe, probes.Options{Timeout: c.Target.Timeout, SlowThreshold: c.Target.ResponseTimeThreshold})
	if errors.Is(context.Cause(ctx), scheduler.ErrStopped) {
		// socmond is stopping and cut the probe short at the end of the
		// grace period: its timeout is socmond's doing, not AWS's, so it
		// is neither a health sample nor a metric nor an alert signal.
		return
	}
	m.filing.RLock()
	defer m.filing.RUnlock()
	m.mu.RLock()
	now, still := m.checks[key]
	m.mu.RUnlock()
	if !still || now.gen != c.gen {
		return // removed or replaced by a reload while it ran
	}
	m.Record(r, c.Target)
}

// Record files one result: health window, metrics, status-change log,
// readiness and listeners. Exported for checks that are not probes
// (compliance, workflow) and for tests.
func (m *Monitor) Record(r probes.Result, t config.Target) {
	prev, cur, changed := m.store.Record(r, HealthOptions(t))
	if m.metrics != nil {
		m.metrics.Observe(r, cur, metrics.Thresholds{ResponseTime: t.ResponseTimeThreshold,
			ErrorRate: t.ErrorRateThreshold, Availability: t.AvailabilityThreshold})
	}
	if changed {
		m.logChange(prev, r)
	} else {
		withTarget(m.log.Debug(), r.Target).Str("status", string(r.Status)).
			Float64("duration_seconds", r.Duration.Seconds()).Msg("probe")
	}
	m.mu.Lock()
	// The key is built only while checks still await their first result:
	// a placed resource's is too long for the stack, and this runs for
	// every result.
	if len(m.pending) > 0 {
		if key := r.Target.String(); m.pending[key] {
			delete(m.pending, key)
			if len(m.pending) == 0 {
				m.ready.Store(true)
			}
		}
	}
	ls := m.listeners
	m.mu.Unlock()
	for _, l := range ls {
		l(r, cur, t)
	}
}

// HealthOptions are the health window settings of a target: its windows
// and its alert conditions' thresholds, guards and clear_for.
func HealthOptions(t config.Target) health.Options {
	return health.Options{
		ErrorWindow: t.ErrorRateWindow, AvailabilityWindow: t.AvailabilityWindow,
		ErrorRateThreshold: t.ErrorRateThreshold, AvailabilityThreshold: t.AvailabilityThreshold,
		ErrorMinSamples: t.ErrorMinSamples, AvailabilityMinSamples: t.AvailabilityMinSamples,
		ClearFor: [health.NumKinds]time.Duration{
			health.KindSlow: t.SlowClearFor, health.KindError: t.ErrorClearFor, health.KindUnavailable: t.AvailabilityClearFor,
			health.KindBacklog: t.BacklogClearFor,
		},
	}
}

func (m *Monitor) logChange(prev health.Snapshot, r probes.Result) {
	ev := m.log.Info()
	if r.Status != probes.Healthy {
		ev = m.log.Warn()
	}
	ev = withTarget(ev, r.Target).Str("status", string(r.Status)).Str("check", r.Check).Float64("duration_seconds", r.Duration.Seconds())
	if prev.Status != "" {
		ev = ev.Str("previous", string(prev.Status))
	}
	if r.Class != probes.ClassNone {
		ev = ev.Str("class", string(r.Class))
	}
	if r.Code != "" {
		ev = ev.Str("code", r.Code)
	}
	if r.RequestID != "" {
		ev = ev.Str("request_id", r.RequestID)
	}
	if r.Detail != "" {
		ev = ev.Str("detail", r.Detail)
	}
	if r.Hint != "" {
		ev = ev.Str("hint", r.Hint)
	}
	ev.Msg("status changed")
}

// withTarget names a resource in a log line: service and resource, and
// a placed one's tenant, account and region.
func withTarget(ev *zerolog.Event, t probes.Target) *zerolog.Event {
	ev = ev.Str("service", t.Service).Str("resource", t.Resource)
	if p := t.Place; !p.IsZero() {
		ev = ev.Str("tenant", p.Tenant).Str("account", p.Account).Str("region", p.Region)
	}
	return ev
}

func (m *Monitor) target(key string) (probes.Target, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	c, ok := m.checks[key]
	if !ok {
		return probes.Target{}, false
	}
	return c.Probe.Target(), true
}

func (m *Monitor) skipped(key string) {
	t, ok := m.target(key)
	if !ok {
		return
	}
	withTarget(m.log.Debug(), t).Msg("previous run still going; run skipped")
	if m.metrics != nil {
		m.metrics.Skipped(t)
	}
}

func (m *Monitor) panicked(key string, v any) {
	t, _ := m.target(key)
	ev := withTarget(m.log.Error(), t)
	if pe, ok := v.(*scheduler.PanicError); ok {
		ev = ev.Interface("panic", pe.Value).Str("stack", string(pe.Stack))
	} else {
		ev = ev.Interface("panic", v)
	}
	ev.Msg("probe panicked; recovered")
	if m.metrics != nil && t.Service != "" {
		m.metrics.Panicked(t)
	}
}

// Start begins scheduling and runs every check once at once, so the first
// statuses (and readiness) do not wait for the schedules. The runs go
// through the scheduler's slots like scheduled ones; those waiting for a
// slot are queued values, so 10,000 checks do not mean 10,000 goroutines.
func (m *Monitor) Start() {
	m.sched.Start()
	m.mu.RLock()
	keys := make([]string, 0, len(m.checks))
	for k := range m.checks {
		keys = append(keys, k)
	}
	m.mu.RUnlock()
	sort.Strings(keys)
	if len(keys) == 0 {
		m.ready.Store(true)
	}
	for _, k := range keys {
		m.sched.RunNow(k)
	}
}

// Stop stops scheduling and waits for runs in flight until ctx is done.
func (m *Monitor) Stop(ctx context.Context) error { return m.sched.Stop(ctx) }

// RunNow runs one check at once, outside its schedule (skipped if it is
// still running). It reports whether the run was started.
func (m *Monitor) RunNow(key string) bool { return m.sched.RunNow(key) }

// Ready reports whether every check has produced at least one result.
func (m *Monitor) Ready() bool { return m.ready.Load() }

// Snapshots returns every resource's health now.
func (m *Monitor) Snapshots(now time.Time) []health.Snapshot { return m.store.Snapshots(now) }

// Snapshot returns one resource's health.
func (m *Monitor) Snapshot(t probes.Target, now time.Time) (health.Snapshot, bool) {
	return m.store.Snapshot(t, now)
}
