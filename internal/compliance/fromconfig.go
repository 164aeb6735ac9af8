package compliance

import (
	"github.com/socmond/socmond/internal/awsclient"
	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/probes"
)

// CheckerAt builds the encryption compliance checks of the pipeline at
// place, as its names are there (config's PipelineAt), on that place's
// clients c; nil when compliance is disabled.
func CheckerAt(cfg *config.Config, c *awsclient.Clients, place probes.Place) *Checker {
	if !cfg.Compliance.IsEnabled(&cfg.Pipeline) {
		return nil
	}
	p := cfg.PipelineAt(place)
	var buckets []string
	for _, b := range []string{p.ArtifactsBucket, p.AuditBucket} {
		if b != "" {
			buckets = append(buckets, b)
		}
	}
	return &Checker{
		KMS: c.KMS, DynamoDB: c.DynamoDB, S3: c.S3, Timeout: cfg.Defaults.Timeout.D(), Place: place,
		Targets: Targets{
			KMSKey: p.KMSKey, Tables: cfg.ComplianceTablesAt(place), Buckets: buckets, AuditBucket: p.AuditBucket,
			MinRetention: Retention{Years: cfg.Compliance.MinRetention.Years, Days: cfg.Compliance.MinRetention.Days},
		},
	}
}

// PipelinesFromConfig are the checks and evidence of every pipeline of
// cfg (config's Places: the one zero Place without tenants), each on its
// account's role's clients in its region, derived from base (config's
// ClientsAt); none when compliance is disabled.
func PipelinesFromConfig(cfg *config.Config, base *awsclient.Clients) ([]Pipeline, error) {
	if !cfg.Compliance.IsEnabled(&cfg.Pipeline) {
		return nil, nil
	}
	var out []Pipeline
	for _, place := range cfg.Places() {
		c, err := cfg.ClientsAt(base, place)
		if err != nil {
			return nil, err
		}
		p := Pipeline{Checker: CheckerAt(cfg, c, place)}
		if ev := cfg.Compliance.Evidence; ev.Enabled {
			pl := cfg.PipelineAt(place)
			p.Evidence = &Evidence{S3: c.S3, Bucket: pl.AuditBucket, Prefix: ev.Prefix, KMSKey: pl.KMSKey}
		}
		out = append(out, p)
	}
	return out, nil
}

// SettingsFromConfig are the runner's settings for cfg on the clients
// base: no checks when compliance is disabled.
func SettingsFromConfig(cfg *config.Config, base *awsclient.Clients) (Settings, error) {
	pipelines, err := PipelinesFromConfig(cfg, base)
	if err != nil {
		return Settings{}, err
	}
	s := Settings{Pipelines: pipelines, Schedule: cfg.Compliance.Schedule}
	if s.hasEvidence() {
		s.EvidenceSchedule = cfg.Compliance.Evidence.Schedule
	}
	return s, nil
}
