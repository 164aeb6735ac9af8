package compliance_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/socmond/socmond/internal/alerting"
	"github.com/socmond/socmond/internal/awsclient"
	"github.com/socmond/socmond/internal/awssim"
	"github.com/socmond/socmond/internal/compliance"
	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/probes"
	"github.com/socmond/socmond/internal/report"
	"github.com/socmond/socmond/internal/simseed"
	"github.com/socmond/socmond/internal/testenv"
)

// exampleChecker is the daemon's own compliance checker for the example
// config, on real SDK clients pointed at a simulator seeded from it, and
// the simulator for faults.
func exampleChecker(t *testing.T) (*compliance.Checker, *config.Config, *awssim.Sim) {
	t.Helper()
	cfg, err := config.Load(filepath.Join(testenv.RepoRoot(t), "config.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sim, url := awssim.Serve(t, simseed.FromConfig(cfg))
	clients, err := awsclient.New(t.Context(), awsclient.Options{Region: cfg.Region, Endpoint: url,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret-example", "")})
	if err != nil {
		t.Fatal(err)
	}
	return compliance.CheckerAt(cfg, clients, probes.Place{}), cfg, sim
}

func complianceEngine(cfg *config.Config) *alerting.Engine {
	return alerting.NewEngine(alerting.SettingsFromConfig(cfg), time.Minute, nil)
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
	checker, cfg, sim := exampleChecker(t)
	sim.AddFault(awssim.Fault{Service: "kms", Set: map[string]string{"KeyRotationEnabled": "false"}})
	e := complianceEngine(cfg)
	raise := compliance.Alerts(e)
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

// TestComplianceUnknownAlerts: a read that fails neither raises nor clears
// ComplianceViolation (the last known verdict stands); it raises the
// ComplianceCheckUnknown ticket after 5 minutes, which the first verdict
// resolves.
func TestComplianceUnknownAlerts(t *testing.T) {
	checker, cfg, sim := exampleChecker(t)
	e := complianceEngine(cfg)
	raise := compliance.Alerts(e)
	key := cfg.Pipeline.KMSKey
	rotation := func(shift time.Duration) compliance.Finding {
		t.Helper()
		for _, f := range checker.Run(t.Context()) {
			if f.Check == compliance.CheckKMSRotation {
				f.Start = f.Start.Add(shift)
				raise(f)
				return f
			}
		}
		t.Fatal("no rotation finding")
		return compliance.Finding{}
	}
	state := func(name string) alerting.State {
		if a, ok := alertOf(e, name, key); ok {
			return a.State
		}
		return alerting.Inactive
	}

	sim.AddFault(awssim.Fault{Service: "kms", Set: map[string]string{"KeyRotationEnabled": "false"}})
	if f := rotation(0); f.Verdict != compliance.Fail || state(alerting.AlertComplianceViolation) != alerting.Firing {
		t.Fatalf("rotation off: %s, violation %s", f.Verdict, state(alerting.AlertComplianceViolation))
	}

	sim.ClearFaults()
	sim.AddFault(awssim.Fault{Service: "kms", Error: "ThrottlingException"})
	if f := rotation(time.Minute); f.Verdict != compliance.Unknown {
		t.Fatalf("throttled: %+v", f)
	}
	if s := state(alerting.AlertComplianceViolation); s != alerting.Firing {
		t.Errorf("an UNKNOWN cleared ComplianceViolation: %s", s)
	}
	if s := state(alerting.AlertComplianceCheckUnknown); s != alerting.Pending {
		t.Errorf("ComplianceCheckUnknown %s at once, want pending for 5m", s)
	}
	rotation(6 * time.Minute)
	a, _ := alertOf(e, alerting.AlertComplianceCheckUnknown, key)
	if a.State != alerting.Firing || a.Labels["severity"] != "ticket" || !strings.Contains(a.Annotations["description"], "ThrottlingException") || a.Annotations["hint"] == "" {
		t.Errorf("after 5m of UNKNOWN: %+v", a)
	}

	sim.ClearFaults()
	if f := rotation(7 * time.Minute); f.Verdict != compliance.Pass {
		t.Fatalf("recovered: %+v", f)
	}
	if u, v := state(alerting.AlertComplianceCheckUnknown), state(alerting.AlertComplianceViolation); u != alerting.Inactive || v != alerting.Inactive {
		t.Errorf("after a PASS: ComplianceCheckUnknown %s, ComplianceViolation %s; want both resolved", u, v)
	}

	// An UNKNOWN never raises a violation either.
	sim.AddFault(awssim.Fault{Service: "kms", Error: "AccessDeniedException"})
	rotation(8 * time.Minute)
	if s := state(alerting.AlertComplianceViolation); s != alerting.Inactive {
		t.Errorf("an UNKNOWN after a PASS raised ComplianceViolation: %s", s)
	}
}

// TestComplianceUnknownShown: the status panel and validate's rows say
// UNKNOWN, and neither shows it as good.
func TestComplianceUnknownShown(t *testing.T) {
	f := compliance.Finding{Check: compliance.CheckDynamoDBKMS, Resource: "T", Verdict: compliance.Unknown,
		Reason: "could not read the facts: DescribeTable failed (ThrottlingException)", Hint: "AWS throttled", Code: "ThrottlingException"}
	it := compliance.Panel([]compliance.Finding{f}).Items[0]
	if it.State != "unknown" || it.OK || it.Hint != "AWS throttled" {
		t.Errorf("panel item %+v, want state unknown, not OK, with the hint", it)
	}
	row := compliance.Rows([]compliance.Finding{f})[0]
	if row.Verdict != report.Unknown || row.Status != "UNKNOWN" || row.Code != "ThrottlingException" {
		t.Errorf("validate row %+v", row)
	}
}
