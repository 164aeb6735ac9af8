package workflow

import (
	"strings"

	"github.com/socmond/socmond/internal/awsclient"
	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/probes"
)

// PassiveFromConfig builds the passive workflow check of a config without
// tenants: its one pipeline's (PassiveAt the zero Place).
func PassiveFromConfig(cfg *config.Config, c *awsclient.Clients) *Passive {
	return PassiveAt(cfg, c, probes.Place{})
}

// PassiveAt builds the passive workflow check of the pipeline at place
// (one of cfg.Places()): its names (PipelineAt, WorkflowRulesAt), called
// through c, that pipeline's clients (config.ClientsAt).
func PassiveAt(cfg *config.Config, c *awsclient.Clients, place probes.Place) *Passive {
	var configured []string
	for _, t := range cfg.Targets() {
		if t.Service == probes.ServiceLambda && t.Place == place {
			configured = append(configured, t.Resource)
		}
	}
	p := cfg.PipelineAt(place)
	return &Passive{Place: place, Events: c.EventBridge, SFN: c.SFN, Lambda: c.Lambda,
		EventBus: p.EventBus, Rules: cfg.WorkflowRulesAt(place), StateMachine: p.StateMachine,
		Window: cfg.Workflow.ExecutionWindow.D(), MaxFailureRatio: *cfg.Workflow.FailureRatio, Configured: configured, LambdaTimeout: cfg.Defaults.Timeout.D(),
		DeadLetter: func(arn, owner string) (config.Target, probes.Probe, bool) {
			return deadLetterCheck(cfg, c, place, arn, owner)
		}}
}

// deadLetterCheck is the check of a dead-letter queue named by ARN, found
// by the pipeline at place: its service's probe, with that service's
// settings, on the pipeline's clients, unless the config already probes
// the queue there (by whatever name) or socmond has no probe for its
// service that takes dead letters.
func deadLetterCheck(cfg *config.Config, c *awsclient.Clients, place probes.Place, arn, owner string) (config.Target, probes.Probe, bool) {
	d, ok := probes.ForARN(arn)
	if !ok || !d.DeadLetter {
		return config.Target{}, nil, false
	}
	parts := strings.SplitN(arn, ":", 6)
	scope := probes.Scope{Partition: parts[1], Region: parts[3], Account: parts[4]}
	for _, t := range cfg.Targets() {
		if t.Service == d.Name && t.Place == place && d.Read.ARN(scope, t.Resource).Resource == arn {
			return config.Target{}, nil, false
		}
	}
	t := discoveredTarget(cfg, place, d.Name, arn, owner)
	p, err := probes.New(t.Service, t.Probe(), c)
	if err != nil {
		return config.Target{}, nil, false
	}
	return t, probes.Placed(p, place), true
}

// discoveredTarget is a resource the pipeline at place names (a function
// of its definition, a queue of its rules or functions): its service's
// settings, and the pipeline's place, so its series and alerts carry it
// and a resource of the same name in another pipeline is another one.
func discoveredTarget(cfg *config.Config, place probes.Place, service, resource, owner string) config.Target {
	t := cfg.DiscoveredTarget(service, resource, owner)
	t.Place = place
	return t
}

// CanaryFromConfig builds the canary of a config without tenants: its one
// pipeline's (CanaryAt the zero Place).
func CanaryFromConfig(cfg *config.Config, c *awsclient.Clients) *Canary {
	return CanaryAt(cfg, c, probes.Place{})
}

// CanaryAt builds the canary of the pipeline at place: it writes to that
// pipeline's event bus and reads its table and buckets (PipelineAt),
// through c, that pipeline's clients (config.ClientsAt).
func CanaryAt(cfg *config.Config, c *awsclient.Clients, place probes.Place) *Canary {
	k, p := &cfg.Canary, cfg.PipelineAt(place)
	// Held to compliance.min_retention (the default): in years, a lock of
	// that many calendar years passes, as the compliance check passes it.
	years := 0
	if m := cfg.Compliance.MinRetention; m.Years > 0 && k.MinRetentionDays == m.MinDays() {
		years = m.Years
	}
	return &Canary{
		Place: place,
		Spec: CanarySpec{
			EventBus: p.EventBus, Source: k.Source, DetailType: k.DetailType, Tenant: k.Tenant,
			StateMachine: p.StateMachine, Table: p.InvestigationsTable, KeyAttribute: k.KeyAttribute, KeyTemplate: k.KeyTemplate,
			AnalysisAttribute: k.BedrockAttribute, ArtifactsBucket: p.ArtifactsBucket, ArtifactKey: k.ArtifactKey,
			AuditBucket: p.AuditBucket, AuditKey: k.AuditKey, CompliancePrefix: k.CompliancePrefix, KMSKey: p.KMSKey,
			MinRetentionDays: k.MinRetentionDays, MinRetentionYears: years, Timeout: k.Timeout.D(), FindTimeout: k.FindTimeout.D(),
		},
		Events: c.EventBridge, SFN: c.SFN, DynamoDB: c.DynamoDB, S3: c.S3, KMS: c.KMS,
	}
}
