package monitor

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/health"
	"github.com/socmond/socmond/internal/metrics"
	"github.com/socmond/socmond/internal/probes"
	"github.com/socmond/socmond/internal/scheduler"
	"github.com/socmond/socmond/internal/testenv"
)

// fakeProbe returns whatever status it is set to.
type fakeProbe struct {
	target probes.Target
	status atomic.Value // probes.Status
	calls  atomic.Int32
}

func newFake(service, resource string, st probes.Status) *fakeProbe {
	p := &fakeProbe{target: probes.Target{Service: service, Resource: resource}}
	p.status.Store(st)
	return p
}

func (p *fakeProbe) Target() probes.Target { return p.target }
func (p *fakeProbe) Check(ctx context.Context) probes.Observation {
	p.calls.Add(1)
	st := p.status.Load().(probes.Status)
	o := probes.Observation{Check: "Fake", Status: st}
	if st != probes.Healthy {
		o.Status, o.Class, o.Detail, o.Hint = st, probes.ClassInvalidState, "state Failed", "fix it"
	}
	return o
}

func target(service, resource string) config.Target {
	return config.Target{Service: service, Resource: resource, Schedule: "@every 1h", Timeout: time.Second,
		ResponseTimeThreshold: time.Second, ErrorRateThreshold: 0.05, AvailabilityThreshold: 0.99,
		ErrorRateWindow: 5 * time.Minute, AvailabilityWindow: time.Hour}
}

func newMonitor(t *testing.T, logs *testenv.Buffer) (*Monitor, *metrics.Metrics) {
	t.Helper()
	m := metrics.New("test", "abc")
	mon := New(Options{Logger: zerolog.New(logs), Metrics: m, Scheduler: scheduler.Options{}})
	t.Cleanup(func() { _ = mon.Stop(context.Background()) })
	return mon, m
}

func TestStartRunsFirstRoundAndBecomesReady(t *testing.T) {
	var logs testenv.Buffer
	mon, m := newMonitor(t, &logs)
	a := newFake("dynamodb", "t1", probes.Healthy)
	b := newFake("lambda", "f1", probes.Unavailable)
	if err := mon.Apply([]Check{{Target: target("dynamodb", "t1"), Probe: a}, {Target: target("lambda", "f1"), Probe: b}}); err != nil {
		t.Fatal(err)
	}
	if mon.Ready() {
		t.Fatal("ready before any probe ran")
	}
	mon.Start()
	testenv.Eventually(t, "readiness", mon.Ready)
	snaps := mon.Snapshots(time.Now())
	if len(snaps) != 2 {
		t.Fatalf("snapshots = %d, want 2", len(snaps))
	}
	if got := testenv.MetricValue(t, testenv.Scrape(m.Handler(zerolog.Nop())), "socmond_probes_total", testenv.Labels("service", "lambda", "resource", "f1", "status", "unavailable")); got != 1 {
		t.Fatalf("unavailable count = %v", got)
	}
	out := logs.String()
	if !strings.Contains(out, `"message":"status changed"`) || !strings.Contains(out, `"hint":"fix it"`) || !strings.Contains(out, `"resource":"f1"`) {
		t.Fatalf("status change not logged with hint:\n%s", out)
	}
}

func TestStatusChangeLoggedOncePerChange(t *testing.T) {
	var logs testenv.Buffer
	mon, _ := newMonitor(t, &logs)
	tg := target("kms", "alias/k")
	p := newFake("kms", "alias/k", probes.Healthy)
	now := time.Now()
	rec := func(st probes.Status) {
		now = now.Add(time.Second)
		mon.Record(probes.Result{Target: p.target, Status: st, Start: now}, tg)
	}
	for _, st := range []probes.Status{probes.Healthy, probes.Healthy, probes.Degraded, probes.Degraded, probes.Healthy} {
		rec(st)
	}
	if n := strings.Count(logs.String(), "status changed"); n != 3 {
		t.Fatalf("status change lines = %d, want 3 (first, to degraded, back):\n%s", n, logs.String())
	}
}

func TestApplyAddsRemovesAndKeepsUnchanged(t *testing.T) {
	var logs testenv.Buffer
	mon, m := newMonitor(t, &logs)
	a := newFake("dynamodb", "t1", probes.Healthy)
	b := newFake("s3", "b1", probes.Healthy)
	if err := mon.Apply([]Check{{Target: target("dynamodb", "t1"), Probe: a}, {Target: target("s3", "b1"), Probe: b}}); err != nil {
		t.Fatal(err)
	}
	mon.Start()
	testenv.Eventually(t, "first round", mon.Ready)

	// Same t1 settings with a new probe object: the old one must be kept.
	a2 := newFake("dynamodb", "t1", probes.Healthy)
	c := newFake("kms", "k1", probes.Healthy)
	if err := mon.Apply([]Check{{Target: target("dynamodb", "t1"), Probe: a2}, {Target: target("kms", "k1"), Probe: c}}); err != nil {
		t.Fatal(err)
	}
	if got := mon.checks["dynamodb/t1"].Probe; got != a {
		t.Fatal("an unchanged check was replaced")
	}
	if _, ok := mon.Snapshot(b.target, time.Now()); ok {
		t.Fatal("removed resource still has a health window")
	}
	if _, ok := mon.Snapshot(a.target, time.Now()); !ok {
		t.Fatal("unchanged resource lost its health window")
	}
	if n, err := testutil.GatherAndCount(testenv.Scrape(m.Handler(zerolog.Nop())), "socmond_probes_total"); err != nil || n != 3 {
		// t1 has 3 status series; b1's were forgotten; k1 has not run.
		t.Fatalf("socmond_probes_total series = %d (%v), want 3", n, err)
	}
}

// blockingProbe answers once release is closed, telling started when it
// begins.
type blockingProbe struct {
	fakeProbe
	started chan struct{}
	release chan struct{}
}

func (p *blockingProbe) Check(ctx context.Context) probes.Observation {
	p.started <- struct{}{}
	<-p.release
	return p.fakeProbe.Check(ctx)
}

// TestRemovedWhileRunningIsNotFiled: a reload that removes a check while
// its probe is in flight must not see the result come back afterwards as
// a health window, series and listener call for a resource no longer
// configured (nothing would probe it again, so they would never go).
func TestRemovedWhileRunningIsNotFiled(t *testing.T) {
	var logs testenv.Buffer
	mon, m := newMonitor(t, &logs)
	p := &blockingProbe{fakeProbe: *newFake("dynamodb", "t1", probes.Unavailable), started: make(chan struct{}, 1), release: make(chan struct{})}
	var heard atomic.Int32
	mon.Subscribe(func(probes.Result, health.Snapshot, config.Target) { heard.Add(1) })
	if err := mon.Apply([]Check{{Target: target("dynamodb", "t1"), Probe: p}}); err != nil {
		t.Fatal(err)
	}
	mon.Start()
	<-p.started
	if err := mon.Apply(nil); err != nil {
		t.Fatal(err)
	}
	close(p.release)
	if err := mon.Stop(context.Background()); err != nil { // waits for the run to end
		t.Fatal(err)
	}
	if _, ok := mon.Snapshot(p.target, time.Now()); ok {
		t.Error("the removed resource's result was filed: it has a health window again")
	}
	if n := heard.Load(); n != 0 {
		t.Errorf("listeners heard %d results of the removed check", n)
	}
	if n, err := testutil.GatherAndCount(testenv.Scrape(m.Handler(zerolog.Nop())), "socmond_probes_total"); err != nil || n != 0 {
		t.Errorf("socmond_probes_total series = %d (%v), want none", n, err)
	}
}

// TestRegionChangeReplacesCheck: a check whose region changed probes
// another resource. The new probe takes over, the old region's window and
// series go, and a result of the old probe still in flight is not filed
// as the new resource's.
func TestRegionChangeReplacesCheck(t *testing.T) {
	var logs testenv.Buffer
	mon, m := newMonitor(t, &logs)
	old := &blockingProbe{fakeProbe: *newFake("dynamodb", "t1", probes.Unavailable), started: make(chan struct{}, 2), release: make(chan struct{})}
	if err := mon.Apply([]Check{{Target: target("dynamodb", "t1"), Probe: newFake("dynamodb", "t1", probes.Healthy), Region: "us-east-1"}}); err != nil {
		t.Fatal(err)
	}
	mon.Start()
	testenv.Eventually(t, "first round", mon.Ready)
	// The same settings in the same region keep the check; a new probe
	// object in flight stands for the old region's last call.
	mon.mu.Lock()
	c := mon.checks["dynamodb/t1"]
	c.Probe = old
	mon.checks["dynamodb/t1"] = c
	mon.mu.Unlock()
	// Ready comes with the first result, a moment before the scheduler
	// marks that run finished; until then RunNow skips (it never overlaps
	// runs of one key), and a single call could leave the test waiting.
	testenv.Eventually(t, "a run of the swapped probe", func() bool { return mon.RunNow("dynamodb/t1") })
	<-old.started

	eu := newFake("dynamodb", "t1", probes.Healthy)
	if err := mon.Apply([]Check{{Target: target("dynamodb", "t1"), Probe: eu, Region: "eu-west-1"}}); err != nil {
		t.Fatal(err)
	}
	if got := mon.checks["dynamodb/t1"].Probe; got != eu {
		t.Fatal("the check of the new region did not take over")
	}
	if _, ok := mon.Snapshot(old.target, time.Now()); ok {
		t.Error("the old region's health window was kept")
	}
	if n, err := testutil.GatherAndCount(testenv.Scrape(m.Handler(zerolog.Nop())), "socmond_probes_total"); err != nil || n != 0 {
		t.Errorf("socmond_probes_total series = %d (%v), want the old region's gone", n, err)
	}
	if mon.Ready() {
		t.Error("ready before the new region's check produced a result")
	}
	close(old.release)
	// RunNow is skipped while the old run is still going, so once it
	// starts, the old run has ended (and filed its result, had it been
	// going to).
	testenv.Eventually(t, "a run of the new region's probe", func() bool { return mon.RunNow("dynamodb/t1") })
	testenv.Eventually(t, "the new region's first result", mon.Ready)
	snap, ok := mon.Snapshot(eu.target, time.Now())
	if !ok || snap.AvailabilitySamples != 1 || snap.Availability != 1 {
		t.Errorf("after the new region's first result: %+v, want its one healthy result only", snap)
	}
}

// hangingProbe waits until its context ends, as a call to an endpoint
// that does not answer does.
type hangingProbe struct {
	fakeProbe
	started chan struct{}
}

func (p *hangingProbe) Check(ctx context.Context) probes.Observation {
	p.started <- struct{}{}
	<-ctx.Done()
	return probes.Observation{Check: "Fake", Err: ctx.Err()}
}

// TestStopDoesNotFileCancelledProbes: a probe still running when the
// shutdown grace period ends is cancelled by socmond, which says nothing
// about AWS: no health sample, no series, no listener (alert) call.
func TestStopDoesNotFileCancelledProbes(t *testing.T) {
	var logs testenv.Buffer
	mon, m := newMonitor(t, &logs)
	p := &hangingProbe{fakeProbe: *newFake("dynamodb", "t1", probes.Healthy), started: make(chan struct{}, 1)}
	var heard atomic.Int32
	mon.Subscribe(func(probes.Result, health.Snapshot, config.Target) { heard.Add(1) })
	tg := target("dynamodb", "t1")
	tg.Timeout = time.Hour // only the shutdown ends it
	if err := mon.Apply([]Check{{Target: tg, Probe: p}}); err != nil {
		t.Fatal(err)
	}
	mon.Start()
	<-p.started
	grace, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := mon.Stop(grace); err == nil {
		t.Fatal("Stop returned before the grace period ended, with the probe still running")
	}
	// Stopped already, Stop now only waits for the cancelled run to end.
	if err := mon.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if snap, ok := mon.Snapshot(p.target, time.Now()); ok {
		t.Errorf("the cancelled probe was filed: %s %s", snap.Last.Status, snap.Last.Class)
	}
	if n := heard.Load(); n != 0 {
		t.Errorf("listeners heard %d results of the cancelled probe", n)
	}
	if n, err := testutil.GatherAndCount(testenv.Scrape(m.Handler(zerolog.Nop())), "socmond_probes_total"); err != nil || n != 0 {
		t.Errorf("socmond_probes_total series = %d (%v), want none", n, err)
	}
}

func TestPanicRecoveredAndCounted(t *testing.T) {
	var logs testenv.Buffer
	mon, m := newMonitor(t, &logs)
	p := &panicProbe{target: probes.Target{Service: "lambda", Resource: "boom"}}
	if err := mon.Apply([]Check{{Target: target("lambda", "boom"), Probe: p}}); err != nil {
		t.Fatal(err)
	}
	mon.Start()
	testenv.Eventually(t, "panic counted", func() bool {
		return testenv.MetricValue(t, testenv.Scrape(m.Handler(zerolog.Nop())), "socmond_probe_panics_total", testenv.Labels("service", "lambda", "resource", "boom")) == 1
	})
	if !strings.Contains(logs.String(), "probe panicked") {
		t.Fatalf("panic not logged:\n%s", logs.String())
	}
}

type panicProbe struct{ target probes.Target }

func (p *panicProbe) Target() probes.Target                    { return p.target }
func (p *panicProbe) Check(context.Context) probes.Observation { panic("probe bug") }
