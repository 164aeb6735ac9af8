package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/socmond/socmond/internal/awssim"
	"github.com/socmond/socmond/internal/probes"
)

// Two tenants' pipelines, each in two regions of its own account.
const e2ePlacesConfig = `
region: us-east-1
accounts:
  - id: "111111111111"
    role_arn: arn:aws:iam::111111111111:role/socmond-monitor
    external_id: ext-acme
    regions: [us-east-1, eu-west-1]
  - id: "222222222222"
    role_arn: arn:aws:iam::222222222222:role/socmond-monitor
    regions: [us-east-1, eu-west-1]
tenants:
  - name: acme
    pipelines: [{account: "111111111111"}]
  - name: beta
    pipelines: [{account: "222222222222"}]
pipeline:
  investigations_table: "investigations-${tenant}"
  artifacts_bucket: "artifacts-${account_id}-${region}"
  audit_bucket: "audit-${account_id}-${region}"
  kms_key: alias/soc
  event_bus: soc-bus
  state_machine: "arn:aws:states:${region}:${account_id}:stateMachine:soc-pipeline"
workflow:
  rules: ["soc-alerts-${tenant}"]
canary:
  timeout: 20s
  find_timeout: 5s
services:
  kms: {resources: [{name: alias/soc}]}
  dynamodb: {resources: [{name: "investigations-${tenant}"}]}
  s3: {resources: [{name: "artifacts-${account_id}-${region}"}]}
  eventbridge: {resources: [{name: soc-bus}]}
  stepfunctions: {resources: [{name: "arn:aws:states:${region}:${account_id}:stateMachine:soc-pipeline"}]}
  lambda: {resources: [{name: "analyze-${tenant}"}]}
`

// TestE2EPerPipeline: with tenants, `socmond e2e` runs the canary in each
// pipeline in turn, each writing only to its own account and region
// through its role; --tenant, --account and --region choose pipelines,
// and a choice that matches none is a usage error naming those there are.
func TestE2EPerPipeline(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tenants.yaml")
	if err := os.WriteFile(path, []byte(e2ePlacesConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	sim, url := seededSim(t, path)
	useSim(t, url)
	role := map[string]string{"111111111111": "arn:aws:iam::111111111111:role/socmond-monitor", "222222222222": "arn:aws:iam::222222222222:role/socmond-monitor"}
	puts := func() []string {
		var out []string
		for _, c := range sim.Calls() {
			if c.Operation == "PutEvents" {
				out = append(out, c.Account+"/"+c.Region+"/"+c.Role)
			}
		}
		sim.ResetCalls()
		return out
	}
	type report struct {
		Place  probes.Place
		Passed bool
	}

	code, out, errOut := runCLI(t, "e2e", "--config.file", path, "-o", "json")
	var all []report
	if err := json.Unmarshal([]byte(out), &all); code != exitOK || err != nil {
		t.Fatalf("exit %d, %v:\n%s\n%s", code, err, out, errOut)
	}
	want := []probes.Place{{Tenant: "acme", Account: "111111111111", Region: "us-east-1"}, {Tenant: "acme", Account: "111111111111", Region: "eu-west-1"},
		{Tenant: "beta", Account: "222222222222", Region: "us-east-1"}, {Tenant: "beta", Account: "222222222222", Region: "eu-west-1"}}
	if len(all) != len(want) {
		t.Fatalf("%d reports, want %d: %+v", len(all), len(want), all)
	}
	var wantPuts []string
	for i, p := range want {
		if all[i].Place != p || !all[i].Passed {
			t.Errorf("report %d: %+v, want a pass at %v", i, all[i], p)
		}
		wantPuts = append(wantPuts, p.Account+"/"+p.Region+"/"+role[p.Account])
	}
	if got := puts(); strings.Join(got, " ") != strings.Join(wantPuts, " ") {
		t.Errorf("events put in %v, want one in each pipeline through its role, in turn: %v", got, wantPuts)
	}

	// One pipeline, chosen; a stage failing in another pipeline's account
	// does not touch it.
	sim.AddFault(awssim.Fault{Service: "lambda", Error: "ServiceException", Account: "111111111111"})
	code, out, errOut = runCLI(t, "e2e", "--config.file", path, "--tenant", "beta", "--region", "eu-west-1")
	if code != exitOK || !strings.Contains(out, "Synthetic end-to-end canary (tenant beta, account 222222222222, eu-west-1): soc-bus → arn:aws:states:eu-west-1:222222222222:stateMachine:soc-pipeline") {
		t.Fatalf("exit %d:\n%s\n%s", code, out, errOut)
	}
	if got := puts(); len(got) != 1 || got[0] != "222222222222/eu-west-1/"+role["222222222222"] {
		t.Errorf("events put in %v, want only beta's eu-west-1 pipeline's", got)
	}
	code, out, _ = runCLI(t, "e2e", "--config.file", path, "--account", "111111111111", "--region", "eu-west-1", "-o", "json")
	var one report
	if err := json.Unmarshal([]byte(out), &one); code != exitFailed || err != nil || one.Passed || one.Place != want[1] {
		t.Errorf("acme's failing pipeline: exit %d, %v, %+v", code, err, one)
	}

	code, _, errOut = runCLI(t, "e2e", "--config.file", path, "--tenant", "gamma")
	if code != exitUsage || !strings.Contains(errOut, `no pipeline of tenant "gamma"`) || !strings.Contains(errOut, "tenant beta, account 222222222222, eu-west-1") {
		t.Errorf("unknown tenant: exit %d:\n%s", code, errOut)
	}
	code, _, errOut = runCLI(t, "e2e", "--config.file", example, "--region", "eu-west-1")
	if code != exitUsage || !strings.Contains(errOut, "the config has none") {
		t.Errorf("--region without tenants: exit %d:\n%s", code, errOut)
	}
}
