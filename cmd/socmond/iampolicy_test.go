package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/socmond/socmond/internal/iampolicy"
)

const iamAccountsConfig = `
region: us-east-1
accounts:
  - id: "111111111111"
    role_arn: arn:aws:iam::111111111111:role/socmond-monitor
    external_id: ${IAM_TEST_EXTERNAL_ID}
    regions: [us-east-1, eu-west-1]
  - id: "222222222222"
    role_arn: arn:aws:iam::222222222222:role/socmond-monitor
  - id: "333333333333"
tenants:
  - {name: acme, pipelines: [{account: "111111111111"}]}
  - {name: beta, pipelines: [{account: "222222222222"}]}
  - {name: own, pipelines: [{account: "333333333333"}]}
services:
  dynamodb: {resources: [{name: "investigations-${tenant}"}]}
`

// TestIAMPolicyWithTenants: `socmond iam-policy` on a config of several
// accounts prints every document keyed by account and kind, the external
// id withheld; --account/--document and --self print exactly one
// document to pipe to the AWS CLI; the external id is printed only in the
// one trust policy asked for with --reveal-external-id; mistakes are
// exit 2 with a message, never the secret.
func TestIAMPolicyWithTenants(t *testing.T) {
	const secret = "ext-cmd-test-5e1b"
	t.Setenv("IAM_TEST_EXTERNAL_ID", secret)
	path := filepath.Join(t.TempDir(), "accounts.yaml")
	if err := os.WriteFile(path, []byte(iamAccountsConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	iam := func(args ...string) (int, string, string) {
		t.Helper()
		code, out, errOut := runCLI(t, append([]string{"iam-policy", "--config.file", path}, args...)...)
		if strings.Contains(out, secret) && !strings.Contains(strings.Join(args, " "), "--reveal-external-id") || strings.Contains(errOut, secret) {
			t.Errorf("%v printed the external id:\n%s\n%s", args, out, errOut)
		}
		return code, out, errOut
	}

	code, out, errOut := iam()
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var all struct {
		Principal string
		Self      iampolicy.Policy
		Accounts  map[string]struct {
			RoleARN string `json:"role_arn"`
			Policy  iampolicy.Policy
			Trust   iampolicy.TrustPolicy
		}
	}
	if err := json.Unmarshal([]byte(out), &all); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if all.Principal != "arn:aws:iam::333333333333:root" || len(all.Accounts) != 2 || len(all.Self.Statement) == 0 ||
		all.Accounts["111111111111"].Trust.Statement[0].Condition["StringEquals"]["sts:ExternalId"] != iampolicy.ExternalIDPlaceholder("111111111111") {
		t.Errorf("every document:\n%s", out)
	}

	var pol iampolicy.Policy
	if code, out, errOut := iam("--account", "222222222222"); code != exitOK || json.Unmarshal([]byte(out), &pol) != nil ||
		!strings.Contains(out, "arn:aws:dynamodb:us-east-1:222222222222:table/investigations-beta") || strings.Contains(out, "Principal") {
		t.Errorf("--account 222222222222: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, out, errOut := iam("--self"); code != exitOK || !strings.Contains(out, `"sts:AssumeRole"`) ||
		!strings.Contains(out, "arn:aws:dynamodb:us-east-1:333333333333:table/investigations-own") {
		t.Errorf("--self: exit %d\n%s\n%s", code, out, errOut)
	}
	var trust iampolicy.TrustPolicy
	code, out, errOut = iam("--account", "111111111111", "--document", "trust", "--reveal-external-id", "--principal", "arn:aws:iam::333333333333:role/socmond")
	if code != exitOK || json.Unmarshal([]byte(out), &trust) != nil || len(trust.Statement) != 1 ||
		trust.Statement[0].Principal["AWS"] != "arn:aws:iam::333333333333:role/socmond" || trust.Statement[0].Condition["StringEquals"]["sts:ExternalId"] != secret {
		t.Errorf("acme's trust policy: exit %d\n%s\n%s", code, out, errOut)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--account", "111111111111", "--document", "trust"}, "add --reveal-external-id"},
		{[]string{"--account", "999999999999"}, `account "999999999999" is not under accounts:`},
		{[]string{"--account", "333333333333"}, "has no role_arn"},
		{[]string{"--reveal-external-id"}, "use it with --account ID --document trust"},
		{[]string{"--account", "111111111111", "--reveal-external-id"}, "use it with --account ID --document trust"},
		{[]string{"--document", "trust"}, "add --account ID"},
		{[]string{"--self", "--account", "111111111111"}, "give one"},
		{[]string{"--principal", "*"}, "every AWS account"},
		{[]string{"--aws.account-id", "111111111111"}, "--aws.account-id"},
	} {
		if code, _, errOut := iam(tc.args...); code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, %q; want exit 2 saying %q", tc.args, code, errOut, tc.want)
		}
	}
}

// TestIAMPolicyWithoutTenants: the one policy of a config without
// tenants: is what it was (deploy/iam/policy.json, without the lease),
// --self prints it too, and the flags of accounts are refused.
func TestIAMPolicyWithoutTenants(t *testing.T) {
	t.Setenv("AWS_REGION", "us-east-1")
	code, plain, errOut := runCLI(t, "iam-policy", "--config.file", example, "--leader-election.dynamodb.table", "socmond-leases")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	shipped, err := os.ReadFile("../../deploy/iam/policy.json")
	if err != nil {
		t.Fatal(err)
	}
	if plain != string(shipped) {
		t.Errorf("iam-policy of the example is not deploy/iam/policy.json:\n%s", plain)
	}
	if code, self, _ := runCLI(t, "iam-policy", "--config.file", example, "--leader-election.dynamodb.table", "socmond-leases", "--self"); code != exitOK || self != plain {
		t.Errorf("--self: exit %d\n%s", code, self)
	}
	for args, want := range map[string]string{
		"--account=111111111111":  "no tenants",
		"--principal=44444444444": "--principal",
	} {
		if code, _, errOut := runCLI(t, "iam-policy", "--config.file", example, args); code != exitUsage || !strings.Contains(errOut, want) {
			t.Errorf("%s: exit %d, %q", args, code, errOut)
		}
	}
}
