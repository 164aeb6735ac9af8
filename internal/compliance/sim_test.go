package compliance_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/socmond/socmond/internal/awsclient"
	"github.com/socmond/socmond/internal/awssim"
	"github.com/socmond/socmond/internal/compliance"
	"github.com/socmond/socmond/internal/probes"
)

const (
	key       = "alias/AsiaAgenticSoc"
	otherKey  = "alias/OtherTeam" // a second customer-managed key, not the pipeline's
	invTable  = "AsiaAgenticSocInvestigations-dev"
	metTable  = "AsiaAgenticSocMetrics-dev"
	artifacts = "asia-agentic-soc-artifacts-123456789012-dev"
	audit     = "asia-agentic-soc-audit-123456789012-dev"
)

type env struct {
	sim     *awssim.Sim
	url     string
	clients *awsclient.Clients
	checker *compliance.Checker
}

// newEnv serves a simulator seeded like the pipeline and builds a Checker
// on real SDK clients pointed at it.
func newEnv(t *testing.T) *env {
	t.Helper()
	sim, url := awssim.Serve(t, awssim.Seed{Tables: []string{invTable, metTable}, Buckets: []string{artifacts},
		AuditBuckets: []string{audit}, Keys: []string{key, otherKey}})
	c, err := awsclient.New(t.Context(), awsclient.Options{Region: "us-east-1", Endpoint: url,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")})
	if err != nil {
		t.Fatal(err)
	}
	return &env{sim: sim, url: url, clients: c, checker: &compliance.Checker{
		KMS: c.KMS, DynamoDB: c.DynamoDB, S3: c.S3, Timeout: 5 * time.Second,
		Targets: compliance.Targets{KMSKey: key, Tables: []string{invTable, metTable}, Buckets: []string{artifacts, audit},
			AuditBucket: audit, MinRetention: compliance.DefaultRetention},
	}}
}

// postFault goes through the control API, as an operator or the demo would.
func (e *env) postFault(t *testing.T, body string) {
	t.Helper()
	resp, err := http.Post(e.url+"/_sim/faults", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /_sim/faults %s: %d", body, resp.StatusCode)
	}
}

func find(t *testing.T, fs []compliance.Finding, check, resource string) compliance.Finding {
	t.Helper()
	for _, f := range fs {
		if f.Check == check && f.Resource == resource {
			return f
		}
	}
	t.Fatalf("no finding %s/%s in %+v", check, resource, fs)
	return compliance.Finding{}
}

func TestFreshPipelinePasses(t *testing.T) {
	e := newEnv(t)
	fs := e.checker.Run(t.Context())
	if len(fs) != 6 {
		t.Fatalf("got %d findings, want 6: %+v", len(fs), fs)
	}
	for _, f := range fs {
		if f.Verdict != compliance.Pass {
			t.Errorf("%s/%s: %s %s (code %s)", f.Check, f.Resource, f.Verdict, f.Reason, f.Code)
		}
		if len(f.Inputs) == 0 || f.Start.IsZero() {
			t.Errorf("%s/%s: no inputs or start time", f.Check, f.Resource)
		}
	}
	rot := find(t, fs, compliance.CheckKMSRotation, key)
	if rot.Inputs["RotationPeriodInDays"] != "365" || rot.Inputs["NextRotationDate"] == "" || !strings.Contains(rot.Reason, "every 365 days, next on") {
		t.Errorf("rotation period and next date not reported: %q %v", rot.Reason, rot.Inputs)
	}
	if got := find(t, fs, compliance.CheckS3KMS, audit).Inputs["BucketKeyEnabled"]; got != "true" {
		t.Errorf("BucketKeyEnabled input = %q", got)
	}
}

// TestFaultsTurnChecksRed drives every FAIL/N/A branch through the real SDK
// and the simulator's wire shapes, including the S3 "not found" errors. A
// call that fails is UNKNOWN, never FAIL: it says nothing about the
// resource.
func TestFaultsTurnChecksRed(t *testing.T) {
	cases := []struct {
		name, fault, check, resource string
		want                         compliance.Verdict
		reason, code                 string
	}{
		{"rotation off", `{"service":"kms","set":{"KeyRotationEnabled":"false"}}`, compliance.CheckKMSRotation, key, compliance.Fail, "automatic key rotation is off", ""},
		{"aws-managed key", `{"service":"kms","set":{"KeyManager":"AWS"}}`, compliance.CheckKMSRotation, key, compliance.NotApplicable, "AWS-managed", ""},
		{"asymmetric key", `{"service":"kms","set":{"KeySpec":"RSA_2048"}}`, compliance.CheckKMSRotation, key, compliance.NotApplicable, "RSA_2048", ""},
		{"imported material", `{"service":"kms","set":{"Origin":"EXTERNAL"}}`, compliance.CheckKMSRotation, key, compliance.NotApplicable, "imported", ""},
		{"disabled key", `{"service":"kms","state":"Disabled"}`, compliance.CheckKMSRotation, key, compliance.Fail, "Disabled", ""},
		{"pending deletion", `{"service":"kms","state":"PendingDeletion"}`, compliance.CheckKMSRotation, key, compliance.Fail, "PendingDeletion", ""},
		{"kms access denied", `{"service":"kms","error":"AccessDeniedException"}`, compliance.CheckKMSRotation, key, compliance.Unknown, "DescribeKey failed", "AccessDeniedException"},
		{"table aws-owned", `{"service":"dynamodb","resource":"` + invTable + `","set":{"SSEType":"NONE"}}`, compliance.CheckDynamoDBKMS, invTable, compliance.Fail, "AWS-owned", ""},
		{"table aws/dynamodb", `{"service":"dynamodb","resource":"` + metTable + `","set":{"KMSMasterKeyArn":"alias/aws/dynamodb"}}`, compliance.CheckDynamoDBKMS, metTable, compliance.Fail, "aws/dynamodb", ""},
		{"table updating", `{"service":"dynamodb","set":{"SSEStatus":"UPDATING"}}`, compliance.CheckDynamoDBKMS, invTable, compliance.Fail, "UPDATING", ""},
		{"table inaccessible", `{"service":"dynamodb","state":"INACCESSIBLE_ENCRYPTION_CREDENTIALS"}`, compliance.CheckDynamoDBKMS, invTable, compliance.Fail, "KMS KEY INACCESSIBLE", ""},
		{"table missing", `{"service":"dynamodb","error":"ResourceNotFoundException"}`, compliance.CheckDynamoDBKMS, metTable, compliance.Unknown, "DescribeTable failed", "ResourceNotFoundException"},
		{"bucket sse-s3", `{"service":"s3","resource":"` + artifacts + `","set":{"SSEAlgorithm":"AES256"}}`, compliance.CheckS3KMS, artifacts, compliance.Fail, "AES256", ""},
		{"bucket no encryption", `{"service":"s3","set":{"SSEAlgorithm":"NONE"}}`, compliance.CheckS3KMS, audit, compliance.Fail, "ServerSideEncryptionConfigurationNotFoundError", ""},
		{"bucket other key", `{"service":"s3","set":{"KMSMasterKeyID":"arn:aws:kms:us-east-1:123456789012:key/other"}}`, compliance.CheckS3KMS, artifacts, compliance.Fail, "not the configured key", ""},
		{"bucket aws/s3", `{"service":"s3","set":{"KMSMasterKeyID":""}}`, compliance.CheckS3KMS, artifacts, compliance.Fail, "aws/s3", ""},
		{"bucket dsse", `{"service":"s3","set":{"SSEAlgorithm":"aws:kms:dsse","BucketKeyEnabled":"false"}}`, compliance.CheckS3KMS, artifacts, compliance.Pass, "S3 Bucket Keys off", ""},
		{"no object lock", `{"service":"s3","resource":"` + audit + `","set":{"ObjectLockEnabled":"NONE"}}`, compliance.CheckS3ObjectLock, audit, compliance.Fail, "ObjectLockConfigurationNotFoundError", ""},
		{"governance", `{"service":"s3","set":{"Mode":"GOVERNANCE"}}`, compliance.CheckS3ObjectLock, audit, compliance.Fail, "GOVERNANCE", ""},
		{"no default rule", `{"service":"s3","set":{"Mode":"NONE"}}`, compliance.CheckS3ObjectLock, audit, compliance.Fail, "no default retention rule", ""},
		{"2555 days", `{"service":"s3","set":{"Days":"2555"}}`, compliance.CheckS3ObjectLock, audit, compliance.Fail, "2555 days, shorter", ""},
		{"2557 days", `{"service":"s3","set":{"Days":"2557"}}`, compliance.CheckS3ObjectLock, audit, compliance.Pass, "2557 days", ""},
		{"s3 access denied", `{"service":"s3","error":"AccessDenied"}`, compliance.CheckS3ObjectLock, audit, compliance.Unknown, "GetObjectLockConfiguration failed", "AccessDenied"},
		{"table throttled", `{"service":"dynamodb","resource":"` + invTable + `","error":"ThrottlingException"}`, compliance.CheckDynamoDBKMS, invTable, compliance.Unknown, "DescribeTable failed", "ThrottlingException"},
	}
	e := newEnv(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.sim.ClearFaults()
			e.postFault(t, tc.fault)
			f := find(t, e.checker.Run(t.Context()), tc.check, tc.resource)
			if f.Verdict != tc.want || !strings.Contains(f.Reason, tc.reason) || f.Code != tc.code {
				t.Errorf("got %s %q code=%q, want %s containing %q code=%q", f.Verdict, f.Reason, f.Code, tc.want, tc.reason, tc.code)
			}
			if tc.code != "" && (f.Hint == "" || f.RequestID == "" || f.Class == probes.ClassNone) {
				t.Errorf("failed call without class/hint/request id: %+v", f)
			}
			if f.Verdict == compliance.Fail && f.Hint == "" {
				t.Errorf("FAIL without a hint (the page would not say what to do): %+v", f)
			}
		})
	}
}

// TestRunnerMetrics: a fault moves socmond_compliance_check_passed to 0 on
// the next run, N/A has no passed series, failures are counted, and
// subscribers see every finding.
func TestRunnerMetrics(t *testing.T) {
	e := newEnv(t)
	reg := prometheus.NewRegistry()
	r, err := compliance.NewRunner(compliance.RunnerOptions{Settings: compliance.Settings{Pipelines: []compliance.Pipeline{{Checker: e.checker}}}, Registerer: reg, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	var seen []compliance.Finding
	r.Subscribe(func(f compliance.Finding) { seen = append(seen, f) })
	passed := func(check, resource string) float64 {
		return testutil.ToFloat64(gaugeChild(t, reg, "socmond_compliance_check_passed", check, resource))
	}
	r.RunOnce(t.Context())
	if got := passed(compliance.CheckKMSRotation, key); got != 1 {
		t.Fatalf("passed = %v before the fault, want 1", got)
	}
	e.postFault(t, `{"service":"kms","set":{"KeyRotationEnabled":"false"}}`)
	e.postFault(t, `{"service":"s3","set":{"Mode":"GOVERNANCE"}}`)
	r.RunOnce(t.Context())
	if got := passed(compliance.CheckKMSRotation, key); got != 0 {
		t.Errorf("rotation passed = %v after the fault, want 0", got)
	}
	if got := passed(compliance.CheckS3ObjectLock, audit); got != 0 {
		t.Errorf("object lock passed = %v after the fault, want 0", got)
	}
	e.sim.ClearFaults()
	e.postFault(t, `{"service":"kms","set":{"KeyManager":"AWS"}}`)
	r.RunOnce(t.Context())
	// Round 3 makes the key AWS-managed: rotation is N/A, and the tables
	// encrypted with it now FAIL (an AWS-managed key is not the bank's).
	exp := `
# HELP socmond_compliance_failures_total Compliance check runs that ended in FAIL.
# TYPE socmond_compliance_failures_total counter
socmond_compliance_failures_total{check="dynamodb_kms_encryption",resource="AsiaAgenticSocInvestigations-dev"} 1
socmond_compliance_failures_total{check="dynamodb_kms_encryption",resource="AsiaAgenticSocMetrics-dev"} 1
socmond_compliance_failures_total{check="kms_key_rotation",resource="alias/AsiaAgenticSoc"} 1
socmond_compliance_failures_total{check="s3_kms_encryption",resource="asia-agentic-soc-artifacts-123456789012-dev"} 0
socmond_compliance_failures_total{check="s3_kms_encryption",resource="asia-agentic-soc-audit-123456789012-dev"} 0
socmond_compliance_failures_total{check="s3_object_lock_retention",resource="asia-agentic-soc-audit-123456789012-dev"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(exp), "socmond_compliance_failures_total"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(reg, "socmond_compliance_check_passed"); n != 5 {
		t.Errorf("%d passed series with the key N/A, want 5 (N/A has none)", n)
	}
	if n := testutil.CollectAndCount(reg, "socmond_compliance_last_run_timestamp_seconds"); n != 6 {
		t.Errorf("%d last-run series, want 6", n)
	}
	if len(seen) != 18 {
		t.Errorf("subscriber saw %d findings, want 18 (3 rounds × 6)", len(seen))
	}
	if f := r.Findings(); len(f) != 6 || find(t, f, compliance.CheckKMSRotation, key).Verdict != compliance.NotApplicable {
		t.Errorf("latest findings: %+v", f)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %+v", err, problems)
	}
}

// gaugeChild finds one series (a gauge's or a counter's) by gathering, so
// the test reads what /metrics would show.
func gaugeChild(t *testing.T, reg *prometheus.Registry, name, check, resource string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["check"] == check && labels["resource"] == resource {
				g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "x"})
				g.Set(m.GetGauge().GetValue())
				if c := m.GetCounter(); c != nil {
					g.Set(c.GetValue())
				}
				return g
			}
		}
	}
	t.Fatalf("no %s{check=%q,resource=%q}", name, check, resource)
	return nil
}

// TestEvidence writes a report on the first round, verifies it, and checks
// the lock: the version cannot be deleted.
func TestEvidence(t *testing.T) {
	e := newEnv(t)
	ev := &compliance.Evidence{S3: e.clients.S3, Bucket: audit, Prefix: "socmond/evidence/", KMSKey: key}
	r, err := compliance.NewRunner(compliance.RunnerOptions{Settings: compliance.Settings{Pipelines: []compliance.Pipeline{{Checker: e.checker, Evidence: ev}}, EvidenceSchedule: "@daily"}, Version: "test", Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	r.RunOnce(t.Context())
	w, err := r.LastEvidence()
	if err != nil || w.Key == "" {
		t.Fatalf("no evidence after the first round: %v %+v", err, w)
	}
	if !strings.HasPrefix(w.Key, "socmond/evidence/") || w.VersionID == "" {
		t.Errorf("written %+v", w)
	}
	want := compliance.ResolveKey(t.Context(), e.clients.KMS, key)
	v, err := compliance.Verify(t.Context(), e.clients.S3, audit, w.Key, want, compliance.DefaultRetention)
	if err != nil {
		t.Fatal(err)
	}
	if !v.OK() {
		t.Errorf("verification failed: %+v", v.Checks)
	}
	if len(v.Report.Findings) != 6 || !v.Report.AllPassed || v.Report.SocmondVersion != "test" {
		t.Errorf("report read back: %+v", v.Report)
	}
	// An unchanged round writes nothing; a changed one writes a new report.
	r.RunOnce(t.Context())
	if w2, _ := r.LastEvidence(); w2.Key != w.Key {
		t.Errorf("an unchanged round wrote %s", w2.Key)
	}
	e.postFault(t, `{"service":"kms","set":{"KeyRotationEnabled":"false"}}`)
	r.RunOnce(t.Context())
	if w3, _ := r.LastEvidence(); w3.Key == w.Key {
		t.Errorf("a changed verdict wrote no new evidence")
	}
	_, err = e.clients.S3.DeleteObject(t.Context(), &s3.DeleteObjectInput{Bucket: aws.String(audit), Key: &w.Key, VersionId: &w.VersionID})
	if c, code, _ := probes.Classify(err); c != probes.ClassAuth || code != "AccessDenied" {
		t.Errorf("deleting the locked evidence version: %v, want AccessDenied", err)
	}
	// A report under another key, or without lock, fails verification.
	if v, _ := compliance.Verify(t.Context(), e.clients.S3, audit, w.Key, compliance.WantKey{Name: "alias/Other"}, compliance.DefaultRetention); v.OK() {
		t.Errorf("verified against the wrong key")
	}
	plain := "socmond/evidence/plain.json"
	if _, err := e.clients.S3.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(artifacts), Key: &plain, Body: bytes.NewReader([]byte(`{}`))}); err != nil {
		t.Fatal(err)
	}
	v, err = compliance.Verify(t.Context(), e.clients.S3, artifacts, plain, want, compliance.DefaultRetention)
	if err != nil || v.OK() {
		t.Errorf("an unlocked object without checksum verified: %v %+v", err, v.Checks)
	}
}
