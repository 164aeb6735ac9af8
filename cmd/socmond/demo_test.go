package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/probes"
	"github.com/socmond/socmond/internal/testenv"
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

// TestDemoTwoTenantsTwoRegions runs `socmond demo` on the tenants example:
// every pipeline's resources are up, two tenants in two regions, each
// through its account's role; the first fault of the timeline degrades
// Bedrock in the first pipeline only, and the others stay healthy.
func TestDemoTwoTenantsTwoRegions(t *testing.T) {
	const file = "../../config.tenants.example.yaml"
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	places := cfg.Places()
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	out := &testenv.Buffer{}
	done := make(chan int, 1)
	go func() {
		done <- run([]string{"demo", "--config.file", file, "--web.listen-address", addr, "--demo.duration", "45s", "--log.level", "warn"}, out, out)
	}()
	t.Cleanup(func() {
		if code := <-done; code != exitOK {
			t.Errorf("demo exited %d:\n%s", code, out)
		}
	})

	type entry struct {
		Service, Resource, Status, Tenant, Account, Region string
	}
	status := func() []entry {
		var doc struct {
			Data struct {
				Resources []entry `json:"resources"`
			} `json:"data"`
		}
		resp, err := http.Get("http://" + addr + "/api/v1/status")
		if err != nil {
			return nil
		}
		defer resp.Body.Close()
		if json.NewDecoder(resp.Body).Decode(&doc) != nil {
			return nil
		}
		return doc.Data.Resources
	}
	first := places[0]
	bedrockAt := func(p probes.Place, es []entry) string {
		for _, e := range es {
			if e.Service == probes.ServiceBedrock && e.Tenant == p.Tenant && e.Account == p.Account && e.Region == p.Region {
				return e.Status
			}
		}
		return ""
	}

	testenv.Eventually(t, "every pipeline's resources healthy", func() bool {
		es := status()
		if len(es) < len(cfg.Targets()) { // and the functions the workflow check discovers
			return false
		}
		tenants, regions := map[string]bool{}, map[string]bool{}
		for _, e := range es {
			if e.Status != "healthy" {
				return false
			}
			tenants[e.Tenant], regions[e.Region] = true, true
		}
		return len(tenants) == 2 && len(regions) == 2
	})
	// Compliance runs in every pipeline, each on its account's role in its
	// region, and every check passes there.
	testenv.Eventually(t, "every pipeline's compliance checks passed", func() bool {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		for _, p := range places {
			// The key's rotation, each table's and bucket's encryption, the
			// audit bucket's lock.
			want := 1 + len(cfg.ComplianceTablesAt(p)) + 2 + 1
			labels := fmt.Sprintf(`account=%q,`, p.Account)
			n := 0
			for _, line := range strings.Split(string(b), "\n") {
				if strings.HasPrefix(line, "socmond_compliance_check_passed{") && strings.Contains(line, labels) &&
					strings.Contains(line, fmt.Sprintf(`region=%q,`, p.Region)) && strings.HasSuffix(line, " 1") {
					n++
				}
			}
			if n != want {
				return false
			}
		}
		return true
	})
	// The fault strikes 20 s into the timeline, and the probe that sees it
	// takes its 6 s: wait for the timeline to say it struck, so the wait
	// for the probe does not also cover the demo's start.
	testenv.Eventually(t, "the Bedrock fault", func() bool { return strings.Contains(out.String(), "Bedrock slows") })
	testenv.Eventually(t, "Bedrock degraded in the first pipeline", func() bool {
		es := status()
		if bedrockAt(first, es) != "degraded" {
			return false
		}
		for _, p := range places[1:] {
			if s := bedrockAt(p, es); s != "healthy" {
				t.Fatalf("Bedrock of %+v is %s while the fault strikes %+v only:\n%s", p, s, first, out)
			}
		}
		return true
	})
	if !strings.Contains(out.String(), "Bedrock slows to 6s per call (over the 5s threshold): DEGRADED, class slow (tenant acme-bank, account 111111111111, ap-east-1; the other pipelines stay healthy)") {
		t.Errorf("the demo does not say where the fault strikes:\n%s", out)
	}
}
