package iampolicy

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/socmond/socmond/internal/awssim"
	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/probes"
	"github.com/socmond/socmond/internal/simseed"
)

const (
	acme, beta = "111111111111", "222222222222"
	// own is socmond's own account, the one read without a role: the
	// simulator's default account, where simseed seeds such an account's
	// pipelines.
	own       = awssim.DefaultAccount
	acmeRole  = "arn:aws:iam::111111111111:role/socmond-monitor"
	betaRole  = "arn:aws:iam::222222222222:role/socmond-monitor"
	acmeExtID = "ext-acme-7d1f09"
)

// accountsText is the example config with every opt-in feature on, as a
// template for three tenants' pipelines in three accounts (one read by
// socmond's own identity) and two regions each: every name the account,
// tenant or region of its pipeline, so a grant in the wrong place cannot
// pass for the right one.
func accountsText(t *testing.T) string {
	t.Helper()
	s := everythingOnText(t)
	for _, r := range []struct{ from, to string }{
		{"arn:aws:states:us-east-1:123456789012:", "arn:aws:states:${region}:${account_id}:"},
		{"https://sqs.us-east-1.amazonaws.com/123456789012/", "https://sqs.${region}.amazonaws.com/${account_id}/"},
		{"-123456789012-dev", "-${account_id}-${tenant}-${region}"},
		{"-dev", "-${tenant}-${region}"},
		{"alias/AsiaAgenticSoc", "alias/AsiaAgenticSoc-${tenant}"},
		{"AsiaAgenticSocBus", "AsiaAgenticSocBus-${tenant}"},
		{"AsiaAgenticSocAlertsToStateMachine", "AsiaAgenticSocAlertsToStateMachine-${tenant}"},
	} {
		if !strings.Contains(s, r.from) {
			t.Fatalf("config.example.yaml changed shape: no %q", r.from)
		}
		s = strings.ReplaceAll(s, r.from, r.to)
	}
	return s + `
accounts:
  - {id: "111111111111", role_arn: "` + acmeRole + `", external_id: ` + acmeExtID + `, regions: [us-east-1, eu-west-1]}
  - {id: "222222222222", role_arn: "` + betaRole + `", regions: [us-east-1, eu-west-1]}
  - {id: "123456789012", regions: [us-east-1, eu-west-1]} # socmond's own, read without a role
tenants:
  - {name: acme, pipelines: [{account: "111111111111"}]}
  - {name: beta, pipelines: [{account: "222222222222"}]}
  - {name: own, pipelines: [{account: "123456789012"}]}
`
}

// TestAccountsPoliciesAreExactlyWhatSocmondCalls runs every probe,
// compliance check, evidence write and read-back, the passive workflow
// check and the canary of each of six pipelines (three accounts, two
// regions) against the simulator, each on its account's role (socmond's
// own identity for the account without one) in its region, and holds each
// recorded call to the document of the identity that made it (each role
// granted as its trust policy says): the
// account's role's policy, or socmond's own, which must also allow each
// AssumeRole. Each call's resource is in the call's account and region,
// so a statement scoped to another account or region does not allow it.
// Every statement of every document is used.
func TestAccountsPoliciesAreExactlyWhatSocmondCalls(t *testing.T) {
	cfg := loadText(t, accountsText(t))
	if n := len(cfg.Places()); n != 6 {
		t.Fatalf("%d pipelines, want 6", n)
	}
	docs, err := Accounts(cfg, Options{RevealExternalID: acme})
	if err != nil {
		t.Fatal(err)
	}
	if err := docs.Complete(); err != nil {
		t.Fatal(err)
	}
	if len(docs.Accounts) != 2 || docs.Accounts[acme].RoleARN != acmeRole || docs.Accounts[beta].RoleARN != betaRole {
		t.Fatalf("accounts' documents %v, want acme's and beta's roles'", docs.roleAccounts())
	}

	// The simulator's roles are as their trust policies say: assumed only
	// with the external id the condition asks for.
	seed := simseed.FromConfig(cfg)
	seed.Roles = nil
	for _, d := range docs.Accounts {
		seed.Roles = append(seed.Roles, awssim.Role{ARN: d.RoleARN, ExternalID: d.Trust.Statement[0].Condition["StringEquals"]["sts:ExternalId"]})
	}
	sim, base := serve(t, cfg, seed)
	for _, place := range cfg.Places() {
		exerciseAt(t, cfg, base, place)
	}
	calls := sim.Calls()

	roleAccount := map[string]string{acmeRole: acme, betaRole: beta}
	places := map[[2]string]probes.Place{} // account and region → pipeline
	for _, p := range cfg.Places() {
		places[[2]string{p.Account, p.Region}] = p
	}
	seen := map[string]bool{} // document → some call held to it
	used := holdCalls(t, calls, func(c awssim.Call) (identity, bool) {
		if c.Service == "sts" {
			if c.Role != "" || c.Account != own {
				t.Errorf("AssumeRole of %s by %q in %s: want socmond's own identity", c.Resource, c.Role, c.Account)
			}
			seen["self"] = true
			return identity{document: "self", policy: docs.Self, scope: scope{partition: "aws", region: c.Region, account: c.Account}}, true
		}
		place, ok := places[[2]string{c.Account, c.Region}]
		if !ok {
			t.Errorf("a call in %s %s, where there is no pipeline: %+v", c.Account, c.Region, c)
			return identity{}, false
		}
		id := identity{document: "self", policy: docs.Self, pipeline: cfg.PipelineAt(place),
			scope: scope{partition: "aws", region: c.Region, account: c.Account}}
		switch {
		case c.Role == "" && c.Account == own:
		case c.Role != "" && roleAccount[c.Role] == c.Account:
			id.document, id.policy = c.Account, docs.Accounts[c.Account].Policy
		default:
			t.Errorf("call in %s by %q: neither socmond's own identity in its own account nor the account's role", c.Account, c.Role)
			return identity{}, false
		}
		seen[id.document] = true
		return id, true
	})
	for _, d := range []string{"self", acme, beta} {
		if !seen[d] {
			t.Errorf("no call was made with %s's identity", d)
		}
	}
	allUsed(t, "self", docs.Self, used)
	for id, d := range docs.Accounts {
		allUsed(t, id, d.Policy, used)
	}
}

// TestAccountsDocuments: each account's policy names only its own
// account and its pipelines' regions (never *), socmond's own policy
// assumes exactly the roles, each trust policy trusts socmond's identity
// (the account without a role's root by default, --principal's when
// given) and asks for the account's external id — withheld unless asked
// for that account — and one document is selected by account and kind,
// with clear errors.
func TestAccountsDocuments(t *testing.T) {
	cfg := loadText(t, accountsText(t))
	docs, err := Accounts(cfg, Options{LeaseTable: "socmond-leases"})
	if err != nil {
		t.Fatal(err)
	}

	regions := []string{"us-east-1", "eu-west-1"}
	for id, d := range docs.Accounts {
		for _, st := range d.Policy.Statement {
			for _, r := range st.Resource {
				p := strings.Split(r, ":")
				switch {
				case len(p) < 6 || strings.Contains(p[3]+p[4], "*"):
					t.Errorf("%s: %s: resource %q is not one account's and region's", id, st.Sid, r)
				case p[2] == "s3" && p[3] == "" && p[4] == "":
					if !strings.Contains(r, id) {
						t.Errorf("%s: %s: bucket %q is another account's", id, st.Sid, r)
					}
				case p[2] == "bedrock" && p[4] == "" && strings.HasPrefix(p[5], "foundation-model/"):
					// Foundation models are AWS's, in no account.
				case p[4] != id || !slices.Contains(regions, p[3]):
					t.Errorf("%s: %s: resource %q outside the account's pipelines", id, st.Sid, r)
				}
				if strings.Contains(r, "${") {
					t.Errorf("%s: %s: unsubstituted %q", id, st.Sid, r)
				}
			}
		}
		// The account's policy holds its pipelines' resources in both its
		// regions.
		text, _ := d.Policy.JSON()
		for _, region := range regions {
			if !strings.Contains(string(text), "arn:aws:dynamodb:"+region+":"+id+":table/AsiaAgenticSocInvestigations-") {
				t.Errorf("%s's policy has no table in %s:\n%s", id, region, text)
			}
		}
	}

	// socmond's own: AssumeRole on exactly the roles, its own account's
	// pipelines and the lease, and nothing of the roles' accounts.
	var assume []Statement
	for _, st := range docs.Self.Statement {
		if slices.Contains(st.Action, "sts:AssumeRole") {
			assume = append(assume, st)
		}
		for _, r := range st.Resource {
			if strings.Contains(r, acme) && st.Sid != "AssumeAccountRoles" || strings.Contains(r, beta) && st.Sid != "AssumeAccountRoles" {
				t.Errorf("self: %s grants %s, a resource of a role's account", st.Sid, r)
			}
		}
	}
	if len(assume) != 1 || !slices.Equal(assume[0].Action, []string{"sts:AssumeRole"}) || !slices.Equal(assume[0].Resource, []string{acmeRole, betaRole}) {
		t.Errorf("self's AssumeRole statements %+v, want one on exactly %s and %s", assume, acmeRole, betaRole)
	}
	selfText, _ := docs.Self.JSON()
	for _, want := range []string{"arn:aws:dynamodb:us-east-1:" + own + ":table/socmond-leases", "arn:aws:dynamodb:eu-west-1:" + own + ":table/AsiaAgenticSocInvestigations-own-eu-west-1"} {
		if !strings.Contains(string(selfText), want) {
			t.Errorf("self's policy has no %s:\n%s", want, selfText)
		}
	}

	// Trust: socmond's own account's root by default; the external id
	// withheld from every document unless asked for the one account.
	root := "arn:aws:iam::" + own + ":root"
	if docs.Principal != root {
		t.Errorf("principal %q, want %s", docs.Principal, root)
	}
	all, err := docs.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(all), acmeExtID) {
		t.Errorf("every document's output holds acme's external id")
	}
	trustOf := func(d Documents, account string) TrustStatement {
		t.Helper()
		tr := d.Accounts[account].Trust
		if tr == nil || len(tr.Statement) != 1 {
			t.Fatalf("%s's trust policy %+v", account, tr)
		}
		st := tr.Statement[0]
		if st.Effect != "Allow" || st.Action != "sts:AssumeRole" || st.Principal["AWS"] != d.Principal {
			t.Errorf("%s's trust statement %+v, want socmond's identity %s allowed sts:AssumeRole", account, st, d.Principal)
		}
		return st
	}
	if c := trustOf(docs, acme).Condition; c["StringEquals"]["sts:ExternalId"] != ExternalIDPlaceholder(acme) {
		t.Errorf("acme's trust condition %v, want the placeholder", c)
	}
	if c := trustOf(docs, beta).Condition; c != nil {
		t.Errorf("beta has no external id, its trust policy a condition %v", c)
	}
	if _, err := docs.Select(acme, DocumentTrust); err == nil || !strings.Contains(err.Error(), "--reveal-external-id") {
		t.Errorf("acme's trust policy without its external id: %v", err)
	}

	const principal = "arn:aws:iam::" + own + ":role/socmond"
	revealed, err := Accounts(cfg, Options{Principal: principal, RevealExternalID: acme})
	if err != nil {
		t.Fatal(err)
	}
	if c := trustOf(revealed, acme).Condition; c["StringEquals"]["sts:ExternalId"] != acmeExtID {
		t.Errorf("acme's revealed trust condition %v, want its external id", c)
	}
	doc, err := revealed.Select(acme, DocumentTrust)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := doc.JSON()
	var trust struct {
		Statement []struct {
			Principal map[string]string
			Condition map[string]map[string]string
		}
	}
	if err := json.Unmarshal(b, &trust); err != nil || trust.Statement[0].Principal["AWS"] != principal ||
		trust.Statement[0].Condition["StringEquals"]["sts:ExternalId"] != acmeExtID {
		t.Errorf("acme's trust policy document %s (%v)", b, err)
	}
	if doc, err := revealed.Select(beta, DocumentPolicy); err != nil || !slices.EqualFunc(doc.(Policy).Statement, revealed.Accounts[beta].Policy.Statement, statementsEqual) {
		t.Errorf("beta's policy: %v", err)
	}

	for account, want := range map[string]string{
		"999999999999": `account "999999999999" is not under accounts: in the configuration (accounts with a role: 111111111111, 222222222222)`,
		own:            "account 123456789012 has no role_arn: socmond reads its pipelines with its own identity, whose policy (--self) holds their statements",
	} {
		if _, err := docs.Select(account, DocumentPolicy); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Select(%s): %v, want %q", account, err, want)
		}
	}
}

func statementsEqual(a, b Statement) bool {
	return a.Sid == b.Sid && slices.Equal(a.Action, b.Action) && slices.Equal(a.Resource, b.Resource)
}

// TestAccountsPrincipal: socmond's own identity is --principal's (an ARN,
// or an account id for its root); without it, the root of the one account
// read without a role; with no such account, or several, the trust
// policies are missing and say why, never trusting everyone; "*" is
// refused.
func TestAccountsPrincipal(t *testing.T) {
	const base = `
region: us-east-1
accounts:
  - {id: "111111111111", role_arn: "arn:aws:iam::111111111111:role/r"}
%s
tenants:
  - {name: a, pipelines: [{account: "111111111111"}]}
%s
services: {dynamodb: {resources: [{name: "t-${tenant}"}]}}
`
	load := func(accounts, tenants string) *config.Config {
		t.Helper()
		cfg, err := config.Parse("c.yaml", []byte(strings.Replace(strings.Replace(base, "%s", accounts, 1), "%s", tenants, 1)), nil)
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	allRoles := load("", "")
	d, err := Accounts(allRoles, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Complete(); err == nil || !strings.Contains(err.Error(), "--principal") {
		t.Errorf("no own account, no --principal: %v", err)
	}
	if d.Accounts["111111111111"].Trust != nil || d.Principal != "" {
		t.Errorf("a trust policy without a principal: %+v", d.Accounts["111111111111"].Trust)
	}
	if _, err := d.Select("111111111111", DocumentTrust); err == nil || !strings.Contains(err.Error(), "--principal") {
		t.Errorf("Select(trust) without a principal: %v", err)
	}
	// The role's policy and socmond's own need no principal.
	if _, err := d.Select("111111111111", DocumentPolicy); err != nil {
		t.Errorf("Select(policy) without a principal: %v", err)
	}
	if len(d.Self.Statement) != 1 || d.Self.Statement[0].Resource[0] != "arn:aws:iam::111111111111:role/r" {
		t.Errorf("self %+v", d.Self)
	}

	for flag, want := range map[string]string{
		"444444444444":                         "arn:aws:iam::444444444444:root",
		"arn:aws:iam::444444444444:role/sm":    "arn:aws:iam::444444444444:role/sm",
		"arn:aws:iam::444444444444:user/ops":   "arn:aws:iam::444444444444:user/ops",
		"arn:aws-cn:iam::444444444444:root":    "arn:aws-cn:iam::444444444444:root",
		"*":                                    "every AWS account",
		"arn:aws:iam::*:root":                  "every AWS account",
		"arn:aws:iam::444444444444:group/g":    "invalid --principal",
		"arn:aws:sts::444444444444:role/wrong": "invalid --principal",
	} {
		d, err := Accounts(allRoles, Options{Principal: flag})
		switch {
		case strings.HasPrefix(want, "arn:"):
			if err != nil || d.Principal != want || d.Accounts["111111111111"].Trust.Statement[0].Principal["AWS"] != want {
				t.Errorf("--principal %s: %q, %v; want %s", flag, d.Principal, err, want)
			}
		case err == nil || !strings.Contains(err.Error(), want):
			t.Errorf("--principal %s: %v, want an error saying %q", flag, err, want)
		}
	}

	two := load(`  - {id: "222222222222"}
  - {id: "333333333333"}`, `  - {name: b, pipelines: [{account: "222222222222"}]}
  - {name: c, pipelines: [{account: "333333333333"}]}`)
	d, err = Accounts(two, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Complete(); err == nil || !strings.Contains(err.Error(), "accounts 222222222222 and 333333333333 have no role_arn") {
		t.Errorf("two accounts without a role: %v", err)
	}

	// An account no pipeline is in has no documents, and its role is not
	// assumed.
	unused := load(`  - {id: "222222222222", role_arn: "arn:aws:iam::222222222222:role/r"}`, "")
	d, err = Accounts(unused, Options{Principal: "444444444444"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Select("222222222222", DocumentPolicy); err == nil || !strings.Contains(err.Error(), "in no tenant's pipelines") {
		t.Errorf("unused account: %v", err)
	}
	if r := d.Self.Statement[0].Resource; !slices.Equal(r, []string{"arn:aws:iam::111111111111:role/r"}) {
		t.Errorf("self assumes %v, want only the used role", r)
	}
	if _, err := Accounts(unused, Options{Account: "111111111111"}); err == nil || !strings.Contains(err.Error(), "--aws.account-id") {
		t.Errorf("--aws.account-id with tenants: %v", err)
	}
}
