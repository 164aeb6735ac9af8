package compliance_test

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/socmond/socmond/internal/alerting"
	"github.com/socmond/socmond/internal/awsclient"
	"github.com/socmond/socmond/internal/awssim"
	"github.com/socmond/socmond/internal/compliance"
	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/probes"
	"github.com/socmond/socmond/internal/simseed"
	"github.com/socmond/socmond/internal/testenv"
)

// Three accounts in two regions each, one tenant's pipeline in each
// account, with its own key, tables, buckets and audit bucket. Account
// 333333333333's trust policy wants another external id than the one
// configured: its role cannot be assumed.
const accountsConfig = `
region: us-east-1
tenant: soc
defaults:
  timeout: 5s
accounts:
  - id: "111111111111"
    role_arn: arn:aws:iam::111111111111:role/socmond-monitor
    external_id: ext-acme
    regions: [us-east-1, eu-west-1]
  - id: "222222222222"
    role_arn: arn:aws:iam::222222222222:role/socmond-monitor
    regions: [us-east-1, eu-west-1]
  - id: "333333333333"
    role_arn: arn:aws:iam::333333333333:role/socmond-compliance
    external_id: ext-wrong
    regions: [us-east-1, eu-west-1]
tenants:
  - name: acme
    pipelines: [{account: "111111111111"}]
  - name: beta
    pipelines: [{account: "222222222222"}]
  - name: gamma
    pipelines: [{account: "333333333333"}]
pipeline:
  investigations_table: investigations-${tenant}
  artifacts_bucket: soc-artifacts-${account_id}-${region}
  audit_bucket: soc-audit-${account_id}-${region}
  kms_key: alias/soc-${tenant}
compliance:
  evidence: {enabled: true}
services:
  dynamodb:
    resources: [{name: "investigations-${tenant}"}]
  kms:
    resources: [{name: "alias/soc-${tenant}"}]
  s3:
    resources: [{name: "soc-artifacts-${account_id}-${region}"}]
`

// The roles the simulator grants: gamma's with another external id.
var accountRoles = []awssim.Role{
	{ARN: "arn:aws:iam::111111111111:role/socmond-monitor", ExternalID: "ext-acme"},
	{ARN: "arn:aws:iam::222222222222:role/socmond-monitor"},
	{ARN: "arn:aws:iam::333333333333:role/socmond-compliance", ExternalID: "ext-gamma"},
}

const gammaRole = "arn:aws:iam::333333333333:role/socmond-compliance"

// accountsEnv is the compliance feature's runner over a config of several
// accounts, against a simulator seeded from it (simseed: each pipeline's
// key, table, buckets and audit bucket in its own account and region).
type accountsEnv struct {
	cfg     *config.Config
	sim     *awssim.Sim
	clients *awsclient.Clients
	reg     *prometheus.Registry
	engine  *alerting.Engine
	r       *compliance.Runner
}

func newAccountsEnv(t *testing.T, faults ...awssim.Fault) *accountsEnv {
	t.Helper()
	e := &accountsEnv{reg: prometheus.NewRegistry()}
	var err error
	if e.cfg, err = config.Parse("accounts.yaml", []byte(accountsConfig), nil); err != nil {
		t.Fatal(err)
	}
	seed := simseed.FromConfig(e.cfg)
	seed.Roles = accountRoles // gamma's trust policy wants another external id
	var url string
	e.sim, url = awssim.Serve(t, seed)
	for _, f := range faults {
		e.sim.AddFault(f)
	}
	e.clients, err = awsclient.New(t.Context(), awsclient.Options{Region: e.cfg.Region, Endpoint: url,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDSIM", "secret", "")})
	if err != nil {
		t.Fatal(err)
	}
	s, err := compliance.SettingsFromConfig(e.cfg, e.clients)
	if err != nil {
		t.Fatal(err)
	}
	e.engine = alerting.NewEngine(alerting.SettingsFromConfig(e.cfg), time.Minute, nil)
	e.r, err = compliance.NewRunner(compliance.RunnerOptions{Settings: s, Registerer: e.reg, Logger: zerolog.New(io.Discard), Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	e.r.Subscribe(compliance.Alerts(e.engine))
	return e
}

// byPlace groups findings by their pipeline.
func byPlace(findings []compliance.Finding) map[probes.Place][]compliance.Finding {
	out := map[probes.Place][]compliance.Finding{}
	for _, f := range findings {
		out[f.Place] = append(out[f.Place], f)
	}
	return out
}

func placeLabels(p probes.Place) map[string]string {
	return map[string]string{"tenant": p.Tenant, "account": p.Account, "region": p.Region}
}

// TestPipelinesPerAccount: each pipeline's checks run on its account's
// role in its region, on its own names; rotation turned off on one
// pipeline's key fails that pipeline's finding alone, its metric and alert
// labelled with its place; each pipeline's evidence lands in its own audit
// bucket, reporting its own findings; the pipelines of the account whose
// role cannot be assumed are UNKNOWN, auth, with a hint naming the role.
func TestPipelinesPerAccount(t *testing.T) {
	beta := probes.Place{Tenant: "beta", Account: "222222222222", Region: "eu-west-1"}
	e := newAccountsEnv(t, awssim.Fault{Service: "kms", Account: beta.Account, Region: beta.Region,
		Set: map[string]string{"KeyRotationEnabled": "false"}})
	e.r.RunOnce(t.Context())

	places := e.cfg.Places()
	if len(places) != 6 {
		t.Fatalf("%d places, want 6", len(places))
	}
	got := byPlace(e.r.Findings())
	for _, p := range places {
		pl := e.cfg.PipelineAt(p)
		fs := got[p]
		// Rotation, the table, two buckets' encryption, Object Lock.
		if len(fs) != 5 {
			t.Errorf("%v: %d findings, want 5: %+v", p, len(fs), fs)
			continue
		}
		for _, f := range fs {
			switch {
			case p.Account == "333333333333":
				if f.Verdict != compliance.Unknown || f.Class != probes.ClassAuth || !strings.Contains(f.Hint, gammaRole) {
					t.Errorf("%v %s %s: %s class %q hint %q, want UNKNOWN, auth, naming the role", p, f.Check, f.Resource, f.Verdict, f.Class, f.Hint)
				}
			case p == beta && f.Check == compliance.CheckKMSRotation:
				if f.Verdict != compliance.Fail || f.Resource != "alias/soc-beta" {
					t.Errorf("beta's key with rotation off: %+v", f)
				}
			case f.Verdict != compliance.Pass:
				t.Errorf("%v %s %s: %s (%s)", p, f.Check, f.Resource, f.Verdict, f.Reason)
			}
			if f.Check == compliance.CheckS3ObjectLock && f.Resource != pl.AuditBucket {
				t.Errorf("%v: Object Lock checked on %s, want its own audit bucket %s", p, f.Resource, pl.AuditBucket)
			}
		}
	}

	// The panel (the status page, /api/v1/status) says whose check fails.
	failing := 0
	for _, it := range compliance.Panel(e.r.Findings()).Items {
		if it.Name != compliance.CheckKMSRotation || it.State != "fail" {
			continue
		}
		failing++
		if b, _ := json.Marshal(it); it.Place != beta || !strings.Contains(string(b), `"tenant":"beta","account":"222222222222","region":"eu-west-1"`) {
			t.Errorf("failing panel item %s, want beta's place", b)
		}
	}
	if failing != 1 {
		t.Errorf("%d failing rotation items in the panel, want beta's alone", failing)
	}

	// Every call of a pipeline's checks was signed by its account's role
	// in its region; none went to socmond's own account, and none reached
	// the account whose role could not be assumed.
	ran := map[probes.Place]int{}
	for _, c := range e.sim.Calls() {
		if c.Service != "kms" && c.Service != "dynamodb" && c.Service != "s3" {
			continue
		}
		a, _ := e.cfg.Account(c.Account)
		if a.ID == "" || c.Role != a.RoleARN || a.ID == "333333333333" {
			t.Errorf("%s %s %s served in account %q, region %s, role %q", c.Service, c.Operation, c.Resource, c.Account, c.Region, c.Role)
			continue
		}
		if c.Operation == "PutObject" {
			continue // evidence, below
		}
		ran[probes.Place{Tenant: map[string]string{"111111111111": "acme", "222222222222": "beta"}[c.Account], Account: c.Account, Region: c.Region}]++
	}
	// DescribeKey (the alias, then the key ARN the table reports) and
	// GetKeyRotationStatus, DescribeTable, two GetBucketEncryption,
	// GetObjectLockConfiguration: each pipeline's own reads, in its own
	// account and region.
	for _, p := range places {
		if p.Account != "333333333333" && ran[p] != 7 {
			t.Errorf("%d compliance reads in %v, want 7", ran[p], p)
		}
	}

	// The metric and the alert of beta's key in eu-west-1, and only
	// those, say it fails.
	for _, p := range places {
		want := 1.0
		switch {
		case p == beta:
			want = 0
		case p.Account == "333333333333":
			want = -1 // never known
		}
		l := placeLabels(p)
		l["check"], l["resource"] = compliance.CheckKMSRotation, "alias/soc-"+p.Tenant
		if v := testenv.MetricValue(t, e.reg, "socmond_compliance_check_passed", l); v != want {
			t.Errorf("socmond_compliance_check_passed%v = %v, want %v", l, v, want)
		}
	}
	var violations []alerting.Alert
	for _, a := range e.engine.Alerts() {
		if a.Name() == alerting.AlertComplianceViolation {
			violations = append(violations, a)
		}
	}
	if len(violations) != 1 {
		t.Fatalf("violations %+v, want beta's key's alone", violations)
	}
	if l := violations[0].Labels; l["tenant"] != "beta" || l["account"] != beta.Account || l["region"] != beta.Region ||
		l["resource"] != "alias/soc-beta" || violations[0].State != alerting.Firing {
		t.Errorf("violation %s %v, want firing for beta's key with its place's labels", violations[0].State, l)
	}

	// Each pipeline's report is in its own audit bucket, under its own
	// key, and lists its own findings alone. Gamma's pipelines know no
	// verdict: nothing to report.
	for _, p := range places {
		pl := e.cfg.PipelineAt(p)
		c, err := e.cfg.ClientsAt(e.clients, p)
		if err != nil {
			t.Fatal(err)
		}
		if p.Account == "333333333333" {
			continue
		}
		list, err := c.S3.ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: aws.String(pl.AuditBucket), Prefix: aws.String(config.DefaultEvidencePrefix)})
		if err != nil {
			t.Fatalf("%v: %v", p, err)
		}
		if len(list.Contents) != 1 {
			t.Errorf("%v: %d reports in %s, want 1", p, len(list.Contents), pl.AuditBucket)
			continue
		}
		v, err := compliance.Verify(t.Context(), c.S3, pl.AuditBucket, aws.ToString(list.Contents[0].Key),
			compliance.ResolveKey(t.Context(), c.KMS, pl.KMSKey), compliance.DefaultRetention)
		if err != nil {
			t.Fatal(err)
		}
		if !v.OK() || v.Report.Place != p || len(v.Report.Findings) != 5 || v.Report.AllPassed != (p != beta) {
			t.Errorf("%v: report %+v, checks %+v", p, v.Report, v.Checks)
		}
		for _, f := range v.Report.Findings {
			if f.Place != p {
				t.Errorf("%v's report holds a finding of %v", p, f.Place)
			}
		}
	}
}

// TestPipelineRemovedOnReload: a reload that drops a tenant drops its
// pipelines' findings, series and alerts; the other pipelines keep theirs
// and write no new report (nothing of theirs changed).
func TestPipelineRemovedOnReload(t *testing.T) {
	beta := probes.Place{Tenant: "beta", Account: "222222222222", Region: "us-east-1"}
	e := newAccountsEnv(t, awssim.Fault{Service: "kms", Account: beta.Account, Region: beta.Region,
		Set: map[string]string{"KeyRotationEnabled": "false"}})
	e.r.RunOnce(t.Context())
	betaKey := placeLabels(beta)
	betaKey["check"], betaKey["resource"] = compliance.CheckKMSRotation, "alias/soc-beta"
	acme := probes.Place{Tenant: "acme", Account: "111111111111", Region: "eu-west-1"}
	acmeKey := placeLabels(acme)
	acmeKey["check"], acmeKey["resource"] = compliance.CheckKMSRotation, "alias/soc-acme"
	if v := testenv.MetricValue(t, e.reg, "socmond_compliance_check_passed", betaKey); v != 0 {
		t.Fatalf("beta's key before the reload: %v", v)
	}
	written, _ := e.r.LastEvidence()

	text := strings.Replace(accountsConfig, "  - name: beta\n    pipelines: [{account: \"222222222222\"}]\n", "", 1)
	cfg, err := config.Parse("accounts.yaml", []byte(text), nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := compliance.SettingsFromConfig(cfg, e.clients)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.r.Reconfigure(s); err != nil {
		t.Fatal(err)
	}
	e.r.RunOnce(t.Context())
	for _, f := range e.r.Findings() {
		if f.Tenant == "beta" {
			t.Errorf("beta's finding kept: %+v", f)
		}
	}
	if n := len(e.r.Findings()); n != 4*5 {
		t.Errorf("%d findings after the reload, want 20", n)
	}
	if v := testenv.MetricValue(t, e.reg, "socmond_compliance_check_passed", betaKey); v != -1 {
		t.Errorf("beta's series kept: %v", v)
	}
	if v := testenv.MetricValue(t, e.reg, "socmond_compliance_check_passed", acmeKey); v != 1 {
		t.Errorf("acme's series after the reload: %v", v)
	}
	for _, a := range e.engine.Alerts() {
		if a.Name() == alerting.AlertComplianceViolation && a.State == alerting.Firing {
			t.Errorf("alert of a removed pipeline still firing: %v", a.Labels)
		}
	}
	if w, err := e.r.LastEvidence(); err != nil || w != written {
		t.Errorf("a reload that changed nothing of the kept pipelines wrote %+v (%v), last was %+v", w, err, written)
	}
}

// TestHungRoleDelaysNoOtherPipeline: while STS holds one account's
// AssumeRole unanswered, the other accounts' pipelines are checked: their
// calls are all served before that AssumeRole gives up.
func TestHungRoleDelaysNoOtherPipeline(t *testing.T) {
	e := newAccountsEnv(t, awssim.Fault{Service: "sts", Resource: gammaRole, Latency: "1h"})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.r.RunOnce(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
	// Acme's and beta's four pipelines: rotation (DescribeKey,
	// GetKeyRotationStatus), the table (and its key), two buckets, Object
	// Lock.
	testenv.Eventually(t, "the other accounts' checks", func() bool {
		n := 0
		for _, c := range e.sim.Calls() {
			if c.Account == "111111111111" || c.Account == "222222222222" {
				n++
			}
		}
		return n >= 4*7
	})
	if n := e.sim.AssumeRoleCount(gammaRole); n != 0 {
		t.Errorf("gamma's AssumeRole answered (%d) before the other accounts were checked: they waited on it", n)
	}
	for _, c := range e.sim.Calls() {
		if c.Account == "333333333333" {
			t.Errorf("a call reached gamma's account: %+v", c)
		}
	}
}

// TestPlacedNotFoundHint: a tenant's pipeline's table that is not found
// is looked for in its account and region, as its pipeline names it.
func TestPlacedNotFoundHint(t *testing.T) {
	acme := probes.Place{Tenant: "acme", Account: "111111111111", Region: "eu-west-1"}
	e := newAccountsEnv(t, awssim.Fault{Service: "dynamodb", Account: acme.Account, Region: acme.Region, Error: "ResourceNotFoundException"})
	e.r.RunOnce(t.Context())
	n := 0
	for _, f := range e.r.Findings() {
		if f.Check != compliance.CheckDynamoDBKMS || f.Verdict != compliance.Unknown || f.Class == probes.ClassAuth {
			continue // gamma's are auth: its role
		}
		n++
		if f.Place != acme || !strings.Contains(f.Hint, "not found in account 111111111111, eu-west-1") || !strings.Contains(f.Hint, "tenant acme's pipeline") {
			t.Errorf("%v %s: hint %q", f.Place, f.Resource, f.Hint)
		}
	}
	if n != 1 {
		t.Errorf("%d table findings UNKNOWN, want acme's in eu-west-1 alone", n)
	}
}
