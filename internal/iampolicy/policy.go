// Package iampolicy writes the least-privilege IAM policy for a socmond
// configuration: exactly the actions the enabled probes, compliance checks,
// evidence writes and canary call, each scoped to the ARNs the configuration
// names. Read-only statements (Sid "Read…") are kept apart from the opt-in
// ones that write or cost money (Sid "OptIn…"), so an auditor can see at a
// glance what socmond may change. A config with tenants: gets a set of
// documents instead (Accounts): each account's monitoring role's policy
// and trust policy, and socmond's own policy, whose "AssumeAccountRoles"
// statement lets it assume exactly those roles.
package iampolicy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/socmond/socmond/internal/probes"
	"slices"
	"sort"

	"github.com/socmond/socmond/internal/config"
)

// Policy is an IAM policy document.
type Policy struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one Allow statement. Every action in it applies to every
// resource in it, so statements group only actions that share resources.
type Statement struct {
	Sid       string                         `json:"Sid"`
	Effect    string                         `json:"Effect"`
	Action    []string                       `json:"Action"`
	Resource  []string                       `json:"Resource"`
	Condition map[string]map[string][]string `json:"Condition,omitempty"`
}

// Options complete what the configuration may not say.
type Options struct {
	// Account is the AWS account id of the pipeline's resources. Empty:
	// taken from the first ARN in the configuration, else "*" (the names
	// still scope every resource).
	Account string
	// Partition defaults to the one in the configuration's ARNs, else "aws".
	Partition string
	// LeaseTable is the DynamoDB table of the leader-election lease
	// (--leader-election.dynamodb.table); empty: no such statement.
	LeaseTable string
	// Principal is socmond's own identity, which the trust policies of a
	// config with tenants name (Accounts): a role, user or account root
	// ARN, or an account id (its root).
	Principal string
	// RevealExternalID is the one account whose trust policy carries its
	// external id's value (--reveal-external-id); every other trust policy
	// holds ExternalIDPlaceholder.
	RevealExternalID string
}

// JSON renders the policy as indented JSON with a trailing newline.
func (p Policy) JSON() ([]byte, error) { return render(p) }

// render is v as indented JSON with a trailing newline, <, > and & as
// they are: the documents are read by people and the AWS CLI, not put
// into HTML.
func render(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// builder collects statements by Sid, keeping actions and resources sorted
// and unique so the output is stable.
type builder struct {
	order []string
	byID  map[string]*Statement
}

func (b *builder) add(sid string, actions []string, resources ...string) {
	b.addCond(sid, nil, actions, resources...)
}

func (b *builder) addCond(sid string, cond map[string]map[string][]string, actions []string, resources ...string) {
	var rs []string
	for _, r := range resources {
		if r != "" {
			rs = append(rs, r)
		}
	}
	if len(rs) == 0 || len(actions) == 0 {
		return
	}
	s, ok := b.byID[sid]
	if !ok {
		s = &Statement{Sid: sid, Effect: "Allow"}
		b.byID[sid] = s
		b.order = append(b.order, sid)
	}
	s.Action = sortedUnion(s.Action, actions)
	s.Resource = sortedUnion(s.Resource, rs)
	for op, kv := range cond {
		if s.Condition == nil {
			s.Condition = map[string]map[string][]string{}
		}
		if s.Condition[op] == nil {
			s.Condition[op] = map[string][]string{}
		}
		for k, v := range kv {
			s.Condition[op][k] = sortedUnion(s.Condition[op][k], v)
		}
	}
}

func sortedUnion(a, b []string) []string {
	out := slices.Concat(a, b)
	sort.Strings(out)
	return slices.Compact(out)
}

// Generate returns the policy for cfg, which must have been loaded (defaults
// applied) by config.Load or config.FromEnv. A config with tenants: has a
// document per account instead (Accounts).
func Generate(cfg *config.Config, o Options) (Policy, error) {
	p := cfg.Pipeline
	part, acct := accountFrom(p.StateMachine, p.KMSKey, p.EventBus)
	if part == "" {
		part = "aws"
	}
	if o.Partition != "" {
		part = o.Partition
	}
	if o.Account != "" {
		acct = o.Account
	}
	if acct == "" {
		acct = "*"
	}
	if cfg.Region == "" {
		return Policy{}, fmt.Errorf("iam-policy: the configuration has no region")
	}
	if len(cfg.Tenants) > 0 {
		// One policy in one account's ARNs would grant the wrong
		// resources in every other.
		return Policy{}, fmt.Errorf("iam-policy: the configuration lists tenants' pipelines in several accounts: each account has its own documents (Accounts)")
	}
	s := scope{partition: part, region: cfg.Region, account: acct}
	b := newBuilder()
	addPipeline(b, s, cfg, probes.Place{})
	addLease(b, s, o)
	return b.policy(), nil
}

// addLease grants the DynamoDB lease: a strongly consistent read of the
// lease item and conditional writes of it. It writes, so it is opt-in.
func addLease(b *builder, s scope, o Options) {
	if o.LeaseTable != "" {
		b.add("OptInLeaderElectionLease", []string{"dynamodb:GetItem", "dynamodb:PutItem"}, s.table(o.LeaseTable))
	}
}

func newBuilder() *builder { return &builder{byID: map[string]*Statement{}} }

// policy is the document of what b holds: read statements first, then the
// opt-in ones, each in the order added.
func (b *builder) policy() Policy {
	var read, optIn []Statement
	for _, id := range b.order {
		st := *b.byID[id]
		if isOptIn(id) {
			optIn = append(optIn, st)
		} else {
			read = append(read, st)
		}
	}
	return Policy{Version: policyVersion, Statement: append(read, optIn...)}
}

// policyVersion is IAM's current policy language, the one with policy
// variables.
const policyVersion = "2012-10-17"

func isOptIn(sid string) bool { return len(sid) >= 5 && sid[:5] == "OptIn" }

// keyStatement grants KMS actions on a key named in any of the ways the
// config allows.
func keyStatement(b *builder, s scope, sid string, actions []string, key string) {
	grant(b, s, probes.Access{Sid: sid, Actions: actions, ARN: probes.KeyARN}, key)
}

// grant adds an Access on one resource.
func grant(b *builder, s scope, a probes.Access, resource string) {
	g := a.ARN(s.probes(), resource)
	if g.Condition == nil {
		b.add(a.Sid, a.Actions, g.Resource)
		return
	}
	b.addCond(a.Sid+g.SidSuffix, g.Condition, a.Actions, g.Resource)
}
