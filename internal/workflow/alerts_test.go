package workflow

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.yaml.in/yaml/v3"

	"github.com/socmond/socmond/internal/alerting"
	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/probes"
	"github.com/socmond/socmond/internal/testenv"
)

// TestWorkflowAlertFollowsTenantReload: after a reload that changes the
// tenant the workflow's alert must stay one alert, under the new tenant:
// the reload moves it (Engine.Reconcile), and the next report, whose
// signal was built from any config, must find it there rather than raise
// a second one under the old tenant that nothing would clear.
func TestWorkflowAlertFollowsTenantReload(t *testing.T) {
	ratio := 0.1
	cfg := &config.Config{Tenant: "hk"}
	cfg.Pipeline.StateMachine = "soc-pipeline"
	cfg.Workflow.FailureRatio = &ratio
	e := alerting.NewEngine(alerting.Settings{Tenant: "hk", Alerting: &config.Alerting{}}, time.Hour, nil)
	raise := (&Feature{o: FeatureOptions{Alerts: e}}).raise
	failing := PassiveReport{Executions: &Executions{Total: 10, Failed: 5, FailureRatio: 0.5, Window: time.Hour, NewestFinishedFailed: true}}

	raise(ExecutionsSignal(cfg, failing))
	tenants := func() []string {
		var out []string
		for _, a := range e.Alerts() {
			out = append(out, a.Labels["tenant"]+"/"+string(a.State))
		}
		return out
	}
	if got := tenants(); len(got) != 1 || got[0] != "hk/firing" {
		t.Fatalf("alerts %v, want one firing under hk", got)
	}

	e.SetSettings(alerting.Settings{Tenant: "sg", Alerting: &config.Alerting{}})
	e.Reconcile(func(probes.Target) bool { return true }, time.Now())
	raise(ExecutionsSignal(cfg, failing)) // the next report, cfg still the start's
	if got := tenants(); len(got) != 1 || got[0] != "sg/firing" {
		t.Fatalf("alerts after the reload %v, want the one alert, firing under sg", got)
	}

	raise(ExecutionsSignal(cfg, PassiveReport{Executions: &Executions{Total: 10}}))
	if got := tenants(); len(got) != 0 {
		t.Fatalf("alerts after the executions recovered %v, want none", got)
	}
}

// TestWorkflowAlertsPage: WorkflowExecutionsFailing and CanaryFailed are
// pages (docs/alerting.md), and their severity must be one the shipped
// Alertmanager routing sends to the pager; one it does not know falls
// through to the default ticket queue.
func TestWorkflowAlertsPage(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "deploy", "alertmanager", "alertmanager.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var am struct {
		Route struct {
			Routes []struct {
				Matchers []string `yaml:"matchers"`
				Receiver string   `yaml:"receiver"`
			} `yaml:"routes"`
		} `yaml:"route"`
	}
	if err := yaml.Unmarshal(b, &am); err != nil {
		t.Fatal(err)
	}
	pager := ""
	for _, r := range am.Route.Routes {
		if slices.Contains(r.Matchers, `severity="page"`) {
			pager = r.Receiver
		}
	}
	if pager == "" {
		t.Fatal(`deploy/alertmanager/alertmanager.yml routes no severity="page"`)
	}

	ratio := 0.1
	cfg := &config.Config{Tenant: "hk"}
	cfg.Pipeline.StateMachine = "soc-pipeline"
	cfg.Workflow.FailureRatio = &ratio
	for _, sig := range []alerting.Signal{
		ExecutionsSignal(cfg, PassiveReport{Executions: &Executions{Total: 10, Failed: 5, FailureRatio: 0.5, Window: time.Hour, NewestFinishedFailed: true}}),
		CanarySignal(cfg, CanaryReport{}),
	} {
		if !sig.Active || sig.Labels["severity"] != "page" {
			t.Errorf("%s: active %t, severity %q; want an active page (routed to %s)", sig.Labels["alertname"], sig.Active, sig.Labels["severity"], pager)
		}
	}
}

// canary.leader is deprecated: true does nothing and false still keeps
// this replica from running the canary; either way socmond says so, and
// says nothing when it is unset.
func TestWarnCanaryLeader(t *testing.T) {
	yes, no := true, false
	for name, tc := range map[string]struct {
		leader *bool
		want   string
	}{
		"unset": {nil, ""},
		"true":  {&yes, "has no effect"},
		"false": {&no, "still keeps this replica from running the canary"},
	} {
		t.Run(name, func(t *testing.T) {
			var logs testenv.Buffer
			cfg := &config.Config{}
			cfg.Canary.Leader = tc.leader
			WarnCanaryLeader(cfg, zerolog.New(&logs))
			if got := logs.String(); (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Errorf("logged %q, want %q", got, tc.want)
			}
		})
	}
}
