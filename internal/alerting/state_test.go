package alerting

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
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

// The rules take their conditions from the snapshot (internal/health
// computes them, docs/alerting.md defines them): each alert is active
// exactly when its condition is, whatever the ratios say.
func TestEvaluate(t *testing.T) {
	s := Settings{Tenant: "hk", RunbookBaseURL: "https://x/runbooks.md", Alerting: &config.Alerting{}}
	active := func(k health.Kind) health.Snapshot {
		var snap health.Snapshot
		snap.Conditions[k] = health.Condition{Failing: true, Active: true}
		return snap
	}
	failingOnly := func(k health.Kind) health.Snapshot {
		var snap health.Snapshot
		snap.Conditions[k] = health.Condition{Failing: true}
		// Ratios that would breach: the condition decides, not them.
		snap.ErrorRatio, snap.ErrorSamples, snap.Availability, snap.AvailabilitySamples = 1, 100, 0, 100
		return snap
	}
	tests := map[string]struct {
		snap   health.Snapshot
		alert  string
		active bool
	}{
		"error condition active":              {active(health.KindError), AlertHighErrorRate, true},
		"error condition failing but guarded": {failingOnly(health.KindError), AlertHighErrorRate, false},
		"availability condition active":       {active(health.KindUnavailable), AlertLowAvailability, true},
		"availability condition not active":   {failingOnly(health.KindUnavailable), AlertLowAvailability, false},
		"slow condition active":               {active(health.KindSlow), AlertSlowResponse, true},
		"an error is not slow":                {active(health.KindError), AlertSlowResponse, false},
		"backlog condition active":            {active(health.KindBacklog), AlertBacklog, true},
		"a backlog is no error":               {active(health.KindBacklog), AlertHighErrorRate, false},
		"an error is no backlog":              {active(health.KindError), AlertBacklog, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			sig := signal(s.Evaluate(tc.snap, target()), tc.alert)
			if sig.Active != tc.active {
				t.Fatalf("active %v, want %v", sig.Active, tc.active)
			}
			// No for by default: a second failing result confirms already.
			// clear_for is the condition's own (health), not the engine's.
			if sig.For != 0 || sig.ClearFor != 0 {
				t.Fatalf("for %s clear_for %s, want 0 each", sig.For, sig.ClearFor)
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
	s := Settings{Tenant: "hk", Alerting: a}
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
	sig, ok := s.Compliance("kms_key_rotation", "alias/k", probes.Place{}, true, "rotation is off", "enable rotation")
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

// TestEngineResendIntervalReload: a reload that shortens resend_interval
// applies from the next tick, and one that lengthens it holds resends back.
func TestEngineResendIntervalReload(t *testing.T) {
	rec := &recorder{}
	e := NewEngine(Settings{}, time.Hour, rec)
	e.Set(Signal{Labels: map[string]string{"alertname": "X"}, Active: true}, t0)
	e.Tick(t0)
	if len(rec.got) != 1 {
		t.Fatalf("firing: %d notifications, want 1", len(rec.got))
	}
	e.Tick(t0.Add(2 * time.Minute))
	if len(rec.got) != 1 {
		t.Fatal("resent within the 1h interval")
	}
	e.SetResendInterval(time.Minute)
	e.Tick(t0.Add(2 * time.Minute))
	if len(rec.got) != 2 {
		t.Fatalf("after shortening to 1m: %d notifications, want the resend", len(rec.got))
	}
	if want := t0.Add(2*time.Minute + 4*time.Minute); !rec.got[1].EndsAt.Equal(want) {
		t.Errorf("endsAt %v, want four new intervals ahead, %v", rec.got[1].EndsAt, want)
	}
	e.SetResendInterval(time.Hour)
	e.Tick(t0.Add(10 * time.Minute))
	if len(rec.got) != 2 {
		t.Fatal("resent 8m after the last send, after lengthening to 1h")
	}
	e.SetResendInterval(0) // config.DefaultResendInterval
	e.Tick(t0.Add(10 * time.Minute))
	if len(rec.got) != 3 {
		t.Fatalf("after going back to the default %v: %d notifications, want the resend", config.DefaultResendInterval, len(rec.got))
	}
}

// TestObserveSkipsOnlyWhatChangesNothing: Observe skips building signals
// when every condition is clear and the resource has no alert. Fed the
// same results, it must leave exactly the alerts and notifications that
// evaluating and setting every signal leaves.
func TestObserveSkipsOnlyWhatChangesNothing(t *testing.T) {
	settings := Settings{Tenant: "hk", Alerting: &config.Alerting{}}
	fast, full := &recorder{}, &recorder{}
	observed := NewEngine(settings, time.Minute, fast)
	reference := NewEngine(settings, time.Minute, full)
	rng := rand.New(rand.NewPCG(1, 2))
	targets := []config.Target{target(), target(), target()}
	targets[1].Resource, targets[2].Service = "u", "kms"
	// A Tick walks the alerts in map order, so one step's notifications
	// are compared as a set.
	sorted := func(ns []Notification) []Notification {
		ns = slices.Clone(ns)
		slices.SortFunc(ns, func(a, b Notification) int { return strings.Compare(Key(a.Labels), Key(b.Labels)) })
		return ns
	}
	var firing, resolved int
	for i := range 3000 {
		now := t0.Add(time.Duration(i) * 10 * time.Second)
		tg := targets[rng.IntN(len(targets))]
		// Long stretches of one regime, so alerts get to fire and resolve.
		var snap health.Snapshot
		if (i/150)%2 == 1 {
			snap.Conditions[health.KindError].Active = rng.IntN(4) != 0
			snap.Conditions[health.KindUnavailable].Active = rng.IntN(2) == 0
		}
		if rng.IntN(10) == 0 {
			snap.Conditions[health.KindSlow].Active = true
		}
		r := probes.Result{Target: probes.Target{Service: tg.Service, Resource: tg.Resource}, Start: now}
		before := len(full.got)
		observed.Observe(r, snap, tg)
		for _, sig := range settings.Evaluate(snap, tg) {
			reference.Set(sig, now)
		}
		if i%7 == 0 {
			observed.Tick(now)
			reference.Tick(now)
		}
		if got, want := observed.Alerts(), reference.Alerts(); !reflect.DeepEqual(got, want) {
			t.Fatalf("step %d: alerts\n%+v\nwant\n%+v", i, got, want)
		}
		if got, want := sorted(fast.got[min(before, len(fast.got)):]), sorted(full.got[before:]); len(fast.got) != len(full.got) || !reflect.DeepEqual(got, want) {
			t.Fatalf("step %d: notifications\n%+v\nwant\n%+v", i, got, want)
		}
		for _, n := range full.got[before:] {
			if n.EndsAt.After(now) {
				firing++
			} else {
				resolved++
			}
		}
	}
	if firing == 0 || resolved == 0 {
		t.Fatalf("%d firing and %d resolved notifications; the sequence must have both to test anything", firing, resolved)
	}
}

func TestMachineTracks(t *testing.T) {
	m := NewMachine()
	labels := map[string]string{"alertname": "X", "service": "s3", "resource": "b"}
	if m.Tracks("s3", "b") {
		t.Fatal("an empty machine tracks s3/b")
	}
	m.Set(Signal{Labels: labels, Active: true, ClearFor: time.Minute}, t0)
	m.Set(Signal{Labels: map[string]string{"alertname": "Y", "service": "s3", "resource": "b"}, Active: true}, t0)
	if !m.Tracks("s3", "b") || m.Tracks("s3", "c") {
		t.Fatal("Tracks wrong with two alerts of s3/b")
	}
	m.Set(Signal{Labels: map[string]string{"alertname": "Y", "service": "s3", "resource": "b"}}, t0) // resolves at once
	if !m.Tracks("s3", "b") {
		t.Fatal("s3/b still has a firing alert")
	}
	m.Set(Signal{Labels: labels, ClearFor: time.Minute}, t0.Add(time.Second))
	m.Tick(t0.Add(2 * time.Minute)) // clear_for passed: resolved and forgotten
	if m.Tracks("s3", "b") {
		t.Fatal("s3/b tracked after its alerts resolved")
	}
}

// TestComplianceUnknownTicket: a check that cannot read its facts raises a
// ticket, not a page, and only once it has lasted `for` (5m); the first
// verdict resolves it at once.
func TestComplianceUnknownTicket(t *testing.T) {
	s := Settings{Tenant: "hk", RunbookBaseURL: "u", Alerting: &config.Alerting{}}
	rec := &recorder{}
	e := NewEngine(s, time.Minute, rec)
	sig, ok := s.ComplianceUnknown("dynamodb_kms_encryption", "T", probes.Place{}, true, "could not read the facts: DescribeTable failed (ThrottlingException)", "AWS throttled")
	if !ok {
		t.Fatal("compliance_unknown disabled by default")
	}
	want := map[string]string{"alertname": AlertComplianceCheckUnknown, "service": "compliance", "check": "dynamodb_kms_encryption",
		"resource": "T", "severity": "ticket", "tenant": "hk"}
	if !reflect.DeepEqual(sig.Labels, want) || sig.Annotations["hint"] != "AWS throttled" ||
		sig.Annotations["runbook_url"] != "u#compliancecheckunknown" || !strings.Contains(sig.Annotations["description"], "DescribeTable failed") {
		t.Fatalf("signal %+v", sig)
	}
	e.Set(sig, t0)
	e.Tick(t0.Add(4*time.Minute + 59*time.Second))
	if len(rec.got) != 0 {
		t.Fatalf("fired before 5m: %+v", rec.got)
	}
	e.Set(sig, t0.Add(5*time.Minute))
	if len(rec.got) != 1 || rec.got[0].Labels["alertname"] != AlertComplianceCheckUnknown {
		t.Fatalf("did not fire after 5m: %+v", rec.got)
	}
	sig.Active = false
	e.Set(sig, t0.Add(5*time.Minute+30*time.Second))
	if len(rec.got) != 2 || !rec.got[1].EndsAt.Equal(t0.Add(5*time.Minute+30*time.Second)) {
		t.Fatalf("the first verdict did not resolve it at once: %+v", rec.got)
	}
	// A reload keeps it: compliance checks are no probed resource.
	e.Set(Signal{Labels: sig.Labels, Annotations: sig.Annotations, Active: true}, t0.Add(6*time.Minute))
	e.Reconcile(func(probes.Target) bool { return false }, t0.Add(7*time.Minute))
	if len(e.Alerts()) != 1 {
		t.Fatalf("Reconcile dropped the ComplianceCheckUnknown alert: %+v", e.Alerts())
	}
	off := false
	s.Alerting.Rules.ComplianceUnknown.Enabled = &off
	if _, ok := s.ComplianceUnknown("c", "r", probes.Place{}, true, "", ""); ok {
		t.Fatal("a disabled rule built a signal")
	}
}
