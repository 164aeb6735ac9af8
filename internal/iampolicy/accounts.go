package iampolicy

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/probes"
)

// Documents are the IAM documents of a config with tenants: (README,
// "Several accounts, regions and tenants"). Each account with a role_arn
// gets the role's policy, covering every pipeline socmond reads there in
// each of its regions, and the role's trust policy, which lets socmond's
// own identity assume it. socmond's own identity gets sts:AssumeRole on
// exactly those roles, and the statements of the accounts without a role,
// whose pipelines it reads itself.
type Documents struct {
	// Principal is socmond's own identity as the trust policies name it;
	// empty when no account has a role to trust it, or when the config
	// and Options do not say (Complete).
	Principal string `json:"principal,omitempty"`
	// Self is the policy of socmond's own identity (its task or pod role).
	Self Policy `json:"self"`
	// Accounts are the documents of each account with a role_arn and a
	// tenant's pipeline, by account id.
	Accounts map[string]AccountDocuments `json:"accounts,omitempty"`

	// unused are the accounts under accounts: that no tenant's pipeline
	// is in, and readBySelf those without a role_arn: neither has
	// documents of its own, and Select says why.
	unused, readBySelf []string
	// noPrincipal says why there are no trust policies: socmond's own
	// identity is unknown.
	noPrincipal error
}

// AccountDocuments are one account's monitoring role's documents.
type AccountDocuments struct {
	RoleARN string `json:"role_arn"`
	// Policy is the role's permissions policy (aws iam put-role-policy).
	Policy Policy `json:"policy"`
	// Trust is the role's trust policy (aws iam create-role
	// --assume-role-policy-document); nil when socmond's own identity is
	// unknown (Documents.Complete).
	Trust *TrustPolicy `json:"trust,omitempty"`

	// withheld: Trust holds a placeholder where the account's external id
	// goes (Options.RevealExternalID).
	withheld bool
}

// TrustPolicy is a role's trust policy: who may assume it.
type TrustPolicy struct {
	Version   string           `json:"Version"`
	Statement []TrustStatement `json:"Statement"`
}

// TrustStatement is one Allow statement of a trust policy.
type TrustStatement struct {
	Sid       string                       `json:"Sid"`
	Effect    string                       `json:"Effect"`
	Principal map[string]string            `json:"Principal"`
	Action    string                       `json:"Action"`
	Condition map[string]map[string]string `json:"Condition,omitempty"`
}

// JSON renders the trust policy as indented JSON with a trailing newline.
func (p TrustPolicy) JSON() ([]byte, error) { return render(p) }

// JSON renders every document as indented JSON with a trailing newline.
func (d Documents) JSON() ([]byte, error) { return render(d) }

// Document is what iam-policy prints: a Policy, a TrustPolicy, or all of
// a config's Documents.
type Document interface{ JSON() ([]byte, error) }

// The kinds of an account's documents (Select).
const (
	DocumentPolicy = "policy"
	DocumentTrust  = "trust"
)

// Select returns the one document of an account, kind DocumentPolicy or
// DocumentTrust, to pipe to aws iam put-role-policy or create-role. A trust
// policy whose external id is withheld is refused rather than printed
// with the placeholder: applied, it would be a role socmond cannot assume.
func (d Documents) Select(account, kind string) (Document, error) {
	a, ok := d.Accounts[account]
	switch {
	case ok:
	case slices.Contains(d.readBySelf, account):
		return nil, fmt.Errorf("iam-policy: account %s has no role_arn: socmond reads its pipelines with its own identity, whose policy (--self) holds their statements", account)
	case slices.Contains(d.unused, account):
		return nil, fmt.Errorf("iam-policy: account %s is in no tenant's pipelines: socmond does not use it, and needs no role there", account)
	default:
		return nil, fmt.Errorf("iam-policy: account %q is not under accounts: in the configuration (accounts with a role: %s)", account, strings.Join(d.roleAccounts(), ", "))
	}
	switch kind {
	case DocumentPolicy:
		return a.Policy, nil
	case DocumentTrust:
		if a.Trust == nil {
			return nil, d.noPrincipal
		}
		if a.withheld {
			return nil, fmt.Errorf("iam-policy: account %s's trust policy needs its external_id, which iam-policy prints only when asked: add --reveal-external-id", account)
		}
		return *a.Trust, nil
	}
	return nil, fmt.Errorf("iam-policy: unknown document %q: want %s or %s", kind, DocumentPolicy, DocumentTrust)
}

// Complete is nil when every document is there, else why the trust
// policies are not: a trust policy that names no one cannot be applied, and
// one that names everyone must not be.
func (d Documents) Complete() error { return d.noPrincipal }

func (d Documents) roleAccounts() []string {
	ids := make([]string, 0, len(d.Accounts))
	for id := range d.Accounts {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// principalPattern is what a trust policy may name as socmond's identity:
// an account's root (every principal its administrators allow), a role or
// a user. Anything wider ("*") would trust every AWS account.
var principalPattern = regexp.MustCompile(`^arn:aws[a-z-]*:iam::([0-9]{12}):(root|role/[\w+=,.@/-]{1,512}|user/[\w+=,.@/-]{1,512})$`)

var accountIDPattern = regexp.MustCompile(`^[0-9]{12}$`)

// Accounts returns the documents of cfg, which has tenants: and was
// loaded by config.Load (defaults applied).
//
// socmond's own identity is not in the config: Options.Principal names it
// (a role, user or account root ARN, or an account id for its root); else
// it is the root of the one account without a role_arn, the account
// socmond's own identity reads, so runs in. With neither, the trust
// policies have no one to trust, and Complete says so rather than guess.
func Accounts(cfg *config.Config, o Options) (Documents, error) {
	if len(cfg.Tenants) == 0 {
		return Documents{}, fmt.Errorf("iam-policy: the configuration has no tenants: its one policy is Generate's")
	}
	if cfg.Region == "" {
		return Documents{}, fmt.Errorf("iam-policy: the configuration has no region")
	}
	if o.Account != "" {
		return Documents{}, fmt.Errorf("iam-policy: --aws.account-id is the account of a config without tenants:; each pipeline's ARNs carry its account from accounts:")
	}
	part := o.Partition
	for _, a := range cfg.Accounts {
		if p := strings.Split(a.RoleARN, ":"); part == "" && len(p) > 1 {
			part = p[1]
		}
	}
	if part == "" {
		part = "aws"
	}

	places := map[string][]probes.Place{} // by account, in file order
	for _, pl := range cfg.Places() {
		places[pl.Account] = append(places[pl.Account], pl)
	}
	d := Documents{Accounts: map[string]AccountDocuments{}}
	var roles, ownAccounts []string
	for _, a := range cfg.Accounts {
		switch {
		case len(places[a.ID]) == 0:
			d.unused = append(d.unused, a.ID)
		case a.RoleARN == "":
			d.readBySelf = append(d.readBySelf, a.ID)
			ownAccounts = append(ownAccounts, a.ID)
		default:
			roles = append(roles, a.RoleARN)
		}
	}

	principal, own, err := principalOf(o.Principal, part, ownAccounts)
	if err != nil {
		return Documents{}, err
	}
	if len(roles) > 0 {
		if principal == "" {
			why := "no account under accounts: is read without a role_arn, which would be socmond's own"
			if len(ownAccounts) > 1 {
				why = "accounts " + strings.Join(ownAccounts, " and ") + " have no role_arn, and only one can be socmond's own"
			}
			d.noPrincipal = fmt.Errorf("iam-policy: the trust policies of the accounts' roles must name socmond's own identity, which the configuration does not say (%s): "+
				"pass --principal with its role's ARN (arn:aws:iam::<account id>:role/<name>) or its account id", why)
		}
		d.Principal = principal
	}

	self := newBuilder()
	if len(roles) > 0 {
		self.add("AssumeAccountRoles", []string{"sts:AssumeRole"}, roles...)
	}
	for _, a := range cfg.Accounts {
		if len(places[a.ID]) == 0 {
			continue
		}
		b := self
		if a.RoleARN != "" {
			b = newBuilder()
		}
		for _, pl := range places[a.ID] {
			addPipeline(b, scope{partition: part, region: pl.Region, account: a.ID}, cfg, pl)
		}
		if a.RoleARN == "" {
			continue
		}
		ad := AccountDocuments{RoleARN: a.RoleARN, Policy: b.policy()}
		if principal != "" {
			trust, withheld := trustPolicy(a, principal, o.RevealExternalID == a.ID)
			ad.Trust, ad.withheld = &trust, withheld
		}
		d.Accounts[a.ID] = ad
	}
	// The lease is socmond's own, in its own account (else any, the table's
	// name still scoping it) and region.
	if own == "" {
		own = "*"
	}
	addLease(self, scope{partition: part, region: cfg.Region, account: own}, o)
	d.Self = self.policy()
	return d, nil
}

// principalOf is socmond's own identity as a trust policy's principal,
// and its account: the flag's, else the root of the one account socmond
// reads with its own identity; empty when neither says.
func principalOf(flag, partition string, ownAccounts []string) (principal, account string, err error) {
	switch {
	case strings.Contains(flag, "*"):
		return "", "", fmt.Errorf("iam-policy: --principal %q would let every AWS account assume the roles: name socmond's own role or account", flag)
	case accountIDPattern.MatchString(flag):
		return rootOf(partition, flag), flag, nil
	case flag != "":
		m := principalPattern.FindStringSubmatch(flag)
		if m == nil {
			return "", "", fmt.Errorf("iam-policy: invalid --principal %q: want socmond's role ARN (arn:aws:iam::<account id>:role/<name>), a user or account root ARN, or a 12-digit account id", flag)
		}
		return flag, m[1], nil
	case len(ownAccounts) == 1:
		return rootOf(partition, ownAccounts[0]), ownAccounts[0], nil
	}
	return "", "", nil
}

func rootOf(partition, account string) string {
	return "arn:" + partition + ":iam::" + account + ":root"
}

// trustPolicy lets principal assume the account's role, with the account's
// external id when it has one. The id is a secret (config.Secret: never
// logged or shown): unless reveal, the condition holds a placeholder,
// which applied as it is fails closed (AssumeRole refused, the account's
// resources auth with a hint naming the role), never open.
func trustPolicy(a config.Account, principal string, reveal bool) (TrustPolicy, bool) {
	st := TrustStatement{Sid: "TrustSocmond", Effect: "Allow", Principal: map[string]string{"AWS": principal}, Action: "sts:AssumeRole"}
	withheld := false
	if a.ExternalID != "" {
		id := string(a.ExternalID)
		if !reveal {
			id = ExternalIDPlaceholder(a.ID)
			withheld = true
		}
		st.Condition = map[string]map[string]string{"StringEquals": {"sts:ExternalId": id}}
	}
	return TrustPolicy{Version: policyVersion, Statement: []TrustStatement{st}}, withheld
}

// ExternalIDPlaceholder stands in a trust policy for an account's external
// id, which is not printed unless asked (--reveal-external-id).
func ExternalIDPlaceholder(account string) string {
	return "<external_id of account " + account + ": not printed, see --reveal-external-id>"
}
