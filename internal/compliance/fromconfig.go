package compliance

import (
	"github.com/socmond/socmond/internal/awsclient"
	"github.com/socmond/socmond/internal/config"
)

// CheckerFromConfig builds the encryption compliance checks from the
// pipeline section, or nil when they are disabled.
func CheckerFromConfig(cfg *config.Config, c *awsclient.Clients) *Checker {
	if !cfg.Compliance.IsEnabled(&cfg.Pipeline) {
		return nil
	}
	p := cfg.Pipeline
	var buckets []string
	for _, b := range []string{p.ArtifactsBucket, p.AuditBucket} {
		if b != "" {
			buckets = append(buckets, b)
		}
	}
	return &Checker{
		KMS: c.KMS, DynamoDB: c.DynamoDB, S3: c.S3, Timeout: cfg.Defaults.Timeout.D(),
		Targets: Targets{
			KMSKey: p.KMSKey, Tables: cfg.ComplianceTables(), Buckets: buckets, AuditBucket: p.AuditBucket,
			MinRetention: Retention{Years: cfg.Compliance.MinRetention.Years, Days: cfg.Compliance.MinRetention.Days},
		},
	}
}

// SettingsFromConfig are the runner's settings for cfg on the clients c:
// no checks when compliance is disabled.
func SettingsFromConfig(cfg *config.Config, c *awsclient.Clients) Settings {
	s := Settings{Checker: CheckerFromConfig(cfg, c), Schedule: cfg.Compliance.Schedule}
	if ev := cfg.Compliance.Evidence; ev.Enabled && s.Checker != nil {
		s.Evidence = &Evidence{S3: c.S3, Bucket: cfg.Pipeline.AuditBucket, Prefix: ev.Prefix, KMSKey: cfg.Pipeline.KMSKey}
		s.EvidenceSchedule = ev.Schedule
	}
	return s
}
