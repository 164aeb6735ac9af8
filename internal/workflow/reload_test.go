package workflow

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/socmond/socmond/internal/alerting"
	"github.com/socmond/socmond/internal/awsclient"
	"github.com/socmond/socmond/internal/awssim"
	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/leader"
	"github.com/socmond/socmond/internal/metrics"
	"github.com/socmond/socmond/internal/monitor"
	"github.com/socmond/socmond/internal/probes"
	"github.com/socmond/socmond/internal/scheduler"
	"github.com/socmond/socmond/internal/testenv"
)

// The second machine of TestDiscoveredFunctionsFollowReload, and its rule.
const (
	tMachine2 = "arn:aws:states:us-east-1:123456789012:stateMachine:soc-triage"
	tRule2    = "soc-triage-alerts"
)

func lambdaChain(fns ...string) string {
	def := `{"StartAt":"S0","States":{`
	for i, fn := range fns {
		next := fmt.Sprintf(`"Next":"S%d"`, i+1)
		if i == len(fns)-1 {
			next = `"End":true`
		}
		def += fmt.Sprintf(`"S%d":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:%s",%s}`, i, fn, next)
		if i < len(fns)-1 {
			def += ","
		}
	}
	return def + "}}"
}

func workflowConfig(t *testing.T, machine, rule string) *config.Config {
	t.Helper()
	cfg, err := config.Parse("reload.yaml", fmt.Appendf(nil, `
region: us-east-1
tenant: hk
pipeline:
  event_bus: %s
  state_machine: %s
workflow:
  schedule: "@every 1h"
  rules: [%s]
services:
  eventbridge:
    resources: [{name: %s}]
`, tBus, machine, rule, tBus), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// wireFeature wires the monitor, the alert engine and the workflow feature
// on cfg as the daemon does.
func wireFeature(t *testing.T, cfg *config.Config, clients *awsclient.Clients) (*metrics.Metrics, *monitor.Monitor, *alerting.Engine, *Feature) {
	t.Helper()
	m := metrics.New("test", "abc")
	mon := monitor.New(monitor.Options{Logger: zerolog.Nop(), Metrics: m, Scheduler: scheduler.Options{}})
	e := alerting.NewEngine(alerting.Settings{Tenant: cfg.Tenant, Alerting: &cfg.Alerting}, time.Hour, nil)
	mon.Subscribe(e.Observe)
	mon.SubscribeRemoved(e.Removed)
	f, err := NewFeature(FeatureOptions{Config: cfg, Clients: clients, Registerer: m.Registry(), Recorder: mon,
		Alerts: e, Elector: leader.NewNone("test"), Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	return m, mon, e, f
}

// TestDiscoveredFunctionsFollowReload is issue #18's acceptance test for
// the workflow: a reload that changes the rule, then the state machine,
// reaches the workflow checks, and the Lambda functions they discover go
// through the monitor's lifecycle like any probe's resource: one still
// discovered keeps its window, series and firing alert (not resolved and
// fired again), one no longer discovered loses window and series and its
// alert resolves, and a new one appears.
func TestDiscoveredFunctionsFollowReload(t *testing.T) {
	env := startSim(t, awssim.Seed{
		EventBuses:    []string{tBus},
		StateMachines: []string{tMachine, tMachine2},
		Functions:     []string{"soc-ingest", "soc-analyze", "soc-enrich"},
		Definitions:   map[string]string{tMachine: lambdaChain("soc-ingest", "soc-analyze"), tMachine2: lambdaChain("soc-analyze", "soc-enrich")},
		Rules: []awssim.Rule{
			{Name: tRule, EventBus: tBus, EventPattern: `{"source":["x"]}`, Targets: []string{tMachine}},
			{Name: tRule2, EventBus: tBus, EventPattern: `{"source":["x"]}`, Targets: []string{tMachine2}},
		},
	})
	sim, clients := env.sim, env.c

	// The daemon's wiring of the monitor, the alert engine and the feature.
	cfg := workflowConfig(t, tMachine, tRule)
	m, mon, e, f := wireFeature(t, cfg, clients)
	round := func() PassiveReport {
		t.Helper()
		rep := f.Runner().RunPassive(context.Background())
		if !rep.DefinitionRead {
			t.Fatalf("round did not read the definition: %+v", rep.Checks)
		}
		return rep
	}
	samples := func(fn string) int {
		sn, ok := mon.Snapshot(probes.Target{Service: "lambda", Resource: fn}, time.Now())
		if !ok {
			return -1
		}
		return sn.AvailabilitySamples
	}
	scrape := func(name string, labels ...string) float64 {
		return testenv.MetricValue(t, testenv.Scrape(m.Handler(zerolog.Nop())), name, testenv.Labels(labels...))
	}
	series := func(fn string) bool { return scrape("socmond_probes_total", "service", "lambda", "resource", fn) >= 0 }
	firing := func() map[string]time.Time {
		out := map[string]time.Time{}
		for _, a := range e.Alerts() {
			if a.State == alerting.Firing {
				out[a.Labels["resource"]] = a.FiredAt
			}
		}
		return out
	}
	reload := func(next *config.Config) {
		t.Helper()
		if err := f.Check(next, clients); err != nil {
			t.Fatal(err)
		}
		if err := mon.Apply(nil); err != nil { // the reload applies the probe checks first
			t.Fatal(err)
		}
		if err := f.Apply(next, clients); err != nil {
			t.Fatal(err)
		}
	}

	// soc-analyze is in both machines and fails: after two rounds its
	// alert fires (confirmed by a second failing result).
	sim.AddFault(awssim.Fault{Service: "lambda", Resource: "soc-analyze", Error: "ServiceException"})
	sim.AddFault(awssim.Fault{Service: "lambda", Resource: "soc-ingest", Error: "ServiceException"})
	for range 3 {
		round()
	}
	if samples("soc-ingest") != 3 || samples("soc-analyze") != 3 || samples("soc-enrich") != -1 {
		t.Fatalf("before the reloads: ingest %d, analyze %d, enrich %d samples", samples("soc-ingest"), samples("soc-analyze"), samples("soc-enrich"))
	}
	fired := firing()
	if fired["soc-analyze"].IsZero() || fired["soc-ingest"].IsZero() {
		t.Fatalf("firing %v, want soc-analyze and soc-ingest", fired)
	}
	if got := scrape("socmond_workflow_rule_enabled", "rule", tRule); got != 1 {
		t.Fatalf("socmond_workflow_rule_enabled{rule=%s} = %v", tRule, got)
	}

	// 1. The rule changes: the discovered functions keep everything.
	ruleCfg := workflowConfig(t, tMachine, tRule2)
	reload(ruleCfg)
	if samples("soc-ingest") != 3 || samples("soc-analyze") != 3 {
		t.Fatalf("after the rule reload: ingest %d, analyze %d samples, want 3 each", samples("soc-ingest"), samples("soc-analyze"))
	}
	rep := round()
	if !slices.ContainsFunc(rep.Checks, func(c Check) bool { return c.Name == "rule_enabled" && c.Resource == tRule2 }) {
		t.Fatalf("the round after the reload did not check %s: %+v", tRule2, rep.Checks)
	}
	if scrape("socmond_workflow_rule_enabled", "rule", tRule) != -1 || scrape("socmond_workflow_rule_enabled", "rule", tRule2) != 1 {
		t.Errorf("rule series after the reload: %s %v, %s %v; want absent and 1", tRule, scrape("socmond_workflow_rule_enabled", "rule", tRule),
			tRule2, scrape("socmond_workflow_rule_enabled", "rule", tRule2))
	}
	if samples("soc-analyze") != 4 || !fired["soc-analyze"].Equal(firing()["soc-analyze"]) {
		t.Fatalf("after the rule reload: analyze %d samples, fired at %v (was %v)", samples("soc-analyze"), firing()["soc-analyze"], fired["soc-analyze"])
	}

	// 2. The state machine changes (rule and machine together): soc-ingest
	// goes, soc-enrich comes, soc-analyze stays as it was.
	reload(workflowConfig(t, tMachine2, tRule2))
	if samples("soc-analyze") != 4 {
		t.Fatalf("the reload itself dropped soc-analyze's window: %d samples", samples("soc-analyze"))
	}
	round()
	if samples("soc-ingest") != -1 || series("soc-ingest") {
		t.Errorf("soc-ingest no longer discovered: %d samples, series %t; want neither", samples("soc-ingest"), series("soc-ingest"))
	}
	if samples("soc-enrich") != 1 || !series("soc-enrich") {
		t.Errorf("soc-enrich discovered: %d samples, series %t", samples("soc-enrich"), series("soc-enrich"))
	}
	if samples("soc-analyze") != 5 || !series("soc-analyze") {
		t.Errorf("soc-analyze kept: %d samples, series %t; want 5 and its series", samples("soc-analyze"), series("soc-analyze"))
	}
	now := firing()
	if _, ok := now["soc-ingest"]; ok {
		t.Errorf("soc-ingest's alert still fires after it is no longer discovered: %v", now)
	}
	if !now["soc-analyze"].Equal(fired["soc-analyze"]) {
		t.Errorf("soc-analyze's alert fired at %v, was %v: the reloads resolved and re-fired it", now["soc-analyze"], fired["soc-analyze"])
	}
	if got := scrape("socmond_workflow_failing", "resource", tMachine2); got != 0 || scrape("socmond_workflow_failing", "resource", tMachine) != -1 {
		t.Errorf("socmond_workflow_failing follows the machine: new %v, old %v", got, scrape("socmond_workflow_failing", "resource", tMachine))
	}

	// 3. Workflow disabled: every discovered function goes, with its alert.
	off := workflowConfig(t, tMachine2, tRule2)
	no := false
	off.Workflow.Enabled = &no
	reload(off)
	if samples("soc-analyze") != -1 || series("soc-analyze") || len(firing()) != 0 {
		t.Errorf("workflow disabled: analyze %d samples, series %t, firing %v", samples("soc-analyze"), series("soc-analyze"), firing())
	}
	if scrape("socmond_workflow_healthy") != -1 {
		t.Error("workflow disabled, its series remain")
	}
}
