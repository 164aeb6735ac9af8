package workflow

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/socmond/socmond/internal/awssim"
	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/probes"
)

// TestDeadLettersOfRuleTargets: the queue a rule's target sends what it
// cannot deliver to is found in ListTargetsByRule and probed as its
// service's probe would, through the monitor's lifecycle: it gets a
// window, turns DEGRADED with a hint naming the rule and target when it
// holds messages, and goes when the rule in force no longer names it. A
// queue the config probes already is not probed twice.
func TestDeadLettersOfRuleTargets(t *testing.T) {
	const dlq = "arn:aws:sqs:us-east-1:123456789012:soc-alerts-dlq"
	env := startSim(t, awssim.Seed{
		EventBuses:    []string{tBus},
		StateMachines: []string{tMachine},
		Functions:     []string{"soc-ingest"},
		Definitions:   map[string]string{tMachine: lambdaChain("soc-ingest")},
		Resources:     map[string][]string{"sqs": {dlq}},
		Rules: []awssim.Rule{
			{Name: tRule, EventBus: tBus, EventPattern: `{"source":["x"]}`, Targets: []string{tMachine}, DeadLetter: dlq},
			{Name: tRule2, EventBus: tBus, EventPattern: `{"source":["x"]}`, Targets: []string{tMachine}},
		},
	})
	sim, clients := env.sim, env.c
	cfg := workflowConfig(t, tMachine, tRule)
	_, mon, _, f := wireFeature(t, cfg, clients)
	queue := probes.Target{Service: "sqs", Resource: dlq}
	snapshot := func() (probes.Result, int) {
		sn, ok := mon.Snapshot(queue, time.Now())
		if !ok {
			return probes.Result{}, -1
		}
		return sn.Last, sn.AvailabilitySamples
	}

	rep := f.Runner().RunPassive(context.Background())
	if len(rep.DeadLetters) != 1 || !rep.RulesRead {
		t.Fatalf("dead letters %+v (rules read %v), want the one of %s", rep.DeadLetters, rep.RulesRead, tRule)
	}
	if last, n := snapshot(); n != 1 || last.Status != probes.Healthy {
		t.Fatalf("the empty queue: %d samples, %s %q", n, last.Status, last.Detail)
	}

	sim.AddFault(awssim.Fault{Service: "sqs", Resource: dlq, Set: map[string]string{"ApproximateNumberOfMessages": "4"}})
	f.Runner().RunPassive(context.Background())
	last, n := snapshot()
	if n != 2 || last.Status != probes.Degraded || !strings.Contains(last.Hint, "rule "+tRule+"'s target") || !strings.Contains(last.Detail, "4 messages") {
		t.Errorf("the queue with 4 messages: %d samples, %s %q, hint %q", n, last.Status, last.Detail, last.Hint)
	}

	// A config that probes the queue itself (by URL): the workflow leaves
	// it to the configured check.
	withQueue := workflowConfig(t, tMachine, tRule)
	on := true
	q := withQueue.Services.Ensure("sqs")
	q.Enabled, q.Resources = &on, []config.Resource{{Name: "https://sqs.us-east-1.amazonaws.com/123456789012/soc-alerts-dlq"}}
	if err := f.Apply(withQueue, clients); err != nil {
		t.Fatal(err)
	}
	if rep := f.Runner().RunPassive(context.Background()); len(rep.DeadLetters) != 0 {
		t.Errorf("a configured queue was probed again as discovered: %+v", rep.DeadLetters)
	}

	// The rule in force no longer names a dead-letter queue: it goes.
	if err := f.Apply(workflowConfig(t, tMachine, tRule2), clients); err != nil {
		t.Fatal(err)
	}
	f.Runner().RunPassive(context.Background())
	if _, n := snapshot(); n != -1 {
		t.Errorf("the queue no rule names any more still has a window (%d samples)", n)
	}
}
