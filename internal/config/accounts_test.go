package config

import (
	"os"
	"strings"
	"testing"

	"github.com/socmond/socmond/internal/probes"
)

const tenantsYAML = `
region: eu-west-1
tenant: soc
accounts:
  - id: "111111111111"
    role_arn: arn:aws:iam::111111111111:role/socmond-monitor
    external_id: ${ACME_EXTERNAL_ID}
    session_name: socmond-acme
    regions: [ap-east-1, ap-southeast-1]
  - id: "222222222222"
tenants:
  - name: acme
    pipelines:
      - account: "111111111111"
  - name: beta
    pipelines:
      - account: "222222222222"
services:
  dynamodb:
    resources:
      - name: ${PREFIX}-investigations-${tenant}
  stepfunctions:
    resources:
      - name: arn:aws:states:${region}:${account_id}:stateMachine:soc
  s3:
    resources:
      - name: $${region}-literal
`

func tenantsEnv(name string) string {
	return map[string]string{"ACME_EXTERNAL_ID": "ext-acme-1234", "PREFIX": "soc"}[name]
}

// TestTenantsTargets: services: is a template instantiated once per
// tenant, pipeline and region, in that order, each target placed and its
// name substituted; environment expansion still applies to the rest of a
// name, and "$$" escapes as before.
func TestTenantsTargets(t *testing.T) {
	c, err := Parse("config.yaml", []byte(tenantsYAML), tenantsEnv)
	if err != nil {
		t.Fatal(err)
	}
	acme1 := probes.Place{Tenant: "acme", Account: "111111111111", Region: "ap-east-1"}
	acme2 := probes.Place{Tenant: "acme", Account: "111111111111", Region: "ap-southeast-1"}
	beta := probes.Place{Tenant: "beta", Account: "222222222222", Region: "eu-west-1"} // the top-level region by default
	want := []probes.Target{
		{Service: "dynamodb", Resource: "soc-investigations-acme", Place: acme1},
		{Service: "s3", Resource: "ap-east-1-literal", Place: acme1},
		{Service: "stepfunctions", Resource: "arn:aws:states:ap-east-1:111111111111:stateMachine:soc", Place: acme1},
		{Service: "dynamodb", Resource: "soc-investigations-acme", Place: acme2},
		{Service: "s3", Resource: "ap-southeast-1-literal", Place: acme2},
		{Service: "stepfunctions", Resource: "arn:aws:states:ap-southeast-1:111111111111:stateMachine:soc", Place: acme2},
		{Service: "dynamodb", Resource: "soc-investigations-beta", Place: beta},
		{Service: "s3", Resource: "eu-west-1-literal", Place: beta},
		{Service: "stepfunctions", Resource: "arn:aws:states:eu-west-1:222222222222:stateMachine:soc", Place: beta},
	}
	got := c.Targets()
	if len(got) != len(want) {
		t.Fatalf("%d targets, want %d: %+v", len(got), len(want), got)
	}
	for i, g := range got {
		if g.ID() != want[i] {
			t.Errorf("target %d is %+v, want %+v", i, g.ID(), want[i])
		}
		if g.Schedule != DefaultSchedule || g.Timeout != DefaultTimeout {
			t.Errorf("target %d lost its settings: %+v", i, g)
		}
	}
	if a, ok := c.Account("111111111111"); !ok || a.ExternalID != "ext-acme-1234" || a.SessionName != "socmond-acme" {
		t.Errorf("account: %+v", a)
	}

	// check-config hides the external id, and what it prints loads back
	// to the same targets (the placeholders survive as they were written).
	out, err := c.YAML()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "ext-acme-1234") || !strings.Contains(string(out), "external_id: <secret>") {
		t.Errorf("check-config output shows the external id or no placeholder for it:\n%s", out)
	}
	again, err := Parse("again.yaml", out, tenantsEnv)
	if err != nil {
		t.Fatalf("check-config output does not load: %v\n%s", err, out)
	}
	for i, g := range again.Targets() {
		if g.ID() != want[i] {
			t.Errorf("reloaded target %d is %+v, want %+v", i, g.ID(), want[i])
		}
	}
}

// TestPipelineRegions: a pipeline may run in some of its account's
// regions.
func TestPipelineRegions(t *testing.T) {
	c, err := Parse("config.yaml", []byte(`
accounts:
  - {id: "111111111111", regions: [us-east-1, us-west-2, eu-west-1]}
tenants:
  - name: a
    pipelines: [{account: "111111111111", regions: [eu-west-1, us-east-1]}]
services:
  kms:
    resources: [{name: alias/soc}]
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := c.Pipelines()
	want := []probes.Place{{Tenant: "a", Account: "111111111111", Region: "eu-west-1"}, {Tenant: "a", Account: "111111111111", Region: "us-east-1"}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("pipelines %+v, want %+v", got, want)
	}
}

// TestPipelineAt: the pipeline section and the workflow's rules are
// templates too, each place's names substituted; without tenants there is
// one place, the zero one, and its pipeline is the section as written.
func TestPipelineAt(t *testing.T) {
	c, err := Parse("config.yaml", []byte(tenantsYAML+`
pipeline:
  kms_key: arn:aws:kms:${region}:${account_id}:alias/soc
  audit_bucket: soc-audit-${tenant}-${region}
  investigations_table: ${PREFIX}-investigations-${tenant}
  state_machine: arn:aws:states:${region}:${account_id}:stateMachine:soc
workflow:
  rules: ["soc-alerts-${tenant}"]
`), tenantsEnv)
	if err != nil {
		t.Fatal(err)
	}
	places := c.Places()
	if len(places) != 3 || places[1] != (probes.Place{Tenant: "acme", Account: "111111111111", Region: "ap-southeast-1"}) {
		t.Fatalf("places %+v", places)
	}
	got := c.PipelineAt(places[1])
	want := Pipeline{
		KMSKey: "arn:aws:kms:ap-southeast-1:111111111111:alias/soc", AuditBucket: "soc-audit-acme-ap-southeast-1",
		InvestigationsTable: "soc-investigations-acme", StateMachine: "arn:aws:states:ap-southeast-1:111111111111:stateMachine:soc",
	}
	if got != want {
		t.Errorf("PipelineAt(%v) = %+v, want %+v", places[1], got, want)
	}
	if r := c.WorkflowRulesAt(places[2]); len(r) != 1 || r[0] != "soc-alerts-beta" {
		t.Errorf("rules at %v: %q", places[2], r)
	}
	if tb := c.ComplianceTablesAt(places[2]); len(tb) != 1 || tb[0] != "soc-investigations-beta" {
		t.Errorf("compliance tables at %v: %q", places[2], tb)
	}

	plain, err := Parse("config.yaml", []byte("pipeline:\n  kms_key: alias/soc\nservices:\n  dynamodb:\n    resources: [{name: t1}]\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if p := plain.Places(); len(p) != 1 || !p[0].IsZero() {
		t.Errorf("places without tenants: %+v", p)
	}
	if got := plain.PipelineAt(probes.Place{}); got != plain.Pipeline {
		t.Errorf("PipelineAt(zero) = %+v, want the section %+v", got, plain.Pipeline)
	}
	if tb := plain.ComplianceTablesAt(probes.Place{}); len(tb) != 1 || tb[0] != "t1" {
		t.Errorf("compliance tables: %q", tb)
	}
}

// TestNoTenantsNoPlace: without tenants: every target is unplaced, and
// placeholders are no environment variables in other keys.
func TestNoTenantsNoPlace(t *testing.T) {
	c, err := Parse("config.yaml", []byte("tenant: ${region:-x}\nservices:\n  kms:\n    resources: [{name: alias/k}]\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Tenant != "x" {
		t.Errorf("tenant %q: ${region} outside a resource name is an environment variable", c.Tenant)
	}
	for _, tg := range c.Targets() {
		if !tg.Place.IsZero() || tg.ID() != (probes.Target{Service: tg.Service, Resource: tg.Resource}) {
			t.Errorf("unplaced config gave %+v", tg)
		}
	}
}

// TestAccountErrors: every mistake in accounts: and tenants: is one
// error naming file, line and key.
func TestAccountErrors(t *testing.T) {
	const svc = "services:\n  kms:\n    resources: [{name: alias/k}]\n"
	const acct = "accounts:\n  - id: \"111111111111\"\n    regions: [us-east-1, eu-west-1]\n"
	tests := map[string]struct{ yaml, want string }{
		"undefined account": {
			acct + "tenants:\n  - name: a\n    pipelines: [{account: \"333333333333\"}]\n" + svc,
			`config.yaml:6: tenants[0].pipelines[0].account: account "333333333333" is not defined under accounts:`,
		},
		"region not the account's": {
			acct + "tenants:\n  - name: a\n    pipelines:\n      - account: \"111111111111\"\n        regions: [ap-east-1]\n" + svc,
			`config.yaml:8: tenants[0].pipelines[0].regions[0]: region "ap-east-1" is not one of account 111111111111's regions (us-east-1, eu-west-1)`,
		},
		"duplicate account id": {
			acct + "  - id: \"111111111111\"\ntenants:\n  - name: a\n    pipelines: [{account: \"111111111111\"}]\n" + svc,
			`config.yaml:4: accounts[1].id: duplicate account "111111111111" (also accounts[0])`,
		},
		"role in another account": {
			"accounts:\n  - id: \"111111111111\"\n    role_arn: arn:aws:iam::999999999999:role/r\ntenants:\n  - name: a\n    pipelines: [{account: \"111111111111\"}]\n" + svc,
			"config.yaml:3: accounts[0].role_arn: the role is in account 999999999999, not 111111111111: a resource's account label must be the account its role reads",
		},
		"not a role ARN": {
			"accounts:\n  - id: \"111111111111\"\n    role_arn: arn:aws:iam::111111111111:user/u\ntenants:\n  - name: a\n    pipelines: [{account: \"111111111111\"}]\n" + svc,
			`config.yaml:3: accounts[0].role_arn: invalid role ARN "arn:aws:iam::111111111111:user/u": want arn:aws:iam::<account id>:role/<name>`,
		},
		"short account id": {
			"accounts:\n  - id: \"1234\"\ntenants:\n  - name: a\n    pipelines: [{account: \"1234\"}]\n" + svc,
			`config.yaml:2: accounts[0].id: invalid account id "1234": want 12 digits`,
		},
		"external id without a role": {
			"accounts:\n  - id: \"111111111111\"\n    external_id: ${X}\ntenants:\n  - name: a\n    pipelines: [{account: \"111111111111\"}]\n" + svc,
			"config.yaml:3: accounts[0].external_id: an external id is sent when assuming role_arn, and there is none",
		},
		"external id too short, not shown": {
			"accounts:\n  - id: \"111111111111\"\n    role_arn: arn:aws:iam::111111111111:role/r\n    external_id: ${SHORT}\ntenants:\n  - name: a\n    pipelines: [{account: \"111111111111\"}]\n" + svc,
			"config.yaml:4: accounts[0].external_id: must be 2 to 1224 characters long, got 1",
		},
		"same account and region twice": {
			acct + "tenants:\n  - name: a\n    pipelines: [{account: \"111111111111\"}]\n  - name: b\n    pipelines:\n      - account: \"111111111111\"\n        regions: [eu-west-1]\n" + svc,
			"config.yaml:10: tenants[1].pipelines[0].regions[0]: account 111111111111 in eu-west-1 is already a's pipeline (tenants[0].pipelines[0]): one pipeline per account and region",
		},
		"duplicate tenant": {
			acct + "tenants:\n  - name: a\n    pipelines: [{account: \"111111111111\", regions: [us-east-1]}]\n  - name: a\n    pipelines: [{account: \"111111111111\", regions: [eu-west-1]}]\n" + svc,
			`config.yaml:7: tenants[1].name: duplicate tenant "a" (also tenants[0])`,
		},
		"tenant without pipelines": {
			acct + "tenants:\n  - name: a\n" + svc,
			"config.yaml:5: tenants[0].pipelines: required: list the accounts (and regions) the tenant's pipelines run in",
		},
		"accounts without tenants": {
			acct + svc,
			"config.yaml:1: accounts: accounts are watched through the pipelines of tenants:, and there are none: list tenants with pipelines in these accounts",
		},
		"placeholder without tenants": {
			"services:\n  dynamodb:\n    resources: [{name: \"t-${region}\"}]\n",
			"config.yaml:3: services.dynamodb.resources[0].name: ${account_id}, ${region} and ${tenant} are substituted per pipeline, and there are no tenants: list tenants and accounts, or write the name out",
		},
		"pipeline placeholder without tenants": {
			"pipeline:\n  kms_key: alias/soc\n  audit_bucket: audit-${account_id}\n" + svc,
			"config.yaml:3: pipeline.audit_bucket: ${account_id}, ${region} and ${tenant} are substituted per pipeline, and there are no tenants: list tenants and accounts, or write the name out",
		},
		"rule placeholder without tenants": {
			"pipeline:\n  state_machine: arn:aws:states:us-east-1:111111111111:stateMachine:soc\nworkflow:\n  rules: [\"soc-${tenant}\"]\n" + svc,
			"config.yaml:4: workflow.rules[0]: ${account_id}, ${region} and ${tenant} are substituted per pipeline, and there are no tenants: list tenants and accounts, or write the name out",
		},
		"two names that expand alike": {
			acct + "tenants:\n  - name: a\n    pipelines: [{account: \"111111111111\"}]\nservices:\n  dynamodb:\n    resources:\n      - name: t-eu-west-1\n      - name: t-${region}\n",
			`config.yaml:11: services.dynamodb.resources[1].name: "t-${region}" for tenant a, account 111111111111, region eu-west-1 is "t-eu-west-1": the same as services.dynamodb.resources[0] there`,
		},
		"expanded name the descriptor rejects": {
			acct + "tenants:\n  - name: a\n    pipelines: [{account: \"111111111111\"}]\nservices:\n  stepfunctions:\n    resources:\n      - name: arn:aws:states:${region}:${tenant}\n",
			`config.yaml:10: services.stepfunctions.resources[0].name: "arn:aws:states:${region}:${tenant}" for tenant a, account 111111111111, region us-east-1 is "arn:aws:states:us-east-1:a": invalid state machine "arn:aws:states:us-east-1:a": must be an ARN (arn:aws:states:REGION:ACCOUNT:stateMachine:NAME)`,
		},
	}
	env := func(name string) string { return map[string]string{"X": "ext-id", "SHORT": "s"}[name] }
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("config.yaml", []byte(tc.yaml), env)
			if err == nil {
				t.Fatalf("Parse succeeded, want %q", tc.want)
			}
			if err.Error() != tc.want {
				t.Fatalf("error:\n%s\nwant:\n%s", err, tc.want)
			}
		})
	}
}

// TestREADMEAccountsExample: the README's example of accounts and tenants
// loads, and instantiates what it says.
func TestREADMEAccountsExample(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(b), "### Several accounts, regions and tenants")
	_, block, _ := strings.Cut(section, "```yaml\n")
	block, _, _ = strings.Cut(block, "```")
	c, err := Parse("README.md", []byte(block), func(name string) string {
		return map[string]string{"ACME_EXTERNAL_ID": "acme-ext-id"}[name]
	})
	if err != nil {
		t.Fatalf("the README's example does not load: %v\n%s", err, block)
	}
	want := []probes.Place{{Tenant: "acme", Account: "111111111111", Region: "ap-east-1"}, {Tenant: "beta", Account: "222222222222", Region: "ap-east-1"}}
	if got := c.Pipelines(); len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("pipelines %+v, want %+v", got, want)
	}
	if n := len(c.Targets()); n != 4 {
		t.Errorf("%d targets, want 2 per pipeline", n)
	}
}
