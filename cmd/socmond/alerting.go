package main

import (
	"context"
	"time"

	"github.com/socmond/socmond/internal/alerting"
	"github.com/socmond/socmond/internal/awsclient"
	"github.com/socmond/socmond/internal/compliance"
	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/probes"
	"github.com/socmond/socmond/internal/reload"
	"github.com/socmond/socmond/internal/server"
)

// alertTick is how often the engine re-evaluates by time alone (pending
// alerts whose `for` has passed, resends). One second keeps firing close to
// the configured `for` at a negligible cost.
const alertTick = time.Second

// attachAlerting evaluates the in-daemon alert rules on every probe result
// and delivers the alerts to the configured Alertmanagers (none is fine: a
// reload may add them). It sets d.alerts so features attached after it
// (compliance, workflow, canary) raise their alerts through the same
// engine with Engine.Set.
func attachAlerting(d *daemon) (feature, error) {
	a := &d.cfg.Alerting
	notifier, err := alerting.NewNotifier(a, d.log)
	if err != nil {
		return nil, err
	}
	e := alerting.NewEngine(alertSettings(d.cfg), a.ResendInterval.D(), notifier)
	if err := d.metrics.Registry().Register(e.Collector()); err != nil {
		return nil, err
	}
	d.alerts = e
	// A reload changes the rules (tenant, thresholds via targets, for,
	// severities), resend_interval and the Alertmanagers. The validator builds the new
	// Alertmanagers' clients (reading their TLS files) so a bad one rejects
	// the reload before anything changes; the reloader that follows it in
	// the same reload applies what it built. Alertmanagers added or
	// changed are sent the alerts firing now, at once.
	var next *alerting.Alertmanagers // reload calls are serialised
	f := reload.Funcs[*config.Config, *awsclient.Clients]{
		CheckFunc: func(cfg *config.Config) error {
			built, err := alerting.BuildAlertmanagers(&cfg.Alerting)
			if err != nil {
				return err
			}
			next = built
			return nil
		},
		ApplyFunc: func(cfg *config.Config, _ *awsclient.Clients) error {
			e.SetSettings(alertSettings(cfg))
			e.SetResendInterval(cfg.Alerting.ResendInterval.D())
			// The checks were applied before this feature, so the monitor
			// holds exactly the resources still checked (the workflow's
			// discovered functions among them: they keep their windows).
			now := time.Now()
			e.Reconcile(func(service, resource string) bool {
				_, ok := d.monitor.Snapshot(probes.Target{Service: service, Resource: resource}, now)
				return ok
			}, now)
			e.SendFiring(notifier.SetAlertmanagers(next), time.Now())
			return nil
		},
	}
	d.monitor.Subscribe(e.Observe)
	// A resource nothing checks any more (a discovered function the
	// workflow no longer finds, between reloads too) has its alerts
	// resolved: nothing would evaluate them again.
	d.monitor.SubscribeRemoved(e.Removed)
	d.panels = append(d.panels, alertsPanel(e))
	d.background = append(d.background, func(ctx context.Context) { e.Run(ctx, alertTick) }, notifier.Run)
	// Firing alerts are not resolved on shutdown: socmond stopping says
	// nothing about AWS. Their endsAt lets Alertmanager expire them if
	// socmond does not come back.
	d.stops = append(d.stops, notifier.Flush)
	return f, nil
}

// complianceAlerts raises ComplianceViolation for every FAIL finding, at
// once, and clears it when the check passes or stops applying. An UNKNOWN
// finding (the reads failed) leaves ComplianceViolation as it is — the
// last known verdict stands — and raises ComplianceCheckUnknown instead,
// which any other verdict clears. attachCompliance subscribes it to the
// compliance runner.
func complianceAlerts(e *alerting.Engine) func(compliance.Finding) {
	return func(f compliance.Finding) {
		s, now := e.Settings(), f.Start.Add(f.Duration)
		unknown := f.Verdict == compliance.Unknown
		if sig, ok := s.ComplianceUnknown(f.Check, f.Resource, unknown, f.Reason, f.Hint); ok {
			e.Set(sig, now)
		}
		if unknown {
			return
		}
		if sig, ok := s.Compliance(f.Check, f.Resource, f.Verdict == compliance.Fail, f.Reason, f.Hint); ok {
			e.Set(sig, now)
		}
	}
}

func alertSettings(cfg *config.Config) alerting.Settings {
	a := &cfg.Alerting
	return alerting.Settings{Tenant: cfg.Tenant, RunbookBaseURL: a.RunbookBaseURL, Alerting: a}
}

// alertsPanel lists the pending and firing alerts on /api/v1/status and
// the status page.
func alertsPanel(e *alerting.Engine) server.PanelSource {
	return func(time.Time) server.Panel {
		p := server.Panel{ID: "alerts", Title: "Alerts"}
		for _, a := range e.Alerts() {
			at := a.ActiveAt
			if a.State == alerting.Firing {
				at = a.FiredAt
			}
			p.Items = append(p.Items, server.PanelItem{
				Name: a.Name(), Resource: a.Labels["resource"], State: string(a.State), OK: false,
				Reason: a.Annotations["description"], Hint: a.Annotations["hint"], At: at,
				Details: map[string]string{
					"service": a.Labels["service"], "severity": a.Labels["severity"],
					"runbook_url": a.Annotations["runbook_url"],
				},
			})
		}
		return p
	}
}
