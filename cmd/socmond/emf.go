package main

import (
	"context"
	"fmt"

	"github.com/alecthomas/kingpin/v2"

	"github.com/socmond/socmond/internal/awsclient"
	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/emf"
	"github.com/socmond/socmond/internal/health"
	"github.com/socmond/socmond/internal/probes"
	"github.com/socmond/socmond/internal/reload"
)

// emfFlags switch on the CloudWatch output. It is a flag (and variable),
// not a config key, because it says where socmond runs, not what it
// watches: the ECS task definition sets SOCMOND_CLOUDWATCH_EMF, and a
// Kubernetes deployment scraped by Prometheus leaves it off and its logs
// uncluttered.
type emfFlags struct {
	enabled   bool
	namespace string
}

func addEMFFlags(cmd *kingpin.CmdClause, e *emfFlags) {
	cmd.Flag("cloudwatch.emf", "Write every probe result and compliance finding to stdout as a CloudWatch Embedded Metric Format line (logs stay on stderr); the ECS awslogs driver turns them into CloudWatch metrics.").
		Envar("SOCMOND_CLOUDWATCH_EMF").Default("false").BoolVar(&e.enabled)
	cmd.Flag("cloudwatch.emf.namespace", "CloudWatch namespace of the EMF metrics.").
		Envar("SOCMOND_CLOUDWATCH_EMF_NAMESPACE").Default(emf.DefaultNamespace).StringVar(&e.namespace)
}

// validate is run by the daemon flags' validator (addDaemonFlags).
func (e *emfFlags) validate() error {
	if err := emf.CheckNamespace(e.namespace); err != nil {
		return fmt.Errorf("--cloudwatch.emf.namespace %w", err)
	}
	return nil
}

// attachEMF writes the EMF lines when --cloudwatch.emf is on; off, it
// costs nothing, not even a listener. attachCompliance adds the findings.
func attachEMF(d *daemon) (feature, error) {
	if !d.emfFlags.enabled {
		return noReload, nil
	}
	w := emf.New(d.stdout, d.emfFlags.namespace, d.cfg.Tenant, d.log.With().Str("component", "emf").Logger())
	d.emf = w
	d.monitor.Subscribe(func(r probes.Result, _ health.Snapshot, _ config.Target) { w.Result(r) })
	d.background = append(d.background, w.Run)
	// What the compliance runner told after Run ended.
	d.stops = append(d.stops, func(context.Context) { w.Flush() })
	d.log.Info().Str("namespace", d.emfFlags.namespace).Msg("writing CloudWatch EMF lines to stdout")
	return reload.Funcs[*config.Config, *awsclient.Clients]{ApplyFunc: func(cfg *config.Config, _ *awsclient.Clients) error {
		w.SetTenant(cfg.Tenant)
		return nil
	}}, nil
}
