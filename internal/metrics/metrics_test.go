package metrics

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"

	"github.com/socmond/socmond/internal/health"
	"github.com/socmond/socmond/internal/probes"
	"github.com/socmond/socmond/internal/testenv"
)

var table = probes.Target{Service: probes.ServiceDynamoDB, Resource: "soc-alerts"}

// th are the shipped thresholds.
var th = Thresholds{ResponseTime: 5 * time.Second, ErrorRate: 0.05, Availability: 0.99}

func result(t probes.Target, st probes.Status, c probes.Class, d time.Duration) probes.Result {
	return probes.Result{Target: t, Check: "DescribeTable", Status: st, Class: c, Duration: d}
}

func snapshot(t probes.Target, st probes.Status, errRatio, avail float64) health.Snapshot {
	return health.Snapshot{Target: t, Status: st, ErrorRatio: errRatio, Availability: avail}
}

func TestObserve(t *testing.T) {
	tests := map[string]struct {
		result   probes.Result
		snapshot health.Snapshot
		// wantFast is the histogram count in the le=0.05 bucket, which
		// shows sub-100 ms calls are resolved.
		wantFast float64
	}{
		"healthy": {
			result:   result(table, probes.Healthy, probes.ClassNone, 30*time.Millisecond),
			snapshot: snapshot(table, probes.Healthy, 0, 1),
			wantFast: 1,
		},
		"throttled": {
			result:   result(table, probes.Degraded, probes.ClassThrottled, 80*time.Millisecond),
			snapshot: snapshot(table, probes.Degraded, 0.25, 1),
		},
		"slow": {
			result:   result(table, probes.Degraded, probes.ClassSlow, 6*time.Second),
			snapshot: snapshot(table, probes.Degraded, 0, 1),
		},
		"unavailable": {
			result:   result(table, probes.Unavailable, probes.ClassTimeout, 5*time.Second),
			snapshot: snapshot(table, probes.Unavailable, 0.5, 0.9),
		},
		"unknown class counts as other": {
			result:   result(table, probes.Unavailable, probes.Class("martian"), time.Second),
			snapshot: snapshot(table, probes.Unavailable, 1, 0),
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			m := New("test", "abc")
			m.Observe(tc.result, tc.snapshot, th)

			svc, res := table.Service, table.Resource
			for _, st := range probes.Statuses {
				want := 0.0
				if st == tc.result.Status {
					want = 1
				}
				if got := value(t, m, "socmond_probes_total", svc, res, "status", string(st)); got != want {
					t.Errorf("probes_total{status=%q} = %v, want %v", st, got, want)
				}
				want = 0
				if st == tc.snapshot.Status {
					want = 1
				}
				if got := value(t, m, "socmond_service_status", svc, res, "status", string(st)); got != want {
					t.Errorf("service_status{status=%q} = %v, want %v", st, got, want)
				}
			}

			wantClass := tc.result.Class
			if wantClass != probes.ClassNone && !isKnown(wantClass) {
				wantClass = probes.ClassOther
			}
			for _, c := range probes.Classes {
				want := 0.0
				if c == wantClass {
					want = 1
				}
				if got := value(t, m, "socmond_probe_failures_total", svc, res, "class", string(c)); got != want {
					t.Errorf("probe_failures_total{class=%q} = %v, want %v", c, got, want)
				}
			}
			// Every class and no other: an unknown class must not add a series.
			if n := count(t, m, "socmond_probe_failures_total"); n != len(probes.Classes) {
				t.Errorf("probe_failures_total has %d series, want %d", n, len(probes.Classes))
			}

			if got := value(t, m, "socmond_service_error_ratio", svc, res); got != tc.snapshot.ErrorRatio {
				t.Errorf("service_error_ratio = %v, want %v", got, tc.snapshot.ErrorRatio)
			}
			if got := value(t, m, "socmond_service_availability_ratio", svc, res); got != tc.snapshot.Availability {
				t.Errorf("service_availability_ratio = %v, want %v", got, tc.snapshot.Availability)
			}
			if got, want := value(t, m, "socmond_probe_errors_total", svc, res), boolf(tc.result.IsError()); got != want {
				t.Errorf("probe_errors_total = %v, want %v", got, want)
			}

			h := histogram(t, m, "socmond_probe_duration_seconds")
			if h.GetSampleCount() != 1 || h.GetSampleSum() != tc.result.Duration.Seconds() {
				t.Errorf("histogram count/sum = %d/%v, want 1/%v", h.GetSampleCount(), h.GetSampleSum(), tc.result.Duration.Seconds())
			}
			if got := bucket(h, 0.05); got != tc.wantFast {
				t.Errorf("histogram le=0.05 = %v, want %v", got, tc.wantFast)
			}
			if got, want := bucket(h, 5), boolf(tc.result.Duration <= 5*time.Second); got != want {
				t.Errorf("histogram le=5 = %v, want %v", got, want)
			}
		})
	}
}

// The conditions' inputs are exported as the snapshot and the thresholds
// give them, so a Prometheus rule can compare them as socmond does.
func TestObserveConditions(t *testing.T) {
	m := New("test", "abc")
	snap := snapshot(table, probes.Unavailable, 0.4, 0.95)
	snap.ErrorSamples, snap.ErrorMinSamples, snap.AvailabilitySamples, snap.AvailabilityMinSamples = 10, 5, 120, 60
	snap.Conditions[health.KindError] = health.Condition{Failing: true, Active: true}
	snap.Conditions[health.KindUnavailable] = health.Condition{Failing: true}
	m.Observe(result(table, probes.Unavailable, probes.ClassServer, time.Second), snap, th)
	svc, res := table.Service, table.Resource
	for name, want := range map[string]float64{
		"socmond_service_error_ratio_threshold":           0.05,
		"socmond_service_availability_ratio_threshold":    0.99,
		"socmond_service_response_time_threshold_seconds": 5,
		"socmond_service_error_samples":                   10,
		"socmond_service_error_samples_min":               5,
		"socmond_service_availability_samples":            120,
		"socmond_service_availability_samples_min":        60,
		"socmond_probe_errors_total":                      1,
	} {
		if got := value(t, m, name, svc, res); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	for cond, want := range map[string]float64{"slow_response": 0, "high_error_rate": 1, "low_availability": 1} {
		if got := value(t, m, "socmond_service_failing", svc, res, "condition", cond); got != want {
			t.Errorf("socmond_service_failing{condition=%q} = %v, want %v", cond, got, want)
		}
	}
}

// TestExposition pins names, help, types and the zero series created when a
// target is first seen, as dashboards and alert rules read them.
func TestExposition(t *testing.T) {
	m := New("1.2.3", "deadbeef")
	m.Observe(result(table, probes.Healthy, probes.ClassNone, 30*time.Millisecond), snapshot(table, probes.Healthy, 0, 1), th)
	m.Skipped(table)
	m.Panicked(table)
	m.Panicked(table)

	l := `resource="soc-alerts",service="dynamodb"`
	want := fmt.Sprintf(`
# HELP socmond_build_info A metric with a constant 1 value labelled by the version, revision and Go version socmond was built from.
# TYPE socmond_build_info gauge
socmond_build_info{goversion=%q,revision="deadbeef",version="1.2.3"} 1
# HELP socmond_probe_duration_seconds Response time of each probe run: the AWS call on the wire, request written to the last byte of the answer (docs/alerting.md).
# TYPE socmond_probe_duration_seconds histogram
socmond_probe_duration_seconds_bucket{%[2]s,le="0.005"} 0
socmond_probe_duration_seconds_bucket{%[2]s,le="0.01"} 0
socmond_probe_duration_seconds_bucket{%[2]s,le="0.025"} 0
socmond_probe_duration_seconds_bucket{%[2]s,le="0.05"} 1
socmond_probe_duration_seconds_bucket{%[2]s,le="0.1"} 1
socmond_probe_duration_seconds_bucket{%[2]s,le="0.25"} 1
socmond_probe_duration_seconds_bucket{%[2]s,le="0.5"} 1
socmond_probe_duration_seconds_bucket{%[2]s,le="1"} 1
socmond_probe_duration_seconds_bucket{%[2]s,le="2.5"} 1
socmond_probe_duration_seconds_bucket{%[2]s,le="5"} 1
socmond_probe_duration_seconds_bucket{%[2]s,le="7.5"} 1
socmond_probe_duration_seconds_bucket{%[2]s,le="10"} 1
socmond_probe_duration_seconds_bucket{%[2]s,le="30"} 1
socmond_probe_duration_seconds_bucket{%[2]s,le="+Inf"} 1
socmond_probe_duration_seconds_sum{%[2]s} 0.03
socmond_probe_duration_seconds_count{%[2]s} 1
# HELP socmond_probe_errors_total Probe runs that count as errors: the call failed or was throttled, or the resource cannot serve (docs/alerting.md).
# TYPE socmond_probe_errors_total counter
socmond_probe_errors_total{%[2]s} 0
# HELP socmond_probe_failures_total Probe runs that did not come back healthy, by failure class (slow is a class of its own).
# TYPE socmond_probe_failures_total counter
socmond_probe_failures_total{class="auth",%[2]s} 0
socmond_probe_failures_total{class="backlog",%[2]s} 0
socmond_probe_failures_total{class="invalid_state",%[2]s} 0
socmond_probe_failures_total{class="network",%[2]s} 0
socmond_probe_failures_total{class="not_found",%[2]s} 0
socmond_probe_failures_total{class="other",%[2]s} 0
socmond_probe_failures_total{class="server",%[2]s} 0
socmond_probe_failures_total{class="slow",%[2]s} 0
socmond_probe_failures_total{class="throttled",%[2]s} 0
socmond_probe_failures_total{class="timeout",%[2]s} 0
# HELP socmond_probe_panics_total Probe runs that panicked and were recovered by the scheduler.
# TYPE socmond_probe_panics_total counter
socmond_probe_panics_total{%[2]s} 2
# HELP socmond_probes_total Probe runs by resulting status (healthy, degraded, unavailable).
# TYPE socmond_probes_total counter
socmond_probes_total{%[2]s,status="degraded"} 0
socmond_probes_total{%[2]s,status="healthy"} 1
socmond_probes_total{%[2]s,status="unavailable"} 0
# HELP socmond_scheduler_skipped_total Scheduled probe runs skipped because the previous run of the same probe was still going.
# TYPE socmond_scheduler_skipped_total counter
socmond_scheduler_skipped_total{%[2]s} 1
# HELP socmond_service_availability_ratio Share of probe runs in the availability window that were not unavailable (0 to 1).
# TYPE socmond_service_availability_ratio gauge
socmond_service_availability_ratio{%[2]s} 1
# HELP socmond_service_error_ratio Share of probe runs in the error-rate window that were errors (0 to 1).
# TYPE socmond_service_error_ratio gauge
socmond_service_error_ratio{%[2]s} 0
# HELP socmond_service_status Current status of a resource: 1 for the status it is in, 0 for the others.
# TYPE socmond_service_status gauge
socmond_service_status{%[2]s,status="degraded"} 0
socmond_service_status{%[2]s,status="healthy"} 1
socmond_service_status{%[2]s,status="unavailable"} 0
`, runtime.Version(), l)
	names := []string{
		"socmond_build_info", "socmond_probe_duration_seconds", "socmond_probe_errors_total", "socmond_probe_failures_total",
		"socmond_probe_panics_total", "socmond_probes_total", "socmond_scheduler_skipped_total",
		"socmond_service_availability_ratio", "socmond_service_error_ratio", "socmond_service_status",
	}
	if err := testutil.GatherAndCompare(scraped(m), strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
}

func TestStatusGaugesFollowSnapshot(t *testing.T) {
	m := New("test", "")
	svc, res := table.Service, table.Resource
	m.Observe(result(table, probes.Unavailable, probes.ClassNetwork, time.Second), snapshot(table, probes.Unavailable, 1, 0), th)
	// A snapshot with no status (no data) clears all three.
	m.Observe(result(table, probes.Healthy, probes.ClassNone, time.Millisecond), health.Snapshot{Target: table}, th)
	for _, st := range probes.Statuses {
		if got := value(t, m, "socmond_service_status", svc, res, "status", string(st)); got != 0 {
			t.Errorf("service_status{status=%q} = %v, want 0", st, got)
		}
	}
	// A zero snapshot leaves the gauges alone and adds no empty-label series.
	m.Observe(result(table, probes.Healthy, probes.ClassNone, time.Millisecond), health.Snapshot{}, th)
	if n := count(t, m, "socmond_service_status"); n != len(probes.Statuses) {
		t.Errorf("service_status has %d series after a zero snapshot, want %d", n, len(probes.Statuses))
	}
	if got := value(t, m, "socmond_probes_total", svc, res, "status", string(probes.Unavailable)); got != 1 {
		t.Errorf("probes_total{status=unavailable} = %v, want 1 (counters must accumulate)", got)
	}
}

func TestSkippedAndPanicked(t *testing.T) {
	m := New("test", "")
	other := probes.Target{Service: probes.ServiceLambda, Resource: "enricher"}
	m.Skipped(table)
	m.Skipped(table)
	m.Panicked(other)
	tests := map[string]struct {
		got, want float64
	}{
		"skipped table":  {value(t, m, "socmond_scheduler_skipped_total", table.Service, table.Resource), 2},
		"panics table":   {value(t, m, "socmond_probe_panics_total", table.Service, table.Resource), 0},
		"skipped lambda": {value(t, m, "socmond_scheduler_skipped_total", other.Service, other.Resource), 0},
		"panics lambda":  {value(t, m, "socmond_probe_panics_total", other.Service, other.Resource), 1},
	}
	for name, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", name, tc.got, tc.want)
		}
	}
}

func TestForget(t *testing.T) {
	m := New("test", "")
	kept := probes.Target{Service: probes.ServiceS3, Resource: "soc-evidence"}
	for _, tg := range []probes.Target{table, kept} {
		m.Observe(result(tg, probes.Degraded, probes.ClassThrottled, time.Second), snapshot(tg, probes.Degraded, 0.5, 1), th)
		m.Skipped(tg)
		m.Panicked(tg)
	}

	m.Forget(table)

	mfs, err := scraped(m).Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "socmond_") || mf.GetName() == "socmond_build_info" {
			continue
		}
		for _, metric := range mf.GetMetric() {
			if labelValue(metric, "resource") == table.Resource {
				t.Errorf("%s still has a series for the forgotten resource", mf.GetName())
			}
			if labelValue(metric, "resource") == kept.Resource {
				seen++
			}
		}
	}
	// 3 probes_total + 9 failures + 1 histogram + 3 status + 2 ratios + skipped + panics
	// + errors + 3 thresholds + 4 samples and guards + one failing per condition.
	if want := 3 + len(probes.Classes) + 1 + 3 + 2 + 2 + 1 + 3 + 4 + int(health.NumKinds); seen != want {
		t.Errorf("kept resource has %d series, want %d", seen, want)
	}

	// A resource that comes back starts from zero, with its series re-created.
	m.Observe(result(table, probes.Healthy, probes.ClassNone, time.Millisecond), snapshot(table, probes.Healthy, 0, 1), th)
	if got := value(t, m, "socmond_probe_failures_total", table.Service, table.Resource, "class", string(probes.ClassThrottled)); got != 0 {
		t.Errorf("throttled failures after Forget and re-observe = %v, want 0", got)
	}
	if got := value(t, m, "socmond_probes_total", table.Service, table.Resource, "status", string(probes.Healthy)); got != 1 {
		t.Errorf("healthy probes after Forget and re-observe = %v, want 1", got)
	}
}

// TestLint renders /metrics as a scrape would and runs promlint over it, the
// same checks as `promtool check metrics`.
func TestLint(t *testing.T) {
	m := New("test", "abc")
	m.Observe(result(table, probes.Degraded, probes.ClassSlow, 6*time.Second), snapshot(table, probes.Degraded, 0, 1), th)
	m.Skipped(table)

	rec := httptest.NewRecorder()
	m.Handler(zerolog.Nop()).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics = %d", rec.Code)
	}
	body := rec.Body.String()
	for _, want := range []string{"socmond_probes_total{", "go_goroutines ", "process_start_time_seconds ", "promhttp_metric_handler_requests_total{"} {
		if !strings.Contains(body, want) {
			t.Errorf("exposition lacks %q", want)
		}
	}
	problems, err := promlint.New(strings.NewReader(body)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

// TestConcurrent is for -race: observers, the scheduler's counters and a
// config reload all touch the cache at once.
func TestConcurrent(t *testing.T) {
	m := New("test", "")
	var wg sync.WaitGroup
	for i := range 4 {
		tg := probes.Target{Service: probes.ServiceKMS, Resource: fmt.Sprintf("key-%d", i%2)}
		wg.Go(func() {
			for range 200 {
				m.Observe(result(tg, probes.Healthy, probes.ClassNone, time.Millisecond), snapshot(tg, probes.Healthy, 0, 1), th)
				m.Skipped(tg)
				m.Forget(tg)
			}
		})
	}
	// Scrapes read every series while they change and disappear.
	wg.Go(func() {
		for range 20 {
			if _, err := scraped(m).Gather(); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
	if n := count(t, m, "socmond_probes_total"); n != 0 {
		t.Errorf("probes_total has %d series after every target was forgotten, want 0", n)
	}
}

func BenchmarkObserve(b *testing.B) {
	m := New("bench", "")
	r := result(table, probes.Degraded, probes.ClassThrottled, 42*time.Millisecond)
	s := snapshot(table, probes.Degraded, 0.1, 0.99)
	m.Observe(r, s, th) // warm the per-target cache
	b.ReportAllocs()
	for b.Loop() {
		m.Observe(r, s, th)
	}
}

// BenchmarkScrape2000 is one GET /metrics, as Prometheus sends it (gzip
// accepted), of 2,000 resources that have all been probed: 68,000
// per-resource series plus the Go and process collectors.
func BenchmarkScrape2000(b *testing.B) {
	h := probed2000()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("GET /metrics = %d", rec.Code)
		}
	}
}

// BenchmarkScrape2000Body is BenchmarkScrape2000 with and without gzip,
// into a writer that drops the body (as a socket would take it) rather than
// a recorder that keeps it: the difference between the two is what
// compression costs.
func BenchmarkScrape2000Body(b *testing.B) {
	h := probed2000()
	for _, enc := range []string{"gzip", "identity"} {
		b.Run(enc, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
			req.Header.Set("Accept-Encoding", enc)
			b.ReportAllocs()
			var w discardWriter
			for b.Loop() {
				w = discardWriter{header: http.Header{}}
				h.ServeHTTP(&w, req)
				if w.code != 0 && w.code != http.StatusOK {
					b.Fatalf("GET /metrics = %d", w.code)
				}
			}
			b.ReportMetric(float64(w.n), "body-B")
		})
	}
}

// probed2000 is the handler of 2,000 resources that have all been probed.
func probed2000() http.Handler {
	m := New("bench", "")
	for i := range 2000 {
		tg := probes.Target{Service: probes.ServiceDynamoDB, Resource: fmt.Sprintf("table-%04d", i)}
		m.Observe(result(tg, probes.Degraded, probes.ClassThrottled, 42*time.Millisecond), snapshot(tg, probes.Degraded, 0.1, 0.99), th)
		m.Skipped(tg)
	}
	return m.Handler(zerolog.Nop())
}

// discardWriter is a ResponseWriter that counts the body and drops it.
type discardWriter struct {
	header http.Header
	code   int
	n      int
}

func (w *discardWriter) Header() http.Header  { return w.header }
func (w *discardWriter) WriteHeader(code int) { w.code = code }
func (w *discardWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	return len(p), nil
}

func BenchmarkObserveParallel(b *testing.B) {
	m := New("bench", "")
	r := result(table, probes.Healthy, probes.ClassNone, 42*time.Millisecond)
	s := snapshot(table, probes.Healthy, 0, 1)
	m.Observe(r, s, th)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Observe(r, s, th)
		}
	})
}

// scraped reads m as Prometheus does, through the daemon's /metrics handler.
func scraped(m *Metrics) prometheus.Gatherer {
	return testenv.Scrape(m.Handler(zerolog.Nop()))
}

func isKnown(c probes.Class) bool {
	for _, k := range probes.Classes {
		if k == c {
			return true
		}
	}
	return false
}

func boolf(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func histogram(t *testing.T, m *Metrics, name string) *dto.Histogram {
	t.Helper()
	mfs, err := scraped(m).Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetHistogram()
		}
	}
	t.Fatalf("no single %s series gathered", name)
	return nil
}

func bucket(h *dto.Histogram, le float64) float64 {
	for _, b := range h.GetBucket() {
		if b.GetUpperBound() == le {
			return float64(b.GetCumulativeCount())
		}
	}
	return -1
}

func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// value is the value of the counter or gauge name{service, resource, extra...}
// as a scrape gathers it.
func value(t testing.TB, m *Metrics, name, service, resource string, extra ...string) float64 {
	t.Helper()
	want := map[string]string{"service": service, "resource": resource}
	for i := 0; i+1 < len(extra); i += 2 {
		want[extra[i]] = extra[i+1]
	}
	for _, metric := range family(t, m, name).GetMetric() {
		match := len(metric.GetLabel()) == len(want)
		for _, l := range metric.GetLabel() {
			match = match && want[l.GetName()] == l.GetValue()
		}
		if !match {
			continue
		}
		if c := metric.GetCounter(); c != nil {
			return c.GetValue()
		}
		return metric.GetGauge().GetValue()
	}
	t.Fatalf("no series %s%v gathered", name, want)
	return 0
}

// count is how many series of name a scrape gathers.
func count(t testing.TB, m *Metrics, name string) int {
	t.Helper()
	return len(family(t, m, name).GetMetric())
}

func family(t testing.TB, m *Metrics, name string) *dto.MetricFamily {
	t.Helper()
	mfs, err := scraped(m).Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf
		}
	}
	return nil
}

// BenchmarkMemoryPerResource reports the live heap the per-resource state
// of 10,000 probed resources costs, per resource (B/resource).
func BenchmarkMemoryPerResource(b *testing.B) {
	const n = 10000
	targets := make([]probes.Target, n)
	for i := range targets {
		targets[i] = probes.Target{Service: probes.ServiceDynamoDB, Resource: fmt.Sprintf("table-%05d", i)}
	}
	var perResource float64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		m := New("bench", "")
		for _, tg := range targets {
			m.Observe(result(tg, probes.Healthy, probes.ClassNone, 42*time.Millisecond), snapshot(tg, probes.Healthy, 0, 1), th)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perResource = float64(after.HeapAlloc-before.HeapAlloc) / n
		runtime.KeepAlive(m)
	}
	b.ReportMetric(perResource, "B/resource")
}
