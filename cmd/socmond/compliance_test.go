package main

import (
	"strings"
	"testing"

	"github.com/socmond/socmond/internal/awssim"
	"github.com/socmond/socmond/internal/simseed"
)

// TestValidateComplianceTenants: validate checks every tenant's pipeline
// with its account's role in its region, and each compliance row says
// whose pipeline it is; rotation off on one pipeline's key fails that
// pipeline's row alone.
func TestValidateComplianceTenants(t *testing.T) {
	path, cfg := writeEvidenceTenantsConfig(t, "soc-audit-${account_id}-${region}")
	sim, url := awssim.Serve(t, simseed.FromConfig(cfg))
	sim.AddFault(awssim.Fault{Service: "kms", Account: "222222222222", Region: "eu-west-1", Set: map[string]string{"KeyRotationEnabled": "false"}})
	t.Setenv("AWS_ENDPOINT_URL", url)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret-example")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("NO_COLOR", "1")

	code, out, errOut := runCLI(t, "validate", "--config.file", path)
	if code != exitFailed {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	_, section, ok := strings.Cut(out, "Encryption Compliance")
	if !ok {
		t.Fatalf("no compliance section:\n%s", out)
	}
	var rotation []string
	for _, line := range strings.Split(section, "\n") {
		if strings.Contains(line, "KMS key rotation") {
			rotation = append(rotation, line)
		}
	}
	if len(rotation) != 4 {
		t.Fatalf("%d rotation rows, want one per pipeline (4):\n%s", len(rotation), section)
	}
	for _, line := range rotation {
		beta := strings.Contains(line, "alias/soc-beta (tenant beta, account 222222222222, eu-west-1)")
		if fails := strings.Contains(line, "FAIL"); fails != beta || !strings.Contains(line, "(tenant ") {
			t.Errorf("row %q: want FAIL exactly for beta's key in eu-west-1, and the pipeline named", line)
		}
	}
}
