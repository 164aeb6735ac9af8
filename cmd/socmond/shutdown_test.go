package main

import (
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestShutdownFlushesAlertsAfterGrace: a probe that outlasts the shutdown
// grace period uses up the grace period's context, and the last delivery
// of the queued alerts must still get its own time. Alertmanager refuses
// alerts until the grace period is over, so only that last flush can
// deliver the firing one.
func TestShutdownFlushesAlertsAfterGrace(t *testing.T) {
	simURL := startSim(t)
	const bus = "AsiaAgenticSocBus"
	const graceOver = "probes still running at the end of the grace period were cancelled"
	am := &amRecorder{}
	srv := httptest.NewServer(am)
	t.Cleanup(srv.Close)
	cfgFile := filepath.Join(t.TempDir(), "socmond.yaml")
	// The bus answers in a minute, its probe waits 30 s: it is in flight
	// from the first round until after the daemon has stopped.
	cfg := strings.Replace(alConfig("shutdown", fmt.Sprintf("{url: %q}", srv.URL), "1h"),
		"services:\n", "services:\n  eventbridge:\n    resources: [{name: "+bus+", timeout: 30s}]\n", 1)
	alWrite(t, cfgFile, cfg)
	addFault(t, simURL, `{"service":"eventbridge","resource":"`+bus+`","latency":"60s"}`)
	alInjectFault(t, simURL)
	_, logs, stop := launchDaemon(t, cfgFile, "--shutdown.grace-period", "300ms")
	am.mu.Lock()
	am.accept = func() bool { return strings.Contains(logs.String(), graceOver) }
	am.mu.Unlock()
	start := time.Now()
	poll(t, "the error-rate alert to be queued (refused)", func() bool {
		am.mu.Lock()
		defer am.mu.Unlock()
		return am.refused > 0
	})

	if code := stop(); code != exitOK {
		t.Fatalf("daemon exited %d", code)
	}
	if !strings.Contains(logs.String(), graceOver) {
		t.Fatal("the bus probe did not outlast the grace period; the test proves nothing")
	}
	if !strings.Contains(logs.String(), `"grace_period":"300ms"`) {
		t.Error("the grace period is not logged with its unit")
	}
	if n := am.errorRate(start, true); n == 0 {
		t.Error("the firing alert queued at shutdown was not delivered")
	}
}
