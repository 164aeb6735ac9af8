package workflow

import (
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
		Window: cfg.Workflow.ExecutionWindow.D(), MaxFailureRatio: *cfg.Workflow.FailureRatio, Configured: configured, LambdaTimeout: cfg.Defaults.Timeout.D()}
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
