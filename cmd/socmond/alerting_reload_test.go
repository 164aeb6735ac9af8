package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/socmond/socmond/internal/alerting"
)

// amRecorder is an Alertmanager's API v2 as far as socmond uses it: it
// keeps every alert posted, with the time it arrived.
type amRecorder struct {
	mu  sync.Mutex
	got []amPosted
	// accept, when set, says whether to take a POST now; one it does not
	// take is answered 503 and counted in refused.
	accept  func() bool
	refused int
}

type amPosted struct {
	at time.Time
	n  alerting.Notification
}

func (a *amRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/api/v2/alerts" {
		http.Error(w, "bad path", http.StatusNotFound)
		return
	}
	var ns []alerting.Notification
	if err := json.NewDecoder(r.Body).Decode(&ns); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.accept != nil && !a.accept() {
		a.refused++
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	for _, n := range ns {
		a.got = append(a.got, amPosted{at: time.Now(), n: n})
	}
}

// errorRate counts the table's error-rate alerts received after since,
// firing (endsAt ahead) or resolved (endsAt past), whatever their tenant.
func (a *amRecorder) errorRate(since time.Time, firing bool) int {
	return a.matching(since, "", firing)
}

// since counts every alert received after t.
func (a *amRecorder) since(t time.Time) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := 0
	for _, p := range a.got {
		if !p.at.Before(t) {
			c++
		}
	}
	return c
}

// TestReloadAlertmanagers runs the daemon in process against the simulator,
// paging Alertmanager A. A reload to B with an unreadable ca_file is
// rejected and A keeps being paged; a reload to B sends B the alert
// already firing at once (the resend interval is an hour), and from then
// on B is paged and A is not; a reload to a 1s resend_interval resends
// at once.
func TestReloadAlertmanagers(t *testing.T) {
	simURL := startSim(t)
	amA, amB := &amRecorder{}, &amRecorder{}
	srvA, srvB := httptest.NewServer(amA), httptest.NewServer(amB)
	t.Cleanup(srvA.Close)
	t.Cleanup(srvB.Close)
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "socmond.yaml")
	// An hour between resends: an Alertmanager added by a reload that is
	// sent the firing alert was sent it by the reload.
	config := func(am string) string { return alConfig("reload", am, "1h") }
	alWrite(t, cfgFile, config(fmt.Sprintf("{url: %q}", srvA.URL)))
	addr, logs := startDaemon(t, cfgFile)
	base := "http://" + addr
	waitReady(t, http.DefaultClient, base)
	start := time.Now()

	alInjectFault(t, simURL)
	poll(t, "A to be paged", func() bool { return amA.errorRate(start, true) >= 1 })

	// 1. B with a CA file that is not there: rejected whole, A still paged.
	missing := filepath.Join(dir, "missing-ca.pem")
	alWrite(t, cfgFile, config(fmt.Sprintf("{url: %q, tls: {ca_file: %q}}", srvB.URL, missing)))
	if code, body := postReload(t, base); code != http.StatusInternalServerError || !strings.Contains(body, missing) {
		t.Fatalf("reload with an unreadable ca_file = %d %q, want 500 naming the file", code, body)
	}
	if ok, _ := reloadMetrics(t, base); ok != "0" {
		t.Errorf("after the rejected reload: last_reload_successful %q, want 0", ok)
	}
	rejected := time.Now()
	alClearFaults(t, simURL)
	poll(t, "A to be told the alert resolved", func() bool { return amA.errorRate(rejected, false) >= 1 })
	alInjectFault(t, simURL)
	poll(t, "A to be paged again", func() bool { return amA.errorRate(rejected, true) >= 1 })
	if c := amB.since(start); c != 0 {
		t.Fatalf("B received %d alerts from a rejected config", c)
	}

	// 2. B: sent the firing alert without waiting an hour; A hears no more.
	alWrite(t, cfgFile, config(fmt.Sprintf("{url: %q}", srvB.URL)))
	if code, body := postReload(t, base); code != http.StatusOK {
		t.Fatalf("reload to B = %d %q", code, body)
	}
	reloaded := time.Now()
	if ok, _ := reloadMetrics(t, base); ok != "1" {
		t.Errorf("after the reload to B: last_reload_successful %q, want 1", ok)
	}
	poll(t, "B to be sent the firing alert", func() bool { return amB.errorRate(start, true) >= 1 })
	alClearFaults(t, simURL)
	poll(t, "B to be told the alert resolved", func() bool { return amB.errorRate(start, false) >= 1 })
	if c := amA.since(reloaded); c != 0 {
		t.Errorf("A received %d alerts after the reload away from it", c)
	}
	if !strings.Contains(logs.String(), "alertmanager removed from the config") {
		t.Errorf("A's removal was not logged")
	}

	// 3. A shorter resend_interval applies without a restart: with the
	// alert firing again, B is sent it again every second, not hourly.
	alInjectFault(t, simURL)
	refired := time.Now()
	poll(t, "B to be paged again", func() bool { return amB.errorRate(refired, true) >= 1 })
	alWrite(t, cfgFile, alConfig("reload", fmt.Sprintf("{url: %q}", srvB.URL), "1s"))
	if code, body := postReload(t, base); code != http.StatusOK {
		t.Fatalf("reload to a 1s resend_interval = %d %q", code, body)
	}
	shortened := time.Now()
	poll(t, "B to be sent the firing alert again within seconds", func() bool { return amB.errorRate(shortened, true) >= 2 })
}

// matching counts the table's error-rate alerts received after since with
// the given tenant ("" for any), firing (endsAt ahead) or resolved (endsAt
// past).
func (a *amRecorder) matching(since time.Time, tenant string, firing bool) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := 0
	for _, p := range a.got {
		l := p.n.Labels
		if p.at.Before(since) || l["alertname"] != alerting.AlertHighErrorRate || l["resource"] != e2eTable || (tenant != "" && l["tenant"] != tenant) {
			continue
		}
		if p.n.EndsAt.After(p.at) == firing {
			c++
		}
	}
	return c
}

// TestReloadEndsStaleAlerts: a reload must not leave a page firing that
// nothing will evaluate again. With the table's error-rate alert firing
// (resend interval an hour), a reload that changes the tenant tells
// Alertmanager at once that the old alert resolved and the same alert
// fires under the new tenant; a reload that stops probing the table
// resolves it.
func TestReloadEndsStaleAlerts(t *testing.T) {
	simURL := startSim(t)
	am := &amRecorder{}
	srv := httptest.NewServer(am)
	t.Cleanup(srv.Close)
	cfgFile := filepath.Join(t.TempDir(), "socmond.yaml")
	amList := fmt.Sprintf("{url: %q}", srv.URL)
	alWrite(t, cfgFile, alConfig("t1", amList, "1h"))
	addr, _ := startDaemon(t, cfgFile)
	base := "http://" + addr
	waitReady(t, http.DefaultClient, base)
	start := time.Now()

	alInjectFault(t, simURL) // left in place: the condition holds throughout
	poll(t, "the alert to fire under tenant t1", func() bool { return am.matching(start, "t1", true) >= 1 })

	alWrite(t, cfgFile, alConfig("t2", amList, "1h"))
	// Taken before the reload: its notifications are queued within it and
	// may arrive before the reload's answer does.
	retenanted := time.Now()
	if code, body := postReload(t, base); code != http.StatusOK {
		t.Fatalf("reload to tenant t2 = %d %q", code, body)
	}
	poll(t, "t1's alert to resolve", func() bool { return am.matching(retenanted, "t1", false) >= 1 })
	poll(t, "the alert to fire under t2 at once", func() bool { return am.matching(retenanted, "t2", true) >= 1 })

	// The same config probing another table instead: the table's alert has
	// nothing left to evaluate it, so it resolves.
	other := strings.Replace(alConfig("t2", amList, "1h"), "{name: "+e2eTable+"}", "{name: another-table}", 1)
	alWrite(t, cfgFile, other)
	removed := time.Now()
	if code, body := postReload(t, base); code != http.StatusOK {
		t.Fatalf("reload without the table = %d %q", code, body)
	}
	poll(t, "the removed table's alert to resolve", func() bool { return am.matching(removed, "t2", false) >= 1 })
}
