package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestReloadRegionReplacesProbes reloads a config whose region changed:
// the probes must call the new region (here its own simulator) from then
// on, and since a resource of the same name in another region is another
// resource, its health window and series start anew.
func TestReloadRegionReplacesProbes(t *testing.T) {
	startSim(t) // us-east-1, through AWS_ENDPOINT_URL
	const bus = "AsiaAgenticSocBus"
	cfgPath := fastConfig(t)
	full, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	const regionLine = "region: ${AWS_REGION:-us-east-1}\n"
	if !strings.Contains(string(full), regionLine) {
		t.Fatal("config.example.yaml no longer has the region line this test edits")
	}
	addr, _ := startDaemon(t, cfgPath)
	base := "http://" + addr
	waitReady(t, http.DefaultClient, base)
	poll(t, "a window worth losing", func() bool { return windows(t, base)[bus].AvailabilitySamples >= 3 })

	// The same pipeline in eu-west-1, behind its own simulator; clients
	// built from now on find it through the SDK's endpoint variable.
	inEU := strings.Replace(string(full), regionLine, "region: eu-west-1\n", 1)
	euPath := filepath.Join(t.TempDir(), "eu.yaml")
	writeFile(t, euPath, inEU)
	eu, euURL := seededSim(t, euPath)
	t.Setenv("AWS_ENDPOINT_URL", euURL)

	writeFile(t, cfgPath, inEU)
	if code, body := postReload(t, base); code != http.StatusOK {
		t.Fatalf("reload to eu-west-1 = %d %q", code, body)
	}
	busProbes := func() int {
		n := 0
		for _, c := range eu.Calls() {
			if c.Operation == "DescribeEventBus" && c.Resource == bus {
				n++
			}
		}
		return n
	}
	poll(t, "the bus probed in eu-west-1", func() bool { return busProbes() >= 3 })

	// Counted after the window's: every sample in it, and every count in
	// the series, is one of eu-west-1's probes.
	w := windows(t, base)[bus]
	series := probeCount(t, base, bus)
	if n := busProbes(); w.AvailabilitySamples > n || series > n {
		t.Errorf("after the region change the bus has %d samples and a probe count of %d, but eu-west-1 served %d probes: us-east-1's results were kept",
			w.AvailabilitySamples, series, n)
	}
	if w.Status != "healthy" {
		t.Errorf("the bus in eu-west-1 is %s", w.Status)
	}
}

// probeCount is socmond_probes_total of one resource, over its statuses.
func probeCount(t *testing.T, base, resource string) int {
	t.Helper()
	total := 0
	for _, line := range strings.Split(scrape(t, base), "\n") {
		if !strings.HasPrefix(line, "socmond_probes_total{") || !strings.Contains(line, `resource="`+resource+`"`) {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		total += int(v)
	}
	return total
}
