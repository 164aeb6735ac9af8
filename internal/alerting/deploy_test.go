package alerting

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/socmond/socmond/internal/testenv"
)

// TestPrometheusRules runs promtool over deploy/prometheus: the rules
// parse, their unit tests (fire, not yet, resolve, low traffic, slow, SLO
// burn) pass, and the example configs are valid.
func TestPrometheusRules(t *testing.T) {
	promtool := testenv.Tool(t, "promtool")
	dir := filepath.Join(testenv.RepoRoot(t), "deploy", "prometheus")
	for _, args := range [][]string{
		{"check", "rules", "socmond-rules.yml"},
		{"test", "rules", "socmond-rules.test.yml"},
		{"check", "config", "prometheus.yml"},
	} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	amtool := testenv.Tool(t, "amtool")
	am := filepath.Join(testenv.RepoRoot(t), "deploy", "alertmanager", "alertmanager.yml")
	if out, err := exec.Command(amtool, "check-config", am).CombinedOutput(); err != nil {
		t.Fatalf("amtool check-config: %v\n%s", err, out)
	}
}

// TestRulesAgree keeps the two paths aligned: every in-daemon alert name
// appears in the Prometheus rules and has a runbook section.
func TestRulesAgree(t *testing.T) {
	root := testenv.RepoRoot(t)
	rules, err := os.ReadFile(filepath.Join(root, "deploy", "prometheus", "socmond-rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	runbooks, err := os.ReadFile(filepath.Join(root, "docs", "runbooks.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{AlertSlowResponse, AlertHighErrorRate, AlertLowAvailability, AlertBacklog} {
		if !strings.Contains(string(rules), "alert: "+name+"\n") {
			t.Errorf("deploy/prometheus/socmond-rules.yml has no alert %s", name)
		}
	}
	for _, name := range append(knownAlerts, "AWSServiceErrorBudgetBurn") {
		if !strings.Contains(string(runbooks), "\n## "+name+"\n") {
			t.Errorf("docs/runbooks.md has no section %q", "## "+name)
		}
	}
}
