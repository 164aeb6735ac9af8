package main

import (
	"strings"
	"testing"
	"time"

	"github.com/socmond/socmond/internal/alerting"
	"github.com/socmond/socmond/internal/awsclient"
	"github.com/socmond/socmond/internal/compliance"
	"github.com/socmond/socmond/internal/config"
)

// exampleChecker is the daemon's own compliance checker for the example
// config, on real SDK clients pointed at a simulator seeded from it, and
// the simulator's URL for faults.
func exampleChecker(t *testing.T) (*compliance.Checker, *config.Config, string) {
	t.Helper()
	url := startSim(t)
	cfg, err := config.Load(example)
	if err != nil {
		t.Fatal(err)
	}
	clients, err := awsclient.New(t.Context(), clientOptions(cfg, "", nil))
	if err != nil {
		t.Fatal(err)
	}
	return complianceChecker(cfg, clients), cfg, url
}

func complianceEngine(cfg *config.Config) *alerting.Engine {
	return alerting.NewEngine(alertSettings(cfg), time.Minute, nil)
}

// alertOf is the pending or firing alert of this name and resource.
func alertOf(e *alerting.Engine, name, resource string) (alerting.Alert, bool) {
	for _, a := range e.Alerts() {
		if a.Name() == name && a.Labels["resource"] == resource {
			return a, true
		}
	}
	return alerting.Alert{}, false
}

// TestComplianceViolationSaysWhatToDo: the page for a key whose rotation
// was turned off carries the command that turns it back on.
func TestComplianceViolationSaysWhatToDo(t *testing.T) {
	checker, cfg, url := exampleChecker(t)
	addFault(t, url, `{"service":"kms","set":{"KeyRotationEnabled":"false"}}`)
	e := complianceEngine(cfg)
	raise := complianceAlerts(e)
	for _, f := range checker.Run(t.Context()) {
		raise(f)
	}
	a, ok := alertOf(e, alerting.AlertComplianceViolation, cfg.Pipeline.KMSKey)
	if !ok || a.State != alerting.Firing {
		t.Fatalf("no firing ComplianceViolation for the key: %+v", e.Alerts())
	}
	if h := a.Annotations["hint"]; !strings.Contains(h, "aws kms enable-key-rotation --key-id ") {
		t.Errorf("hint annotation %q does not say how to turn rotation back on", h)
	}
}
