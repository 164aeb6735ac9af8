package alerting

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/testenv"
)

// fakeAM answers 503 while down, records the alerts it accepts and the
// Authorization header it saw. refuse, when set, may answer a batch with
// an error status instead (0: accept it).
type fakeAM struct {
	mu     sync.Mutex
	down   bool
	got    []Notification
	auth   string
	refuse func([]Notification) (status int, body string)
}

func (f *fakeAM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.URL.Path != "/api/v2/alerts" || r.Method != http.MethodPost {
		http.Error(w, "bad path", http.StatusNotFound)
		return
	}
	f.auth = r.Header.Get("Authorization")
	if f.down {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	var ns []Notification
	if err := json.NewDecoder(r.Body).Decode(&ns); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if f.refuse != nil {
		if status, body := f.refuse(ns); status != 0 {
			http.Error(w, body, status)
			return
		}
	}
	f.got = append(f.got, ns...)
}

func (f *fakeAM) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.got)
}

func note(name string) Notification {
	return Notification{Labels: map[string]string{"alertname": name}, StartsAt: t0, EndsAt: t0.Add(time.Hour)}
}

func TestNotifierRetriesUntilDelivered(t *testing.T) {
	am := &fakeAM{down: true}
	srv := httptest.NewServer(am)
	defer srv.Close()
	n, err := NewNotifier(&config.Alerting{QueueCapacity: 10, Alertmanagers: []config.Alertmanager{
		{URL: srv.URL, BearerToken: "tok"},
	}}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	n.Enqueue([]Notification{note("A"), note("B")})
	e := NewEngine(Settings{}, time.Minute, n)
	testenv.Eventually(t, "a failed attempt", func() bool {
		return testutil.ToFloat64(metricVec(t, e, "socmond_notifications_total", "failure")) > 0
	})
	if n.QueueLength() != 2 {
		t.Fatalf("queue length %d while the Alertmanager is down, want 2", n.QueueLength())
	}
	am.mu.Lock()
	am.down = false
	am.mu.Unlock()
	testenv.Eventually(t, "delivery after recovery", func() bool { return am.count() == 2 })
	testenv.Eventually(t, "an empty queue", func() bool { return n.QueueLength() == 0 })
	if am.auth != "Bearer tok" {
		t.Fatalf("Authorization %q", am.auth)
	}
}

// A batch Alertmanager refuses with a 4xx will never be taken: it is
// dropped, counted and logged once, and the alerts behind it are delivered.
// 408 and 429 say "later", so those keep being retried like a 5xx.
func TestNotifierDropsBatchRefusedFor4xx(t *testing.T) {
	for _, tc := range []struct {
		status  int
		dropped bool
	}{
		{http.StatusBadRequest, true},
		{http.StatusUnprocessableEntity, true},
		{http.StatusRequestTimeout, false},
		{http.StatusTooManyRequests, false},
		{http.StatusInternalServerError, false},
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			var refusals int
			am := &fakeAM{}
			// A "bad" alert is refused every time, as Alertmanager refuses
			// an invalid alert, here through a proxy that quotes the
			// request's credentials; a retryable status clears after two
			// tries.
			am.refuse = func(ns []Notification) (int, string) {
				for _, n := range ns {
					if n.Labels["alertname"] == "bad" && (tc.dropped || refusals < 2) {
						refusals++
						return tc.status, `{"code":400,"message":"invalid label set","authorization":"Bearer s3cr3t-token"}`
					}
				}
				return 0, ""
			}
			srv := httptest.NewServer(am)
			defer srv.Close()
			var logs testenv.Buffer
			n, err := NewNotifier(&config.Alerting{QueueCapacity: 10, Alertmanagers: []config.Alertmanager{
				{URL: srv.URL, BearerToken: "s3cr3t-token"},
			}}, zerolog.New(&logs))
			if err != nil {
				t.Fatal(err)
			}
			runNotifier(t, n)
			e := NewEngine(Settings{}, time.Minute, n)

			n.Enqueue([]Notification{note("bad")})
			testenv.Eventually(t, "the first refusal", func() bool {
				am.mu.Lock()
				defer am.mu.Unlock()
				return refusals > 0
			})
			n.Enqueue([]Notification{note("later")})
			want := "bad,later"
			if tc.dropped {
				want = "later"
			}
			testenv.Eventually(t, "the later alert delivered", func() bool {
				return strings.Join(am.names(), ",") == want
			})
			testenv.Eventually(t, "an empty queue", func() bool { return n.QueueLength() == 0 })

			dropped := testutil.ToFloat64(metricVec(t, e, "socmond_notifications_dropped_total", ""))
			am.mu.Lock()
			defer am.mu.Unlock()
			errors := strings.Count(logs.String(), `"level":"error"`)
			if !tc.dropped {
				if dropped != 0 || errors != 0 {
					t.Fatalf("status %d: dropped %v, %d error logs; want it retried", tc.status, dropped, errors)
				}
				return
			}
			if dropped != 1 || refusals != 1 {
				t.Fatalf("dropped %v after %d refusals, want 1 after 1", dropped, refusals)
			}
			if errors != 1 || !strings.Contains(logs.String(), "invalid label set") || !strings.Contains(logs.String(), fmt.Sprint(tc.status)) {
				t.Fatalf("want one error log with the status and the answer, got:\n%s", logs.String())
			}
			if strings.Contains(logs.String(), "s3cr3t-token") {
				t.Fatalf("the log holds the bearer token:\n%s", logs.String())
			}
		})
	}
}

func TestNotifierDropsOldestWhenFull(t *testing.T) {
	n, err := NewNotifier(&config.Alerting{QueueCapacity: 2, Alertmanagers: []config.Alertmanager{
		{URL: "http://127.0.0.1:1", BasicAuth: &config.BasicAuth{Username: "u", Password: "p"}},
	}}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	// Not running: nothing leaves the queue.
	n.Enqueue([]Notification{note("A"), note("B"), note("A"), note("C")})
	e := NewEngine(Settings{}, time.Minute, n)
	if n.QueueLength() != 2 {
		t.Fatalf("queue length %d, want 2", n.QueueLength())
	}
	if got := testutil.ToFloat64(metricVec(t, e, "socmond_notifications_dropped_total", "")); got != 1 {
		t.Fatalf("dropped %v, want 1 (A was replaced in place, then the oldest dropped for C)", got)
	}
	names := queued(n.queues[0])
	if strings.Join(names, ",") != "B,C" {
		t.Fatalf("queue holds %v, want B,C", names)
	}
}

// metricVec picks one series of the engine's collector.
func metricVec(t *testing.T, e *Engine, name, result string) prometheus.Collector {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(e.Collector())
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.Metric {
			if len(m.Label) == 0 || m.Label[0].GetValue() == result {
				v := m.GetCounter().GetValue()
				g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "x"})
				g.Set(v)
				return g
			}
		}
	}
	t.Fatalf("no %s{%s}", name, result)
	return nil
}

func TestAlertsMetric(t *testing.T) {
	e := NewEngine(Settings{}, time.Minute, nil)
	e.Set(Signal{Labels: map[string]string{"alertname": AlertHighErrorRate, "resource": "a"}, Active: true}, t0)
	e.Set(Signal{Labels: map[string]string{"alertname": AlertHighErrorRate, "resource": "b"}, Active: true, For: time.Hour}, t0)
	want := ""
	for _, n := range knownAlerts {
		f, p := 0, 0
		if n == AlertHighErrorRate {
			f, p = 1, 1
		}
		want += fmt.Sprintf("socmond_alerts{alertname=%q,state=\"firing\"} %d\nsocmond_alerts{alertname=%q,state=\"pending\"} %d\n", n, f, n, p)
	}
	err := testutil.CollectAndCompare(e.Collector(), strings.NewReader(
		"# HELP socmond_alerts Alerts of the in-daemon rules by state (pending, firing).\n# TYPE socmond_alerts gauge\n"+want), "socmond_alerts")
	if err != nil {
		t.Fatal(err)
	}
}

// socmond_alerting_direct says whether socmond pages directly, which is
// what the shipped Prometheus rules stand down on; a reload that adds or
// removes the Alertmanagers moves it.
func TestAlertingDirectMetric(t *testing.T) {
	n, err := NewNotifier(&config.Alerting{QueueCapacity: 10}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	e := NewEngine(Settings{}, time.Minute, n)
	want := func(v int) string {
		return fmt.Sprintf("# HELP socmond_alerting_direct 1 while socmond sends its own alerts to at least one Alertmanager (alerting.alertmanagers): the shipped Prometheus rules for the same alerts then stand down, so one incident is one page.\n# TYPE socmond_alerting_direct gauge\nsocmond_alerting_direct %d\n", v)
	}
	check := func(v int) {
		t.Helper()
		if err := testutil.CollectAndCompare(e.Collector(), strings.NewReader(want(v)), "socmond_alerting_direct"); err != nil {
			t.Fatal(err)
		}
	}
	check(0)
	am, err := BuildAlertmanagers(&config.Alerting{QueueCapacity: 10, Alertmanagers: []config.Alertmanager{{URL: "http://127.0.0.1:1"}}})
	if err != nil {
		t.Fatal(err)
	}
	n.SetAlertmanagers(am)
	check(1)
	none, _ := BuildAlertmanagers(&config.Alerting{QueueCapacity: 10})
	n.SetAlertmanagers(none)
	check(0)
}
