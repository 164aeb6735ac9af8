package alerting

import (
	"strings"
	"testing"
	"time"

	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/health"
	"github.com/socmond/socmond/internal/probes"
)

func TestMachineRelabel(t *testing.T) {
	m := NewMachine()
	fire := func(name string) {
		m.Set(Signal{Labels: map[string]string{"alertname": name, "tenant": "a"}, Active: true}, t0)
	}
	fire("Moved")
	fire("Dropped")
	fire("Kept")
	fire("Collides")
	m.Set(Signal{Labels: map[string]string{"alertname": "Collides", "tenant": "b"}, Active: true}, t0.Add(time.Second))
	m.Set(Signal{Labels: map[string]string{"alertname": "Pending", "tenant": "a"}, Active: true, For: time.Hour}, t0)
	fire("Overtakes") // firing under a; pending under b already
	m.Set(Signal{Labels: map[string]string{"alertname": "Overtakes", "tenant": "b"}, Active: true, For: time.Hour}, t0.Add(time.Second))

	now := t0.Add(time.Minute)
	ended, moved := m.Relabel(func(l map[string]string) (map[string]string, bool) {
		switch l["alertname"] {
		case "Dropped":
			return nil, false
		case "Kept":
			return l, true
		}
		l["tenant"] = "b"
		return l, true
	}, now)

	endedNames := map[string]bool{}
	for _, a := range ended {
		if a.State != Resolved || !a.ResolvedAt.Equal(now) || a.Labels["tenant"] != "a" {
			t.Errorf("ended %v: want resolved at %v under its old labels", a, now)
		}
		endedNames[a.Name()] = true
	}
	if len(ended) != 4 || !endedNames["Moved"] || !endedNames["Dropped"] || !endedNames["Collides"] || !endedNames["Overtakes"] {
		t.Errorf("ended %v, want Moved, Dropped, Collides and Overtakes (a pending alert was never sent)", ended)
	}
	movedNames := map[string]bool{}
	for _, a := range moved {
		if a.Labels["tenant"] != "b" || a.State != Firing || !a.FiredAt.Equal(t0) {
			t.Errorf("moved %v: want firing since %v under tenant b", a, t0)
		}
		movedNames[a.Name()] = true
	}
	if len(moved) != 2 || !movedNames["Moved"] || !movedNames["Overtakes"] {
		t.Errorf("moved %v, want Moved and Overtakes", moved)
	}

	byKey := map[string]Alert{}
	for _, a := range m.Alerts() {
		byKey[Key(a.Labels)] = a
	}
	want := map[string]State{
		Key(map[string]string{"alertname": "Moved", "tenant": "b"}):     Firing,
		Key(map[string]string{"alertname": "Kept", "tenant": "a"}):      Firing,
		Key(map[string]string{"alertname": "Collides", "tenant": "b"}):  Firing,
		Key(map[string]string{"alertname": "Pending", "tenant": "b"}):   Pending,
		Key(map[string]string{"alertname": "Overtakes", "tenant": "b"}): Firing,
	}
	if len(byKey) != len(want) {
		t.Fatalf("alerts after relabel: %v", m.Alerts())
	}
	for k, st := range want {
		if byKey[k].State != st {
			t.Errorf("%q: state %q, want %q", k, byKey[k].State, st)
		}
	}
	if c := byKey[Key(map[string]string{"alertname": "Collides", "tenant": "b"})]; !c.FiredAt.Equal(t0.Add(time.Second)) {
		t.Errorf("the alert already under the new labels was replaced: fired at %v", c.FiredAt)
	}
	if !m.Tracks("", "") {
		t.Error("Tracks lost the relabelled alerts")
	}
}

func TestEngineReconcile(t *testing.T) {
	yes := true
	no := false
	target := config.Target{Service: "dynamodb", Resource: "t", Schedule: "@every 1s"}
	gone := config.Target{Service: "dynamodb", Resource: "gone", Schedule: "@every 1s"}
	probed := func(t probes.Target) bool { return t.Resource != "gone" }
	settings := func(tenant, severity string, enabled *bool) Settings {
		return Settings{Tenant: tenant, Alerting: &config.Alerting{Rules: config.AlertRules{
			HighErrorRate: config.RuleSettings{Severity: severity, Enabled: enabled},
		}}}
	}
	errSignal := func(s Settings, tg config.Target) Signal {
		var failing health.Snapshot
		failing.Conditions[health.KindError] = health.Condition{Failing: true, Active: true}
		for _, sig := range s.Evaluate(failing, tg) {
			if sig.Labels["alertname"] == AlertHighErrorRate {
				sig.For = 0
				return sig
			}
		}
		t.Fatal("no error-rate signal")
		return Signal{}
	}
	tests := map[string]struct {
		next        Settings
		resolved    []string // tenant/severity/resource of the resolved notifications
		firing      []string
		stillFiring int
	}{
		"nothing changed":   {next: settings("hk", "page", nil), firing: nil, stillFiring: 1},
		"tenant changed":    {next: settings("sg", "page", nil), resolved: []string{"hk/page/t"}, firing: []string{"sg/page/t"}, stillFiring: 1},
		"severity changed":  {next: settings("hk", "ticket", nil), resolved: []string{"hk/page/t"}, firing: []string{"hk/ticket/t"}, stillFiring: 1},
		"rule disabled":     {next: settings("hk", "page", &no), resolved: []string{"hk/page/t"}, stillFiring: 0},
		"rule enabled, new": {next: settings("hk", "page", &yes), stillFiring: 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rec := &recorder{}
			old := settings("hk", "page", nil)
			e := NewEngine(old, time.Hour, rec)
			e.Set(errSignal(old, target), t0)
			// gone's alert resolves in every case: its resource is no longer probed.
			e.Set(errSignal(old, gone), t0)
			rec.got = nil

			e.SetSettings(tc.next)
			e.Reconcile(probed, t0.Add(time.Minute))
			var resolved, firing []string
			for _, n := range rec.got {
				id := n.Labels["tenant"] + "/" + n.Labels["severity"] + "/" + n.Labels["resource"]
				if n.EndsAt.After(t0.Add(time.Minute)) {
					firing = append(firing, id)
				} else {
					resolved = append(resolved, id)
				}
			}
			wantResolved := append([]string{"hk/page/gone"}, tc.resolved...)
			if !sameSet(resolved, wantResolved) {
				t.Errorf("resolved %v, want %v", resolved, wantResolved)
			}
			if !sameSet(firing, tc.firing) {
				t.Errorf("firing %v, want %v", firing, tc.firing)
			}
			if n := len(e.Alerts()); n != tc.stillFiring {
				t.Errorf("%d alerts left, want %d: %v", n, tc.stillFiring, e.Alerts())
			}
			// Once reconciled, a later evaluation under the new settings
			// finds the alert where it is: nothing more is sent.
			rec.got = nil
			if tc.stillFiring > 0 {
				e.Set(errSignal(tc.next, target), t0.Add(2*time.Minute))
				if len(rec.got) != 0 || len(e.Alerts()) != 1 {
					t.Errorf("the next evaluation sent %v and left %v", rec.got, e.Alerts())
				}
			}
		})
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	count := map[string]int{}
	for _, s := range a {
		count[s]++
	}
	for _, s := range b {
		if count[s]--; count[s] < 0 {
			return false
		}
	}
	return true
}

// TestPlacedAlerts: a placed resource's alerts carry its tenant (not the
// config-wide one), account and region, so Alertmanager can route each
// customer's; a reload that changes the config-wide tenant leaves them
// be; and the same name in another place is another alert, which a
// removal of one leaves firing.
func TestPlacedAlerts(t *testing.T) {
	acme := probes.Place{Tenant: "acme", Account: "111111111111", Region: "ap-east-1"}
	beta := probes.Place{Tenant: "beta", Account: "222222222222", Region: "eu-west-1"}
	tg := func(p probes.Place) config.Target {
		return config.Target{Service: "dynamodb", Resource: "t", Schedule: "@every 1s", Place: p}
	}
	var failing health.Snapshot
	failing.Conditions[health.KindError] = health.Condition{Failing: true, Active: true}
	s := Settings{Tenant: "soc", Alerting: &config.Alerting{}}
	rec := &recorder{}
	e := NewEngine(s, time.Hour, rec)
	for _, p := range []probes.Place{acme, beta, {}} {
		for _, sig := range s.Evaluate(failing, tg(p)) {
			if sig.Labels["alertname"] != AlertHighErrorRate {
				continue
			}
			want := map[string]string{"tenant": "soc"}
			if !p.IsZero() {
				want = map[string]string{"tenant": p.Tenant, "account": p.Account, "region": p.Region}
				if !strings.Contains(sig.Annotations["summary"], p.Account) {
					t.Errorf("summary %q does not say the account", sig.Annotations["summary"])
				}
			}
			for _, k := range []string{"tenant", "account", "region"} {
				if sig.Labels[k] != want[k] {
					t.Errorf("%+v: label %s = %q, want %q", p, k, sig.Labels[k], want[k])
				}
			}
			sig.For = 0
			e.Set(sig, t0)
		}
	}
	if n := len(e.Alerts()); n != 3 {
		t.Fatalf("%d alerts, want one per place: %v", n, e.Alerts())
	}

	// A new config-wide tenant moves only the unplaced alert.
	rec.got = nil
	e.SetSettings(Settings{Tenant: "soc2", Alerting: &config.Alerting{}})
	e.Reconcile(func(probes.Target) bool { return true }, t0.Add(time.Minute))
	for _, n := range rec.got {
		if n.Labels["account"] != "" {
			t.Errorf("a placed alert was relabelled: %v", n.Labels)
		}
	}
	if len(rec.got) != 2 {
		t.Errorf("notifications %v, want the unplaced alert resolved under soc and firing under soc2", rec.got)
	}

	// acme's resource is removed: beta's of the same name keeps firing.
	rec.got = nil
	e.Removed(tg(acme).ID())
	if len(rec.got) != 1 || rec.got[0].Labels["tenant"] != "acme" || rec.got[0].EndsAt.After(time.Now()) {
		t.Errorf("removing acme's sent %v, want acme's alert resolved", rec.got)
	}
	left := map[string]bool{}
	for _, a := range e.Alerts() {
		left[a.Labels["tenant"]] = true
	}
	if len(left) != 2 || !left["beta"] || !left["soc2"] {
		t.Errorf("alerts left %v, want beta's and the unplaced one", e.Alerts())
	}
}
