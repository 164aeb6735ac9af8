package alerting

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/testenv"
)

// runNotifier runs n until the test ends, and then requires Run to return:
// it waits for every queue's goroutine, so a leaked one fails the test.
func runNotifier(t *testing.T, n *Notifier) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.Run(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("Notifier.Run did not return: a queue's goroutine is still running")
		}
	})
}

// startAM starts a fake Alertmanager that stops with the test.
func startAM(t *testing.T, down bool) (*fakeAM, string) {
	t.Helper()
	am := &fakeAM{down: down}
	srv := httptest.NewServer(am)
	t.Cleanup(srv.Close)
	return am, srv.URL
}

func buildAMs(t *testing.T, capacity int, ams ...config.Alertmanager) *Alertmanagers {
	t.Helper()
	s, err := BuildAlertmanagers(&config.Alerting{QueueCapacity: capacity, Alertmanagers: ams})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (f *fakeAM) setDown(down bool) {
	f.mu.Lock()
	f.down = down
	f.mu.Unlock()
}

// names lists the alertnames f received, in order.
func (f *fakeAM) names() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return alertnames(f.got)
}

func alertnames(ns []Notification) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.Labels["alertname"])
	}
	return out
}

// ended waits for a removed queue's goroutine to end.
func ended(t *testing.T, q *amQueue, what string) {
	t.Helper()
	select {
	case <-q.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("the goroutine of %s did not end", what)
	}
}

func TestSetAlertmanagersKeepsUnchangedQueue(t *testing.T) {
	amA, urlA := startAM(t, true)
	_, urlB := startAM(t, false)
	a := config.Alertmanager{URL: urlA, BearerToken: "tok", Timeout: config.Duration(5 * time.Second)}
	n, err := NewNotifier(&config.Alerting{QueueCapacity: 10, Alertmanagers: []config.Alertmanager{a}}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	runNotifier(t, n)
	e := NewEngine(Settings{}, time.Minute, n)
	n.Enqueue([]Notification{note("X"), note("Y")})
	testenv.Eventually(t, "a failed delivery to the down Alertmanager", func() bool {
		return testutil.ToFloat64(metricVec(t, e, "socmond_notifications_total", "failure")) > 0
	})
	qa := n.queues[0]

	// The same settings (a fresh copy, as a reload decodes them) plus B.
	same := a
	added := n.SetAlertmanagers(buildAMs(t, 5, same, config.Alertmanager{URL: urlB}))
	if n.queues[0] != qa || len(n.queues) != 2 {
		t.Fatalf("the unchanged Alertmanager got a new queue")
	}
	if got := added.(queueSet); len(got) != 1 || got[0].key.url != urlB {
		t.Fatalf("added %d queues, want only B's", len(got))
	}
	select {
	case <-qa.done:
		t.Fatal("the unchanged Alertmanager's goroutine ended")
	default:
	}
	if l := n.QueueLength(); l != 2 {
		t.Fatalf("queue length %d after the reload, want A's 2 pending", l)
	}
	qa.mu.Lock()
	capacity := qa.cap
	qa.mu.Unlock()
	if capacity != 5 {
		t.Errorf("kept queue capacity %d, want the new 5", capacity)
	}
	amA.setDown(false)
	testenv.Eventually(t, "A's pending notifications delivered", func() bool { return amA.count() == 2 })
	amA.mu.Lock()
	defer amA.mu.Unlock()
	if amA.auth != "Bearer tok" {
		t.Errorf("Authorization %q", amA.auth)
	}
}

func TestSetAlertmanagersStopsRemovedQueue(t *testing.T) {
	amA, urlA := startAM(t, false)
	amB, urlB := startAM(t, true)
	// B's URL carries credentials: the log line must not.
	urlB = strings.Replace(urlB, "http://", "http://user:hunter2@", 1)
	var logs testenv.Buffer
	n, err := NewNotifier(&config.Alerting{QueueCapacity: 10, Alertmanagers: []config.Alertmanager{{URL: urlA}, {URL: urlB}}},
		zerolog.New(&logs))
	if err != nil {
		t.Fatal(err)
	}
	runNotifier(t, n)
	e := NewEngine(Settings{}, time.Minute, n)
	n.Enqueue([]Notification{note("X")})
	testenv.Eventually(t, "A to receive X", func() bool { return amA.count() == 1 })
	testenv.Eventually(t, "a failed delivery to B", func() bool {
		return testutil.ToFloat64(metricVec(t, e, "socmond_notifications_total", "failure")) > 0
	})
	qa, qb := n.queues[0], n.queues[1]

	n.SetAlertmanagers(buildAMs(t, 10, config.Alertmanager{URL: urlA}))
	ended(t, qb, "the removed Alertmanager")
	if got := testutil.ToFloat64(metricVec(t, e, "socmond_notifications_dropped_total", "")); got != 1 {
		t.Errorf("dropped %v, want B's 1 pending notification", got)
	}
	var removed []string
	for _, l := range testenv.Lines(logs.String()) {
		if strings.Contains(l, "removed from the config") {
			removed = append(removed, l)
		}
	}
	if len(removed) != 1 || !strings.Contains(removed[0], `"dropped":1`) || !strings.Contains(removed[0], strings.TrimPrefix(urlB, "http://user:hunter2@")) {
		t.Errorf("want one log line naming B and the 1 dropped, got %q", removed)
	}
	if strings.Contains(logs.String(), "hunter2") {
		t.Errorf("the log shows B's password:\n%s", logs.String())
	}

	amB.setDown(false)
	n.Enqueue([]Notification{note("Y")})
	testenv.Eventually(t, "A to receive Y", func() bool { return amA.count() == 2 })
	if c := amB.count(); c != 0 {
		t.Errorf("the removed Alertmanager received %d alerts", c)
	}

	// Removing the last one leaves a Notifier that still runs and
	// delivers nowhere.
	n.SetAlertmanagers(buildAMs(t, 10))
	ended(t, qa, "the last Alertmanager")
	n.Enqueue([]Notification{note("Z")})
	if l := n.QueueLength(); l != 0 {
		t.Errorf("queue length %d with no Alertmanager", l)
	}
	n.Flush(context.Background())
	if c := amA.count(); c != 2 {
		t.Errorf("A received %d alerts after it was removed", c-2)
	}
}

// TestSendFiringReachesOnlyAddedAlertmanagers starts alerting with no
// Alertmanager, adds one and then a second by SetAlertmanagers: each is
// sent the firing alert at once (the resend interval is an hour), the one
// already there is not sent it again, and the pending alert goes nowhere.
func TestSendFiringReachesOnlyAddedAlertmanagers(t *testing.T) {
	amA, urlA := startAM(t, false)
	amB, urlB := startAM(t, false)
	n, err := NewNotifier(&config.Alerting{QueueCapacity: 10}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	runNotifier(t, n)
	e := NewEngine(Settings{}, time.Hour, n)
	now := time.Now()
	e.Set(Signal{Labels: map[string]string{"alertname": AlertHighErrorRate, "resource": "a"}, Active: true}, now)
	e.Set(Signal{Labels: map[string]string{"alertname": AlertSlowResponse, "resource": "a"}, Active: true, For: time.Hour}, now)

	e.SendFiring(n.SetAlertmanagers(buildAMs(t, 10, config.Alertmanager{URL: urlA})), time.Now())
	testenv.Eventually(t, "A to receive the firing alert", func() bool { return amA.count() == 1 })

	e.SendFiring(n.SetAlertmanagers(buildAMs(t, 10, config.Alertmanager{URL: urlA}, config.Alertmanager{URL: urlB})), time.Now())
	testenv.Eventually(t, "B to receive the firing alert", func() bool { return amB.count() == 1 })
	// A marker through every queue: A's queue is in order, so a resend to
	// A would arrive before it.
	n.Enqueue([]Notification{note("marker")})
	testenv.Eventually(t, "A to receive the marker", func() bool { return amA.count() >= 2 })
	for am, want := range map[*fakeAM]string{amA: AlertHighErrorRate + ",marker", amB: AlertHighErrorRate + ",marker"} {
		testenv.Eventually(t, "the marker", func() bool { return len(am.names()) >= 2 })
		if got := strings.Join(am.names(), ","); got != want {
			t.Errorf("received %s, want %s", got, want)
		}
	}
	amB.mu.Lock()
	endsAt := amB.got[0].EndsAt
	amB.mu.Unlock()
	if endsAt.Before(now.Add(3 * time.Hour)) {
		t.Errorf("B's firing alert ends at %s, want four resend intervals ahead", endsAt)
	}
}

func TestBuildAlertmanagersBadTLS(t *testing.T) {
	amA, urlA := startAM(t, false)
	n, err := NewNotifier(&config.Alerting{QueueCapacity: 10, Alertmanagers: []config.Alertmanager{{URL: urlA}}}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	runNotifier(t, n)
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.txt")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, ca := range []string{filepath.Join(dir, "missing.pem"), notPEM} {
		_, err := BuildAlertmanagers(&config.Alerting{QueueCapacity: 10, Alertmanagers: []config.Alertmanager{
			{URL: "https://user:hunter2@am.example:9093", TLS: config.TLS{CAFile: ca}},
		}})
		if err == nil || !strings.Contains(err.Error(), ca) || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("ca_file %s: error %v, want one naming the file and not the password", ca, err)
		}
	}
	// Nothing was applied: A still has its queue and receives.
	n.Enqueue([]Notification{note("X")})
	testenv.Eventually(t, "A to receive X", func() bool { return amA.count() == 1 })
}

// TestReloadRereadsTLSFiles: an Alertmanager whose settings are the same
// but whose CA file now holds the right certificate keeps its queue and
// delivers through a client built from the new file.
func TestReloadRereadsTLSFiles(t *testing.T) {
	am := &fakeAM{}
	srv := httptest.NewTLSServer(am)
	t.Cleanup(srv.Close)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	writeCA := func(der []byte) {
		t.Helper()
		if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeCA(selfSigned(t)) // not srv's CA: every delivery fails
	a := config.Alertmanager{URL: srv.URL, TLS: config.TLS{CAFile: caFile}}
	n, err := NewNotifier(&config.Alerting{QueueCapacity: 10, Alertmanagers: []config.Alertmanager{a}}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	runNotifier(t, n)
	e := NewEngine(Settings{}, time.Minute, n)
	n.Enqueue([]Notification{note("X")})
	testenv.Eventually(t, "a failed delivery under the wrong CA", func() bool {
		return testutil.ToFloat64(metricVec(t, e, "socmond_notifications_total", "failure")) > 0
	})
	q := n.queues[0]
	writeCA(srv.Certificate().Raw)
	n.SetAlertmanagers(buildAMs(t, 10, a))
	if n.queues[0] != q {
		t.Fatal("the unchanged Alertmanager got a new queue")
	}
	testenv.Eventually(t, "delivery under the rotated CA", func() bool { return am.count() == 1 })
}

// selfSigned is a certificate no test server uses.
func selfSigned(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "not the Alertmanager's CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestLowerCapacityAppliesToKeptQueue: a reload that lowers queue_capacity
// drops nothing itself; the next notification makes the queue fit.
func TestLowerCapacityAppliesToKeptQueue(t *testing.T) {
	am := config.Alertmanager{URL: "http://127.0.0.1:1"}
	n, err := NewNotifier(&config.Alerting{QueueCapacity: 10, Alertmanagers: []config.Alertmanager{am}}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	e := NewEngine(Settings{}, time.Minute, n)
	// Not running: nothing leaves the queue.
	n.Enqueue([]Notification{note("A"), note("B"), note("C"), note("D")})
	n.SetAlertmanagers(buildAMs(t, 2, am))
	if l := n.QueueLength(); l != 4 {
		t.Fatalf("queue length %d right after the reload, want the 4 pending", l)
	}
	n.Enqueue([]Notification{note("E")})
	if got := strings.Join(queued(n.queues[0]), ","); got != "D,E" {
		t.Errorf("queue holds %s, want D,E", got)
	}
	if got := testutil.ToFloat64(metricVec(t, e, "socmond_notifications_dropped_total", "")); got != 3 {
		t.Errorf("dropped %v, want 3", got)
	}
}

func queued(q *amQueue) []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return alertnames(q.items)
}
