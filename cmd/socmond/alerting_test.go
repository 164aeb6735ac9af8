package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/socmond/socmond/internal/alerting"
	"github.com/socmond/socmond/internal/testenv"
)

// alWebhook is the receiver behind the real Alertmanager: it keeps every
// alert it is sent, with the time it arrived.
type alWebhook struct {
	mu  sync.Mutex
	got []alReceived
}

type alReceived struct {
	at          time.Time
	Status      string            `json:"status"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

func (w *alWebhook) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	var msg struct {
		Alerts []alReceived `json:"alerts"`
	}
	if err := json.NewDecoder(r.Body).Decode(&msg); err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, a := range msg.Alerts {
		a.at = time.Now()
		w.got = append(w.got, a)
	}
}

// find returns the first alert alReceived after since that matches.
func (w *alWebhook) find(since time.Time, match func(alReceived) bool) (alReceived, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, a := range w.got {
		if !a.at.Before(since) && match(a) {
			return a, true
		}
	}
	return alReceived{}, false
}

// fromSocmond matches socmond's own error-rate alert in a state.
func fromSocmond(status string) func(alReceived) bool {
	return func(a alReceived) bool {
		return a.Labels["alertname"] == alerting.AlertHighErrorRate && a.Status == status
	}
}

const e2eTable = "AsiaAgenticSocMetrics-dev"

// TestAlertingEndToEnd runs socmond against the simulator with the real
// Alertmanager: a DynamoDB fault must reach the webhook with the contract's
// labels and annotations and the probe's own hint, resolve when it clears,
// and an alert raised while Alertmanager is down must arrive once it is
// back (queue and retry). Both paths, with the shipped rules and routing,
// are test/paging's.
func TestAlertingEndToEnd(t *testing.T) {
	amBin := testenv.Tool(t, "prometheus-alertmanager")
	simURL := startSim(t)
	dir := t.TempDir()
	alerting.BackoffMax = time.Second // retry quickly once Alertmanager is back
	t.Cleanup(func() { alerting.BackoffMax = 30 * time.Second })

	hook := &alWebhook{}
	hookSrv := httptest.NewServer(hook)
	t.Cleanup(hookSrv.Close)

	amPort, socPort := testenv.FreePort(t), testenv.FreePort(t)
	amAddr, socAddr := testenv.Addr(amPort), testenv.Addr(socPort)
	alWrite(t, filepath.Join(dir, "am.yml"), fmt.Sprintf(`
route:
  receiver: hook
  group_by: [alertname, service, resource]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: %s
        send_resolved: true
`, hookSrv.URL))
	startAM := func(run int) func() {
		cmd := testenv.Start(t, amAddr, nil, amBin, "--config.file="+filepath.Join(dir, "am.yml"),
			fmt.Sprintf("--storage.path=%s/am%d", dir, run), "--web.listen-address="+amAddr, "--cluster.listen-address=")
		return func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() }
	}
	stopAM := startAM(1)

	cfgFile := filepath.Join(dir, "socmond.yaml")
	alWrite(t, cfgFile, alConfig("e2e", fmt.Sprintf(`{url: "http://%s"}`, amAddr), "2s"))
	startDaemon(t, cfgFile, "--web.listen-address", socAddr)
	base := "http://" + socAddr
	poll(t, "socmond ready", func() bool {
		resp, err := http.Get(base + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	// Phase 1: fault → the alert fires → fault clears → it resolves.
	faultAt := alInjectFault(t, simURL)
	own := alWaitAlert(t, hook, faultAt, "socmond's alert", fromSocmond("firing"))
	t.Logf("fault → webhook: socmond %s", own.at.Sub(faultAt).Round(time.Millisecond))
	alCheckContract(t, own)
	if !strings.Contains(own.Annotations["hint"], "table "+e2eTable) {
		t.Errorf("socmond's hint should be the probe's own: %q", own.Annotations["hint"])
	}

	clearAt := alClearFaults(t, simURL)
	ownR := alWaitAlert(t, hook, clearAt, "socmond's alert to resolve", fromSocmond("resolved"))
	t.Logf("fault cleared → resolved at the webhook: socmond %s", ownR.at.Sub(clearAt).Round(time.Millisecond))

	// Phase 2: Alertmanager down while the alert fires; socmond queues and
	// retries, and the alert arrives after the restart.
	stopAM()
	faultAt = alInjectFault(t, simURL)
	poll(t, "a failed delivery to the stopped Alertmanager", func() bool {
		return strings.Contains(scrape(t, base), `socmond_notifications_total{result="failure"}`) &&
			!strings.Contains(scrape(t, base), `socmond_notifications_total{result="failure"} 0`)
	})
	// At least this alert is queued (others, such as the error-rate alert
	// firing alongside it, may be too, depending on timing), and nothing
	// was dropped.
	if m := scrape(t, base); strings.Contains(m, "socmond_notification_queue_length 0") ||
		!strings.Contains(m, "socmond_notification_queue_length ") || !strings.Contains(m, "socmond_notifications_dropped_total 0") {
		t.Errorf("the alert is not queued while Alertmanager is down, or was dropped:\n%s", alGrep(m, "socmond_notification"))
	}
	restartAt := time.Now()
	startAM(2)
	again := alWaitAlert(t, hook, faultAt, "socmond's alert after the Alertmanager restart", fromSocmond("firing"))
	alCheckContract(t, again)
	t.Logf("Alertmanager restart → webhook: socmond %s", again.at.Sub(restartAt).Round(time.Millisecond))
	metrics := scrape(t, base)
	if !strings.Contains(metrics, `socmond_alerts{alertname="AWSServiceHighErrorRate",state="firing"} 1`) {
		t.Errorf("socmond_alerts does not show the firing alert:\n%s", alGrep(metrics, "socmond_alerts"))
	}
	doc := alFetch(t, base+"/api/v1/status")
	if !strings.Contains(doc, `"id":"alerts"`) || !strings.Contains(doc, alerting.AlertHighErrorRate) {
		t.Errorf("/api/v1/status has no alerts panel with the firing alert")
	}
	alClearFaults(t, simURL)
}

// alConfig is socmond's config for the alerting tests: the DynamoDB table
// probed every second, alert rules with test-sized windows, and the given
// Alertmanagers (a YAML flow list's items) and resend interval.
func alConfig(tenant, alertmanagers, resend string) string {
	return fmt.Sprintf(`
region: us-east-1
tenant: %s
defaults:
  schedule: "@every 1s"
  timeout: 2s
  windows: {error_rate: 5s, availability: 10s}
services:
  dynamodb:
    resources: [{name: %s}]
alerting:
  alertmanagers: [%s]
  resend_interval: %s
  min_sample_ratio: 0.6
  runbook_base_url: https://runbooks.example/socmond.md
  rules:
    high_error_rate: {for: 2s, clear_for: 2s}
`, tenant, e2eTable, alertmanagers, resend)
}

// alCheckContract asserts the labels and annotations both paths promise.
func alCheckContract(t *testing.T, a alReceived) {
	t.Helper()
	want := map[string]string{"alertname": alerting.AlertHighErrorRate, "service": "dynamodb", "resource": e2eTable, "severity": "page", "tenant": "e2e"}
	for k, v := range want {
		if a.Labels[k] != v {
			t.Errorf("%s alert: label %s=%q, want %q (labels %v)", "socmond", k, a.Labels[k], v, a.Labels)
		}
	}
	if a.Annotations["summary"] != "dynamodb "+e2eTable+" error rate is high" {
		t.Errorf("summary %q", a.Annotations["summary"])
	}
	for _, k := range []string{"description", "hint", "runbook_url"} {
		if a.Annotations[k] == "" {
			t.Errorf("%s alert: annotation %s missing (%v)", "socmond", k, a.Annotations)
		}
	}
	if !strings.HasSuffix(a.Annotations["runbook_url"], "#awsservicehigherrorrate") {
		t.Errorf("runbook_url %q", a.Annotations["runbook_url"])
	}
}

func alInjectFault(t *testing.T, simURL string) time.Time {
	t.Helper()
	at := time.Now()
	resp, err := http.Post(simURL+"/_sim/faults", "application/json",
		strings.NewReader(fmt.Sprintf(`{"service":"dynamodb","resource":%q,"error":"AccessDeniedException"}`, e2eTable)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return at
}

func alClearFaults(t *testing.T, simURL string) time.Time {
	t.Helper()
	at := time.Now()
	req, _ := http.NewRequest(http.MethodDelete, simURL+"/_sim/faults", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return at
}

func alWaitAlert(t *testing.T, w *alWebhook, since time.Time, what string, match func(alReceived) bool) alReceived {
	t.Helper()
	var got alReceived
	deadline := time.Now().Add(60 * time.Second)
	for {
		if a, ok := w.find(since, match); ok {
			got = a
			break
		}
		if time.Now().After(deadline) {
			w.mu.Lock()
			t.Fatalf("timed out waiting for %s; alWebhook got %+v", what, w.got)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return got
}

func alFetch(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return b.String()
}

func alGrep(s, prefix string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func alWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
