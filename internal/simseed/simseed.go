// Package simseed turns a socmond configuration into the simulator's seed,
// so `socmond sim`, `socmond demo` and the tests build the same simulated
// pipeline from one file. Only cmd/socmond and tests import it: production
// packages never depend on the simulator.
package simseed

import (
	"encoding/json"
	"time"

	"github.com/socmond/socmond/internal/awssim"
	"github.com/socmond/socmond/internal/config"
)

// FromConfig creates in the simulator every resource the configuration
// names, so socmond finds a healthy pipeline until faults are injected.
func FromConfig(cfg *config.Config) awssim.Seed {
	seed := awssim.Seed{Region: cfg.Region}
	for _, t := range cfg.Targets() {
		// The simulator knows its services by the names config uses. A
		// service it does not simulate (yet) has nothing to seed; its checks
		// fail against the simulator until it does.
		_ = seed.Add(t.Service, t.Resource)
	}
	if b := cfg.Pipeline.AuditBucket; b != "" {
		seed.AuditBuckets = append(seed.AuditBuckets, b)
	}
	seedPipeline(&seed, cfg)
	return seed
}

// simStageDuration is how long each simulated Lambda stage takes, so
// `socmond e2e` against `socmond sim` shows executions RUNNING for a moment.
const simStageDuration = 300 * time.Millisecond

// seedPipeline seeds what the workflow check and the canary need: the rules
// routing canary events to the state machine, the investigations table's key,
// and the pipeline's writes, all from the same configuration, so
// `socmond e2e` passes against `socmond sim` seeded from one file.
func seedPipeline(seed *awssim.Seed, cfg *config.Config) {
	p, k := &cfg.Pipeline, &cfg.Canary
	if p.StateMachine == "" {
		return
	}
	pattern, _ := json.Marshal(map[string][]string{"source": {k.Source}, "detail-type": {k.DetailType}})
	bus := p.EventBus
	if bus == "" {
		bus = "default"
	}
	for _, r := range cfg.Workflow.Rules {
		seed.Rules = append(seed.Rules, awssim.Rule{Name: r, EventBus: bus, EventPattern: string(pattern), Targets: []string{p.StateMachine}})
	}
	if p.InvestigationsTable != "" {
		if seed.TableKeys == nil {
			seed.TableKeys = map[string]string{}
		}
		seed.TableKeys[p.InvestigationsTable] = k.KeyAttribute
	}
	seed.Pipeline = &awssim.Pipeline{
		StateMachine: p.StateMachine, Table: p.InvestigationsTable, KeyAttribute: k.KeyAttribute, KeyTemplate: k.KeyTemplate,
		AnalysisAttribute: k.BedrockAttribute, ArtifactsBucket: p.ArtifactsBucket, ArtifactKey: k.ArtifactKey,
		AuditBucket: p.AuditBucket, AuditKey: k.AuditKey, CompliancePrefix: k.CompliancePrefix, StageDuration: simStageDuration,
	}
}
