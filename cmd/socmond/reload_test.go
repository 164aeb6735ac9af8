package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/socmond/socmond/internal/testenv"
)

// resourceWindow is the part of /api/v1/status a reload must preserve.
type resourceWindow struct {
	Service             string `json:"service"`
	Resource            string `json:"resource"`
	Status              string `json:"status"`
	LastCheck           string `json:"last_check"`
	AvailabilitySamples int    `json:"availability_samples"`
}

func windows(t *testing.T, base string) map[string]resourceWindow {
	t.Helper()
	var doc struct {
		Data struct {
			Resources []resourceWindow `json:"resources"`
		} `json:"data"`
	}
	resp, err := http.Get(base + "/api/v1/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	out := map[string]resourceWindow{}
	for _, r := range doc.Data.Resources {
		out[r.Resource] = r
	}
	return out
}

// reloadMetrics returns the two reload gauges from /metrics.
func reloadMetrics(t *testing.T, base string) (successful, timestamp string) {
	t.Helper()
	for _, line := range strings.Split(scrape(t, base), "\n") {
		if v, ok := strings.CutPrefix(line, "socmond_config_last_reload_successful "); ok {
			successful = v
		}
		if v, ok := strings.CutPrefix(line, "socmond_config_last_reload_success_timestamp_seconds "); ok {
			timestamp = v
		}
	}
	return successful, timestamp
}

func postReload(t *testing.T, base string) (int, string) {
	t.Helper()
	resp, err := http.Post(base+"/-/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// runDaemon starts the real binary on cfgPath, listening on 127.0.0.1,
// and stops it with SIGTERM at the end of the test (logging its output if
// the test failed).
func runDaemon(t *testing.T, bin, cfgPath string) (base string, cmd *exec.Cmd, logs *testenv.Buffer) {
	t.Helper()
	port := testenv.FreePort(t)
	base = fmt.Sprintf("http://127.0.0.1:%d", port)
	logs = &testenv.Buffer{}
	cmd = exec.Command(bin, "run", "--config.file", cfgPath, "--web.listen-address", testenv.Addr(port), "--shutdown.grace-period", "5s")
	cmd.Env = os.Environ()
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("daemon log:\n%s", logs.String())
		}
	})
	return base, cmd, logs
}

// TestReload runs the real binary and reloads its config through both
// triggers: a valid change adds a resource while an unchanged probe keeps
// its health window; an invalid one is rejected, logged and reported in
// the reload gauges while the old config keeps running.
func TestReload(t *testing.T) {
	bin := buildBinary(t)
	startSim(t)
	full, err := os.ReadFile(fastConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	const added = "amazon.titan-embed-text-v2:0" // not also discovered by the workflow checks
	const kept = "AsiaAgenticSocBus"
	cfgPath := fastConfig(t) // rewritten in place, as an operator would
	writeFile(t, cfgPath, strings.Replace(string(full), "      - name: "+added+"\n", "", 1))

	base, cmd, logs := runDaemon(t, bin, cfgPath)
	waitReady(t, http.DefaultClient, base)
	if w := windows(t, base); len(w) != exampleResources(t)-1 || w[added].Resource != "" {
		t.Fatalf("before reload: %d resources, %s present: %v", len(w), added, w)
	}
	if ok, ts := reloadMetrics(t, base); ok != "1" || ts == "" || ts == "0" {
		t.Fatalf("at start: last_reload_successful %q, timestamp %q", ok, ts)
	}
	// Let the unchanged probe build up a window worth keeping.
	poll(t, "a few samples", func() bool { return windows(t, base)[kept].AvailabilitySamples >= 3 })
	before := windows(t, base)[kept]

	// 1. Valid change by SIGHUP: the new function appears, the bus keeps its window.
	writeFile(t, cfgPath, string(full))
	_, ts0 := reloadMetrics(t, base)
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	poll(t, "the added function to appear healthy", func() bool { return windows(t, base)[added].Status == "healthy" })
	after := windows(t, base)[kept]
	if after.AvailabilitySamples < before.AvailabilitySamples {
		t.Errorf("unchanged %s lost its window: %d samples before the reload, %d after", kept, before.AvailabilitySamples, after.AvailabilitySamples)
	}
	if ok, ts := reloadMetrics(t, base); ok != "1" || ts == ts0 {
		t.Errorf("after a good SIGHUP reload: successful %q, timestamp %q (was %q)", ok, ts, ts0)
	}

	// 2. Invalid change by POST /-/reload: 500 with the reason, old config kept.
	writeFile(t, cfgPath, string(full)+"bogus_key: 1\n")
	_, ts1 := reloadMetrics(t, base)
	code, body := postReload(t, base)
	if code != http.StatusInternalServerError || !strings.Contains(body, "bogus_key") {
		t.Errorf("POST /-/reload of an invalid config = %d %q, want 500 naming the bad key", code, body)
	}
	if ok, ts := reloadMetrics(t, base); ok != "0" || ts != ts1 {
		t.Errorf("after a bad reload: successful %q, timestamp %q (want 0 and unchanged %q)", ok, ts, ts1)
	}
	still := windows(t, base)
	if len(still) != exampleResources(t) {
		t.Errorf("after a bad reload %d resources, want the %d running", len(still), exampleResources(t))
	}
	poll(t, "probes to keep running", func() bool { return windows(t, base)[kept].LastCheck != still[kept].LastCheck })

	// 3. Invalid change by SIGHUP: logged, still 0, still running.
	writeFile(t, cfgPath, strings.Replace(string(full), `schedule: "@every 1s"`, `schedule: "every now and then"`, 1))
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	poll(t, "the SIGHUP failure to be logged", func() bool {
		return strings.Count(logs.String(), "configuration reload failed") >= 2
	})
	if ok, _ := reloadMetrics(t, base); ok != "0" {
		t.Errorf("after a bad SIGHUP: successful %q", ok)
	}
	if w := windows(t, base); len(w) != exampleResources(t) || w[kept].AvailabilitySamples < after.AvailabilitySamples {
		t.Errorf("after a bad SIGHUP: %d resources, %s samples %d", len(w), kept, w[kept].AvailabilitySamples)
	}

	// 4. Valid change by POST /-/reload: the function goes away again.
	writeFile(t, cfgPath, strings.Replace(string(full), "      - name: "+added+"\n", "", 1))
	if code, body := postReload(t, base); code != http.StatusOK {
		t.Fatalf("POST /-/reload of a valid config = %d %q", code, body)
	}
	if w := windows(t, base); len(w) != exampleResources(t)-1 || w[added].Resource != "" || w[kept].AvailabilitySamples < after.AvailabilitySamples {
		t.Errorf("after removing %s: %d resources, kept window %d samples", added, len(w), w[kept].AvailabilitySamples)
	}
	if ok, _ := reloadMetrics(t, base); ok != "1" {
		t.Errorf("after a good HTTP reload: successful %q", ok)
	}
	if !strings.Contains(logs.String(), "bogus_key") {
		t.Error("the reason of the rejected reload was not logged")
	}
}
