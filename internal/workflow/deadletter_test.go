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
	if len(rep.DeadLetters) != 1 || len(rep.Unread) != 0 {
		t.Fatalf("dead letters %+v (unread %v), want the one of %s", rep.DeadLetters, rep.Unread, tRule)
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

// TestDeadLettersOfFunctions: the queue a function of the definition sends
// the asynchronous invocations it could not process to is found in its
// configuration, the probe's own GetFunctionConfiguration answer for a
// discovered function and one call of the workflow's for a configured one,
// and probed through the monitor's lifecycle with the function named in
// its hint. A queue a rule's target names too is probed once, as the
// rule's; a topic (no probe) is skipped; a function whose configuration
// cannot be read keeps its queue without breaking the round; the queue
// follows the function's configuration and a reload.
func TestDeadLettersOfFunctions(t *testing.T) {
	const (
		shared  = "arn:aws:sqs:us-east-1:123456789012:soc-shared-dlq"
		ingest  = "arn:aws:sqs:us-east-1:123456789012:soc-ingest-dlq"
		ingest2 = "arn:aws:sqs:us-east-1:123456789012:soc-ingest-dlq-2"
		enrich  = "arn:aws:sqs:us-east-1:123456789012:soc-enrich-dlq"
		topic   = "arn:aws:sns:us-east-1:123456789012:soc-store-failures"
	)
	env := startSim(t, awssim.Seed{
		EventBuses:    []string{tBus},
		StateMachines: []string{tMachine, tMachine2},
		Functions:     []string{"soc-ingest", "soc-analyze", "soc-store", "soc-enrich"},
		Definitions: map[string]string{tMachine: lambdaChain("soc-ingest", "soc-analyze", "soc-store"),
			tMachine2: lambdaChain("soc-enrich")},
		Resources: map[string][]string{"sqs": {shared, ingest, ingest2, enrich}},
		FunctionDeadLetters: map[string]string{"soc-ingest": ingest, "soc-analyze": shared, "soc-store": topic,
			"soc-enrich": enrich},
		Rules: []awssim.Rule{
			{Name: tRule, EventBus: tBus, EventPattern: `{"source":["x"]}`, Targets: []string{tMachine}, DeadLetter: shared},
			{Name: tRule2, EventBus: tBus, EventPattern: `{"source":["x"]}`, Targets: []string{tMachine2}},
		},
	})
	sim, clients := env.sim, env.c
	// soc-ingest is configured: probed on its own schedule, its queue is
	// the workflow's to find all the same.
	withIngest := func(machine, rule string) *config.Config {
		cfg := workflowConfig(t, machine, rule)
		on := true
		l := cfg.Services.Ensure("lambda")
		l.Enabled, l.Resources = &on, []config.Resource{{Name: "soc-ingest"}}
		return cfg
	}
	_, mon, _, f := wireFeature(t, withIngest(tMachine, tRule), clients)
	samples := func(arn string) int {
		sn, ok := mon.Snapshot(probes.Target{Service: "sqs", Resource: arn}, time.Now())
		if !ok {
			return -1
		}
		return sn.AvailabilitySamples
	}
	round := func() PassiveReport {
		t.Helper()
		before := len(sim.Calls())
		rep := f.Runner().RunPassive(context.Background())
		if !rep.DefinitionRead {
			t.Fatalf("the round did not read the definition: %+v", rep.Checks)
		}
		// One GetFunctionConfiguration per function and round, one
		// GetQueueAttributes per queue.
		calls := map[string]int{}
		for _, c := range sim.Calls()[before:] {
			if c.Operation == "GetFunctionConfiguration" || c.Operation == "GetQueueAttributes" {
				calls[c.Resource]++
			}
		}
		for r, n := range calls {
			if n != 1 {
				t.Errorf("%s read %d times in one round, want once", r, n)
			}
		}
		return rep
	}
	letters := func(rep PassiveReport) map[string]string {
		out := map[string]string{}
		for _, l := range rep.Letters {
			out[l.Target.Resource] = l.From.Kind + " " + l.From.Name + ": " + l.Target.Owner
		}
		return out
	}

	rep := round()
	got := letters(rep)
	if len(rep.DeadLetters) != 2 || len(got) != 2 || len(rep.Unread) != 0 ||
		!strings.HasPrefix(got[shared], "rule "+tRule+": rule "+tRule+"'s target") || got[ingest] != "function soc-ingest: function soc-ingest" {
		t.Fatalf("dead letters %+v, found %v (unread %v); want %s as the rule's and %s as soc-ingest's, the topic skipped",
			rep.DeadLetters, got, rep.Unread, shared, ingest)
	}
	if samples(shared) != 1 || samples(ingest) != 1 {
		t.Fatalf("windows: shared %d, ingest %d samples; want 1 each", samples(shared), samples(ingest))
	}

	// A message in soc-ingest's queue: DEGRADED, naming the function.
	sim.AddFault(awssim.Fault{Service: "sqs", Resource: ingest, Set: map[string]string{"ApproximateNumberOfMessages": "2"}})
	round()
	if sn, _ := mon.Snapshot(probes.Target{Service: "sqs", Resource: ingest}, time.Now()); sn.Last.Status != probes.Degraded ||
		!strings.Contains(sn.Last.Hint, "the dead-letter queue of function soc-ingest") {
		t.Errorf("soc-ingest's queue holding 2 messages: %s, hint %q", sn.Last.Status, sn.Last.Hint)
	}

	// The function is given another queue: the round follows.
	sim.AddFault(awssim.Fault{Service: "lambda", Resource: "soc-ingest", Set: map[string]string{"TargetArn": ingest2}})
	round()
	if samples(ingest) != -1 || samples(ingest2) != 1 || samples(shared) != 3 {
		t.Errorf("after soc-ingest's queue changed: old %d, new %d, shared %d samples; want none, 1, 3", samples(ingest), samples(ingest2), samples(shared))
	}

	// Its configuration cannot be read: the round goes on, and its queue
	// stays (unknown, not gone) until it can be read again.
	sim.AddFault(awssim.Fault{Service: "lambda", Resource: "soc-ingest", Error: "AccessDeniedException"})
	rep = round()
	if len(rep.Unread) != 1 || rep.Unread[0] != (Source{SourceFunction, "soc-ingest"}) || samples(ingest2) != 1 || samples(shared) != 4 {
		t.Errorf("soc-ingest unreadable: unread %v, its queue %d samples (want 1, kept), shared %d (want 4)", rep.Unread, samples(ingest2), samples(shared))
	}
	sim.ClearFaults()

	// A reload to the other machine and rule: soc-enrich's queue comes,
	// the others go.
	if err := f.Apply(withIngest(tMachine2, tRule2), clients); err != nil {
		t.Fatal(err)
	}
	rep = round()
	if got := letters(rep); len(got) != 1 || got[enrich] != "function soc-enrich: function soc-enrich" {
		t.Errorf("after the reload: found %v, want only %s as soc-enrich's", got, enrich)
	}
	if samples(enrich) != 1 || samples(ingest2) != -1 || samples(shared) != -1 {
		t.Errorf("after the reload: enrich %d, ingest %d, shared %d samples; want 1 and none", samples(enrich), samples(ingest2), samples(shared))
	}

	// The definition cannot be read: the functions' queues stay.
	sim.AddFault(awssim.Fault{Service: "stepfunctions", Resource: tMachine2, Error: "AccessDeniedException"})
	if rep := f.Runner().RunPassive(context.Background()); rep.DefinitionRead || samples(enrich) != 1 {
		t.Errorf("definition unreadable (read %v): soc-enrich's queue %d samples, want 1 (kept)", rep.DefinitionRead, samples(enrich))
	}
}
