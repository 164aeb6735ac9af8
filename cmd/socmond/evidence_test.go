package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/rs/zerolog"

	"github.com/socmond/socmond/internal/awsclient"
	"github.com/socmond/socmond/internal/awssim"
	"github.com/socmond/socmond/internal/compliance"
	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/probes"
	"github.com/socmond/socmond/internal/simseed"
)

// evidenceTenantsConfig is two tenants' pipelines, each in its own account in two
// regions, each with its own key, audit bucket and evidence; auditBucket
// is the pipeline section's audit bucket name.
func evidenceTenantsConfig(auditBucket string) string {
	return `
region: us-east-1
defaults: {timeout: 5s}
accounts:
  - id: "111111111111"
    role_arn: arn:aws:iam::111111111111:role/socmond
    external_id: ext-acme
    regions: [us-east-1, eu-west-1]
  - id: "222222222222"
    role_arn: arn:aws:iam::222222222222:role/socmond
    regions: [us-east-1, eu-west-1]
tenants:
  - name: acme
    pipelines: [{account: "111111111111"}]
  - name: beta
    pipelines: [{account: "222222222222"}]
pipeline:
  audit_bucket: ` + auditBucket + `
  kms_key: alias/soc-${tenant}
compliance:
  evidence: {enabled: true}
services:
  kms:
    resources: [{name: "alias/soc-${tenant}"}]
`
}

// writeEvidenceTenantsConfig writes the config to a file of the test's.
func writeEvidenceTenantsConfig(t *testing.T, auditBucket string) (string, *config.Config) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tenants.yaml")
	if err := os.WriteFile(path, []byte(evidenceTenantsConfig(auditBucket)), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, cfg
}

// TestEvidenceVerifyTenant: a tenant's pipeline's report, in its own
// audit bucket, is verified with its account's role in its region against
// its key: the pipeline whose audit bucket the URI names, or the one the
// flags choose.
func TestEvidenceVerifyTenant(t *testing.T) {
	path, cfg := writeEvidenceTenantsConfig(t, "soc-audit-${account_id}-${region}")
	sim, url := awssim.Serve(t, simseed.FromConfig(cfg))
	t.Setenv("AWS_ENDPOINT_URL", url)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret-example")
	t.Setenv("AWS_REGION", "us-east-1")

	// The daemon's compliance runner writes each pipeline's report.
	base, err := awsclient.New(t.Context(), awsclient.Options{Region: cfg.Region, Endpoint: url,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret-example", "")})
	if err != nil {
		t.Fatal(err)
	}
	s, err := compliance.SettingsFromConfig(cfg, base)
	if err != nil {
		t.Fatal(err)
	}
	r, err := compliance.NewRunner(compliance.RunnerOptions{Settings: s, Logger: zerolog.Nop(), Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	r.RunOnce(context.Background())
	beta := probes.Place{Tenant: "beta", Account: "222222222222", Region: "eu-west-1"}
	bucket := cfg.PipelineAt(beta).AuditBucket
	c, err := cfg.ClientsAt(base, beta)
	if err != nil {
		t.Fatal(err)
	}
	list, err := c.S3.ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil || len(list.Contents) != 1 {
		t.Fatalf("beta's reports in %s: %v %+v", bucket, err, list)
	}
	uri := "s3://" + bucket + "/" + aws.ToString(list.Contents[0].Key)

	sim.ResetCalls()
	code, out, errOut := runCLI(t, "evidence", "verify", uri, "--config.file", path)
	if code != exitOK || !strings.Contains(out, "verified (report of tenant beta, account 222222222222, eu-west-1 of ") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, call := range sim.Calls() {
		if call.Service != "sts" && (call.Account != beta.Account || call.Region != beta.Region) {
			t.Errorf("%s %s served in account %s, %s: not beta's pipeline", call.Service, call.Operation, call.Account, call.Region)
		}
	}

	// The flags choose the same pipeline; flags that choose another read
	// with its role, where the report is not.
	if code, out, errOut := runCLI(t, "evidence", "verify", uri, "--config.file", path, "--tenant", "beta", "--region", "eu-west-1"); code != exitOK {
		t.Errorf("--tenant beta --region eu-west-1: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, _, _ := runCLI(t, "evidence", "verify", uri, "--config.file", path, "--tenant", "acme", "--region", "eu-west-1"); code == exitOK {
		t.Error("verified with acme's pipeline a report only beta's account holds")
	}
}

// TestEvidencePlace: which pipeline `evidence verify` reads a report
// with, and the error that says which flags choose one.
func TestEvidencePlace(t *testing.T) {
	_, shared := writeEvidenceTenantsConfig(t, "soc-audit") // one name in every account
	_, own := writeEvidenceTenantsConfig(t, "soc-audit-${account_id}-${region}")
	flat, err := config.Load(example)
	if err != nil {
		t.Fatal(err)
	}
	beta := probes.Place{Tenant: "beta", Account: "222222222222", Region: "eu-west-1"}
	for _, tc := range []struct {
		name   string
		cfg    *config.Config
		want   probes.Place
		bucket string
		place  probes.Place
		err    string
	}{
		{name: "no tenants", cfg: flat, bucket: "anything"},
		{name: "no tenants, flags", cfg: flat, want: probes.Place{Tenant: "beta"}, bucket: "x", err: "has no tenants:"},
		{name: "by bucket", cfg: own, bucket: "soc-audit-222222222222-eu-west-1", place: beta},
		{name: "by flags", cfg: shared, want: probes.Place{Account: "222222222222", Region: "eu-west-1"}, bucket: "soc-audit", place: beta},
		{name: "ambiguous", cfg: shared, want: probes.Place{Tenant: "beta"}, bucket: "soc-audit",
			err: "give --tenant, --account or --region"},
		{name: "unknown bucket", cfg: own, bucket: "elsewhere", err: "--tenant acme --account 111111111111 --region us-east-1"},
		{name: "no such pipeline", cfg: own, want: probes.Place{Tenant: "gamma"}, bucket: "x", err: `no tenant's pipeline is tenant "gamma"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := evidencePlace(tc.cfg, tc.want, tc.bucket)
			switch {
			case tc.err != "":
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("got %v, %v; want an error saying %q", p, err, tc.err)
				}
			case err != nil || p != tc.place:
				t.Errorf("got %v, %v; want %v", p, err, tc.place)
			}
		})
	}
}
