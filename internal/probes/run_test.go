package probes_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/socmond/socmond/internal/probes"
)

// fakeProbe returns a fixed observation. It advances the fake clock by
// took, so Run's timing is checked without sleeping; with block it waits
// for its context like a call that never answers.
type fakeProbe struct {
	obs   probes.Observation
	clock *fakeClock
	took  time.Duration
	block bool
	panic bool
	hint  string
	calls int
}

func (f *fakeProbe) Target() probes.Target {
	return probes.Target{Service: "fake", Resource: "r1"}
}

func (f *fakeProbe) Check(ctx context.Context) probes.Observation {
	f.calls++
	if f.panic {
		panic("probe bug")
	}
	if f.clock != nil {
		f.clock.now = f.clock.now.Add(f.took)
	}
	if f.block {
		obs := f.obs
		obs.Err = blockUntilDone(ctx)
		return obs
	}
	return f.obs
}

type hintingProbe struct{ fakeProbe }

func (h *hintingProbe) Hint(probes.Place, probes.Class, string, error) string { return h.hint }

type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

func TestRun(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	tests := map[string]struct {
		probe probes.Probe
		took  time.Duration
		want  want
		// backlog is the items Result.Backlog must count; nil for none.
		backlog *int64
	}{
		"healthy, fast": {
			probe: &fakeProbe{obs: probes.Observation{Check: "Op", Status: probes.Healthy, RequestID: "r-ok"}},
			took:  120 * time.Millisecond,
			want:  want{Status: probes.Healthy},
		},
		"empty status means healthy": {
			probe: &fakeProbe{obs: probes.Observation{Check: "Op"}},
			took:  time.Millisecond,
			want:  want{Status: probes.Healthy},
		},
		"slow success is degraded": {
			probe: &fakeProbe{obs: probes.Observation{Check: "Op", Status: probes.Healthy}},
			took:  6010 * time.Millisecond,
			want: want{Status: probes.Degraded, Class: probes.ClassSlow,
				Detail: []string{"response 6.01s over threshold 5s"}, Hint: []string{"slower than the threshold"}},
		},
		"exactly at threshold is not slow": {
			probe: &fakeProbe{obs: probes.Observation{Check: "Op", Status: probes.Healthy}},
			took:  5 * time.Second,
			want:  want{Status: probes.Healthy},
		},
		"slow does not hide a worse state": {
			probe: &fakeProbe{obs: probes.Observation{Check: "Op", Status: probes.Unavailable, Class: probes.ClassInvalidState, Detail: "TableStatus DELETING", Hint: "restore it"}},
			took:  7 * time.Second,
			want:  want{Status: probes.Unavailable, Class: probes.ClassInvalidState, Detail: []string{"DELETING"}, Hint: []string{"restore it"}},
		},
		"state without class gets invalid_state and a hint": {
			probe: &fakeProbe{obs: probes.Observation{Check: "Op", Status: probes.Degraded, Detail: "odd"}},
			took:  time.Millisecond,
			want:  want{Status: probes.Degraded, Class: probes.ClassInvalidState, Hint: []string{"fake/r1"}},
		},
		"a backlog over its allowance is degraded, not an error": {
			probe:   &fakeProbe{obs: probes.Backlog(probes.Observation{Check: "Op"}, 3, true, "3 messages waiting", "redrive them")},
			took:    time.Millisecond,
			want:    want{Status: probes.Degraded, Class: probes.ClassBacklog, Detail: []string{"3 messages waiting"}, Hint: []string{"redrive them"}},
			backlog: items(3),
		},
		"a backlog within its allowance is healthy and still counted": {
			probe:   &fakeProbe{obs: probes.Backlog(probes.Observation{Check: "Op"}, 0, false, "0 messages waiting", "redrive them")},
			took:    time.Millisecond,
			want:    want{Status: probes.Healthy, Detail: []string{"0 messages waiting"}},
			backlog: items(0),
		},
		"error is classified": {
			probe: &fakeProbe{obs: probes.Observation{Check: "Op", Err: apiErr(400, "ThrottlingException")}},
			took:  time.Millisecond,
			want:  want{Status: probes.Degraded, Class: probes.ClassThrottled, Code: "ThrottlingException", Hint: []string{"quota"}, Detail: []string{"test"}},
		},
		"probe's own hint wins": {
			probe: &hintingProbe{fakeProbe{obs: probes.Observation{Check: "Op", Err: apiErr(400, "AccessDeniedException")}, hint: "grant x:Y"}},
			took:  time.Millisecond,
			want:  want{Status: probes.Unavailable, Class: probes.ClassAuth, Code: "AccessDeniedException", Hint: []string{"grant x:Y"}},
		},
		"empty probe hint falls back": {
			probe: &hintingProbe{fakeProbe{obs: probes.Observation{Check: "Op", Err: errors.New("boom")}}},
			took:  time.Millisecond,
			want:  want{Status: probes.Unavailable, Class: probes.ClassOther, Hint: []string{"fake/r1"}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			clock := &fakeClock{now: t0}
			switch p := tc.probe.(type) {
			case *fakeProbe:
				p.clock, p.took = clock, tc.took
			case *hintingProbe:
				p.clock, p.took = clock, tc.took
			}
			r := probes.Run(context.Background(), tc.probe, probes.Options{Timeout: 10 * time.Second, SlowThreshold: 5 * time.Second, Now: clock.Now})
			assertResult(t, r, tc.want)
			if (r.Backlog == nil) != (tc.backlog == nil) || (r.Backlog != nil && *r.Backlog != *tc.backlog) {
				t.Errorf("Backlog = %v, want %v", r.Backlog, tc.backlog)
			}
			if r.IsError() && r.Class == probes.ClassBacklog {
				t.Error("a backlog counts as an error")
			}
			if !r.Start.Equal(t0) {
				t.Errorf("Start = %v, want %v", r.Start, t0)
			}
			if r.Duration != tc.took {
				t.Errorf("Duration = %v, want %v", r.Duration, tc.took)
			}
			if r.Check != "Op" || r.Target != (probes.Target{Service: "fake", Resource: "r1"}) {
				t.Errorf("Check/Target = %q/%v", r.Check, r.Target)
			}
		})
	}
}

func items(n int64) *int64 { return &n }

func TestRunRequestID(t *testing.T) {
	ok := probes.Run(context.Background(), &fakeProbe{obs: probes.Observation{Check: "Op", RequestID: "from-output"}}, probes.Options{})
	if ok.RequestID != "from-output" {
		t.Errorf("success RequestID = %q, want from-output", ok.RequestID)
	}
	failed := probes.Run(context.Background(), &fakeProbe{obs: probes.Observation{Check: "Op", Err: apiErr(500, "InternalFailure")}}, probes.Options{})
	if failed.RequestID != "req-1" {
		t.Errorf("error RequestID = %q, want req-1", failed.RequestID)
	}
}

func TestRunDeadline(t *testing.T) {
	p := &fakeProbe{obs: probes.Observation{Check: "Op"}, block: true}
	const timeout = 50 * time.Millisecond
	r := probes.Run(context.Background(), p, probes.Options{Timeout: timeout, SlowThreshold: 20 * time.Millisecond})
	assertResult(t, r, want{Status: probes.Unavailable, Class: probes.ClassTimeout, Hint: []string{"deadline"}})
	// A lower bound only: the call cannot have ended before its deadline.
	if r.Duration < timeout {
		t.Errorf("Duration = %v, shorter than the %v deadline", r.Duration, timeout)
	}
	if p.calls != 1 {
		t.Errorf("Check called %d times, want exactly 1", p.calls)
	}
}

func TestRunParentCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := probes.Run(ctx, &fakeProbe{obs: probes.Observation{Check: "Op"}, block: true}, probes.Options{Timeout: time.Minute})
	assertResult(t, r, want{Status: probes.Unavailable, Class: probes.ClassTimeout})
}

// Run leaves panics to the scheduler, which recovers and reports them in
// one place.
func TestRunDoesNotRecoverPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Run swallowed the probe's panic")
		}
	}()
	probes.Run(context.Background(), &fakeProbe{panic: true}, probes.Options{Timeout: time.Second})
}

func TestDefaultHintCoversEveryClass(t *testing.T) {
	target := probes.Target{Service: "fake", Resource: "r1"}
	for _, c := range probes.Classes {
		if probes.DefaultHint(target, c) == "" {
			t.Errorf("DefaultHint(%q) is empty", c)
		}
	}
}
