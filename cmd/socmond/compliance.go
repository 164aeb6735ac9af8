package main

import (
	"context"
	"time"

	"github.com/socmond/socmond/internal/awsclient"
	"github.com/socmond/socmond/internal/compliance"
	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/leader"
	"github.com/socmond/socmond/internal/reload"
	"github.com/socmond/socmond/internal/report"
	"github.com/socmond/socmond/internal/server"
	"github.com/socmond/socmond/internal/version"
)

// complianceChecker builds the encryption compliance checks from the
// pipeline section, or nil when they are disabled.
func complianceChecker(cfg *config.Config, c *awsclient.Clients) *compliance.Checker {
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
	return &compliance.Checker{
		KMS: c.KMS, DynamoDB: c.DynamoDB, S3: c.S3, Timeout: cfg.Defaults.Timeout.D(),
		Targets: compliance.Targets{
			KMSKey: p.KMSKey, Tables: cfg.ComplianceTables(), Buckets: buckets, AuditBucket: p.AuditBucket,
			MinRetention: compliance.Retention{Years: cfg.Compliance.MinRetention.Years, Days: cfg.Compliance.MinRetention.Days},
		},
	}
}

// complianceSettings are the compliance runner's settings for cfg on the
// clients c: no checks when compliance is disabled.
func complianceSettings(cfg *config.Config, c *awsclient.Clients) compliance.Settings {
	s := compliance.Settings{Checker: complianceChecker(cfg, c), Schedule: cfg.Compliance.Schedule}
	if ev := cfg.Compliance.Evidence; ev.Enabled && s.Checker != nil {
		s.Evidence = &compliance.Evidence{S3: c.S3, Bucket: cfg.Pipeline.AuditBucket, Prefix: ev.Prefix, KMSKey: cfg.Pipeline.KMSKey}
		s.EvidenceSchedule = ev.Schedule
	}
	return s
}

// attachCompliance runs the compliance checks in the daemon: metrics on the
// daemon registry, a panel in /api/v1/status, and evidence when enabled.
// The runner exists even while compliance is disabled, so that a reload can
// enable it (and disable it again); a reload swaps its settings whole.
func attachCompliance(d *daemon) (feature, error) {
	r, err := compliance.NewRunner(compliance.RunnerOptions{Settings: complianceSettings(d.cfg, d.clients),
		Registerer: d.metrics.Registry(), Logger: d.log.With().Str("component", "compliance").Logger(), Version: version.Version,
		Leader: d.elector})
	if err != nil {
		return nil, err
	}
	// Every replica checks (so either can be scraped and page); only the
	// leader writes evidence, and a new leader writes a report at once.
	leading := d.elector.Status().Leading
	d.elector.Subscribe(func(st leader.Status) {
		if st.Leading && !leading {
			r.NewTerm()
		}
		leading = st.Leading
	})
	if d.alerts != nil {
		// ComplianceViolation pages at once on any FAIL (no `for`), and
		// clears when a reload removes the failing target;
		// ComplianceCheckUnknown tickets a check that cannot read its
		// facts for 5 minutes.
		r.Subscribe(complianceAlerts(d.alerts))
	}
	if d.emf != nil {
		r.Subscribe(d.emf.Finding)
	}
	d.panels = append(d.panels, func(time.Time) server.Panel {
		if !r.Enabled() {
			return server.Panel{} // no panel while compliance is disabled
		}
		return compliancePanel(r.Findings())
	})
	// Only the runner's own requirements: config.Load has already checked
	// the schedules and the rest of the compliance section. The clients
	// do not matter to Validate.
	d.background = append(d.background, r.Run)
	return reload.Funcs[*config.Config, *awsclient.Clients]{
		CheckFunc: func(cfg *config.Config) error { return complianceSettings(cfg, d.clients).Validate() },
		ApplyFunc: func(cfg *config.Config, c *awsclient.Clients) error { return r.Reconfigure(complianceSettings(cfg, c)) },
	}, nil
}

// compliancePanel renders findings for /api/v1/status and the status page.
func compliancePanel(findings []compliance.Finding) server.Panel {
	p := server.Panel{ID: "compliance", Title: "Encryption compliance"}
	for _, f := range findings {
		state := "pass"
		switch f.Verdict {
		case compliance.Fail:
			state = "fail"
		case compliance.NotApplicable:
			state = "not_applicable"
		case compliance.Unknown:
			state = "unknown"
		}
		// An UNKNOWN is not shown as good: nothing vouches for the setting.
		ok := f.Verdict == compliance.Pass || f.Verdict == compliance.NotApplicable
		p.Items = append(p.Items, server.PanelItem{Name: f.Check, Resource: f.Resource, State: state,
			OK: ok, Reason: f.Reason, Hint: f.Hint, At: f.Start, Details: f.Inputs})
	}
	return p
}

// complianceSection runs the checks once for `socmond validate`.
func complianceSection(ctx context.Context, cfg *config.Config, c *awsclient.Clients) []report.Section {
	checker := complianceChecker(cfg, c)
	if checker == nil {
		return nil
	}
	return []report.Section{{Title: "Encryption Compliance", Rows: complianceRows(checker.Run(ctx))}}
}

var complianceNames = map[string]string{
	compliance.CheckKMSRotation:  "KMS key rotation",
	compliance.CheckDynamoDBKMS:  "DynamoDB KMS encryption",
	compliance.CheckS3KMS:        "S3 KMS encryption",
	compliance.CheckS3ObjectLock: "S3 Object Lock retention",
}

func complianceRows(findings []compliance.Finding) []report.Row {
	rows := make([]report.Row, 0, len(findings))
	for _, f := range findings {
		v := report.Pass
		switch f.Verdict {
		case compliance.Fail:
			v = report.Fail
		case compliance.NotApplicable:
			v = report.NotApplicable
		case compliance.Unknown:
			v = report.Unknown
		}
		rows = append(rows, report.Row{Name: complianceNames[f.Check], Resource: f.Resource, Verdict: v, Summary: f.Reason,
			Duration: f.Duration, Service: "compliance", Check: f.Check, Status: string(f.Verdict), Class: string(f.Class),
			Code: f.Code, RequestID: f.RequestID, Hint: f.Hint, Start: f.Start})
	}
	return rows
}
