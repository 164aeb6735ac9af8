package workflow

import (
	"strings"

	"github.com/socmond/socmond/internal/awsclient"
	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/probes"
)

// PassiveFromConfig builds the passive workflow check from the configuration.
func PassiveFromConfig(cfg *config.Config, c *awsclient.Clients) *Passive {
	var configured []string
	if fns := cfg.Services.Get(probes.ServiceLambda); fns.IsEnabled() {
		for _, r := range fns.Resources {
			configured = append(configured, r.Name)
		}
	}
	return &Passive{Events: c.EventBridge, SFN: c.SFN, Lambda: c.Lambda,
		EventBus: cfg.Pipeline.EventBus, Rules: cfg.Workflow.Rules, StateMachine: cfg.Pipeline.StateMachine,
		Window: cfg.Workflow.ExecutionWindow.D(), MaxFailureRatio: *cfg.Workflow.FailureRatio, Configured: configured, LambdaTimeout: cfg.Defaults.Timeout.D(),
		DeadLetter: func(arn, owner string) (config.Target, probes.Probe, bool) {
			return deadLetterCheck(cfg, c, arn, owner)
		}}
}

// deadLetterCheck is the check of a dead-letter queue named by ARN: its
// service's probe, with that service's settings, unless the config
// already probes the queue (by whatever name) or socmond has no probe for
// its service that takes dead letters.
func deadLetterCheck(cfg *config.Config, c *awsclient.Clients, arn, owner string) (config.Target, probes.Probe, bool) {
	d, ok := probes.ForARN(arn)
	if !ok || !d.DeadLetter {
		return config.Target{}, nil, false
	}
	parts := strings.SplitN(arn, ":", 6)
	scope := probes.Scope{Partition: parts[1], Region: parts[3], Account: parts[4]}
	for _, t := range cfg.Targets() {
		if t.Service == d.Name && d.Read.ARN(scope, t.Resource).Resource == arn {
			return config.Target{}, nil, false
		}
	}
	t := cfg.DiscoveredTarget(d.Name, arn, owner)
	p, err := probes.New(t.Service, t.Probe(), c)
	if err != nil {
		return config.Target{}, nil, false
	}
	return t, p, true
}

// CanaryFromConfig builds the canary from the configuration.
func CanaryFromConfig(cfg *config.Config, c *awsclient.Clients) *Canary {
	k, p := &cfg.Canary, &cfg.Pipeline
	// Held to compliance.min_retention (the default): in years, a lock of
	// that many calendar years passes, as the compliance check passes it.
	years := 0
	if m := cfg.Compliance.MinRetention; m.Years > 0 && k.MinRetentionDays == m.MinDays() {
		years = m.Years
	}
	return &Canary{
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
