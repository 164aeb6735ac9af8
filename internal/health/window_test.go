package health

import (
	"testing"
	"time"
	"unsafe"

	"github.com/socmond/socmond/internal/probes"
)

// t0 lies on a minute boundary since the epoch, hence on a bucket boundary
// of both default windows (5s and 1m buckets): windows ending there are exact.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

var tgt = probes.Target{Service: probes.ServiceDynamoDB, Resource: "AsiaAgenticSocMetrics-dev"}

func res(at time.Time, st probes.Status, class probes.Class) probes.Result {
	return probes.Result{Target: tgt, Check: "DescribeTable", Start: at, Duration: 40 * time.Millisecond, Status: st, Class: class}
}

func ok(at time.Time) probes.Result { return res(at, probes.Healthy, probes.ClassNone) }

// every returns n results spaced by step, the last one at end, made by mk.
func every(n int, step time.Duration, end time.Time, mk func(i int, at time.Time) probes.Result) []probes.Result {
	out := make([]probes.Result, n)
	for i := range n {
		out[i] = mk(i, end.Add(-time.Duration(n-1-i)*step))
	}
	return out
}

func TestWindowSnapshot(t *testing.T) {
	tests := map[string]struct {
		results  []probes.Result
		now      time.Time
		status   probes.Status
		since    time.Time
		errRatio float64
		errN     int
		avail    float64
		availN   int
	}{
		"empty window": {
			now: t0, avail: 1,
		},
		"all throttled: every one an error, none unavailable": {
			results: every(10, time.Second, t0, func(_ int, at time.Time) probes.Result {
				return res(at, probes.Degraded, probes.ClassThrottled)
			}),
			now: t0, status: probes.Degraded, since: t0.Add(-9 * time.Second),
			errRatio: 1, errN: 10, avail: 1, availN: 10,
		},
		"99 of 100 available": {
			// every 30s for 50 minutes; one outage 40 minutes ago
			results: every(100, 30*time.Second, t0, func(i int, at time.Time) probes.Result {
				if i == 20 {
					return res(at, probes.Unavailable, probes.ClassServer)
				}
				return ok(at)
			}),
			// the error window (t0-5m, t0] holds t0-270s … t0: 10 results
			now: t0, status: probes.Healthy, since: t0.Add(-78 * 30 * time.Second),
			errRatio: 0, errN: 10, avail: 0.99, availN: 100,
		},
		"one error in four": {
			results: []probes.Result{ok(t0.Add(-3 * time.Minute)), res(t0.Add(-2*time.Minute), probes.Unavailable, probes.ClassTimeout), ok(t0.Add(-time.Minute)), ok(t0)},
			now:     t0, status: probes.Healthy, since: t0.Add(-time.Minute),
			errRatio: 0.25, errN: 4, avail: 0.75, availN: 4,
		},
		"slow is degraded, not an error": {
			results: []probes.Result{res(t0, probes.Degraded, probes.ClassSlow)},
			now:     t0, status: probes.Degraded, since: t0,
			errRatio: 0, errN: 1, avail: 1, availN: 1,
		},
		"half-open: a sample exactly one window old is out": {
			results: []probes.Result{res(t0.Add(-5*time.Minute), probes.Unavailable, probes.ClassServer), ok(t0)},
			now:     t0, status: probes.Healthy, since: t0,
			errRatio: 0, errN: 1, avail: 0.5, availN: 2,
		},
		"half-open: a sample just inside the window is in": {
			results: []probes.Result{res(t0.Add(-5*time.Minute+time.Nanosecond), probes.Unavailable, probes.ClassServer), ok(t0)},
			now:     t0, status: probes.Healthy, since: t0,
			errRatio: 0.5, errN: 2, avail: 0.5, availN: 2,
		},
		"roll-off: errors gone from the error window, still in availability": {
			results: every(10, time.Second, t0, func(_ int, at time.Time) probes.Result {
				return res(at, probes.Unavailable, probes.ClassAuth)
			}),
			now: t0.Add(5*time.Minute + 10*time.Second), status: probes.Unavailable, since: t0.Add(-9 * time.Second),
			errRatio: 0, errN: 0, avail: 0, availN: 10,
		},
		"roll-off: everything gone, status stays the last seen": {
			results: every(10, time.Second, t0, func(_ int, at time.Time) probes.Result {
				return res(at, probes.Unavailable, probes.ClassAuth)
			}),
			now: t0.Add(time.Hour + 10*time.Second), status: probes.Unavailable, since: t0.Add(-9 * time.Second),
			errRatio: 0, errN: 0, avail: 1, availN: 0,
		},
		"unaligned now: the old edge rounds up to a bucket boundary": {
			// The exact window (now-5m, now] = (t0-4m57s, t0+3s] holds
			// the t0-4m56s sample, but the bucketed window starts at the
			// next 5s boundary, t0-4m55s: the sample leaves early.
			results: []probes.Result{res(t0.Add(-4*time.Minute-56*time.Second), probes.Degraded, probes.ClassThrottled), ok(t0)},
			now:     t0.Add(3 * time.Second), status: probes.Healthy, since: t0,
			errRatio: 0, errN: 1, avail: 1, availN: 2,
		},
		"since: start of the current run of equal statuses": {
			results: []probes.Result{
				ok(t0.Add(-4 * time.Minute)),
				res(t0.Add(-3*time.Minute), probes.Unavailable, probes.ClassNetwork),
				res(t0.Add(-2*time.Minute), probes.Unavailable, probes.ClassNetwork),
				ok(t0.Add(-time.Minute)),
				ok(t0),
			},
			now: t0, status: probes.Healthy, since: t0.Add(-time.Minute),
			errRatio: 0.4, errN: 5, avail: 0.6, availN: 5,
		},
		"since: degraded to unavailable is a change": {
			results: []probes.Result{
				res(t0.Add(-2*time.Minute), probes.Degraded, probes.ClassSlow),
				res(t0.Add(-time.Minute), probes.Unavailable, probes.ClassTimeout),
				res(t0, probes.Unavailable, probes.ClassTimeout),
			},
			now: t0, status: probes.Unavailable, since: t0.Add(-time.Minute),
			errRatio: 2.0 / 3, errN: 3, avail: 1.0 / 3, availN: 3,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := NewWindow(tgt, Options{})
			for _, r := range tc.results {
				w.Add(r)
			}
			s := w.Snapshot(tc.now)
			if s.Target != tgt {
				t.Errorf("Target = %v", s.Target)
			}
			if s.Status != tc.status || !s.Since.Equal(tc.since) {
				t.Errorf("status %q since %v, want %q since %v", s.Status, s.Since, tc.status, tc.since)
			}
			if s.ErrorRatio != tc.errRatio || s.ErrorSamples != tc.errN {
				t.Errorf("error ratio %v of %d, want %v of %d", s.ErrorRatio, s.ErrorSamples, tc.errRatio, tc.errN)
			}
			if s.Availability != tc.avail || s.AvailabilitySamples != tc.availN {
				t.Errorf("availability %v of %d, want %v of %d", s.Availability, s.AvailabilitySamples, tc.avail, tc.availN)
			}
		})
	}
}

func TestWindowLastFailureAndHistory(t *testing.T) {
	w := NewWindow(tgt, Options{})
	if s := w.Snapshot(t0); s.LastFailure != nil || len(s.History) != 0 || s.P95 != 0 {
		t.Fatalf("empty window: LastFailure %v, %d history points, P95 %v", s.LastFailure, len(s.History), s.P95)
	}
	const n = HistoryLen + 10
	for i := range n {
		r := ok(t0.Add(time.Duration(i) * time.Second))
		if i == 5 {
			r = res(r.Start, probes.Unavailable, probes.ClassTimeout)
			r.Code = "RequestTimeout"
		}
		w.Add(r)
	}
	s := w.Snapshot(t0.Add(n * time.Second))
	if s.LastFailure == nil || s.LastFailure.Code != "RequestTimeout" || !s.LastFailure.Start.Equal(t0.Add(5*time.Second)) {
		t.Errorf("LastFailure = %+v, want the timeout at t0+5s", s.LastFailure)
	}
	if !s.Last.Start.Equal(t0.Add((n - 1) * time.Second)) {
		t.Errorf("Last.Start = %v", s.Last.Start)
	}
	if len(s.History) != HistoryLen {
		t.Fatalf("%d history points, want %d", len(s.History), HistoryLen)
	}
	for i, p := range s.History {
		if want := t0.Add(time.Duration(n-HistoryLen+i) * time.Second); !p.Start.Equal(want) {
			t.Fatalf("History[%d].Start = %v, want %v (oldest first)", i, p.Start, want)
		}
	}
	// The snapshot is a copy: changing it does not change the window.
	s.LastFailure.Code = "changed"
	s.History[0].Status = probes.Unavailable
	again := w.Snapshot(t0.Add(n * time.Second))
	if again.LastFailure.Code != "RequestTimeout" || again.History[0].Status != probes.Healthy {
		t.Error("a snapshot shares memory with its window")
	}
}

func TestWindowP95(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	seq := func(from, to int) []time.Duration {
		var out []time.Duration
		for v := from; v <= to; v++ {
			out = append(out, time.Duration(v)*time.Millisecond)
		}
		return out
	}
	tests := map[string]struct {
		durs []time.Duration
		want time.Duration
	}{
		"one sample":           {ms(70), 70 * time.Millisecond},
		"1..100 ms":            {seq(1, 100), 95 * time.Millisecond},
		"20 samples, one slow": {append(ms(5000), seq(1, 19)...), 19 * time.Millisecond},
		"20 samples, two slow": {append(ms(5000, 6000), seq(1, 18)...), 5000 * time.Millisecond},
		// The first 20 (huge) durations have left the ring of 100.
		"only the last 100 count": {append(seq(10001, 10020), seq(1, 100)...), 95 * time.Millisecond},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := NewWindow(tgt, Options{})
			for i, d := range tc.durs {
				r := ok(t0.Add(time.Duration(i) * time.Second))
				r.Duration = d
				w.Add(r)
			}
			if got := w.Snapshot(t0.Add(time.Hour)).P95; got != tc.want {
				t.Errorf("P95 = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestWindowMemoryBound feeds a window on very different schedules: the
// counts must come out exact, and adding must not allocate, so nothing
// grows with the number of samples.
func TestWindowMemoryBound(t *testing.T) {
	tests := map[string]struct {
		step   time.Duration
		n      int
		errN   int
		availN int
	}{
		"one per second for two hours": {step: time.Second, n: 7200, errN: 300, availN: 3600},
		"one per hour for thirty days": {step: time.Hour, n: 720, errN: 1, availN: 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := NewWindow(tgt, Options{})
			for _, r := range every(tc.n, tc.step, t0, func(_ int, at time.Time) probes.Result { return ok(at) }) {
				w.Add(r)
			}
			s := w.Snapshot(t0)
			if s.ErrorSamples != tc.errN || s.AvailabilitySamples != tc.availN {
				t.Errorf("samples %d/%d, want %d/%d", s.ErrorSamples, s.AvailabilitySamples, tc.errN, tc.availN)
			}
			next := t0
			allocs := testing.AllocsPerRun(1000, func() {
				next = next.Add(tc.step)
				w.Add(res(next, probes.Degraded, probes.ClassThrottled))
			})
			if allocs != 0 {
				t.Errorf("Add allocates %v times per call; memory would grow with the schedule", allocs)
			}
		})
	}
}

func TestWindowSetOptions(t *testing.T) {
	// One result a minute for the last 10 minutes, all errors.
	results := every(10, time.Minute, t0, func(_ int, at time.Time) probes.Result {
		return res(at, probes.Unavailable, probes.ClassServer)
	})
	tests := map[string]struct {
		opts   Options
		errN   int
		availN int
	}{
		"defaults":                              {Options{}, 5, 10},
		"longer error window":                   {Options{ErrorWindow: 10 * time.Minute}, 10, 10},
		"shorter availability window":           {Options{AvailabilityWindow: 2 * time.Minute}, 5, 2},
		"error window longer than availability": {Options{ErrorWindow: 20 * time.Minute, AvailabilityWindow: 2 * time.Minute}, 10, 2},
		"odd lengths":                           {Options{ErrorWindow: 150 * time.Second, AvailabilityWindow: 7 * time.Minute}, 3, 7},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := NewWindow(tgt, Options{})
			for _, r := range results {
				w.Add(r)
			}
			w.SetOptions(tc.opts)
			s := w.Snapshot(t0)
			if s.ErrorSamples != tc.errN || s.AvailabilitySamples != tc.availN {
				t.Errorf("samples %d/%d, want %d/%d", s.ErrorSamples, s.AvailabilitySamples, tc.errN, tc.availN)
			}
			if s.Status != probes.Unavailable || !s.Since.Equal(t0.Add(-9*time.Minute)) {
				t.Errorf("status %q since %v lost on reload", s.Status, s.Since)
			}
		})
	}
}

func BenchmarkWindowAdd(b *testing.B) {
	w := NewWindow(tgt, Options{})
	at := t0
	for i := 0; b.Loop(); i++ {
		at = at.Add(time.Second)
		r := ok(at)
		if i%7 == 0 {
			r = res(at, probes.Degraded, probes.ClassThrottled)
		}
		w.Add(r)
	}
}

func BenchmarkWindowSnapshot(b *testing.B) {
	w := NewWindow(tgt, Options{})
	for i := range 3600 {
		w.Add(ok(t0.Add(time.Duration(i) * time.Second)))
	}
	now := t0.Add(time.Hour)
	for b.Loop() {
		_ = w.Snapshot(now)
	}
}

// The compact history columns must give back every point as it was added:
// its time, status and exact duration, oldest first, across wrap-around.
func TestWindowHistoryPoints(t *testing.T) {
	w := NewWindow(tgt, Options{})
	const n = p95Len + 7 // wraps both the history and the duration ring
	var want []Point
	for i := range n {
		st := probes.Statuses[i%len(probes.Statuses)]
		r := res(t0.Add(time.Duration(i)*time.Second), st, probes.ClassNone)
		if st != probes.Healthy {
			r.Class = probes.ClassOther
		}
		r.Duration = time.Duration(i)*time.Millisecond + 123*time.Nanosecond
		w.Add(r)
		want = append(want, Point{Start: r.Start, Status: st, Duration: r.Duration})
	}
	got := w.Snapshot(t0.Add(n * time.Second)).History
	want = want[n-HistoryLen:]
	if len(got) != len(want) {
		t.Fatalf("%d history points, want %d", len(got), len(want))
	}
	for i := range want {
		if !got[i].Start.Equal(want[i].Start) || got[i].Status != want[i].Status || got[i].Duration != want[i].Duration {
			t.Fatalf("History[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
}

// A Window's size is what every resource costs; at 10,000 resources each
// KB is 10 MB of live heap, so a layout change that grows it should be a
// decision, not an accident.
func TestWindowSize(t *testing.T) {
	// 3400 before the alert conditions; their settings and three times per
	// condition cost about 130 bytes (1.3 MB at 10,000 resources). The
	// backlog condition and Result.Backlog add about 60, a target's place
	// (tenant, account, region: three strings in each of the three
	// targets a Window holds) 144: 3632, 36 MB at 10,000 resources.
	if size := unsafe.Sizeof(Window{}); size > 3640 {
		t.Errorf("Window is %d bytes, budget 3640", size)
	}
}

// A result that arrives late still counts in the windows that cover its
// time, and in no other.
func TestWindowLateResult(t *testing.T) {
	w := NewWindow(tgt, Options{}) // 5m error window, 1h availability window
	now := t0.Add(10 * time.Minute)
	w.Add(ok(now))
	w.Add(res(t0.Add(4*time.Minute), probes.Unavailable, probes.ClassTimeout)) // 6m old
	s := w.Snapshot(now)
	if s.ErrorSamples != 1 || s.ErrorRatio != 0 {
		t.Errorf("error window: %d samples, ratio %v; want 1, 0 (the late result is older than 5m)", s.ErrorSamples, s.ErrorRatio)
	}
	if s.AvailabilitySamples != 2 || s.Availability != 0.5 {
		t.Errorf("availability window: %d samples, %v; want 2, 0.5", s.AvailabilitySamples, s.Availability)
	}
	w.Add(res(t0.Add(9*time.Minute), probes.Unavailable, probes.ClassTimeout)) // 1m old
	if s := w.Snapshot(now); s.ErrorSamples != 2 || s.ErrorRatio != 0.5 {
		t.Errorf("error window after a 1m-late failure: %d samples, ratio %v; want 2, 0.5", s.ErrorSamples, s.ErrorRatio)
	}
}
