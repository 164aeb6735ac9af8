package monitor_test

import (
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/socmond/socmond/internal/awssim"
	"github.com/socmond/socmond/internal/probes"
	"github.com/socmond/socmond/internal/scheduler"
	"github.com/socmond/socmond/internal/testenv"
)

// TestRegionOutageHoldsOnlyItsShare: every call in eu-west-1 hangs past the
// probes' deadline, and eu-west-1 has more resources (9) than the monitor
// has probe slots (4). Its runs hold at most the region's share (2), so
// us-east-1's resources, in the same accounts and of the same services,
// complete every round — none is ever skipped for a run still waiting —
// while eu-west-1's time out in turn. Without the per-region bound the
// hanging runs take every slot and us-east-1's rounds queue behind them.
func TestRegionOutageHoldsOnlyItsShare(t *testing.T) {
	text := strings.NewReplacer("ext-wrong", "ext-gamma", "timeout: 5s", "timeout: 1s").Replace(accountsConfig)
	var faults []awssim.Fault
	for _, svc := range []string{"dynamodb", "lambda", "s3"} {
		faults = append(faults, awssim.Fault{Service: svc, Region: "eu-west-1", Latency: "1h"})
	}
	so := scheduler.Options{MaxConcurrent: 4, MaxPerPartition: 2}
	r := startAccountsWith(t, text, so, func(sim *awssim.Sim) {
		for _, f := range faults {
			sim.AddFault(f)
		}
	})
	hung := 0
	for _, tg := range r.targets {
		if tg.Place.Region == "eu-west-1" {
			hung++
		}
	}
	if hung <= so.MaxConcurrent {
		t.Fatalf("%d resources in the hanging region, want more than the %d slots", hung, so.MaxConcurrent)
	}

	// Every hanging resource has had its turn (9 runs of 1 s on 2 slots),
	// and us-east-1's have meanwhile had at least as many rounds.
	testenv.Eventually(t, "eu-west-1's timeouts and us-east-1's rounds", func() bool {
		for _, tg := range r.targets {
			s, ok := r.mon.Snapshot(tg.ID(), time.Now())
			switch {
			case !ok:
				return false
			case tg.Place.Region == "us-east-1" && (s.Last.Status != probes.Healthy || len(s.History) < 5):
				return false
			case tg.Place.Region == "eu-west-1" && s.Last.Class != probes.ClassTimeout:
				return false
			}
		}
		return true
	})
	scrape := testenv.Scrape(r.m.Handler(zerolog.Nop()))
	for _, tg := range r.targets {
		if tg.Place.Region != "us-east-1" {
			continue
		}
		labels := testenv.Labels("service", tg.Service, "resource", tg.Resource, "account", tg.Place.Account, "region", tg.Place.Region)
		if n := testenv.MetricValue(t, scrape, "socmond_scheduler_skipped_total", labels); n != 0 {
			t.Errorf("%s: %v rounds skipped while eu-west-1 hung, want 0", tg.ID(), n)
		}
		s, _ := r.mon.Snapshot(tg.ID(), time.Now())
		for _, p := range s.History {
			if p.Status != probes.Healthy {
				t.Errorf("%s: a %s result while eu-west-1 hung", tg.ID(), p.Status)
			}
		}
	}
}
