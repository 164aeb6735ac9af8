// Package alerting turns what socmond sees into alerts and delivers them to
// Alertmanager. Rules (this file) evaluate a health Snapshot against a
// target's thresholds; the state machine (state.go) gives each alert its
// pending → firing → resolved life, with `for` and `clear_for` so a
// flapping condition pages once; the Engine (engine.go) ties them together
// for any producer — probes, compliance checks, the workflow canary — and
// the Notifier (notifier.go) posts to Alertmanager's API v2 with a bounded,
// retried queue. The same rule names, labels and annotations are defined
// for Prometheus in deploy/prometheus/, so both paths page alike.
package alerting

import (
	"fmt"
	"strings"
	"time"

	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/health"
	"github.com/socmond/socmond/internal/probes"
)

// Alert names. They are a contract with deploy/prometheus/, the example
// Alertmanager routes and docs/runbooks.md.
const (
	AlertSlowResponse    = "AWSServiceSlowResponse"
	AlertHighErrorRate   = "AWSServiceHighErrorRate"
	AlertLowAvailability = "AWSServiceLowAvailability"
	// AlertBacklog: a resource holds items the pipeline could not deliver
	// (a dead-letter queue's messages): alerts that were lost. A page.
	AlertBacklog             = "AWSServiceBacklog"
	AlertComplianceViolation = "ComplianceViolation"
	// AlertComplianceCheckUnknown: a compliance check could not read its
	// facts (verdict UNKNOWN). Not a regulatory finding: a ticket.
	AlertComplianceCheckUnknown = "ComplianceCheckUnknown"
)

// Settings are what the rules need beyond the targets' own settings.
type Settings struct {
	Tenant         string
	RunbookBaseURL string
	Alerting       *config.Alerting
}

// SettingsFromConfig are the rule settings of cfg.
func SettingsFromConfig(cfg *config.Config) Settings {
	a := &cfg.Alerting
	return Settings{Tenant: cfg.Tenant, RunbookBaseURL: a.RunbookBaseURL, Alerting: a}
}

// ruleOf maps the alertnames of the rules that have settings (severity,
// enabled) to their rule keys.
var ruleOf = map[string]string{
	AlertSlowResponse:           config.RuleSlowResponse,
	AlertHighErrorRate:          config.RuleHighErrorRate,
	AlertLowAvailability:        config.RuleLowAvailability,
	AlertBacklog:                config.RuleBacklog,
	AlertComplianceViolation:    config.RuleComplianceViolation,
	AlertComplianceCheckUnknown: config.RuleComplianceUnknown,
}

// relabel is what an alert raised under earlier settings is under s
// (Engine.Reconcile): the tenant and, for the alerts of configurable
// rules, the severity are s's; ok is false when its rule is now disabled
// or, for a service rule, probed says its resource is gone. The rest of the
// labels say which alert it is and stay.
func (s Settings) relabel(l map[string]string, probed func(probes.Target) bool) (map[string]string, bool) {
	// A placed resource's tenant is part of what it is: another tenant
	// is another resource, which probed says is gone.
	if _, ok := l["tenant"]; ok && l["account"] == "" {
		l["tenant"] = s.Tenant
	}
	key, ok := ruleOf[l["alertname"]]
	if !ok {
		return l, true
	}
	// Compliance checks are no probed resource: the compliance runner
	// clears the alerts of checks a reload removed itself.
	if key != config.RuleComplianceViolation && key != config.RuleComplianceUnknown && !probed(labelTarget(l)) {
		return nil, false
	}
	r := s.rule(key, config.Target{Service: l["service"]})
	if !r.Enabled {
		return nil, false
	}
	l["severity"] = r.Severity
	return l, true
}

// labelTarget is the resource an alert's labels name: service and
// resource, and its place when it has an account label.
func labelTarget(l map[string]string) probes.Target {
	t := probes.Target{Service: l["service"], Resource: l["resource"]}
	if l["account"] != "" {
		t.Place = probes.Place{Tenant: l["tenant"], Account: l["account"], Region: l["region"]}
	}
	return t
}

// PlaceLabels puts a placed target's tenant (in place of the config-wide
// one), account and region on an alert's labels.
func PlaceLabels(l map[string]string, p probes.Place) {
	if p.IsZero() {
		return
	}
	l["tenant"], l["account"], l["region"] = p.Tenant, p.Account, p.Region
}

// RunbookURL is the runbook section of an alert: docs/runbooks.md has one
// heading per alertname, and GitHub anchors are lower-cased headings.
func (s Settings) RunbookURL(alertname string) string {
	return s.RunbookBaseURL + "#" + strings.ToLower(alertname)
}

// rule resolves one rule for a target: severity, for and clear_for.
func (s Settings) rule(key string, t config.Target) config.ResolvedRule {
	a := s.Alerting
	if a == nil {
		a = &config.Alerting{}
	}
	return a.Rule(key, t.Service, config.Interval(t.Schedule))
}

// Evaluate turns one resource's snapshot into the signals of the four
// service rules. The conditions are the snapshot's (internal/health, as
// docs/alerting.md defines them, clear_for included), so an alert is active
// exactly when the status word says so; the rules add only for, severity
// and the words of the page. Disabled rules yield no signal. The hint is the
// latest failure's, so the page says what to do for this failure.
func (s Settings) Evaluate(snap health.Snapshot, t config.Target) []Signal {
	hint := snap.Last.Hint
	if hint == "" && snap.LastFailure != nil {
		hint = snap.LastFailure.Hint
	}
	var out []Signal
	add := func(key, name string, k health.Kind, summary, description string) {
		r := s.rule(key, t)
		if !r.Enabled {
			return
		}
		labels := map[string]string{
			"alertname": name, "service": t.Service, "resource": t.Resource,
			"severity": r.Severity, "tenant": s.Tenant,
		}
		PlaceLabels(labels, t.Place)
		out = append(out, Signal{
			Labels: labels,
			Annotations: map[string]string{
				"summary": summary, "description": description,
				"hint": hint, "runbook_url": s.RunbookURL(name),
			},
			Active: snap.Conditions[k].Active, For: r.For,
		})
	}
	where := placed(t.Service+" "+t.Resource, t.Place)

	d := snap.Last.Duration
	add(config.RuleSlowResponse, AlertSlowResponse, health.KindSlow,
		fmt.Sprintf("%s responds slowly", where),
		fmt.Sprintf("%s took %s to answer %s (threshold %s).", where, round(d), snap.Last.Check, t.ResponseTimeThreshold))

	add(config.RuleHighErrorRate, AlertHighErrorRate, health.KindError,
		fmt.Sprintf("%s error rate is high", where),
		fmt.Sprintf("%s failed %s of %d probes over %s (threshold %s).", where,
			percent(snap.ErrorRatio), snap.ErrorSamples, t.ErrorRateWindow, percent(t.ErrorRateThreshold)))

	add(config.RuleLowAvailability, AlertLowAvailability, health.KindUnavailable,
		fmt.Sprintf("%s availability is low", where),
		fmt.Sprintf("%s was available for %s of %d probes over %s (objective %s).", where,
			percent(snap.Availability), snap.AvailabilitySamples, t.AvailabilityWindow, percent(t.AvailabilityThreshold)))

	held := snap.Last.Detail
	if f := snap.LastFailure; f != nil && f.Class == probes.ClassBacklog {
		held = f.Detail
	}
	add(config.RuleBacklog, AlertBacklog, health.KindBacklog,
		fmt.Sprintf("%s holds undelivered items", where),
		fmt.Sprintf("%s holds what the pipeline could not deliver: %s.", where, held))
	return out
}

// anyActive reports whether any of the snapshot's conditions is active.
func anyActive(snap health.Snapshot) bool {
	for _, c := range snap.Conditions {
		if c.Active {
			return true
		}
	}
	return false
}

// Compliance builds the ComplianceViolation signal of one compliance check
// on one resource (of the tenant's pipeline at place, zero without
// tenants): active while the check fails, firing at once.
func (s Settings) Compliance(check, resource string, place probes.Place, failing bool, reason, hint string) (Signal, bool) {
	return s.complianceSignal(config.RuleComplianceViolation, AlertComplianceViolation,
		fmt.Sprintf("Compliance check %s fails for %s", check, placed(resource, place)), check, resource, place, failing, reason, hint)
}

// ComplianceUnknown builds the ComplianceCheckUnknown signal of one
// compliance check on one resource: active while the check cannot read its
// facts (verdict UNKNOWN), firing after the rule's `for` (5m), resolved by
// the first verdict. It stands apart from ComplianceViolation, which an
// UNKNOWN neither raises nor clears.
func (s Settings) ComplianceUnknown(check, resource string, place probes.Place, unknown bool, reason, hint string) (Signal, bool) {
	return s.complianceSignal(config.RuleComplianceUnknown, AlertComplianceCheckUnknown,
		fmt.Sprintf("Compliance check %s cannot read the facts for %s", check, placed(resource, place)), check, resource, place, unknown, reason, hint)
}

// placed is a resource's name for a person, with its place when it has one.
func placed(resource string, p probes.Place) string {
	if p.IsZero() {
		return resource
	}
	return fmt.Sprintf("%s (tenant %s, account %s, %s)", resource, p.Tenant, p.Account, p.Region)
}

// complianceSignal is a compliance alert's signal under its rule's
// settings; ok is false when the rule is disabled. A placed check's
// alert carries its tenant, account and region (PlaceLabels).
func (s Settings) complianceSignal(key, name, summary, check, resource string, place probes.Place, active bool, reason, hint string) (Signal, bool) {
	r := s.rule(key, config.Target{Service: "compliance"})
	if !r.Enabled {
		return Signal{}, false
	}
	labels := map[string]string{
		"alertname": name, "service": "compliance", "check": check,
		"resource": resource, "severity": r.Severity, "tenant": s.Tenant,
	}
	PlaceLabels(labels, place)
	return Signal{
		Labels: labels,
		Annotations: map[string]string{
			"summary": summary, "description": reason, "hint": hint, "runbook_url": s.RunbookURL(name),
		},
		Active: active, For: r.For, ClearFor: r.ClearFor,
	}, true
}

func round(d time.Duration) time.Duration { return d.Round(time.Millisecond) }

func percent(f float64) string { return fmt.Sprintf("%.4g%%", 100*f) }
