// Package scheduler runs socmond's periodic jobs: cron schedules, starts
// staggered so that hundreds of probes on the same schedule do not fire at
// once, never two runs of the same job at a time, bounded concurrency
// globally, per partition and per group, and panic recovery. It knows
// nothing of AWS or probes: a job is a func(context.Context).
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sort"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// Job is one periodic piece of work.
type Job struct {
	// Key is unique, e.g. "dynamodb/AsiaAgenticSocMetrics-dev".
	Key string
	// Group is the concurrency group, e.g. the service name.
	Group string
	// Partition is the failure domain the job's work goes to, e.g. the
	// region it calls: a partition's runs hold at most MaxPerPartition
	// slots, and each partition has its own slots of every group, so one
	// whose calls hang cannot delay another's runs. Empty is no
	// partition: bounded by MaxConcurrent and its group only.
	Partition string
	// Schedule is a cron spec with an optional seconds field, or a
	// descriptor such as "@every 30s".
	Schedule string
	Run      func(ctx context.Context)
}

// Options tunes a Scheduler. The zero value is usable.
type Options struct {
	// MaxConcurrent bounds the number of running jobs (default 64).
	MaxConcurrent int
	// MaxPerGroup bounds the running jobs of one group (default 16), so one
	// hanging service cannot take every slot from the others.
	MaxPerGroup int
	// MaxPerPartition bounds the running jobs of one partition (default
	// half of MaxConcurrent), so the runs of a partition that hangs leave
	// the other partitions at least the rest of the slots. Jobs without a
	// partition are not counted.
	MaxPerPartition int
	// Stagger gives each job a start offset derived from its key (see
	// Offset). The daemon turns it on; tests of exact firing times leave it off.
	Stagger bool
	// Tick is the grid staggered offsets are laid on (default 1 ms). Keys
	// on one schedule are spread evenly over the ticks of its span, and
	// once there are more keys than ticks, the keys sharing a tick start
	// together, on one wake-up. A wake-up costs the process more CPU than
	// the probe it starts (docs/performance.md), so a coarser tick trades
	// a few milliseconds of spacing for a large share of the CPU.
	Tick time.Duration
	// OnSkip is called when a run is skipped because the previous run of
	// the same key is still going or still waiting for a slot.
	OnSkip func(key string)
	// OnPanic is called after a panic in a job has been recovered; v is a
	// *PanicError carrying the panic value and the stack.
	OnPanic func(key string, v any)
	// OnStart is called when a run gets its slot, with the time it was
	// planned for and the time it actually starts (for lag metrics).
	OnStart func(key string, planned, actual time.Time)
	// Clock defaults to the wall clock.
	Clock Clock
}

// PanicError is what OnPanic receives: the recovered value and the stack
// of the goroutine that panicked.
type PanicError struct {
	Value any
	Stack []byte
}

func (p *PanicError) Error() string { return fmt.Sprintf("panic: %v", p.Value) }

var parser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ValidateSchedule reports whether Add and Update would accept spec, so a
// caller can check every schedule of a change before it makes any.
func ValidateSchedule(spec string) error {
	_, err := parser.Parse(spec)
	return err
}

// entry is a scheduled job.
type entry struct {
	job   Job
	sched cron.Schedule
	off   time.Duration // stagger offset
	phase phaseClaim    // where off is counted (phases.go), to give it back
	next  time.Time     // zero until the scheduler starts
	index int           // position in Scheduler.queue, -1 when not in it
}

// Scheduler runs Jobs on their schedules. Its methods are safe for
// concurrent use.
type Scheduler struct {
	opts  Options
	clock Clock

	mu      sync.Mutex
	entries map[string]*entry
	queue   queue // the entries with a next firing time, earliest first
	// busy holds the keys with a run going or waiting for a slot. It is
	// kept apart from entries so that a key removed and added again while
	// its old run is still going is not run twice at once.
	busy map[string]bool
	// phases places the keys of each schedule spec on its span
	// (phases.go): evenly, sharing a tick only once every tick has a key.
	phases  map[string]*phases
	started bool
	stopped bool

	// Slots (slots.go): runs waiting for their group's slot queue in
	// groups, runs holding one and waiting for their partition's in
	// partitions, runs holding both and waiting for a global slot in ready.
	groups     map[groupKey]*groupSlots
	partitions map[string]*partitionSlots
	ready      fifo[pending]
	running    int // runs holding a global slot

	wake     chan struct{} // the entries changed: recompute the next wake-up
	quit     chan struct{} // closed by Stop: no more scheduling or slot grants
	loopDone chan struct{}
	inflight sync.WaitGroup

	base   context.Context
	cancel context.CancelCauseFunc
}

// ErrStopped is the cause (context.Cause) of a job's context when Stop
// cancelled it at the end of its grace period: the job was cut short by
// the scheduler stopping, not by anything it was waiting for, so what it
// saw then is no finding of its own.
var ErrStopped = errors.New("scheduler stopped")

// New returns a Scheduler that is not started yet.
func New(opts Options) *Scheduler {
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = 64
	}
	if opts.MaxPerGroup <= 0 {
		opts.MaxPerGroup = 16
	}
	if opts.MaxPerPartition <= 0 {
		opts.MaxPerPartition = max(1, opts.MaxConcurrent/2)
	}
	clock := opts.Clock
	if clock == nil {
		clock = wallClock{}
	}
	base, cancel := context.WithCancelCause(context.Background())
	return &Scheduler{
		opts:       opts,
		clock:      clock,
		entries:    map[string]*entry{},
		busy:       map[string]bool{},
		phases:     map[string]*phases{},
		groups:     map[groupKey]*groupSlots{},
		partitions: map[string]*partitionSlots{},
		wake:       make(chan struct{}, 1),
		quit:       make(chan struct{}),
		loopDone:   make(chan struct{}),
		base:       base,
		cancel:     cancel,
	}
}

// Add schedules j. It fails on an empty key, a nil Run, a bad schedule or a
// key already present.
func (s *Scheduler) Add(j Job) error {
	if j.Key == "" {
		return errors.New("scheduler: job without a key")
	}
	if j.Run == nil {
		return fmt.Errorf("scheduler: job %s: no Run function", j.Key)
	}
	sched, err := parser.Parse(j.Schedule)
	if err != nil {
		return fmt.Errorf("scheduler: job %s: schedule %q: %w", j.Key, j.Schedule, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.entries[j.Key]; dup {
		return fmt.Errorf("scheduler: job %s: duplicate key", j.Key)
	}
	e := &entry{job: j, index: -1}
	s.setSchedule(e, sched)
	s.entries[j.Key] = e
	s.poke()
	return nil
}

// Update replaces the job with j.Key. When neither schedule nor group
// changed, the job keeps its next firing time and only its Run is swapped,
// so a config reload leaves unchanged jobs undisturbed. A run in progress is
// never interrupted.
func (s *Scheduler) Update(j Job) error {
	if j.Run == nil {
		return fmt.Errorf("scheduler: job %s: no Run function", j.Key)
	}
	sched, err := parser.Parse(j.Schedule)
	if err != nil {
		return fmt.Errorf("scheduler: job %s: schedule %q: %w", j.Key, j.Schedule, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[j.Key]
	if !ok {
		return fmt.Errorf("scheduler: job %s: unknown key", j.Key)
	}
	if e.job.Schedule == j.Schedule {
		e.job = j
		return nil
	}
	s.releasePhase(e)
	e.job = j
	s.setSchedule(e, sched)
	s.poke()
	return nil
}

// Remove stops scheduling key; a run in progress finishes. It reports
// whether the key was present.
func (s *Scheduler) Remove(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[key]
	if !ok {
		return false
	}
	s.releasePhase(e)
	s.queue.remove(e)
	delete(s.entries, key)
	s.poke()
	return true
}

// Keys returns the scheduled keys, sorted.
func (s *Scheduler) Keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]string, 0, len(s.entries))
	for k := range s.entries {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Start begins scheduling. Calling it again, or after Stop, does nothing.
func (s *Scheduler) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.stopped {
		return
	}
	s.started = true
	now := s.clock.Now()
	for _, e := range s.entries {
		e.next = e.sched.Next(now)
		s.queue.requeue(e)
	}
	go s.loop()
}

// Stop stops scheduling and waits for the runs in flight until ctx is done;
// runs still waiting for a slot are dropped. If ctx ends first, the
// contexts of the runs still going are cancelled with cause ErrStopped and
// ctx.Err() is returned without waiting further: a job that ignores its
// context cannot hold shutdown hostage.
func (s *Scheduler) Stop(ctx context.Context) error {
	s.mu.Lock()
	started := s.started
	if !s.stopped {
		s.stopped = true
		close(s.quit)
		s.dropWaitingLocked()
	}
	s.mu.Unlock()
	if started {
		<-s.loopDone
	}

	done := make(chan struct{})
	go func() {
		s.inflight.Wait()
		close(done)
	}()
	select {
	case <-done:
		s.cancel(ErrStopped)
		return nil
	case <-ctx.Done():
		s.cancel(ErrStopped)
		return ctx.Err()
	}
}

// RunNow starts one run of key at once, outside its schedule (used for the
// first round at start-up). It reports false when the key is unknown, the
// scheduler is stopped, or the run was skipped because one is in progress.
func (s *Scheduler) RunNow(key string) bool {
	s.mu.Lock()
	e, ok := s.entries[key]
	if !ok || s.stopped {
		s.mu.Unlock()
		return false
	}
	started := s.dispatchLocked(e.job, s.clock.Now())
	s.mu.Unlock()
	if !started {
		s.skipped(key)
	}
	return started
}

// setSchedule wraps sched with the job's stagger offset and, once started,
// computes its next firing time. s.mu is held.
func (s *Scheduler) setSchedule(e *entry, sched cron.Schedule) {
	now := s.clock.Now()
	e.off = 0
	if s.opts.Stagger {
		e.off, e.phase = s.claimPhase(e.job.Key, e.job.Schedule, interval(sched, now))
		sched = staggered{inner: sched, off: e.off}
	}
	e.sched = sched
	e.next = time.Time{}
	if s.started {
		e.next = sched.Next(now)
	}
	s.queue.requeue(e)
}

// claimPhase picks key's offset on its spec's span, starting from its
// hash Offset (phases.claim). The result depends on the set of keys and the
// order they were added in, which is deterministic for a given
// configuration. s.mu is held.
func (s *Scheduler) claimPhase(key, spec string, iv time.Duration) (time.Duration, phaseClaim) {
	span := min(iv, MaxStagger)
	if span <= 0 {
		return 0, phaseClaim{}
	}
	p := s.phases[spec]
	if p == nil || p.span != span {
		// A cron spec whose gaps vary can give a different span later; its
		// keys are then counted afresh, which only makes the spread coarser.
		p = newPhases(s.opts.Tick, span)
		s.phases[spec] = p
	}
	return p.claim(Offset(key, iv))
}

func (s *Scheduler) releasePhase(e *entry) {
	e.phase.release()
	e.phase = phaseClaim{}
}

// poke tells the loop that the entries changed.
func (s *Scheduler) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// loop sleeps until the earliest entry is due, starts the due entries and
// reschedules them from now (as robfig/cron does: a scheduler that fell
// behind catches up with one run, not a burst).
func (s *Scheduler) loop() {
	defer close(s.loopDone)
	for {
		s.mu.Lock()
		var earliest time.Time
		if len(s.queue) > 0 {
			earliest = s.queue[0].next
		}
		s.mu.Unlock()

		var timer <-chan time.Time
		release := func() {}
		if !earliest.IsZero() {
			timer, release = s.clock.At(earliest)
		}
		select {
		case <-s.quit:
			release()
			return
		case <-s.wake:
		case <-timer:
			s.runDue()
		}
		release()
	}
}

func (s *Scheduler) runDue() {
	var skips []string
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	now := s.clock.Now()
	for len(s.queue) > 0 && !s.queue[0].next.After(now) {
		e := s.queue[0]
		planned := e.next
		e.next = e.sched.Next(now)
		s.queue.requeue(e)
		if !s.dispatchLocked(e.job, planned) {
			skips = append(skips, e.job.Key)
		}
	}
	s.mu.Unlock()
	sort.Strings(skips)
	for _, k := range skips {
		s.skipped(k)
	}
}

func (s *Scheduler) skipped(key string) {
	if s.opts.OnSkip != nil {
		s.opts.OnSkip(key)
	}
}

// dispatchLocked queues a run of j for its slots (slots.go) unless one is
// in progress or waiting, or the scheduler is stopped. s.mu is held;
// nothing here blocks.
func (s *Scheduler) dispatchLocked(j Job, planned time.Time) bool {
	if s.stopped || s.busy[j.Key] {
		return false
	}
	s.busy[j.Key] = true
	s.admitLocked(pending{job: j, planned: planned})
	return true
}

// run runs a job that holds both its slots, then releases them and its key.
func (s *Scheduler) run(p pending) {
	defer s.inflight.Done()
	// Recovered last, after the key and the slots are released, so that
	// whoever OnPanic tells can schedule the key again at once.
	defer func() {
		if v := recover(); v != nil && s.opts.OnPanic != nil {
			s.opts.OnPanic(p.job.Key, &PanicError{Value: v, Stack: debug.Stack()})
		}
	}()
	defer func() {
		s.mu.Lock()
		s.releaseLocked(p)
		s.mu.Unlock()
	}()
	select {
	case <-s.quit: // granted just before Stop, not started yet: dropped like a waiting run
		return
	default:
	}

	if s.opts.OnStart != nil {
		s.opts.OnStart(p.job.Key, p.planned, s.clock.Now())
	}
	p.job.Run(s.base)
}
