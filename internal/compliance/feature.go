package compliance

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/socmond/socmond/internal/alerting"
	"github.com/socmond/socmond/internal/awsclient"
	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/leader"
	"github.com/socmond/socmond/internal/report"
	"github.com/socmond/socmond/internal/server"
)

// FeatureOptions are what the daemon hands the compliance feature.
type FeatureOptions struct {
	Config     *config.Config
	Clients    *awsclient.Clients
	Registerer prometheus.Registerer
	Logger     zerolog.Logger
	Version    string
	Elector    leader.Elector   // only the leader writes evidence
	Alerts     *alerting.Engine // nil: no in-daemon alerts
}

// Feature is compliance in the daemon: the Runner with its metrics, its
// alerts and its panel, and evidence on the leader. The runner exists
// even while compliance is disabled, so that a reload can enable it (and
// disable it again); Apply swaps its settings whole.
type Feature struct {
	r *Runner
}

// NewFeature builds the feature on o.Config; Run runs it.
func NewFeature(o FeatureOptions) (*Feature, error) {
	s, err := SettingsFromConfig(o.Config, o.Clients)
	if err != nil {
		return nil, err
	}
	r, err := NewRunner(RunnerOptions{Settings: s,
		Registerer: o.Registerer, Logger: o.Logger.With().Str("component", "compliance").Logger(), Version: o.Version,
		Leader: o.Elector})
	if err != nil {
		return nil, err
	}
	// Every replica checks (so either can be scraped and page); only the
	// leader writes evidence, and a new leader writes a report at once.
	leading := o.Elector.Status().Leading
	o.Elector.Subscribe(func(st leader.Status) {
		if st.Leading && !leading {
			r.NewTerm()
		}
		leading = st.Leading
	})
	if o.Alerts != nil {
		// ComplianceViolation pages at once on any FAIL (no `for`), and
		// clears when a reload removes the failing target;
		// ComplianceCheckUnknown tickets a check that cannot read its
		// facts for 5 minutes.
		r.Subscribe(Alerts(o.Alerts))
	}
	return &Feature{r: r}, nil
}

// Check validates only the runner's own requirements: config.Load has
// already checked the schedules and the rest of the compliance section.
func (f *Feature) Check(cfg *config.Config, clients *awsclient.Clients) error {
	s, err := SettingsFromConfig(cfg, clients)
	if err != nil {
		return err
	}
	return s.Validate()
}

// Apply swaps the runner's settings for those of cfg on clients: a
// pipeline the new config no longer has loses its findings, series and
// alerts; one it keeps as it was keeps them.
func (f *Feature) Apply(cfg *config.Config, clients *awsclient.Clients) error {
	s, err := SettingsFromConfig(cfg, clients)
	if err != nil {
		return err
	}
	return f.r.Reconfigure(s)
}

// Run runs the checks until ctx ends.
func (f *Feature) Run(ctx context.Context) { f.r.Run(ctx) }

// Subscribe adds a hook for every finding (the EMF writer).
func (f *Feature) Subscribe(h func(Finding)) { f.r.Subscribe(h) }

// Panel shows the findings; no panel while compliance is disabled.
func (f *Feature) Panel(time.Time) server.Panel {
	if !f.r.Enabled() {
		return server.Panel{}
	}
	return Panel(f.r.Findings())
}

// Alerts raises ComplianceViolation for every FAIL finding, at once, and
// clears it when the check passes or stops applying. An UNKNOWN finding
// (the reads failed) leaves ComplianceViolation as it is — the last known
// verdict stands — and raises ComplianceCheckUnknown instead, which any
// other verdict clears. A tenant's pipeline's alerts carry its tenant,
// account and region, as its probes' alerts do.
func Alerts(e *alerting.Engine) func(Finding) {
	return func(f Finding) {
		s, now := e.Settings(), f.Start.Add(f.Duration)
		unknown := f.Verdict == Unknown
		if sig, ok := s.ComplianceUnknown(f.Check, f.Resource, f.Place, unknown, f.Reason, f.Hint); ok {
			e.Set(sig, now)
		}
		if unknown {
			return
		}
		if sig, ok := s.Compliance(f.Check, f.Resource, f.Place, f.Verdict == Fail, f.Reason, f.Hint); ok {
			e.Set(sig, now)
		}
	}
}

// Panel renders findings for /api/v1/status and the status page.
func Panel(findings []Finding) server.Panel {
	p := server.Panel{ID: "compliance", Title: "Encryption compliance"}
	for _, f := range findings {
		state := "pass"
		switch f.Verdict {
		case Fail:
			state = "fail"
		case NotApplicable:
			state = "not_applicable"
		case Unknown:
			state = "unknown"
		}
		// An UNKNOWN is not shown as good: nothing vouches for the setting.
		ok := f.Verdict == Pass || f.Verdict == NotApplicable
		p.Items = append(p.Items, server.PanelItem{Name: f.Check, Resource: f.Resource, Place: f.Place, State: state,
			OK: ok, Reason: f.Reason, Hint: f.Hint, At: f.Start, Details: f.Inputs})
	}
	return p
}

// Section runs the checks of every pipeline once for `socmond validate`,
// the pipelines side by side; none when compliance is disabled.
func Section(ctx context.Context, cfg *config.Config, c *awsclient.Clients) []report.Section {
	pipelines, err := PipelinesFromConfig(cfg, c)
	if err != nil {
		return []report.Section{{Title: "Encryption Compliance", Rows: []report.Row{{Name: "compliance checks",
			Verdict: report.Unknown, Summary: err.Error(), Service: "compliance", Status: string(Unknown)}}}}
	}
	if len(pipelines) == 0 {
		return nil
	}
	return []report.Section{{Title: "Encryption Compliance", Rows: Rows(Settings{Pipelines: pipelines}.Run(ctx))}}
}

var names = map[string]string{
	CheckKMSRotation:  "KMS key rotation",
	CheckDynamoDBKMS:  "DynamoDB KMS encryption",
	CheckS3KMS:        "S3 KMS encryption",
	CheckS3ObjectLock: "S3 Object Lock retention",
}

// Rows are findings as validate's rows.
func Rows(findings []Finding) []report.Row {
	rows := make([]report.Row, 0, len(findings))
	for _, f := range findings {
		v := report.Pass
		switch f.Verdict {
		case Fail:
			v = report.Fail
		case NotApplicable:
			v = report.NotApplicable
		case Unknown:
			v = report.Unknown
		}
		rows = append(rows, report.Row{Name: names[f.Check], Resource: f.Resource, Place: f.Place, Verdict: v, Summary: f.Reason,
			Duration: f.Duration, Service: "compliance", Check: f.Check, Status: string(f.Verdict), Class: string(f.Class),
			Code: f.Code, RequestID: f.RequestID, Hint: f.Hint, Start: f.Start})
	}
	return rows
}
