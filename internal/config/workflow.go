package config

import (
	"strings"
	"time"
)

// Built-in defaults of the workflow and canary sections.
const (
	DefaultWorkflowSchedule        = "@every 1m"
	DefaultWorkflowTimeout         = 30 * time.Second
	DefaultExecutionWindow         = time.Hour
	DefaultWorkflowFailureRatio    = 0.1
	DefaultCanarySchedule          = "@hourly"
	DefaultCanaryTenant            = "socmond-canary"
	DefaultCanaryTimeout           = 5 * time.Minute
	DefaultCanaryFindTimeout       = 60 * time.Second
	DefaultCanarySource            = "socmond.probe"
	DefaultCanaryDetailType        = "SyntheticInvestigation"
	DefaultCanaryKeyAttribute      = "investigationId"
	DefaultCanaryKeyTemplate       = "{investigation_id}"
	DefaultCanaryBedrockAttribute  = "analysis"
	DefaultCanaryArtifactKey       = "investigations/{tenant}/{investigation_id}/report.json"
	DefaultCanaryAuditKey          = "audit/{tenant}/{investigation_id}.json"
	DefaultCanaryCompliancePrefix  = "compliance/{tenant}/{investigation_id}/"
	MaxCanaryTimeout               = time.Hour
	canaryPlaceholderInvestigation = "{investigation_id}"
)

// Workflow is the passive, read-only check of the pipeline's wiring and of
// its recent real executions.
type Workflow struct {
	Enabled         *bool    `yaml:"enabled,omitempty"`          // default true when pipeline.state_machine is set
	Schedule        string   `yaml:"schedule,omitempty"`         // default "@every 1m"
	Timeout         Duration `yaml:"timeout,omitempty"`          // deadline of one passive round, default 30s
	Rules           []string `yaml:"rules,omitempty"`            // EventBridge rules that must be ENABLED and target the state machine
	ExecutionWindow Duration `yaml:"execution_window,omitempty"` // how far back executions are counted, default 1h
	// FailureRatio is the share of failed executions in the window above
	// which WorkflowExecutionsFailing fires; default 0.1.
	FailureRatio *float64 `yaml:"failure_ratio,omitempty"`
}

// Canary is the synthetic end-to-end test. It writes (an event, an
// investigation, artifacts that Object Lock keeps for seven years), so it is
// off unless enabled, and only the elected leader runs it on a schedule
// (--leader-election.backend).
type Canary struct {
	Enabled bool `yaml:"enabled"` // run on the daemon's schedule; `socmond e2e` runs regardless
	// Leader is deprecated: leader election decides which replica runs the
	// canary, and one ConfigMap cannot say true on one replica only.
	// false is still honoured (this replica never runs it, even when
	// elected), so an old standby's config does not start a second canary;
	// socmond warns whenever it is set.
	Leader     *bool  `yaml:"leader,omitempty"`
	Schedule   string `yaml:"schedule,omitempty"`    // default "@hourly"
	Tenant     string `yaml:"tenant,omitempty"`      // tenantId of the synthetic alert, default "socmond-canary"
	Source     string `yaml:"source,omitempty"`      // event source, default "socmond.probe"
	DetailType string `yaml:"detail_type,omitempty"` // default "SyntheticInvestigation"
	// Timeout bounds the whole run, find_timeout the search for the execution.
	Timeout     Duration `yaml:"timeout,omitempty"`      // default 5m
	FindTimeout Duration `yaml:"find_timeout,omitempty"` // default 60s
	// Templates take {investigation_id} and {tenant}.
	KeyAttribute     string `yaml:"key_attribute,omitempty"`      // partition key of the investigations table, default "investigationId"
	KeyTemplate      string `yaml:"key_template,omitempty"`       // its value, default "{investigation_id}"
	BedrockAttribute string `yaml:"bedrock_attribute,omitempty"`  // attribute the analysis stage writes, default "analysis"
	ArtifactKey      string `yaml:"artifact_key,omitempty"`       // object in the artifacts bucket
	AuditKey         string `yaml:"audit_key,omitempty"`          // object in the audit bucket
	CompliancePrefix string `yaml:"compliance_prefix,omitempty"`  // prefix in the artifacts bucket under which a compliance artifact must appear
	MinRetentionDays int    `yaml:"min_retention_days,omitempty"` // COMPLIANCE retention the audit artifact must have, default compliance.min_retention in days (2557)
}

// WorkflowEnabled reports whether the passive workflow check runs.
func (c *Config) WorkflowEnabled() bool {
	if c.Workflow.Enabled != nil {
		return *c.Workflow.Enabled
	}
	return c.Pipeline.StateMachine != ""
}

// CanaryLeader reports whether this replica may run the scheduled canary
// when elected: true unless the deprecated canary.leader says false.
func (c *Config) CanaryLeader() bool {
	return c.Canary.Leader == nil || *c.Canary.Leader
}

func (c *Config) applyWorkflowDefaults() {
	w := &c.Workflow
	if w.Enabled == nil {
		v := c.WorkflowEnabled()
		w.Enabled = &v
	}
	w.Schedule = firstString(w.Schedule, DefaultWorkflowSchedule)
	if w.Timeout == 0 {
		w.Timeout = Duration(DefaultWorkflowTimeout)
	}
	if w.ExecutionWindow == 0 {
		w.ExecutionWindow = Duration(DefaultExecutionWindow)
	}
	if w.FailureRatio == nil {
		v := DefaultWorkflowFailureRatio
		w.FailureRatio = &v
	}
	k := &c.Canary
	k.Schedule = firstString(k.Schedule, DefaultCanarySchedule)
	k.Tenant = firstString(k.Tenant, DefaultCanaryTenant)
	k.Source = firstString(k.Source, DefaultCanarySource)
	k.DetailType = firstString(k.DetailType, DefaultCanaryDetailType)
	if k.Timeout == 0 {
		k.Timeout = Duration(DefaultCanaryTimeout)
	}
	if k.FindTimeout == 0 {
		k.FindTimeout = Duration(DefaultCanaryFindTimeout)
	}
	k.KeyAttribute = firstString(k.KeyAttribute, DefaultCanaryKeyAttribute)
	k.KeyTemplate = firstString(k.KeyTemplate, DefaultCanaryKeyTemplate)
	k.BedrockAttribute = firstString(k.BedrockAttribute, DefaultCanaryBedrockAttribute)
	k.ArtifactKey = firstString(k.ArtifactKey, DefaultCanaryArtifactKey)
	k.AuditKey = firstString(k.AuditKey, DefaultCanaryAuditKey)
	k.CompliancePrefix = firstString(k.CompliancePrefix, DefaultCanaryCompliancePrefix)
	if k.MinRetentionDays == 0 {
		// What the compliance check requires of the audit bucket, so the
		// canary holds the pipeline's own writes to the same period.
		k.MinRetentionDays = c.Compliance.MinRetention.MinDays()
	}
}

func validateWorkflow(c *Config, l *locator) []*Error {
	var errs []*Error
	add := func(path, format string, args ...any) { errs = append(errs, l.errorf(path, format, args...)) }
	w, k := &c.Workflow, &c.Canary
	if err := ValidateSchedule(w.Schedule); err != nil {
		add("workflow.schedule", "invalid schedule %q: %v", w.Schedule, err)
	}
	if w.Timeout.D() > MaxTimeout {
		add("workflow.timeout", "%s exceeds the maximum of %s", w.Timeout, MaxTimeout)
	}
	if r := *w.FailureRatio; !(r >= 0 && r <= 1) {
		add("workflow.failure_ratio", "%v is out of range: must be a ratio between 0 and 1", r)
	}
	if *w.Enabled && c.Pipeline.StateMachine == "" {
		add("workflow.enabled", "the workflow check needs pipeline.state_machine")
	}
	for i, r := range w.Rules {
		if strings.TrimSpace(r) == "" {
			add("workflow.rules", "rule %d is empty", i)
		}
	}
	if err := ValidateSchedule(k.Schedule); err != nil {
		add("canary.schedule", "invalid schedule %q: %v", k.Schedule, err)
	}
	if k.Timeout.D() > MaxCanaryTimeout {
		add("canary.timeout", "%s exceeds the maximum of %s", k.Timeout, MaxCanaryTimeout)
	}
	if k.FindTimeout.D() > k.Timeout.D() {
		add("canary.find_timeout", "%s is longer than canary.timeout (%s)", k.FindTimeout, k.Timeout)
	}
	// A shorter period would pass audit artifacts that the compliance
	// check fails the audit bucket for; an invalid min_retention is
	// reported by validateCompliance.
	switch min := c.Compliance.MinRetention; {
	case k.MinRetentionDays < 1:
		add("canary.min_retention_days", "must be at least 1, got %d", k.MinRetentionDays)
	case min.Years >= 0 && min.Days >= 0 && k.MinRetentionDays < min.MinDays():
		add("canary.min_retention_days", "%d days is less than compliance.min_retention (%s) that the audit bucket must keep records for", k.MinRetentionDays, min)
	}
	if !strings.Contains(k.KeyTemplate, canaryPlaceholderInvestigation) {
		add("canary.key_template", "must contain %s, or every canary would read the same item", canaryPlaceholderInvestigation)
	}
	if k.Enabled {
		for _, msg := range c.CanaryPipelineErrors() {
			add("canary.enabled", "the canary needs %s", msg)
		}
	}
	return errs
}

// CanaryPipelineErrors lists what the canary needs from the pipeline section
// but is missing, for `socmond e2e`, which runs even when canary.enabled is
// false.
func (c *Config) CanaryPipelineErrors() []string {
	var out []string
	p := c.Pipeline
	for _, f := range [][2]string{
		{"pipeline.event_bus", p.EventBus}, {"pipeline.state_machine", p.StateMachine},
		{"pipeline.investigations_table", p.InvestigationsTable}, {"pipeline.artifacts_bucket", p.ArtifactsBucket},
		{"pipeline.audit_bucket", p.AuditBucket},
	} {
		if f[1] == "" {
			out = append(out, f[0]+" is not set")
		}
	}
	return out
}
