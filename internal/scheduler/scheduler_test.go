package scheduler

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// newTest returns a scheduler on a fake clock at t0 that is stopped (with
// its runs cancelled) when the test ends.
func newTest(t *testing.T, opts Options) (*Scheduler, *fakeClock) {
	t.Helper()
	clock := newFakeClock(t0)
	opts.Clock = clock
	s := New(opts)
	t.Cleanup(func() {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_ = s.Stop(ctx)
	})
	return s, clock
}

func mustAdd(t *testing.T, s *Scheduler, j Job) {
	t.Helper()
	if err := s.Add(j); err != nil {
		t.Fatal(err)
	}
}

func TestStaggerSpreadsStarts(t *testing.T) {
	tests := map[string]struct {
		spec  string
		cycle time.Duration // how far to advance to see every job once
	}{
		"every 30s":           {"@every 30s", 30 * time.Second},
		"cron every 30s":      {"*/30 * * * * *", 30 * time.Second},
		"cron every minute":   {"0 * * * * *", time.Minute},
		"hourly capped at 1m": {"@hourly", time.Hour},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			const n = 500
			var mu sync.Mutex
			planned := map[string]time.Time{}
			done := make(chan struct{}, n)
			s, clock := newTest(t, Options{
				Stagger: true,
				OnStart: func(key string, p, _ time.Time) {
					mu.Lock()
					planned[key] = p
					mu.Unlock()
				},
			})
			for i := range n {
				mustAdd(t, s, Job{
					Key: fmt.Sprintf("s3/bucket-%03d", i), Group: "s3", Schedule: tc.spec,
					Run: func(context.Context) { done <- struct{}{} },
				})
			}
			s.Start()
			clock.Advance(tc.cycle)
			for range n {
				recv(t, done, "a staggered run")
			}

			mu.Lock()
			defer mu.Unlock()
			seen := map[int64]string{}
			first, last := t0.Add(tc.cycle), t0
			for key, p := range planned {
				ms := p.UnixMilli()
				if other, dup := seen[ms]; dup {
					t.Fatalf("%s and %s both planned for %v", key, other, p)
				}
				seen[ms] = key
				if p.Before(first) {
					first = p
				}
				if p.After(last) {
					last = p
				}
			}
			if len(seen) != n {
				t.Fatalf("%d distinct starts, want %d", len(seen), n)
			}
			// Starts must spread over (nearly) the whole stagger span,
			// not bunch at its beginning.
			span := min(tc.cycle, MaxStagger)
			if spread := last.Sub(first); spread < span*9/10 {
				t.Errorf("starts spread over %v, want at least 90%% of %v", spread, span)
			}
		})
	}
}

func TestStaggerCoalescesOnTicks(t *testing.T) {
	// With a 50 ms tick, a 1 s schedule has 20 ticks. Up to 20 keys get a
	// tick each; beyond that the keys share ticks evenly, and keys sharing
	// a tick are planned for the same instant, so one wake-up starts them.
	const tick = 50 * time.Millisecond
	tests := map[string]struct {
		keys, starts, perStart int
	}{
		"fewer keys than ticks": {keys: 12, starts: 12, perStart: 1},
		"as many as ticks":      {keys: 20, starts: 20, perStart: 1},
		"five per tick":         {keys: 100, starts: 20, perStart: 5},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var mu sync.Mutex
			planned := map[string]time.Time{}
			done := make(chan struct{}, tc.keys)
			s, clock := newTest(t, Options{
				Stagger: true, Tick: tick, MaxConcurrent: tc.keys, MaxPerGroup: tc.keys,
				OnStart: func(key string, p, _ time.Time) {
					mu.Lock()
					planned[key] = p
					mu.Unlock()
				},
			})
			for i := range tc.keys {
				mustAdd(t, s, Job{
					Key: fmt.Sprintf("dynamodb/table-%03d", i), Group: "dynamodb", Schedule: "@every 1s",
					Run: func(context.Context) { done <- struct{}{} },
				})
			}
			s.Start()
			clock.Advance(time.Second)
			for range tc.keys {
				recv(t, done, "a staggered run")
			}

			mu.Lock()
			defer mu.Unlock()
			per := map[time.Time]int{}
			for key, p := range planned {
				if off := time.Duration(p.UnixNano()); off%tick != 0 {
					t.Errorf("%s planned for %v, not on a %v tick", key, p, tick)
				}
				per[p]++
			}
			if len(per) != tc.starts {
				t.Errorf("%d distinct starts, want %d", len(per), tc.starts)
			}
			for p, n := range per {
				if n != tc.perStart {
					t.Errorf("%d keys planned for %v, want %d on every tick", n, p, tc.perStart)
				}
			}
		})
	}
}

func TestStaggerTicksFreedOnRemove(t *testing.T) {
	// A removed key gives its tick back: the next key added takes the
	// emptied tick rather than doubling up on a full one.
	s := New(Options{Stagger: true, Tick: 100 * time.Millisecond, Clock: newFakeClock(t0)})
	for i := range 10 { // 1 s / 100 ms: every tick taken once
		mustAdd(t, s, Job{Key: fmt.Sprintf("k%d", i), Schedule: "@every 1s", Run: func(context.Context) {}})
	}
	freed := s.entries["k3"].off
	if !s.Remove("k3") {
		t.Fatal("k3 not removed")
	}
	mustAdd(t, s, Job{Key: "new", Schedule: "@every 1s", Run: func(context.Context) {}})
	if got := s.entries["new"].off; got != freed {
		t.Errorf("new key took offset %v, want the freed %v", got, freed)
	}
}

func TestStaggerDeterministic(t *testing.T) {
	// The same configuration must give every key the same phase after a
	// restart, so a probe's samples stay evenly spaced.
	offsets := func() map[string]time.Duration {
		s := New(Options{Stagger: true, Clock: newFakeClock(t0)})
		for i := range 200 {
			mustAdd(t, s, Job{Key: fmt.Sprintf("k%d", i), Schedule: "@every 10s", Run: func(context.Context) {}})
		}
		out := map[string]time.Duration{}
		for k, e := range s.entries {
			out[k] = e.off
		}
		return out
	}
	a, b := offsets(), offsets()
	for k, off := range a {
		if b[k] != off {
			t.Errorf("%s: offset %v then %v", k, off, b[k])
		}
	}
}

func TestNoOverlap(t *testing.T) {
	skips := make(chan string, 10)
	started := make(chan struct{}, 10)
	release := make(chan struct{})
	var runs atomic.Int32
	s, clock := newTest(t, Options{OnSkip: func(k string) { skips <- k }})
	mustAdd(t, s, Job{Key: "lambda/fn", Group: "lambda", Schedule: "@every 1s", Run: func(context.Context) {
		runs.Add(1)
		started <- struct{}{}
		<-release
	}})
	s.Start()

	clock.Advance(time.Second)
	recv(t, started, "first run")
	clock.Advance(time.Second) // due again while the first still runs
	if k := recv(t, skips, "skip from the schedule"); k != "lambda/fn" {
		t.Fatalf("OnSkip(%q), want lambda/fn", k)
	}
	if s.RunNow("lambda/fn") {
		t.Fatal("RunNow started a second run while one is in progress")
	}
	if k := recv(t, skips, "skip from RunNow"); k != "lambda/fn" {
		t.Fatalf("OnSkip(%q), want lambda/fn", k)
	}

	close(release)
	// Once the first run is over the key becomes free again; the busy
	// mark is cleared just after Run returns, so retry RunNow until then.
	for !s.RunNow("lambda/fn") {
		<-skips
		time.Sleep(time.Millisecond)
	}
	recv(t, started, "run after the first finished")
	if got := runs.Load(); got != 2 {
		t.Errorf("%d runs, want 2", got)
	}
}

func TestPanicRecovery(t *testing.T) {
	panics := make(chan *PanicError, 10)
	healthy := make(chan struct{}, 10)
	var panicked atomic.Int32
	s, clock := newTest(t, Options{OnPanic: func(key string, v any) {
		if key != "kms/bad" {
			t.Errorf("OnPanic key %q", key)
		}
		pe, _ := v.(*PanicError)
		panics <- pe
	}})
	mustAdd(t, s, Job{Key: "kms/bad", Group: "kms", Schedule: "@every 1s", Run: func(context.Context) {
		panicked.Add(1)
		panic("boom")
	}})
	mustAdd(t, s, Job{Key: "kms/good", Group: "kms", Schedule: "@every 1s", Run: func(context.Context) {
		healthy <- struct{}{}
	}})
	s.Start()

	for round := range 3 {
		clock.Advance(time.Second)
		pe := recv(t, panics, fmt.Sprintf("panic in round %d", round))
		if pe == nil || pe.Value != "boom" || len(pe.Stack) == 0 {
			t.Fatalf("round %d: OnPanic got %+v, want value boom and a stack", round, pe)
		}
		if pe.Error() != "panic: boom" {
			t.Errorf("Error() = %q", pe.Error())
		}
		recv(t, healthy, fmt.Sprintf("healthy job in round %d", round))
	}
	// The panicking job ran every round: its busy mark was released.
	if got := panicked.Load(); got != 3 {
		t.Errorf("panicking job ran %d times, want 3", got)
	}
}

func TestStop(t *testing.T) {
	t.Run("waits for the run in flight", func(t *testing.T) {
		started := make(chan struct{})
		release := make(chan struct{})
		var finished atomic.Bool
		var ctxErr atomic.Value
		s, _ := newTest(t, Options{})
		mustAdd(t, s, Job{Key: "sfn/sm", Schedule: "@every 1m", Run: func(ctx context.Context) {
			close(started)
			<-release
			if err := ctx.Err(); err != nil {
				ctxErr.Store(err)
			}
			finished.Store(true)
		}})
		s.Start()
		s.RunNow("sfn/sm")
		<-started

		errc := make(chan error)
		go func() { errc <- s.Stop(context.Background()) }()
		close(release)
		if err := recv(t, errc, "Stop"); err != nil {
			t.Fatalf("Stop = %v, want nil", err)
		}
		if !finished.Load() {
			t.Error("Stop returned before the run in flight finished")
		}
		if err := ctxErr.Load(); err != nil {
			t.Errorf("the run's context was cancelled during a graceful stop: %v", err)
		}
		if s.RunNow("sfn/sm") {
			t.Error("RunNow started a run after Stop")
		}
	})

	t.Run("expired grace cancels the run", func(t *testing.T) {
		started := make(chan struct{})
		sawCancel := make(chan error, 1)
		s, _ := newTest(t, Options{})
		mustAdd(t, s, Job{Key: "sfn/hang", Schedule: "@every 1m", Run: func(ctx context.Context) {
			close(started)
			<-ctx.Done()
			sawCancel <- context.Cause(ctx)
		}})
		s.Start()
		s.RunNow("sfn/hang")
		<-started

		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := s.Stop(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("Stop = %v, want context.Canceled", err)
		}
		// The cause tells the job the scheduler stopped it, so it does not
		// take the cancellation for a failure of what it was waiting for.
		if err := recv(t, sawCancel, "the run to see its context cancelled"); !errors.Is(err, ErrStopped) {
			t.Errorf("run saw cause %v, want ErrStopped", err)
		}
	})

	t.Run("before start", func(t *testing.T) {
		s, _ := newTest(t, Options{})
		if err := s.Stop(context.Background()); err != nil {
			t.Fatalf("Stop = %v", err)
		}
	})
}

func TestConcurrencyBounds(t *testing.T) {
	t.Run("hanging group does not block another group", func(t *testing.T) {
		started := make(chan string, 10)
		release := make(chan struct{})
		var skips atomic.Int32
		s, _ := newTest(t, Options{
			MaxConcurrent: 3,
			MaxPerGroup:   2,
			OnStart:       func(key string, _, _ time.Time) { started <- key },
			OnSkip:        func(string) { skips.Add(1) },
		})
		defer close(release)
		for i := range 4 {
			mustAdd(t, s, Job{Key: fmt.Sprintf("bedrock/m%d", i), Group: "bedrock", Schedule: "@every 1m",
				Run: func(context.Context) { <-release }})
		}
		okRan := make(chan struct{})
		mustAdd(t, s, Job{Key: "s3/b", Group: "s3", Schedule: "@every 1m", Run: func(context.Context) { close(okRan) }})
		s.Start()
		for i := range 4 {
			if !s.RunNow(fmt.Sprintf("bedrock/m%d", i)) {
				t.Fatalf("RunNow(bedrock/m%d) refused", i)
			}
		}
		recv(t, started, "first bedrock run")
		recv(t, started, "second bedrock run")
		// Two bedrock runs hang and two wait for their group; the
		// waiting ones hold no global slot, so s3 still gets one.
		s.RunNow("s3/b")
		recv(t, okRan, "the s3 run")
		if k := recv(t, started, "s3 start"); k != "s3/b" {
			t.Errorf("started %s, want s3/b (bedrock exceeded its group bound)", k)
		}
		// A run waiting for a slot counts as in progress.
		for _, k := range []string{"bedrock/m2", "bedrock/m3"} {
			if s.RunNow(k) {
				t.Errorf("RunNow(%s) started a key already waiting for a slot", k)
			}
		}
		if n := skips.Load(); n != 2 {
			t.Errorf("%d skips reported, want 2 (one per key waiting for a slot)", n)
		}
	})

	t.Run("global bound", func(t *testing.T) {
		release := make(chan struct{})
		var released atomic.Bool
		aStarted := make(chan struct{})
		bRan := make(chan bool, 1)
		s, _ := newTest(t, Options{MaxConcurrent: 1})
		mustAdd(t, s, Job{Key: "a", Group: "x", Schedule: "@every 1m", Run: func(context.Context) {
			close(aStarted)
			<-release
			released.Store(true)
		}})
		mustAdd(t, s, Job{Key: "b", Group: "y", Schedule: "@every 1m", Run: func(context.Context) {
			bRan <- released.Load()
		}})
		s.Start()
		s.RunNow("a")
		<-aStarted
		s.RunNow("b")
		close(release)
		if afterA := recv(t, bRan, "b"); !afterA {
			t.Error("b ran while a held the only global slot")
		}
	})
}

func TestWaitingRunsAreNotGoroutines(t *testing.T) {
	// The daemon runs every key once at start-up (RunNow for each). Runs
	// beyond the slots must wait as queued values: with 10,000 keys a
	// parked goroutine per waiting run made the start-up memory peak.
	const n, perGroup = 2000, 4
	var inFlight, most atomic.Int32
	started := make(chan string, n)
	finished := make(chan string, n)
	release := make(chan struct{})
	s, _ := newTest(t, Options{MaxConcurrent: 8, MaxPerGroup: perGroup,
		OnStart: func(key string, _, _ time.Time) { started <- key }})
	keys := make([]string, n)
	for i := range n {
		keys[i] = fmt.Sprintf("dynamodb/t%04d", i)
		mustAdd(t, s, Job{Key: keys[i], Group: "dynamodb", Schedule: "@every 1m", Run: func(context.Context) {
			cur := inFlight.Add(1)
			for m := most.Load(); cur > m && !most.CompareAndSwap(m, cur); m = most.Load() {
			}
			<-release
			inFlight.Add(-1)
			finished <- keys[i]
		}})
	}
	s.Start()
	before := runtime.NumGoroutine()
	for _, k := range keys {
		if !s.RunNow(k) {
			t.Fatalf("RunNow(%s) refused", k)
		}
	}
	first := map[string]bool{}
	for range perGroup {
		first[recv(t, started, "a first-round run")] = true
	}
	// The first runs to start are the first ones queued.
	for _, k := range keys[:perGroup] {
		if !first[k] {
			t.Errorf("%s, queued among the first %d, did not start first (started: %v)", k, perGroup, first)
		}
	}
	// One goroutine per running job, none per waiting one; the margin is
	// for goroutines of the test runtime, far below the 2,000 it guards.
	if grew := runtime.NumGoroutine() - before; grew > perGroup+10 {
		t.Errorf("%d goroutines more with %d runs in flight and %d waiting", grew, perGroup, n-perGroup)
	}
	// Waiting runs count as in progress.
	if s.RunNow(keys[n-1]) {
		t.Errorf("RunNow(%s) started a second run of a waiting key", keys[n-1])
	}

	close(release)
	ran := map[string]int{}
	for range n {
		ran[recv(t, finished, "a first-round run to finish")]++
	}
	for _, k := range keys {
		if ran[k] != 1 {
			t.Errorf("%s ran %d times, want 1", k, ran[k])
		}
	}
	if m := most.Load(); m > perGroup {
		t.Errorf("%d runs of one group at once, want at most %d", m, perGroup)
	}
}

func TestStopDropsWaitingRuns(t *testing.T) {
	tests := map[string]struct {
		opts      Options
		partition string
	}{
		"waiting for its group's slot":     {Options{MaxPerGroup: 1}, ""},
		"waiting for its partition's slot": {Options{MaxConcurrent: 4, MaxPerPartition: 1}, "p"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			started := make(chan string, 10)
			release := make(chan struct{})
			tc.opts.OnStart = func(key string, _, _ time.Time) { started <- key }
			s, _ := newTest(t, tc.opts)
			for _, k := range []string{"a", "b"} {
				mustAdd(t, s, Job{Key: k, Group: "g", Partition: tc.partition, Schedule: "@every 1m", Run: func(context.Context) { <-release }})
			}
			s.Start()
			s.RunNow("a")
			s.RunNow("b") // waits for a's slot
			recv(t, started, "a")

			errc := make(chan error, 1)
			go func() { errc <- s.Stop(context.Background()) }()
			for { // Stop has dropped the waiting run once it has marked the scheduler stopped
				s.mu.Lock()
				stopped := s.stopped
				s.mu.Unlock()
				if stopped {
					break
				}
				time.Sleep(time.Millisecond)
			}
			close(release)
			if err := recv(t, errc, "Stop"); err != nil {
				t.Fatalf("Stop = %v", err)
			}
			select {
			case k := <-started:
				t.Errorf("%s started after Stop; a run waiting for a slot must be dropped", k)
			default:
			}
			// Every slot the dropped run held is given back.
			s.mu.Lock()
			defer s.mu.Unlock()
			if g := s.groups[groupKey{tc.partition, "g"}]; g.running != 0 || len(s.busy) != 0 {
				t.Errorf("after Stop: %d group slots held, busy %v; want none", g.running, s.busy)
			}
			if p := s.partitions[tc.partition]; p != nil && p.running != 0 {
				t.Errorf("after Stop: %d partition slots held, want none", p.running)
			}
		})
	}
}

func TestAddUpdateRemove(t *testing.T) {
	noop := func(context.Context) {}
	t.Run("errors", func(t *testing.T) {
		s, _ := newTest(t, Options{})
		mustAdd(t, s, Job{Key: "a", Schedule: "@every 1s", Run: noop})
		tests := map[string]struct {
			op   func() error
			want string
		}{
			"duplicate key":    {func() error { return s.Add(Job{Key: "a", Schedule: "@every 1s", Run: noop}) }, "duplicate"},
			"bad schedule":     {func() error { return s.Add(Job{Key: "b", Schedule: "every tuesday", Run: noop}) }, "schedule"},
			"no key":           {func() error { return s.Add(Job{Schedule: "@every 1s", Run: noop}) }, "key"},
			"no run":           {func() error { return s.Add(Job{Key: "c", Schedule: "@every 1s"}) }, "Run"},
			"update unknown":   {func() error { return s.Update(Job{Key: "zz", Schedule: "@every 1s", Run: noop}) }, "unknown"},
			"update bad sched": {func() error { return s.Update(Job{Key: "a", Schedule: "61 * * * *", Run: noop}) }, "schedule"},
		}
		for name, tc := range tests {
			t.Run(name, func(t *testing.T) {
				err := tc.op()
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("err = %v, want one mentioning %q", err, tc.want)
				}
			})
		}
		if got := s.Keys(); len(got) != 1 || got[0] != "a" {
			t.Errorf("Keys() = %v, want [a]", got)
		}
	})

	t.Run("update keeps or moves the next run", func(t *testing.T) {
		tests := map[string]struct {
			newSpec string
			advance time.Duration // from t0+5s to the expected next run
			want    time.Time
		}{
			"unchanged schedule keeps its time": {"@every 10s", 5 * time.Second, t0.Add(10 * time.Second)},
			"new schedule from now":             {"@every 3s", 3 * time.Second, t0.Add(8 * time.Second)},
		}
		for name, tc := range tests {
			t.Run(name, func(t *testing.T) {
				planned := make(chan time.Time, 10)
				newRan := make(chan struct{}, 10)
				s, clock := newTest(t, Options{OnStart: func(_ string, p, _ time.Time) { planned <- p }})
				mustAdd(t, s, Job{Key: "ddb/t", Schedule: "@every 10s", Run: func(context.Context) { t.Error("old Run called after Update") }})
				s.Start()
				clock.Advance(5 * time.Second)
				if err := s.Update(Job{Key: "ddb/t", Schedule: tc.newSpec, Run: func(context.Context) { newRan <- struct{}{} }}); err != nil {
					t.Fatal(err)
				}
				clock.Advance(tc.advance)
				recv(t, newRan, "updated job")
				if p := recv(t, planned, "planned time"); !p.Equal(tc.want) {
					t.Errorf("planned %v, want %v", p, tc.want)
				}
			})
		}
	})

	t.Run("remove", func(t *testing.T) {
		var removedRuns atomic.Int32
		otherRan := make(chan struct{}, 1)
		s, clock := newTest(t, Options{})
		mustAdd(t, s, Job{Key: "gone", Schedule: "@every 1s", Run: func(context.Context) { removedRuns.Add(1) }})
		mustAdd(t, s, Job{Key: "stays", Schedule: "@every 1s", Run: func(context.Context) { otherRan <- struct{}{} }})
		s.Start()
		if !s.Remove("gone") {
			t.Fatal("Remove(gone) = false")
		}
		if s.Remove("gone") {
			t.Error("second Remove(gone) = true")
		}
		if got := s.Keys(); len(got) != 1 || got[0] != "stays" {
			t.Errorf("Keys() = %v, want [stays]", got)
		}
		clock.Advance(time.Second)
		recv(t, otherRan, "remaining job")
		// Every run of that round was dispatched together; Stop waits
		// for all of them, so a run of the removed job would be counted.
		if err := s.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n := removedRuns.Load(); n != 0 {
			t.Errorf("removed job ran %d times", n)
		}
		// Adding the key again is allowed.
		if err := s.Add(Job{Key: "gone", Schedule: "@every 1s", Run: noop}); err != nil {
			t.Errorf("re-Add after Remove: %v", err)
		}
	})
}

// BenchmarkDispatch measures what the scheduler adds to a run: from RunNow
// through slot acquisition to the job starting and releasing its key.
func BenchmarkDispatch(b *testing.B) {
	s := New(Options{})
	done := make(chan struct{})
	if err := s.Add(Job{Key: "k", Group: "g", Schedule: "@every 1h", Run: func(context.Context) { done <- struct{}{} }}); err != nil {
		b.Fatal(err)
	}
	s.Start()
	defer s.Stop(context.Background())
	for b.Loop() {
		for !s.RunNow("k") { // the previous run is clearing its busy mark
		}
		<-done
	}
}

// BenchmarkRunDue measures one scheduling pass over 500 due jobs.
func BenchmarkRunDue(b *testing.B) {
	clock := newFakeClock(t0)
	s := New(Options{Clock: clock, Stagger: true, MaxConcurrent: 512, MaxPerGroup: 512})
	for i := range 500 {
		if err := s.Add(Job{Key: fmt.Sprintf("k%d", i), Group: "g", Schedule: "@every 30s", Run: func(context.Context) {}}); err != nil {
			b.Fatal(err)
		}
	}
	s.started = true // drive runDue by hand, without the loop
	for b.Loop() {
		b.StopTimer()
		clock.Advance(30 * time.Second)
		s.mu.Lock()
		for _, e := range s.entries {
			e.next = clock.Now()
			s.queue.requeue(e)
		}
		s.mu.Unlock()
		b.StartTimer()
		s.runDue()
		s.inflight.Wait() // every run over and its key released

	}
}
