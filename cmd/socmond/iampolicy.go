package main

import (
	"errors"

	"github.com/alecthomas/kingpin/v2"

	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/iampolicy"
)

// iamPolicyCommand prints the least-privilege IAM policy for the enabled
// probes, checks, evidence and canary of the configuration; with tenants:,
// every account's monitoring role's policy and trust policy and socmond's
// own policy, or one of them.
func iamPolicyCommand(app *kingpin.Application, g *globals) (*kingpin.CmdClause, func() int) {
	cmd := app.Command("iam-policy", withExitCodes("Print the least-privilege IAM policy (JSON) for exactly what the configuration enables; "+
		"with tenants:, every account's role policy and trust policy and socmond's own policy, keyed by account and kind, or one of them (--account, --self).",
		"0 printed, 2 config error"))
	var o iampolicy.Options
	var sel iamSelection
	cmd.Flag("aws.account-id", "Account id of the pipeline's resources, without tenants: (default: from the ARNs in the configuration).").StringVar(&o.Account)
	cmd.Flag("aws.partition", "AWS partition (default: from the ARNs in the configuration, else aws).").StringVar(&o.Partition)
	cmd.Flag("leader-election.dynamodb.table", "Also grant the DynamoDB leader-election lease in this table (--leader-election.backend=dynamodb).").
		Envar("SOCMOND_LEADER_ELECTION_DYNAMODB_TABLE").StringVar(&o.LeaseTable)
	cmd.Flag("principal", "With tenants: socmond's own identity, which the accounts' trust policies let assume their roles: its role ARN, or an account id for the account's root "+
		"(default: the root of the one account without role_arn).").StringVar(&o.Principal)
	cmd.Flag("account", "With tenants: print only this account's document (--document).").StringVar(&sel.account)
	sel.document = cmd.Flag("document", "With --account: policy (the role's permissions) or trust (its trust policy).").Default(iampolicy.DocumentPolicy).
		Enum(iampolicy.DocumentPolicy, iampolicy.DocumentTrust)
	cmd.Flag("self", "Print only the policy of socmond's own identity.").BoolVar(&sel.self)
	cmd.Flag("reveal-external-id", "With --account ID --document trust: put the account's external_id in the trust policy's sts:ExternalId condition (otherwise never printed).").
		BoolVar(&sel.reveal)
	return cmd, func() int {
		cfg, err := g.loadConfig()
		if err != nil {
			return g.configError(err)
		}
		doc, err := sel.print(cfg, o)
		if err != nil {
			return g.configError(err)
		}
		out, err := doc.JSON()
		if err != nil {
			return exitRuntime
		}
		if _, err := g.stdout.Write(out); err != nil {
			return exitRuntime
		}
		return exitOK
	}
}

// iamSelection is which of the configuration's IAM documents to print.
type iamSelection struct {
	account  string
	document *string
	self     bool
	reveal   bool
}

// print returns the document the flags select: without tenants: the one
// policy (socmond's own, so --self prints it too), with them every
// document, or one.
func (s iamSelection) print(cfg *config.Config, o iampolicy.Options) (iampolicy.Document, error) {
	trust := *s.document == iampolicy.DocumentTrust
	switch {
	case s.reveal && (s.account == "" || !trust):
		return nil, errors.New("iam-policy: --reveal-external-id prints one account's external id, in its trust policy: use it with --account ID --document trust")
	case trust && s.account == "":
		return nil, errors.New("iam-policy: --document trust is an account's: add --account ID")
	case s.self && s.account != "":
		return nil, errors.New("iam-policy: --self and --account each select one document: give one")
	}
	if len(cfg.Tenants) == 0 {
		switch {
		case s.account != "":
			return nil, errors.New("iam-policy: --account selects an account of accounts:, and the configuration has no tenants: its one policy is socmond's own")
		case o.Principal != "":
			return nil, errors.New("iam-policy: --principal is named by the trust policies of the accounts of tenants:, and the configuration has none")
		}
		return iampolicy.Generate(cfg, o)
	}
	if s.reveal {
		o.RevealExternalID = s.account
	}
	d, err := iampolicy.Accounts(cfg, o)
	switch {
	case err != nil:
		return nil, err
	case s.self:
		return d.Self, nil
	case s.account != "":
		return d.Select(s.account, *s.document)
	}
	return d, d.Complete()
}
