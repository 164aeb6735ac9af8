package main

import (
	"github.com/alecthomas/kingpin/v2"

	"github.com/socmond/socmond/internal/iampolicy"
)

// iamPolicyCommand prints the least-privilege IAM policy for the enabled
// probes, checks, evidence and canary of the configuration.
func iamPolicyCommand(app *kingpin.Application, g *globals) (*kingpin.CmdClause, func() int) {
	cmd := app.Command("iam-policy", withExitCodes("Print the least-privilege IAM policy (JSON) for exactly what the configuration enables.",
		"0 printed, 2 config error"))
	var o iampolicy.Options
	cmd.Flag("aws.account-id", "Account id of the pipeline's resources (default: from the ARNs in the configuration).").StringVar(&o.Account)
	cmd.Flag("aws.partition", "AWS partition (default: from the ARNs in the configuration, else aws).").StringVar(&o.Partition)
	cmd.Flag("leader-election.dynamodb.table", "Also grant the DynamoDB leader-election lease in this table (--leader-election.backend=dynamodb).").
		Envar("SOCMOND_LEADER_ELECTION_DYNAMODB_TABLE").StringVar(&o.LeaseTable)
	return cmd, func() int {
		cfg, err := g.loadConfig()
		if err != nil {
			return g.configError(err)
		}
		p, err := iampolicy.Generate(cfg, o)
		if err != nil {
			return g.configError(err)
		}
		out, err := p.JSON()
		if err != nil {
			return exitRuntime
		}
		if _, err := g.stdout.Write(out); err != nil {
			return exitRuntime
		}
		return exitOK
	}
}
