package main

import (
	"testing"
	"time"

	"github.com/socmond/socmond/internal/config"
)

// The demo runs the example six times faster: every probe on its schedule
// and the windows as much shorter, so every alert condition keeps the
// shape it has when shipped (docs/alerting.md) — the guard is still half a
// window, clear_for still 1.5 probes.
func TestDemoCompressesTheConfig(t *testing.T) {
	t.Setenv("AWS_REGION", "us-east-1")
	cfg, err := config.Load(example)
	if err != nil {
		t.Fatal(err)
	}
	shipped := cfg.Targets()
	compress(cfg, "@every 5s")
	for i, tg := range cfg.Targets() {
		if tg.Schedule != "@every 5s" {
			t.Errorf("%s %s: schedule %q", tg.Service, tg.Resource, tg.Schedule)
		}
		if tg.ErrorRateWindow != 50*time.Second || tg.AvailabilityWindow != 10*time.Minute {
			t.Errorf("%s %s: windows %s / %s, want 50s / 10m", tg.Service, tg.Resource, tg.ErrorRateWindow, tg.AvailabilityWindow)
		}
		if tg.ErrorMinSamples != 5 || tg.AvailabilityMinSamples != 60 || tg.ErrorClearFor != 7500*time.Millisecond {
			t.Errorf("%s %s: guards %d / %d, clear_for %s; want the shipped 5 / 60 and 1.5 probes",
				tg.Service, tg.Resource, tg.ErrorMinSamples, tg.AvailabilityMinSamples, tg.ErrorClearFor)
		}
		if tg.ErrorRateThreshold != shipped[i].ErrorRateThreshold {
			t.Errorf("%s %s: threshold changed", tg.Service, tg.Resource)
		}
	}
}
