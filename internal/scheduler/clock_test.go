package scheduler

import (
	"sync"
	"testing"
	"time"
)

// fakeClock is a Clock that moves only when a test advances it.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters map[*fakeWaiter]bool
}

type fakeWaiter struct {
	at time.Time
	c  chan time.Time
}

func newFakeClock(now time.Time) *fakeClock {
	return &fakeClock{now: now, waiters: map[*fakeWaiter]bool{}}
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) At(t time.Time) (<-chan time.Time, func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w := &fakeWaiter{at: t, c: make(chan time.Time, 1)}
	if !f.now.Before(t) {
		w.c <- f.now
		return w.c, func() {}
	}
	f.waiters[w] = true
	return w.c, func() {
		f.mu.Lock()
		delete(f.waiters, w)
		f.mu.Unlock()
	}
}

// Advance moves the clock on by d and fires the timers that are due.
func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
	for w := range f.waiters {
		if !f.now.Before(w.at) {
			w.c <- f.now
			delete(f.waiters, w)
		}
	}
}

// recv waits for a value on ch. The bound only turns a bug into a failure
// instead of a hung test; nothing here measures time.
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		var zero T
		return zero
	}
}
