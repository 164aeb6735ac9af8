package config

import (
	"fmt"

	"github.com/socmond/socmond/internal/probes"
)

// Compliance defaults.
const (
	DefaultComplianceSchedule = "@every 30s" // a violation pages within a minute (docs/alerting.md)
	DefaultEvidenceSchedule   = "@daily"
	DefaultEvidencePrefix     = "socmond/evidence/"
	DefaultMinRetentionYears  = 7
)

// Compliance configures the encryption compliance checks (KMS rotation,
// DynamoDB and S3 SSE-KMS, audit bucket Object Lock retention) and the
// evidence reports written to the audit bucket.
type Compliance struct {
	// Enabled defaults to true when the pipeline section names a KMS key
	// or a bucket.
	Enabled      *bool        `yaml:"enabled,omitempty"`
	Schedule     string       `yaml:"schedule,omitempty"` // default "@every 30s"
	MinRetention MinRetention `yaml:"min_retention,omitempty"`
	Evidence     Evidence     `yaml:"evidence,omitempty"`
}

// MinRetention is the shortest Object Lock default retention the audit
// bucket may have: whole years or days, not both (as S3 expresses it).
// Years Y are met by Years ≥ Y or Days ≥ Y·365 + ⌈Y/4⌉ (7 years = 2557 days).
type MinRetention struct {
	Years int `yaml:"years,omitempty"` // default 7
	Days  int `yaml:"days,omitempty"`
}

// MinDays is r in days, counted as the compliance check counts it
// (compliance.Retention.MinDays, which config cannot import): 365 a year
// plus one per possible leap day, so 7 years is 2557 days.
func (r MinRetention) MinDays() int {
	if r.Years > 0 {
		return r.Years*365 + (r.Years+3)/4
	}
	return r.Days
}

func (r MinRetention) String() string {
	if r.Years > 0 {
		return fmt.Sprintf("%d years = %d days", r.Years, r.MinDays())
	}
	return fmt.Sprintf("%d days", r.Days)
}

// Evidence configures the JSON reports written to the audit bucket with
// SSE-KMS, a SHA-256 checksum and COMPLIANCE retention. They are socmond's
// only S3 writes, hence off by default.
type Evidence struct {
	Enabled  bool   `yaml:"enabled"`
	Schedule string `yaml:"schedule,omitempty"` // default "@daily"; a report is also written on every change of result
	Prefix   string `yaml:"prefix,omitempty"`   // default "socmond/evidence/"
}

// IsEnabled reports whether the compliance checks run.
func (c *Compliance) IsEnabled(p *Pipeline) bool {
	if c.Enabled != nil {
		return *c.Enabled
	}
	return p.KMSKey != "" || p.ArtifactsBucket != "" || p.AuditBucket != ""
}

// ComplianceTables are the tables the DynamoDB encryption check covers: the
// pipeline's tables, or every probed table when the pipeline names none.
func (c *Config) ComplianceTables() []string { return c.ComplianceTablesAt(probes.Place{}) }

// ComplianceTablesAt are ComplianceTables as the pipeline at p names them.
func (c *Config) ComplianceTablesAt(p probes.Place) []string {
	var out []string
	pl := c.PipelineAt(p)
	for _, t := range []string{pl.InvestigationsTable, pl.MetricsTable} {
		if t != "" {
			out = append(out, t)
		}
	}
	if tables := c.Services.Get(probes.ServiceDynamoDB); len(out) == 0 && tables.IsEnabled() {
		for _, r := range tables.Resources {
			out = append(out, substitute(r.Name, p))
		}
	}
	return out
}

func (c *Config) applyComplianceDefaults() {
	cc := &c.Compliance
	if cc.Enabled == nil {
		v := cc.IsEnabled(&c.Pipeline)
		cc.Enabled = &v
	}
	if cc.Schedule == "" {
		cc.Schedule = DefaultComplianceSchedule
	}
	if cc.MinRetention.Years == 0 && cc.MinRetention.Days == 0 {
		cc.MinRetention.Years = DefaultMinRetentionYears
	}
	if cc.Evidence.Schedule == "" {
		cc.Evidence.Schedule = DefaultEvidenceSchedule
	}
	if cc.Evidence.Prefix == "" {
		cc.Evidence.Prefix = DefaultEvidencePrefix
	}
}

func validateCompliance(c *Config, l *locator) []error {
	var errs []error
	cc := &c.Compliance
	add := func(path, format string, args ...any) { errs = append(errs, l.errorf(path, format, args...)) }
	if err := ValidateSchedule(cc.Schedule); err != nil {
		add("compliance.schedule", "invalid schedule %q: %v", cc.Schedule, err)
	}
	r := cc.MinRetention
	switch {
	case r.Years < 0 || r.Days < 0:
		add("compliance.min_retention", "must not be negative")
	case r.Years > 0 && r.Days > 0:
		add("compliance.min_retention", "set years or days, not both (S3 Object Lock retention is one or the other)")
	case r.Years > 100 || r.Days > 36500:
		add("compliance.min_retention", "longer than S3 Object Lock allows (100 years / 36500 days)")
	}
	if err := ValidateSchedule(cc.Evidence.Schedule); err != nil {
		add("compliance.evidence.schedule", "invalid schedule %q: %v", cc.Evidence.Schedule, err)
	}
	p := &c.Pipeline
	if *cc.Enabled && p.KMSKey == "" && p.ArtifactsBucket == "" && p.AuditBucket == "" && len(c.ComplianceTables()) == 0 {
		add("compliance.enabled", "compliance is enabled but the pipeline section names no kms_key, artifacts_bucket or audit_bucket to check")
	}
	if cc.Evidence.Enabled {
		if c.Pipeline.AuditBucket == "" {
			add("compliance.evidence.enabled", "evidence is written to the audit bucket: set pipeline.audit_bucket")
		}
		if !*cc.Enabled {
			add("compliance.evidence.enabled", "evidence reports the compliance checks, which are disabled")
		}
	}
	if len(cc.Evidence.Prefix) > 512 {
		add("compliance.evidence.prefix", "%s", fmt.Sprintf("too long (%d characters)", len(cc.Evidence.Prefix)))
	}
	return errs
}
