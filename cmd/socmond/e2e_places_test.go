package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/socmond/socmond/internal/awssim"
	"github.com/socmond/socmond/internal/probes"
)

// tenantsExample is the managed SOC's example: acme-bank's pipelines in
// Hong Kong and Singapore, beta-securities' in Hong Kong, each in its own
// account, reached through its role.
const tenantsExample = "../../config.tenants.example.yaml"

// TestE2EPerPipeline: with tenants, `socmond e2e` runs the canary in each
// pipeline in turn, each writing only to its own account and region
// through its role; --tenant, --account and --region choose pipelines,
// and a choice that matches none is a usage error naming those there are.
func TestE2EPerPipeline(t *testing.T) {
	sim, url := seededSim(t, tenantsExample)
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

	code, out, errOut := runCLI(t, "e2e", "--config.file", tenantsExample, "-o", "json")
	var all []report
	if err := json.Unmarshal([]byte(out), &all); code != exitOK || err != nil {
		t.Fatalf("exit %d, %v:\n%s\n%s", code, err, out, errOut)
	}
	acmeHK, acmeSG := probes.Place{Tenant: "acme-bank", Account: "111111111111", Region: "ap-east-1"}, probes.Place{Tenant: "acme-bank", Account: "111111111111", Region: "ap-southeast-1"}
	beta := probes.Place{Tenant: "beta-securities", Account: "222222222222", Region: "ap-east-1"}
	want := []probes.Place{acmeHK, acmeSG, beta}
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

	// One pipeline, chosen; a stage failing in another account does not
	// touch it.
	sim.AddFault(awssim.Fault{Service: "lambda", Error: "ServiceException", Account: acmeHK.Account})
	code, out, errOut = runCLI(t, "e2e", "--config.file", tenantsExample, "--tenant", "beta-securities")
	if code != exitOK || !strings.Contains(out, "Synthetic end-to-end canary (tenant beta-securities, account 222222222222, ap-east-1): SocBus → arn:aws:states:ap-east-1:222222222222:stateMachine:SocStateMachine") {
		t.Fatalf("exit %d:\n%s\n%s", code, out, errOut)
	}
	if got := puts(); len(got) != 1 || got[0] != "222222222222/ap-east-1/"+role[beta.Account] {
		t.Errorf("events put in %v, want only beta-securities' pipeline's", got)
	}
	code, out, _ = runCLI(t, "e2e", "--config.file", tenantsExample, "--account", acmeSG.Account, "--region", acmeSG.Region, "-o", "json")
	var one report
	if err := json.Unmarshal([]byte(out), &one); code != exitFailed || err != nil || one.Passed || one.Place != acmeSG {
		t.Errorf("acme-bank's failing Singapore pipeline: exit %d, %v, %+v", code, err, one)
	}

	code, _, errOut = runCLI(t, "e2e", "--config.file", tenantsExample, "--tenant", "gamma")
	if code != exitUsage || !strings.Contains(errOut, `no pipeline of tenant "gamma"`) || !strings.Contains(errOut, "tenant beta-securities, account 222222222222, ap-east-1") {
		t.Errorf("unknown tenant: exit %d:\n%s", code, errOut)
	}
	code, _, errOut = runCLI(t, "e2e", "--config.file", example, "--region", "eu-west-1")
	if code != exitUsage || !strings.Contains(errOut, "the config has none") {
		t.Errorf("--region without tenants: exit %d:\n%s", code, errOut)
	}
}
