package main

import (
	"net/http"
	"os"
	"strings"
	"testing"
)

// TestReloadKeepsDiscoveredFunctions runs the real binary with one Lambda
// function left out of the config, so the workflow check discovers it in
// the state machine's definition and probes it. A reload that leaves the
// workflow as it was keeps that function's window; one that disables the
// workflow drops its window and its series.
func TestReloadKeepsDiscoveredFunctions(t *testing.T) {
	bin := buildBinary(t)
	startSim(t) // seeded with every function of the example, the definition invokes them all
	full, err := os.ReadFile(fastConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	const discovered = "AsiaAgenticSoc-Store-dev"
	base := strings.Replace(string(full), "      - name: "+discovered+"\n", "", 1)
	base = strings.Replace(base, "workflow:\n  enabled: true\n  schedule: \"@every 1m\"", "workflow:\n  enabled: true\n  schedule: \"@every 1s\"", 1)
	if !strings.Contains(base, "schedule: \"@every 1s\"\n  timeout: 30s") {
		t.Fatal("the example's workflow section moved: this test no longer speeds it up")
	}
	cfgPath := fastConfig(t)
	writeFile(t, cfgPath, base)
	url, _, _ := runDaemon(t, bin, cfgPath)
	waitReady(t, http.DefaultClient, url)
	poll(t, "the discovered function to build up a window", func() bool { return windows(t, url)[discovered].AvailabilitySamples >= 3 })

	// 1. A reload that changes something else (the tenant).
	before := windows(t, url)[discovered]
	writeFile(t, cfgPath, strings.Replace(base, "tenant: ", "tenant: x", 1))
	if code, body := postReload(t, url); code != http.StatusOK {
		t.Fatalf("POST /-/reload = %d %q", code, body)
	}
	if after := windows(t, url)[discovered]; after.AvailabilitySamples < before.AvailabilitySamples {
		t.Fatalf("the reload dropped the discovered function's window: %d samples before, %d after", before.AvailabilitySamples, after.AvailabilitySamples)
	}
	if !strings.Contains(scrape(t, url), `resource="`+discovered+`"`) {
		t.Fatal("the discovered function's series went with the reload")
	}

	// 2. The workflow disabled: the function is no longer checked.
	writeFile(t, cfgPath, strings.Replace(base, "workflow:\n  enabled: true", "workflow:\n  enabled: false", 1))
	if code, body := postReload(t, url); code != http.StatusOK {
		t.Fatalf("POST /-/reload = %d %q", code, body)
	}
	if w, ok := windows(t, url)[discovered]; ok {
		t.Errorf("workflow disabled, the discovered function is still checked: %+v", w)
	}
	if strings.Contains(scrape(t, url), `resource="`+discovered+`"`) {
		t.Error("workflow disabled, the discovered function's series remain")
	}
}
