// Package simseed turns a socmond configuration into the simulator's seed,
// so `socmond sim`, `socmond demo` and the tests build the same simulated
// pipeline from one file. Only cmd/socmond and tests import it: production
// packages never depend on the simulator.
package simseed

import (
	"cmp"
	"encoding/json"
	"time"

	"github.com/socmond/socmond/internal/awssim"
	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/probes"
)

// FromConfig creates in the simulator every resource the configuration
// names, so socmond finds a healthy pipeline until faults are injected.
//
// A tenant's pipeline's resources (config's tenants:) are seeded in their
// account and region, which the simulator serves to the account's role
// (granted with its external id); an account without a role is socmond's
// own, the simulator's default account, in the pipeline's region.
func FromConfig(cfg *config.Config) awssim.Seed {
	seed := awssim.Seed{Region: cfg.Region}
	for _, t := range cfg.Targets() {
		// The simulator knows its services by the names config uses. A
		// service it does not simulate (yet) has nothing to seed; its checks
		// fail against the simulator until it does.
		_ = scopeOf(&seed, cfg, t.Place).Add(t.Service, t.Resource)
	}
	for _, a := range cfg.Accounts {
		if a.RoleARN != "" {
			seed.Roles = append(seed.Roles, awssim.Role{ARN: a.RoleARN, ExternalID: string(a.ExternalID)})
		}
	}
	// Each pipeline's audit bucket, workflow and dead-letter queues in its
	// own account and region, as its names say (config's PipelineAt).
	for _, place := range cfg.Places() {
		sc := scopeOf(&seed, cfg, place)
		if b := cfg.PipelineAt(place).AuditBucket; b != "" {
			sc.AuditBuckets = append(sc.AuditBuckets, b)
		}
		seedPipeline(sc, cfg, place)
		seedDeadLetters(sc, cfg, place)
	}
	return seed
}

// scopeOf is the seed of a place's account and region: the default
// scope's own for an unplaced resource or one of socmond's own account in
// the default region, else one of seed.Scopes, added on first use.
func scopeOf(seed *awssim.Seed, cfg *config.Config, p probes.Place) *awssim.Seed {
	if p.IsZero() {
		return seed
	}
	account := AccountOf(cfg, p, seed.AccountID)
	if account == cmp.Or(seed.AccountID, awssim.DefaultAccount) && p.Region == cmp.Or(seed.Region, awssim.DefaultRegion) {
		return seed
	}
	for i := range seed.Scopes {
		if sc := &seed.Scopes[i]; sc.AccountID == account && sc.Region == p.Region {
			return sc
		}
	}
	seed.Scopes = append(seed.Scopes, awssim.Seed{AccountID: account, Region: p.Region})
	return &seed.Scopes[len(seed.Scopes)-1]
}

// AccountOf is the simulator account serving a place: its account's, when
// socmond reaches it through a role, else own's (socmond's own identity's
// account, the simulator's default when empty). A fault narrowed to a
// pipeline names this account.
func AccountOf(cfg *config.Config, p probes.Place, own string) string {
	if a, _ := cfg.Account(p.Account); a.RoleARN != "" {
		return p.Account
	}
	return cmp.Or(own, awssim.DefaultAccount)
}

// seedDeadLetters gives the configured functions a dead-letter target: the
// first configured resource of a service that can be one (the example's
// queue, "where the rule's targets and the functions put the alerts they
// could not deliver"). The workflow check finds it in each function's
// configuration and leaves it to the configured check.
func seedDeadLetters(seed *awssim.Seed, cfg *config.Config, place probes.Place) {
	arn := ""
	var functions []string
	for _, t := range cfg.Targets() {
		if t.Place != place {
			continue
		}
		d, _ := probes.Lookup(t.Service)
		switch {
		case t.Service == probes.ServiceLambda:
			functions = append(functions, t.Resource)
		case d.DeadLetter && arn == "":
			scope := probes.Scope{Partition: "aws", Region: cmp.Or(seed.Region, awssim.DefaultRegion), Account: cmp.Or(seed.AccountID, awssim.DefaultAccount)}
			arn = d.Read.ARN(scope, t.Resource).Resource
		}
	}
	if arn == "" {
		return
	}
	for _, fn := range functions {
		if seed.FunctionDeadLetters == nil {
			seed.FunctionDeadLetters = map[string]string{}
		}
		seed.FunctionDeadLetters[fn] = arn
	}
}

// simStageDuration is how long each simulated Lambda stage takes, so
// `socmond e2e` against `socmond sim` shows executions RUNNING for a moment.
const simStageDuration = 300 * time.Millisecond

// seedPipeline seeds what the workflow check and the canary need: the rules
// routing canary events to the state machine, the investigations table's key,
// and the pipeline's writes, all from the same configuration, so
// `socmond e2e` passes against `socmond sim` seeded from one file.
func seedPipeline(seed *awssim.Seed, cfg *config.Config, place probes.Place) {
	pl, k := cfg.PipelineAt(place), &cfg.Canary
	p := &pl
	if p.StateMachine == "" {
		return
	}
	pattern, _ := json.Marshal(map[string][]string{"source": {k.Source}, "detail-type": {k.DetailType}})
	bus := p.EventBus
	if bus == "" {
		bus = "default"
	}
	for _, r := range cfg.WorkflowRulesAt(place) {
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
