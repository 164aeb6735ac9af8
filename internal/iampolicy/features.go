package iampolicy

import (
	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/probes"
)

// addPipeline grants everything socmond does in the pipeline at place,
// whose ARNs s scopes: the zero Place is the config-wide pipeline.
func addPipeline(b *builder, s scope, cfg *config.Config, place probes.Place) {
	addProbes(b, s, cfg, place)
	addCompliance(b, s, cfg, place)
	addWorkflow(b, s, cfg, place)
	addCanary(b, s, cfg, place)
}

// addProbes grants the one read-only call each probe of the pipeline at
// place makes (README, "What a probe does"), and the billed call of each
// opt-in runtime probe.
func addProbes(b *builder, s scope, cfg *config.Config, place probes.Place) {
	for _, t := range cfg.Targets() {
		if d, ok := probes.Lookup(t.Service); ok && t.Place == place {
			grant(b, s, d.Read, t.Resource)
		}
	}
	for _, t := range cfg.RuntimeTargets() {
		if d, ok := probes.Lookup(t.Service); ok && d.Runtime != nil && t.Place == place {
			grant(b, s, d.Runtime.Use, t.Resource)
		}
	}
}

// addCompliance grants the compliance checks (aws-api.md §3) and the
// evidence reports written to, and read back from, the audit bucket.
func addCompliance(b *builder, s scope, cfg *config.Config, place probes.Place) {
	cc := cfg.Compliance
	p := cfg.PipelineAt(place)
	if !cc.IsEnabled(&p) {
		return
	}
	if p.KMSKey != "" {
		keyStatement(b, s, "ReadKMSKey", []string{"kms:DescribeKey", "kms:GetKeyRotationStatus"}, p.KMSKey)
	}
	for _, t := range cfg.ComplianceTablesAt(place) {
		b.add("ReadDynamoDBTables", []string{"dynamodb:DescribeTable"}, s.table(t))
	}
	for _, bucket := range []string{p.ArtifactsBucket, p.AuditBucket} {
		if bucket != "" {
			b.add("ReadS3BucketEncryption", []string{"s3:GetEncryptionConfiguration"}, s.bucket(bucket))
		}
	}
	if p.AuditBucket != "" {
		b.add("ReadS3AuditObjectLock", []string{"s3:GetBucketObjectLockConfiguration"}, s.bucket(p.AuditBucket))
	}
	if !cc.Evidence.Enabled || p.AuditBucket == "" {
		return
	}
	// PutObject with Object Lock headers needs PutObjectRetention too, and
	// SSE-KMS needs the key: GenerateDataKey to write, Decrypt to read back.
	// Reading back (`socmond evidence verify`) checks the retention, which
	// S3 returns on GetObject only to callers allowed GetObjectRetention.
	objs := s.objects(p.AuditBucket, cc.Evidence.Prefix)
	b.add("OptInWriteEvidence", []string{"s3:PutObject", "s3:PutObjectRetention"}, objs)
	b.add("OptInReadBackEvidence", []string{"s3:GetObject", "s3:GetObjectRetention"}, objs)
	if p.KMSKey != "" {
		keyStatement(b, s, "OptInEvidenceKMS", []string{"kms:Decrypt", "kms:GenerateDataKey"}, p.KMSKey)
	}
}

// addWorkflow grants the passive workflow check: the rules, the state
// machine and its recent executions.
func addWorkflow(b *builder, s scope, cfg *config.Config, place probes.Place) {
	p := cfg.PipelineAt(place)
	if !cfg.WorkflowEnabled() || p.StateMachine == "" {
		return
	}
	sm := s.stateMachine(p.StateMachine)
	for _, r := range cfg.WorkflowRulesAt(place) {
		b.add("ReadEventBridgeRules", []string{"events:DescribeRule", "events:ListTargetsByRule"}, s.rule(p.EventBus, r))
	}
	b.add("ReadStepFunctionsStateMachines", []string{"states:DescribeStateMachine", "states:ListExecutions"}, sm)
	b.add("ReadStepFunctionsExecutions", []string{"states:DescribeExecution", "states:GetExecutionHistory"}, s.executions(sm))
	// The rules' targets and the definition's functions name the queues
	// they send what they cannot deliver or process to, which the check
	// probes as their services' probes would:
	// those of a service whose resources can be dead-letter targets,
	// read-only, anywhere in the pipeline's account and region.
	for _, d := range probes.All() {
		if d.DeadLetter {
			grant(b, s, probes.Access{Sid: sidDiscovered + "DeadLetters", Actions: d.Read.Actions, ARN: d.Read.ARN}, "*")
		}
	}
	// The check reads the configuration of the functions the definition
	// invokes (their state and dead-letter target, one call); they are the
	// pipeline's, which the lambda section lists.
	for _, f := range cfg.Services.Get(probes.ServiceLambda).Resources {
		grant(b, s, probes.Lambda.Read, cfg.NameAt(f.Name, place))
	}
}

// sidDiscovered starts the statements for what the workflow check finds in
// the pipeline rather than in the config.
const sidDiscovered = "ReadDiscovered"

// addCanary grants the synthetic end-to-end canary: one event in, then reads
// of what the pipeline wrote. PutEvents is its only write.
func addCanary(b *builder, s scope, cfg *config.Config, place probes.Place) {
	k := cfg.Canary
	p := cfg.PipelineAt(place)
	if !k.Enabled || p.EventBus == "" || p.StateMachine == "" {
		return
	}
	sm := s.stateMachine(p.StateMachine)
	b.add("OptInCanaryPutEvents", []string{"events:PutEvents"}, s.bus(p.EventBus))
	b.add("OptInCanaryFindExecution", []string{"states:ListExecutions"}, sm)
	b.add("OptInCanaryFollowExecution", []string{"states:DescribeExecution", "states:GetExecutionHistory"}, s.executions(sm))
	if p.InvestigationsTable != "" {
		b.add("OptInCanaryReadInvestigation", []string{"dynamodb:GetItem"}, s.table(p.InvestigationsTable))
	}
	if p.ArtifactsBucket != "" {
		b.add("OptInCanaryReadArtifacts", []string{"s3:GetObject"},
			s.objects(p.ArtifactsBucket, keyPrefix(k.ArtifactKey, k.Tenant)),
			s.objects(p.ArtifactsBucket, keyPrefix(k.CompliancePrefix, k.Tenant)))
		b.addCond("OptInCanaryListArtifacts", map[string]map[string][]string{
			"StringLike": {"s3:prefix": {keyPrefix(k.CompliancePrefix, k.Tenant) + "*"}},
		}, []string{"s3:ListBucket"}, s.bucket(p.ArtifactsBucket))
	}
	if p.AuditBucket != "" {
		b.add("OptInCanaryReadAudit", []string{"s3:GetObject", "s3:GetObjectRetention"}, s.objects(p.AuditBucket, keyPrefix(k.AuditKey, k.Tenant)))
	}
}
