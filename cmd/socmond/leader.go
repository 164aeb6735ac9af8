package main

import (
	"fmt"

	"github.com/alecthomas/kingpin/v2"
	"github.com/rs/zerolog"

	"github.com/socmond/socmond/internal/awsclient"
	"github.com/socmond/socmond/internal/leader"
)

// leaderFlags choose how replicas elect the one that does the singleton
// work. Each flag also reads an environment variable, so an ECS task
// definition sets them without a command line.
type leaderFlags struct {
	backend   string
	name      string
	namespace string
	table     string
	identity  string
	timing    leader.Timing
}

// addLeaderFlags adds the flags; kingpin keeps one validator per command,
// so the caller runs f.validate in its own.
func addLeaderFlags(cmd *kingpin.CmdClause, f *leaderFlags) {
	cmd.Flag("leader-election.backend", "How replicas elect the one that runs the canary, writes compliance evidence and calls Bedrock runtime: kubernetes (a coordination.k8s.io Lease), dynamodb (a lease item, for ECS) or none (this replica always leads: run only one).").
		Envar("SOCMOND_LEADER_ELECTION_BACKEND").Default("none").EnumVar(&f.backend, "none", "kubernetes", "dynamodb")
	cmd.Flag("leader-election.lease-name", "The Lease's name (kubernetes) or the lease item's key (dynamodb).").
		Envar("SOCMOND_LEADER_ELECTION_LEASE_NAME").Default(leader.DefaultLeaseName).StringVar(&f.name)
	cmd.Flag("leader-election.namespace", "kubernetes: the Lease's namespace (default: the pod's own).").
		Envar("SOCMOND_LEADER_ELECTION_NAMESPACE").StringVar(&f.namespace)
	cmd.Flag("leader-election.dynamodb.table", "dynamodb: the lease table (partition key \"lease\", type S).").
		Envar("SOCMOND_LEADER_ELECTION_DYNAMODB_TABLE").StringVar(&f.table)
	cmd.Flag("leader-election.identity", "This replica's name in the election (default: hostname and a random suffix).").
		Envar("SOCMOND_LEADER_ELECTION_IDENTITY").StringVar(&f.identity)
	cmd.Flag("leader-election.lease-duration", "How long other replicas wait after the leader's last renewal before they take over.").
		Envar("SOCMOND_LEADER_ELECTION_LEASE_DURATION").Default(leader.DefaultLeaseDuration.String()).DurationVar(&f.timing.LeaseDuration)
	cmd.Flag("leader-election.renew-deadline", "The leader stops its singleton work this long after the start of its last successful renewal; shorter than the lease duration.").
		Envar("SOCMOND_LEADER_ELECTION_RENEW_DEADLINE").Default(leader.DefaultRenewDeadline.String()).DurationVar(&f.timing.RenewDeadline)
	cmd.Flag("leader-election.retry-period", "How often the leader renews and the others look.").
		Envar("SOCMOND_LEADER_ELECTION_RETRY_PERIOD").Default(leader.DefaultRetryPeriod.String()).DurationVar(&f.timing.RetryPeriod)
}

func (f *leaderFlags) validate() error {
	if f.backend == "dynamodb" && f.table == "" {
		return fmt.Errorf("--leader-election.backend=dynamodb needs --leader-election.dynamodb.table")
	}
	return f.timing.Validate()
}

// newElector builds the elector the flags choose.
func newElector(f leaderFlags, c *awsclient.Clients, log zerolog.Logger) (leader.Elector, error) {
	id := f.identity
	if id == "" {
		id = leader.DefaultIdentity()
	}
	log = log.With().Str("component", "leader").Logger()
	switch f.backend {
	case "kubernetes":
		return leader.NewKubernetes(leader.KubernetesOptions{Namespace: f.namespace, Name: f.name, Identity: id, Timing: f.timing, Logger: log})
	case "dynamodb":
		return leader.NewDynamoDB(leader.DynamoDBOptions{Client: c.DynamoDB, Table: f.table, Name: f.name, Identity: id, Timing: f.timing, Logger: log})
	}
	return leader.NewNone(id), nil
}

// attachLeader exports the election (leader.Export: socmond_leader, a
// "leader" panel, a log line on each change) and keeps the Bedrock
// runtime probe on the leader only. The canary and evidence follow it in
// their own features.
func attachLeader(d *daemon) (feature, error) {
	panel, err := leader.Export(d.elector, d.metrics.Registry(), d.log)
	if err != nil {
		return nil, err
	}
	d.elector.Subscribe(func(st leader.Status) {
		if err := d.checks.Lead(st.Leading); err != nil {
			d.log.Error().Err(err).Str("component", "leader").Msg("cannot apply the leader's checks")
		}
	})
	d.panels = append(d.panels, panel)
	// The election is flags, not config; the leader's checks follow a
	// reload with the probe checks (monitor.CheckSet).
	return noReload, nil
}
