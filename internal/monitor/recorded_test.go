package monitor

import (
	"slices"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/probes"
	"github.com/socmond/socmond/internal/testenv"
)

// Resources an owner checks itself (the workflow's discovered functions)
// follow the lifecycle of scheduled checks: kept, they keep their window
// across Apply and SetRecorded and take their new settings; removed, they
// lose window and series and the RemoveListeners hear of it; a result for
// one not in the set is dropped; and one that is also a scheduled check is
// forgotten only when neither checks it.
func TestRecordedFollowSetRecorded(t *testing.T) {
	var logs testenv.Buffer
	mon, m := newMonitor(t, &logs)
	var removed []string
	mon.SubscribeRemoved(func(t probes.Target) { removed = append(removed, t.String()) })
	now := time.Now()
	result := func(fn string) probes.Result {
		return probes.Result{Target: probes.Target{Service: "lambda", Resource: fn}, Check: "GetFunction", Status: probes.Healthy, Start: now}
	}
	samples := func(fn string) int {
		sn, ok := mon.Snapshot(probes.Target{Service: "lambda", Resource: fn}, now)
		if !ok {
			return -1
		}
		return sn.AvailabilitySamples
	}
	series := func(fn string) bool {
		return testenv.MetricValue(t, testenv.Scrape(m.Handler(zerolog.Nop())), "socmond_probes_total",
			testenv.Labels("service", "lambda", "resource", fn, "status", "healthy")) > 0
	}

	mon.SetRecorded("workflow", []config.Target{target("lambda", "a"), target("lambda", "b")})
	for range 3 {
		for _, fn := range []string{"a", "b"} {
			if !mon.RecordOwned("workflow", result(fn)) {
				t.Fatalf("%s not filed", fn)
			}
		}
	}
	if mon.RecordOwned("workflow", result("c")) || mon.RecordOwned("other", result("a")) || samples("c") != -1 {
		t.Fatal("a result for a resource not in the owner's set was filed")
	}

	// A reload applies the scheduled checks: the recorded ones stay.
	if err := mon.Apply([]Check{{Target: target("dynamodb", "t"), Probe: newFake("dynamodb", "t", probes.Healthy)}}); err != nil {
		t.Fatal(err)
	}
	if samples("a") != 3 || samples("b") != 3 || len(removed) != 0 {
		t.Fatalf("after Apply: a %d, b %d samples, removed %v; want 3, 3, none", samples("a"), samples("b"), removed)
	}

	// The owner finds b and c: a goes, b keeps its window with new settings.
	nb := target("lambda", "b")
	nb.AvailabilityThreshold = 0.5
	mon.SetRecorded("workflow", []config.Target{nb, target("lambda", "c")})
	if samples("a") != -1 || series("a") || !slices.Equal(removed, []string{"lambda/a"}) {
		t.Fatalf("a removed: %d samples, series %t, removed %v", samples("a"), series("a"), removed)
	}
	if samples("b") != 3 || !series("b") {
		t.Fatalf("b kept: %d samples, series %t", samples("b"), series("b"))
	}

	// b is now also a scheduled check: the owner dropping it forgets nothing;
	// Apply dropping it then does.
	fb := newFake("lambda", "b", probes.Healthy)
	tb := target("lambda", "b")
	if err := mon.Apply([]Check{{Target: tb, Probe: fb}}); err != nil {
		t.Fatal(err)
	}
	mon.SetRecorded("workflow", []config.Target{target("lambda", "c")})
	if samples("b") != 3 || slices.Contains(removed, "lambda/b") {
		t.Fatalf("b still scheduled: %d samples, removed %v", samples("b"), removed)
	}
	if err := mon.Apply(nil); err != nil {
		t.Fatal(err)
	}
	if samples("b") != -1 || series("b") || !slices.Contains(removed, "lambda/b") {
		t.Fatalf("b gone: %d samples, series %t, removed %v", samples("b"), series("b"), removed)
	}
	mon.SetRecorded("workflow", nil)
	if samples("c") != -1 || !slices.Contains(removed, "lambda/c") {
		t.Fatalf("c gone: %d samples, removed %v", samples("c"), removed)
	}
}
