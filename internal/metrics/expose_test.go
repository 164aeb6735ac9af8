package metrics

import (
	"bytes"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/rs/zerolog"
	"google.golang.org/protobuf/proto"

	"github.com/socmond/socmond/internal/health"
	"github.com/socmond/socmond/internal/probes"
	"github.com/socmond/socmond/internal/testenv"
)

// oracle is the path the per-resource families took before socmond wrote
// them itself, kept as the test's reference: every series a client_golang
// const metric, gathered by a registry (which sorts and checks them) and
// written by expfmt. Its names, help and labels are the contract, written
// out here independently of expose.go.
type oracle struct{ m *Metrics }

var (
	oracleProbes = oracleDesc("socmond_probes_total", "Probe runs by resulting status (healthy, degraded, unavailable).",
		[]string{"service", "resource", "status"})
	oracleFailures = oracleDesc("socmond_probe_failures_total",
		"Probe runs that did not come back healthy, by failure class (slow is a class of its own).",
		[]string{"service", "resource", "class"})
	oracleDuration = oracleDesc("socmond_probe_duration_seconds",
		"Response time of each probe run: the AWS call on the wire, request written to the last byte of the answer (docs/alerting.md).",
		[]string{"service", "resource"})
	oracleErrors = oracleDesc("socmond_probe_errors_total",
		"Probe runs that count as errors: the call failed or was throttled, or the resource cannot serve (docs/alerting.md).",
		[]string{"service", "resource"})
	oracleFailing = oracleDesc("socmond_service_failing",
		"1 while the resource is failing by the condition: its latest run and another in the window counted against it, or did so less than clear_for ago (docs/alerting.md).",
		[]string{"service", "resource", "condition"})
	oracleGauges = []struct {
		desc  *prometheus.Desc
		value func(c *conditionState) float64
	}{
		{oracleDesc("socmond_service_availability_ratio_threshold",
			"The resource's availability threshold: availability below it breaches (thresholds.availability).",
			[]string{"service", "resource"}), func(c *conditionState) float64 { return c.availThreshold }},
		{oracleDesc("socmond_service_availability_samples",
			"Probe runs in the availability window, which socmond_service_availability_ratio is computed from.",
			[]string{"service", "resource"}), func(c *conditionState) float64 { return c.availSamples }},
		{oracleDesc("socmond_service_availability_samples_min",
			"Low-traffic guard: the fewest runs the availability window must hold for its ratio to page (alerting.min_sample_ratio of what the schedule should give).",
			[]string{"service", "resource"}), func(c *conditionState) float64 { return c.availMin }},
		{oracleDesc("socmond_service_error_ratio_threshold",
			"The resource's error-rate threshold: an error ratio above it breaches (thresholds.error_rate).",
			[]string{"service", "resource"}), func(c *conditionState) float64 { return c.errThreshold }},
		{oracleDesc("socmond_service_error_samples",
			"Probe runs in the error-rate window, which socmond_service_error_ratio is computed from.",
			[]string{"service", "resource"}), func(c *conditionState) float64 { return c.errSamples }},
		{oracleDesc("socmond_service_error_samples_min",
			"Low-traffic guard: the fewest runs the error-rate window must hold for its ratio to page (alerting.min_sample_ratio of what the schedule should give).",
			[]string{"service", "resource"}), func(c *conditionState) float64 { return c.errMin }},
		{oracleDesc("socmond_service_response_time_threshold_seconds",
			"The resource's response-time threshold: a successful run slower than it is slow (thresholds.response_time).",
			[]string{"service", "resource"}), func(c *conditionState) float64 { return c.rtThreshold }},
	}
	oracleBacklog = oracleDesc("socmond_service_backlog",
		"Items the resource held at its latest probe that read them and that the pipeline could not deliver: the messages in a dead-letter queue. Only for resources whose probe reads one.",
		[]string{"service", "resource"})
	oracleStatus = oracleDesc("socmond_service_status",
		"Current status of a resource: 1 for the status it is in, 0 for the others.", []string{"service", "resource", "status"})
	oracleErrorRatio = oracleDesc("socmond_service_error_ratio",
		"Share of probe runs in the error-rate window that were errors (0 to 1).", []string{"service", "resource"})
	oracleAvailability = oracleDesc("socmond_service_availability_ratio",
		"Share of probe runs in the availability window that were not unavailable (0 to 1).", []string{"service", "resource"})
	oracleSkipped = oracleDesc("socmond_scheduler_skipped_total",
		"Scheduled probe runs skipped because the previous run of the same probe was still going.", []string{"service", "resource"})
	oraclePanics = oracleDesc("socmond_probe_panics_total",
		"Probe runs that panicked and were recovered by the scheduler.", []string{"service", "resource"})
)

// oracleDesc is a family's descriptor, and its placed twin (oraclePlaced)
// with account, region and tenant besides.
func oracleDesc(name, help string, labels []string) *prometheus.Desc {
	d := prometheus.NewDesc(name, help, labels, nil)
	oraclePlaced[d] = prometheus.NewDesc(name, help, append(slices.Clone(labels), "account", "region", "tenant"), nil)
	return d
}

var oraclePlaced = map[*prometheus.Desc]*prometheus.Desc{}

// Describe describes nothing: a family holds series of both label sets
// when placed and unplaced targets are exported together, which a
// checked collector cannot have. The registry still sorts the series,
// and checks each is well formed and unique.
func (oracle) Describe(chan<- *prometheus.Desc) {}

func (o oracle) Collect(ch chan<- prometheus.Metric) {
	o.m.mu.RLock()
	defer o.m.mu.RUnlock()
	for t, s := range o.m.targets {
		s.mu.Lock()
		svc, res := validLabelValue(t.Service), validLabelValue(t.Resource)
		// metric is a const metric of the family of d, placed when t is.
		metric := func(d *prometheus.Desc, typ prometheus.ValueType, v float64, extra ...string) prometheus.Metric {
			values := append([]string{svc, res}, extra...)
			if !t.Place.IsZero() {
				d = oraclePlaced[d]
				values = append(values, validLabelValue(t.Account), validLabelValue(t.Region), validLabelValue(t.Tenant))
			}
			return prometheus.MustNewConstMetric(d, typ, v, values...)
		}
		for i, st := range probes.Statuses {
			ch <- metric(oracleProbes, prometheus.CounterValue, float64(s.probes[i]), string(st))
			ch <- metric(oracleStatus, prometheus.GaugeValue, b2f(s.status == i), string(st))
		}
		for i, cl := range probes.Classes {
			ch <- metric(oracleFailures, prometheus.CounterValue, float64(s.failures[i]), string(cl))
		}
		buckets := map[float64]uint64{}
		var cum uint64
		for i, le := range DurationBuckets {
			cum += s.buckets[i]
			buckets[le] = cum
		}
		if t.Place.IsZero() {
			ch <- prometheus.MustNewConstHistogram(oracleDuration, s.count, s.sum, buckets, svc, res)
		} else {
			ch <- prometheus.MustNewConstHistogram(oraclePlaced[oracleDuration], s.count, s.sum, buckets, svc, res,
				validLabelValue(t.Account), validLabelValue(t.Region), validLabelValue(t.Tenant))
		}
		ch <- metric(oracleErrorRatio, prometheus.GaugeValue, s.errorRatio)
		ch <- metric(oracleAvailability, prometheus.GaugeValue, s.availability)
		ch <- metric(oracleSkipped, prometheus.CounterValue, float64(s.skipped))
		ch <- metric(oraclePanics, prometheus.CounterValue, float64(s.panics))
		ch <- metric(oracleErrors, prometheus.CounterValue, float64(s.errors))
		for i, name := range conditionNames {
			ch <- metric(oracleFailing, prometheus.GaugeValue, b2f(s.conditions.failing[i]), name)
		}
		for _, g := range oracleGauges {
			ch <- metric(g.desc, prometheus.GaugeValue, g.value(&s.conditions))
		}
		if s.hasBacklog {
			ch <- metric(oracleBacklog, prometheus.GaugeValue, s.backlog)
		}
		s.mu.Unlock()
	}
}

// oracleText is what the registry path writes for m's per-resource
// families.
func oracleText(t *testing.T, m *Metrics) string {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(oracle{m})
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

// ownText is what socmond's encoder writes for m's per-resource families.
func ownText(t *testing.T, m *Metrics) string {
	t.Helper()
	var b bytes.Buffer
	sc := &scrape{}
	m.read(sc)
	if err := writeText(&expoWriter{w: &b}, nil, sc, nil); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// populated is a state with several services and resources, every status
// and failure class, histogram observations in every bucket and above the
// last, odd floats, and label values the text format must escape.
func populated() *Metrics {
	m := New("test", "abc")
	names := []string{
		"soc-alerts", `quote"d`, `back\slash`, "new\nline", `all\"of"\n` + "\nthem\\", "表-ü", "bad\xffbyte",
		"", " leading space", "a", "a b", "a\tb", "Z-upper",
	}
	services := []string{probes.ServiceDynamoDB, probes.ServiceLambda, probes.ServiceS3, probes.ServiceKMS}
	durations := []time.Duration{0, time.Nanosecond, 3 * time.Millisecond, 5 * time.Millisecond, 30 * time.Millisecond,
		99 * time.Millisecond, time.Second, 7*time.Second + 123456789, 45 * time.Second, 2 * time.Hour}
	ratios := []float64{0, 1, 0.1 + 0.2, 1.0 / 3, 1e-7, 0.5, 0.999999999, math.SmallestNonzeroFloat64}
	n := 0
	// Placed targets: accounts and regions in and out of order, two
	// tenants with the same account, region and names (status sorts
	// before tenant), and label values to escape or repair.
	places := []probes.Place{{},
		{Tenant: "acme", Account: "111122223333", Region: "eu-west-1"},
		{Tenant: "acme", Account: "111122223333", Region: "ap-east-1"},
		{Tenant: "beta", Account: "111122223333", Region: "eu-west-1"},
		{Tenant: `q"uote`, Account: "000011112222", Region: "us-east-1"},
		{Tenant: "z", Account: "bad\xffacct", Region: "new\nline"},
	}
	for _, svc := range services {
		for i, name := range names {
			place := places[i%len(places)]
			if svc == probes.ServiceS3 {
				place = places[(i+1)%len(places)]
			}
			tg := probes.Target{Service: svc, Resource: name, Place: place}
			for k := range 1 + n%5 {
				st := probes.Statuses[(n+k)%len(probes.Statuses)]
				cl := probes.ClassNone
				if st != probes.Healthy {
					cl = probes.Classes[(n+k)%len(probes.Classes)]
				}
				snap := snapshot(tg, st, ratios[(n+k)%len(ratios)], ratios[(n+2*k)%len(ratios)])
				if n%7 == 3 {
					snap = health.Snapshot{Target: tg} // no status yet
				} else {
					snap.ErrorSamples, snap.ErrorMinSamples = n%11, n%6
					snap.AvailabilitySamples, snap.AvailabilityMinSamples = 3*n, n%61
					for c := range snap.Conditions {
						snap.Conditions[c].Failing = (n+k+c)%3 == 0
					}
				}
				r := result(tg, st, cl, durations[(n+k)%len(durations)])
				if n%6 == 2 { // a queue: its probe reads a backlog
					items := int64(n * k)
					r.Backlog = &items
				}
				m.Observe(r, snap,
					Thresholds{ResponseTime: durations[n%len(durations)], ErrorRate: ratios[n%len(ratios)], Availability: ratios[(n+3)%len(ratios)]})
			}
			for range n % 3 {
				m.Skipped(tg)
			}
			if n%4 == 1 {
				m.Panicked(tg)
			}
			n++
		}
	}
	// One name in every place: the same account, region, resource and
	// service in two tenants.
	for _, pl := range places {
		tg := probes.Target{Service: probes.ServiceSQS, Resource: "same", Place: pl}
		m.Observe(result(tg, probes.Degraded, probes.ClassThrottled, time.Second), snapshot(tg, probes.Degraded, 0.5, 0.5), th)
	}
	// Counts beyond the range where 'g' formatting writes plain digits.
	big := probes.Target{Service: probes.ServiceDynamoDB, Resource: "big"}
	m.Observe(result(big, probes.Healthy, probes.ClassNone, time.Millisecond), snapshot(big, probes.Healthy, 0, 1), th)
	s := m.series(big)
	s.probes[0], s.failures[1], s.skipped, s.panics = 999999, 1000000, 1234567, 1<<53+1
	return m
}

// TestExpositionMatchesRegistry checks socmond's encoder against the
// registry path on the same state: the same families, HELP, TYPE, label
// sets and values once parsed, and in fact the same text, byte for byte
// (order of families and series, float formatting, escaping).
func TestExpositionMatchesRegistry(t *testing.T) {
	m := populated()
	want, got := oracleText(t, m), ownText(t, m)

	wantFams, err := testenv.ParseText(want)
	if err != nil {
		t.Fatalf("registry text does not parse: %v", err)
	}
	gotFams, err := testenv.ParseText(got)
	if err != nil {
		t.Fatalf("socmond's text does not parse: %v", err)
	}
	if len(gotFams) != len(targetFamilies) || len(wantFams) != len(targetFamilies) {
		t.Fatalf("families: socmond %d, registry %d, want %d", len(gotFams), len(wantFams), len(targetFamilies))
	}
	series := 0
	for i := range wantFams {
		if !proto.Equal(gotFams[i], wantFams[i]) {
			t.Errorf("family %s differs:\nsocmond:\n%s\nregistry:\n%s", wantFams[i].GetName(), familyText(gotFams[i]), familyText(wantFams[i]))
		}
		series += len(wantFams[i].GetMetric())
	}
	// Every target's series and the queues' backlog: the contract's
	// count, so the fixture cannot shrink to something that proves nothing.
	queues := 0
	for _, s := range m.targets {
		if s.hasBacklog {
			queues++
		}
	}
	if targets := len(m.targets); series != targets*(2*len(probes.Statuses)+len(probes.Classes)+len(conditionNames)+13)+queues || targets < 50 || queues < 5 {
		t.Errorf("%d series for %d targets, %d of them with a backlog", series, targets, queues)
	}
	for _, s := range []string{`\"`, `\\`, `\n`, "表-ü", "\uFFFD", `le="+Inf"`, "e+06", "e-07",
		`{account="111122223333",region="eu-west-1",resource="same",service="sqs",status="degraded",tenant="beta"} 1`,
		`{account="111122223333",class="throttled",region="ap-east-1",resource="same",service="sqs",tenant="acme"} 1`} {
		if !strings.Contains(got, s) {
			t.Errorf("fixture does not exercise %q", s)
		}
	}
	if got != want {
		t.Errorf("text differs from the registry's (first difference at byte %d)", firstDiff(got, want))
	}
}

func familyText(mf *dto.MetricFamily) string {
	var b bytes.Buffer
	if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
		return err.Error()
	}
	return b.String()
}

func firstDiff(a, b string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestAppendFloat compares the number formatting with expfmt's, value by
// value, special cases included.
func TestAppendFloat(t *testing.T) {
	values := []float64{0, math.Copysign(0, -1), 1, -1, 2, 0.5, 0.1 + 0.2, 1.0 / 3, 1e-4, 1e-5, 123456, 999999, 1e6, 1234567,
		1 << 53, 1<<53 + 2, 1e21, 1e22, math.MaxUint64, math.MaxFloat64, math.SmallestNonzeroFloat64, -7.5,
		math.Inf(1), math.Inf(-1), math.NaN()}
	for _, v := range values {
		var b bytes.Buffer
		name, kind := "x", dto.MetricType_GAUGE
		mf := &dto.MetricFamily{Name: &name, Type: &kind, Metric: []*dto.Metric{{Gauge: &dto.Gauge{Value: &v}}}}
		if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
			t.Fatal(err)
		}
		// The text is "# TYPE x gauge\nx VALUE\n".
		want := strings.TrimSuffix(b.String()[strings.LastIndex(b.String(), "x ")+2:], "\n")
		if got := string(appendFloat(nil, v)); got != want {
			t.Errorf("appendFloat(%v) = %q, expfmt writes %q", v, got, want)
		}
	}
}

// TestScrapeFamiliesOnce reads a whole scrape of the daemon's handler: every
// family once, in name order, the registry's and socmond's interleaved.
func TestScrapeFamiliesOnce(t *testing.T) {
	m := populated()
	m.SchedulerLag(time.Millisecond)
	body := get(t, m.Handler(zerolog.Nop()), "/metrics")
	var names []string
	for line := range strings.Lines(body) {
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			names = append(names, strings.Fields(rest)[0])
		}
	}
	if !slices.IsSorted(names) {
		t.Errorf("families not in name order: %v", names)
	}
	if len(slices.Compact(slices.Clone(names))) != len(names) {
		t.Errorf("a family appears twice: %v", names)
	}
	// Both sources are there, interleaved: scheduler_lag (registry) sorts
	// between socmond's probes_total and scheduler_skipped_total.
	i := slices.Index(names, "socmond_scheduler_lag_seconds")
	if i <= 0 || names[i-1] != "socmond_probes_total" || names[i+1] != "socmond_scheduler_skipped_total" {
		t.Errorf("registry and per-resource families not interleaved: %v", names)
	}
	if _, err := testenv.ParseText(body); err != nil {
		t.Errorf("scrape does not parse: %v", err)
	}
}

// TestNameFilter: name[] selects families from both sources, as promhttp's
// handler does.
func TestNameFilter(t *testing.T) {
	m := populated()
	body := get(t, m.Handler(zerolog.Nop()), "/metrics?name[]=socmond_probes_total&name[]=go_goroutines")
	fams, err := testenv.ParseText(body)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, mf := range fams {
		names = append(names, mf.GetName())
	}
	if want := []string{"go_goroutines", "socmond_probes_total"}; !slices.Equal(names, want) {
		t.Errorf("families = %v, want %v", names, want)
	}
}

// TestNoTargets: with no target seen, no per-resource family is written,
// not even its HELP and TYPE lines.
func TestNoTargets(t *testing.T) {
	body := get(t, New("test", "").Handler(zerolog.Nop()), "/metrics")
	for _, f := range targetFamilies {
		if strings.Contains(body, f.name) {
			t.Errorf("%s written without targets", f.name)
		}
	}
}

// TestDuplicateAfterUTF8Repair: two names that differ only in invalid
// UTF-8 export the same label values; one series is written, always the
// same one, rather than a duplicate Prometheus would reject.
func TestDuplicateAfterUTF8Repair(t *testing.T) {
	m := New("test", "")
	a := probes.Target{Service: probes.ServiceS3, Resource: "b\xfe"}
	b := probes.Target{Service: probes.ServiceS3, Resource: "b\xff"}
	m.Skipped(b)
	m.Skipped(a)
	m.Skipped(a)
	v := testenv.MetricValue(t, scraped(m), "socmond_scheduler_skipped_total", testenv.Labels("resource", "b\uFFFD"))
	if n := count(t, m, "socmond_scheduler_skipped_total"); n != 1 || v != 2 {
		t.Errorf("%d series, value %v; want 1 series, the first name's (2)", n, v)
	}
}

// TestReservedNames: a collector exporting a name socmond writes itself is
// refused at registration, as when the family was the registry's.
func TestReservedNames(t *testing.T) {
	m := New("test", "")
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "socmond_probes_total", Help: "Probe runs by resulting status (healthy, degraded, unavailable)."})
	if err := m.Registry().Register(c); err == nil {
		t.Error("a second socmond_probes_total was registered")
	}
}

// undescribed is a collector the registry cannot check at registration
// (it describes nothing), exporting what it is told to.
type undescribed struct {
	mu      sync.Mutex
	metrics []prometheus.Metric
}

func (*undescribed) Describe(chan<- *prometheus.Desc) {}

func (u *undescribed) Collect(ch chan<- prometheus.Metric) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, m := range u.metrics {
		ch <- m
	}
}

func (u *undescribed) set(ms ...prometheus.Metric) {
	u.mu.Lock()
	u.metrics = ms
	u.mu.Unlock()
}

// TestGatherError: a collector that fails, or that exports a name socmond
// writes itself, costs its own series, not the scrape: the rest is served,
// and the error is logged and counted.
func TestGatherError(t *testing.T) {
	m := New("test", "")
	m.Skipped(table)
	bad := &undescribed{}
	m.Registry().MustRegister(bad)
	var logs bytes.Buffer
	h := m.Handler(zerolog.New(&logs))

	desc := prometheus.NewDesc("socmond_widget", "A widget.", nil, nil)
	dup := prometheus.NewDesc("socmond_scheduler_skipped_total", "Scheduled probe runs skipped because the previous run of the same probe was still going.", []string{"resource", "service"}, nil)
	cases := []struct {
		name   string
		metric prometheus.Metric
		want   string
	}{
		{"failing collector", prometheus.NewInvalidMetric(desc, errors.New("widget unreachable")), "widget unreachable"},
		{"duplicate family", prometheus.MustNewConstMetric(dup, prometheus.CounterValue, 7, table.Resource, table.Service), "socmond_scheduler_skipped_total"},
	}
	want := 0.0 // gathering errors counted so far
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			logs.Reset()
			bad.set(tc.metric)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
			if rec.Code != http.StatusOK {
				t.Fatalf("GET /metrics = %d %q, want 200 with the rest", rec.Code, rec.Body)
			}
			list, err := testenv.ParseText(rec.Body.String())
			if err != nil {
				t.Fatalf("answer does not parse: %v", err)
			}
			fams := map[string]*dto.MetricFamily{}
			for _, mf := range list {
				fams[mf.GetName()] = mf
			}
			if _, ok := fams["socmond_widget"]; ok {
				t.Error("the failing collector's family was served")
			}
			skipped := fams["socmond_scheduler_skipped_total"]
			if skipped == nil || len(skipped.GetMetric()) != 1 || skipped.GetMetric()[0].GetCounter().GetValue() != 1 {
				t.Errorf("socmond's own skipped_total not served alone with its value 1: %v", skipped)
			}
			if _, ok := fams["go_goroutines"]; !ok {
				t.Error("the registry's other families are missing")
			}
			if !strings.Contains(logs.String(), tc.want) {
				t.Errorf("log lacks the error: %s", logs.String())
			}
			want++
			bad.set()
			got := testenv.MetricValue(t, testenv.Scrape(h), "promhttp_metric_handler_errors_total", testenv.Labels("cause", "gathering"))
			if got != want {
				t.Errorf("gathering errors = %v, want %v", got, want)
			}
		})
	}
}

// blocking is a collector that holds every scrape in Collect until
// released, telling entered when one arrives.
type blocking struct {
	entered chan struct{}
	release chan struct{}
}

func (*blocking) Describe(chan<- *prometheus.Desc) {}

func (b *blocking) Collect(chan<- prometheus.Metric) {
	b.entered <- struct{}{}
	<-b.release
}

// TestInFlightLimit: a fifth scrape while four are running is refused with
// 503, as promhttp did with MaxRequestsInFlight 4.
func TestInFlightLimit(t *testing.T) {
	m := New("test", "")
	b := &blocking{entered: make(chan struct{}), release: make(chan struct{})}
	m.Registry().MustRegister(b)
	h := m.Handler(zerolog.Nop())
	codes := make(chan int, maxInFlight)
	for range maxInFlight {
		go func() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
			codes <- rec.Code
		}()
		<-b.entered
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("scrape beyond the limit = %d, want 503", rec.Code)
	}
	close(b.release)
	for range maxInFlight {
		if c := <-codes; c != http.StatusOK {
			t.Errorf("scrape within the limit = %d, want 200", c)
		}
	}
}

func get(t *testing.T, h http.Handler, url string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, url, nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s = %d: %s", url, rec.Code, rec.Body)
	}
	return rec.Body.String()
}
