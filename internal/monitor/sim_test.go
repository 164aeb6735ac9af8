package monitor_test

import (
	"context"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/rs/zerolog"

	"github.com/socmond/socmond/internal/awsclient"
	"github.com/socmond/socmond/internal/awssim"
	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/health"
	"github.com/socmond/socmond/internal/metrics"
	"github.com/socmond/socmond/internal/monitor"
	"github.com/socmond/socmond/internal/probes"
	"github.com/socmond/socmond/internal/scheduler"
	"github.com/socmond/socmond/internal/testenv"
)

// simMonitor wires the real pieces — SDK clients, probes, scheduler,
// health, metrics — against the simulator.
func simMonitor(tb testing.TB, schedule string, seed awssim.Seed, targets []config.Target) (*monitor.Monitor, *metrics.Metrics, *awssim.Sim) {
	return simMonitorWith(tb, schedule, seed, targets, scheduler.Options{Stagger: true})
}

func simMonitorWith(tb testing.TB, schedule string, seed awssim.Seed, targets []config.Target, so scheduler.Options) (*monitor.Monitor, *metrics.Metrics, *awssim.Sim) {
	tb.Helper()
	sim, url := awssim.Serve(tb, seed)
	clients, err := awsclient.New(context.Background(), awsclient.Options{Region: "us-east-1", Endpoint: url,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")})
	if err != nil {
		tb.Fatal(err)
	}
	m := metrics.New("test", "abc")
	mon := monitor.New(monitor.Options{Logger: zerolog.New(io.Discard), Metrics: m, Scheduler: so})
	var checks []monitor.Check
	for _, t := range targets {
		t.Schedule = schedule
		p, err := probes.New(t.Service, t.Probe(), clients)
		if err != nil {
			tb.Fatal(err)
		}
		checks = append(checks, monitor.Check{Target: t, Probe: p})
	}
	if err := mon.Apply(checks); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		// Bounded: a test may leave probes hanging on purpose; Stop then
		// cancels them rather than waiting for ever.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = mon.Stop(ctx)
	})
	return mon, m, sim
}

func simTarget(service, resource string) config.Target {
	return config.Target{Service: service, Resource: resource, Timeout: 2 * time.Second,
		ResponseTimeThreshold: time.Second, ErrorRateThreshold: 0.05, AvailabilityThreshold: 0.99,
		ErrorRateWindow: 5 * time.Minute, AvailabilityWindow: time.Hour}
}

// TestFaultMovesMetricsAndStatusThenRecovers drives the whole daemon core
// through a fault and its recovery.
func TestFaultMovesMetricsAndStatusThenRecovers(t *testing.T) {
	seed := awssim.Seed{Tables: []string{"Investigations", "Metrics"}, Keys: []string{"alias/AsiaAgenticSoc"}, Functions: []string{"Analyze"}}
	targets := []config.Target{simTarget("dynamodb", "Investigations"), simTarget("dynamodb", "Metrics"), simTarget("kms", "alias/AsiaAgenticSoc"), simTarget("lambda", "Analyze")}
	mon, m, sim := simMonitor(t, "@every 1s", seed, targets)
	metricsTable := probes.Target{Service: "dynamodb", Resource: "Metrics"}
	fn := probes.Target{Service: "lambda", Resource: "Analyze"}

	mon.Start()
	testenv.Eventually(t, "readiness", mon.Ready)
	for _, s := range mon.Snapshots(time.Now()) {
		if s.Status != probes.Healthy {
			t.Fatalf("%s: %s before any fault (%+v)", s.Target, s.Status, s.Last)
		}
	}

	sim.AddFault(awssim.Fault{Service: "dynamodb", Resource: "Metrics", Error: "ThrottlingException"})
	sim.AddFault(awssim.Fault{Service: "lambda", Resource: "Analyze", State: "Failed"})
	testenv.Eventually(t, "throttle and failed state to show", func() bool {
		a, _ := mon.Snapshot(metricsTable, time.Now())
		b, _ := mon.Snapshot(fn, time.Now())
		return a.Status == probes.Degraded && b.Status == probes.Unavailable
	})
	s, _ := mon.Snapshot(metricsTable, time.Now())
	if s.Last.Class != probes.ClassThrottled || s.Last.Code != "ThrottlingException" || s.Last.Hint == "" || s.ErrorRatio <= 0 || s.Availability != 1 {
		t.Fatalf("throttled snapshot = %+v", s)
	}
	if v := testenv.MetricValue(t, testenv.Scrape(m.Handler(zerolog.Nop())), "socmond_probe_failures_total", testenv.Labels("service", "dynamodb", "resource", "Metrics", "class", "throttled")); v < 1 {
		t.Fatalf("throttled failures = %v", v)
	}
	if v := testenv.MetricValue(t, testenv.Scrape(m.Handler(zerolog.Nop())), "socmond_service_status", testenv.Labels("service", "lambda", "resource", "Analyze", "status", "unavailable")); v != 1 {
		t.Fatalf("lambda unavailable gauge = %v", v)
	}
	if v := testenv.MetricValue(t, testenv.Scrape(m.Handler(zerolog.Nop())), "socmond_service_availability_ratio", testenv.Labels("service", "lambda", "resource", "Analyze")); v >= 1 {
		t.Fatalf("lambda availability = %v, want < 1", v)
	}

	sim.ClearFaults()
	testenv.Eventually(t, "recovery", func() bool {
		a, _ := mon.Snapshot(metricsTable, time.Now())
		b, _ := mon.Snapshot(fn, time.Now())
		return a.Status == probes.Healthy && b.Status == probes.Healthy
	})
	if v := testenv.MetricValue(t, testenv.Scrape(m.Handler(zerolog.Nop())), "socmond_service_status", testenv.Labels("service", "lambda", "resource", "Analyze", "status", "healthy")); v != 1 {
		t.Fatalf("lambda healthy gauge after recovery = %v", v)
	}
}

// BenchmarkProbeRoundTrip measures one probe round trip through the
// scheduler, a real SDK call to the simulator, the health store and the
// metrics: the daemon's hot path.
func BenchmarkProbeRoundTrip(b *testing.B) {
	mon, _, _ := simMonitor(b, "@every 1h", awssim.Seed{Tables: []string{"Metrics"}}, []config.Target{simTarget("dynamodb", "Metrics")})
	done := make(chan struct{}, 1)
	mon.Subscribe(func(probes.Result, health.Snapshot, config.Target) { done <- struct{}{} })
	mon.Start()
	<-done // the first round
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		// The listener fires just before the run releases its slot, so
		// the next RunNow may find it still running for an instant.
		for !mon.RunNow("dynamodb/Metrics") {
			runtime.Gosched()
		}
		<-done
	}
}

// TestHangingServiceDoesNotStarveOthers: DynamoDB answers nothing at all
// (an hour of latency, far past the probe deadline of a minute); the
// per-service concurrency bound must keep the other services on schedule.
func TestHangingServiceDoesNotStarveOthers(t *testing.T) {
	seed := awssim.Seed{Tables: []string{"t1", "t2", "t3", "t4", "t5", "t6"}, Keys: []string{"alias/k"},
		Functions: []string{"f1", "f2"}, EventBuses: []string{"bus"}, Models: []string{"m1"}}
	var targets []config.Target
	for _, tb := range seed.Tables {
		tg := simTarget("dynamodb", tb)
		tg.Timeout = time.Minute
		targets = append(targets, tg)
	}
	for _, tg := range []config.Target{simTarget("kms", "alias/k"), simTarget("lambda", "f1"), simTarget("lambda", "f2"),
		simTarget("eventbridge", "bus"), simTarget("bedrock", "m1")} {
		targets = append(targets, tg)
	}
	// A global bound smaller than the number of DynamoDB tables: without
	// the per-service bound, hanging tables would take every slot.
	mon, m, sim := simMonitorWith(t, "@every 1s", seed, targets, scheduler.Options{MaxConcurrent: 4, MaxPerGroup: 2})
	sim.AddFault(awssim.Fault{Service: "dynamodb", Latency: "1h"})
	mon.Start()
	others := []probes.Target{{Service: "kms", Resource: "alias/k"}, {Service: "lambda", Resource: "f1"}, {Service: "lambda", Resource: "f2"},
		{Service: "eventbridge", Resource: "bus"}, {Service: "bedrock", Resource: "m1"}}
	total := func(tg probes.Target) float64 {
		return testenv.MetricValue(t, testenv.Scrape(m.Handler(zerolog.Nop())), "socmond_probes_total", testenv.Labels("service", tg.Service, "resource", tg.Resource, "status", "healthy"))
	}
	testenv.Eventually(t, "every other service to complete 3 scheduled rounds", func() bool {
		for _, tg := range others {
			if total(tg) < 3 {
				return false
			}
		}
		return true
	})
	for _, tb := range seed.Tables {
		if v := testenv.MetricValue(t, testenv.Scrape(m.Handler(zerolog.Nop())), "socmond_probes_total", testenv.Labels("service", "dynamodb", "resource", tb)); v > 0 {
			t.Fatalf("dynamodb/%s completed a probe through an hour of latency", tb)
		}
	}
	skipped := 0.0
	for _, tb := range seed.Tables {
		if v := testenv.MetricValue(t, testenv.Scrape(m.Handler(zerolog.Nop())), "socmond_scheduler_skipped_total", testenv.Labels("service", "dynamodb", "resource", tb)); v > 0 {
			skipped += v
		}
	}
	if skipped < 1 {
		t.Fatalf("hanging probes were never skipped (skips %v)", skipped)
	}
}
