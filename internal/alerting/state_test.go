package alerting

import (
	"testing"
	"time"

	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/health"
	"github.com/socmond/socmond/internal/probes"
)

var t0 = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

// step is one evaluation at t0+at (or a Tick when tick is set) and the
// state expected after it.
type step struct {
	at     time.Duration
	active bool
	tick   bool
	want   State
}

func TestMachine(t *testing.T) {
	const forDur, clearFor = 60 * time.Second, 60 * time.Second
	tests := map[string]struct {
		forDur, clearFor time.Duration
		steps            []step
	}{
		"pending then firing after for": {forDur, clearFor, []step{
			{0, true, false, Pending},
			{30 * time.Second, true, false, Pending},
			{60 * time.Second, true, false, Firing},
		}},
		"pending cleared before for never fires": {forDur, clearFor, []step{
			{0, true, false, Pending},
			{30 * time.Second, false, false, Inactive},
			{60 * time.Second, true, false, Pending}, // a new episode: for starts again
			{90 * time.Second, true, false, Pending},
		}},
		"tick fires a pending alert without a new evaluation": {forDur, clearFor, []step{
			{0, true, false, Pending},
			{61 * time.Second, false, true, Firing},
		}},
		"resolves after clear_for": {forDur, clearFor, []step{
			{0, true, false, Pending},
			{60 * time.Second, true, false, Firing},
			{90 * time.Second, false, false, Firing},
			{120 * time.Second, false, false, Firing},
			{150 * time.Second, false, false, Resolved},
			{180 * time.Second, false, false, Inactive},
		}},
		"no flapping: a condition that comes back keeps one firing alert": {forDur, clearFor, []step{
			{0, true, false, Pending},
			{60 * time.Second, true, false, Firing},
			{90 * time.Second, false, false, Firing},
			{120 * time.Second, true, false, Firing},
			{150 * time.Second, false, false, Firing},
			{180 * time.Second, true, false, Firing},
			{210 * time.Second, false, false, Firing},
			{271 * time.Second, false, true, Resolved},
		}},
		"immediate (compliance): no for, no clear_for": {0, 0, []step{
			{0, false, false, Inactive},
			{10 * time.Second, true, false, Firing},
			{20 * time.Second, false, false, Resolved},
		}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			m := NewMachine()
			labels := map[string]string{"alertname": "X", "resource": "r"}
			for i, s := range tc.steps {
				now := t0.Add(s.at)
				var got State
				if s.tick {
					got = Inactive
					for _, a := range m.Tick(now) {
						got = a.State
					}
					if as := m.Alerts(); len(as) == 1 {
						got = as[0].State
					}
				} else {
					a, _ := m.Set(Signal{Labels: labels, Active: s.active, For: tc.forDur, ClearFor: tc.clearFor}, now)
					got = a.State
				}
				if got != s.want {
					t.Fatalf("step %d (+%s active=%v tick=%v): state %s, want %s", i, s.at, s.active, s.tick, got, s.want)
				}
			}
		})
	}
}

func target() config.Target {
	return config.Target{
		Service: "dynamodb", Resource: "t", Schedule: "@every 30s",
		ResponseTimeThreshold: 5 * time.Second, ErrorRateThreshold: 0.05, AvailabilityThreshold: 0.99,
		ErrorRateWindow: 5 * time.Minute, AvailabilityWindow: time.Hour,
	}
}

func signal(sigs []Signal, name string) Signal {
	for _, s := range sigs {
		if s.Labels["alertname"] == name {
			return s
		}
	}
	return Signal{}
}

func TestEvaluate(t *testing.T) {
	s := Settings{Tenant: "hk", RunbookBaseURL: "https://x/runbooks.md", MinSamples: 10, Alerting: &config.Alerting{}}
	tests := map[string]struct {
		snap   health.Snapshot
		alert  string
		active bool
	}{
		"error ratio over threshold": {health.Snapshot{ErrorRatio: 0.2, ErrorSamples: 10}, AlertHighErrorRate, true},
		"low traffic does not page":  {health.Snapshot{ErrorRatio: 1, ErrorSamples: 3}, AlertHighErrorRate, false},
		"error ratio at threshold":   {health.Snapshot{ErrorRatio: 0.05, ErrorSamples: 20}, AlertHighErrorRate, false},
		"availability under 99%":     {health.Snapshot{Availability: 0.9, AvailabilitySamples: 120}, AlertLowAvailability, true},
		"availability low traffic":   {health.Snapshot{Availability: 0, AvailabilitySamples: 2}, AlertLowAvailability, false},
		"slow success": {health.Snapshot{Last: probes.Result{Class: probes.ClassSlow, Duration: 6 * time.Second}},
			AlertSlowResponse, true},
		"timeout is an error, not slow": {health.Snapshot{Last: probes.Result{Class: probes.ClassTimeout, Duration: 10 * time.Second}},
			AlertSlowResponse, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			sig := signal(s.Evaluate(tc.snap, target()), tc.alert)
			if sig.Active != tc.active {
				t.Fatalf("active %v, want %v", sig.Active, tc.active)
			}
			// for and clear_for default to two probe intervals.
			if sig.For != time.Minute || sig.ClearFor != time.Minute {
				t.Fatalf("for %s clear_for %s, want 1m each", sig.For, sig.ClearFor)
			}
			for _, k := range []string{"alertname", "service", "resource", "severity", "tenant"} {
				if sig.Labels[k] == "" {
					t.Fatalf("label %s missing: %v", k, sig.Labels)
				}
			}
			if want := "https://x/runbooks.md#" + lower(tc.alert); sig.Annotations["runbook_url"] != want {
				t.Fatalf("runbook_url %q, want %q", sig.Annotations["runbook_url"], want)
			}
		})
	}
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

func TestRuleOverrides(t *testing.T) {
	off := false
	a := &config.Alerting{
		Rules: config.AlertRules{HighErrorRate: config.RuleSettings{For: config.Duration(3 * time.Minute), Severity: "ticket"}},
		Services: map[string]config.AlertRules{
			"dynamodb": {HighErrorRate: config.RuleSettings{Severity: "page"}, SlowResponse: config.RuleSettings{Enabled: &off}},
		},
	}
	s := Settings{Tenant: "hk", MinSamples: 1, Alerting: a}
	sigs := s.Evaluate(health.Snapshot{}, target())
	if got := signal(sigs, AlertSlowResponse); got.Labels != nil {
		t.Fatal("slow_response disabled for dynamodb still evaluated")
	}
	e := signal(sigs, AlertHighErrorRate)
	if e.For != 3*time.Minute || e.Labels["severity"] != "page" {
		t.Fatalf("for %s severity %s, want 3m (global) and page (service)", e.For, e.Labels["severity"])
	}
	other := target()
	other.Service = "s3"
	e = signal(s.Evaluate(health.Snapshot{}, other), AlertHighErrorRate)
	if e.Labels["severity"] != "ticket" {
		t.Fatalf("s3 severity %s, want the global ticket", e.Labels["severity"])
	}
}

func TestComplianceImmediate(t *testing.T) {
	s := Settings{Tenant: "hk", RunbookBaseURL: "u", Alerting: &config.Alerting{}}
	rec := &recorder{}
	e := NewEngine(s, time.Minute, rec)
	sig, ok := s.Compliance("kms_key_rotation", "alias/k", true, "rotation is off", "enable rotation")
	if !ok {
		t.Fatal("compliance rule disabled by default")
	}
	e.Set(sig, t0)
	if len(rec.got) != 1 || rec.got[0].Labels["alertname"] != AlertComplianceViolation || !rec.got[0].EndsAt.After(t0) {
		t.Fatalf("first FAIL did not fire at once: %+v", rec.got)
	}
	sig.Active = false
	e.Set(sig, t0.Add(time.Second))
	if len(rec.got) != 2 || !rec.got[1].EndsAt.Equal(t0.Add(time.Second)) {
		t.Fatalf("PASS did not resolve with endsAt=now: %+v", rec.got)
	}
}

type recorder struct{ got []Notification }

func (r *recorder) Enqueue(ns []Notification) { r.got = append(r.got, ns...) }
func (r *recorder) QueueLength() int          { return 0 }

func TestEngineResend(t *testing.T) {
	rec := &recorder{}
	e := NewEngine(Settings{}, time.Minute, rec)
	sig := Signal{Labels: map[string]string{"alertname": "X"}, Active: true, For: 10 * time.Second}
	e.Set(sig, t0)
	if len(rec.got) != 0 {
		t.Fatal("a pending alert was sent")
	}
	e.Tick(t0.Add(10 * time.Second))
	if len(rec.got) != 1 || !rec.got[0].EndsAt.Equal(t0.Add(10*time.Second+4*time.Minute)) {
		t.Fatalf("firing: %+v", rec.got)
	}
	e.Tick(t0.Add(40 * time.Second))
	if len(rec.got) != 1 {
		t.Fatal("resent before the resend interval")
	}
	e.Tick(t0.Add(70 * time.Second))
	if len(rec.got) != 2 || !rec.got[1].StartsAt.Equal(t0.Add(10*time.Second)) {
		t.Fatalf("resend: %+v", rec.got)
	}
}
