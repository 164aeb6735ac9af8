package main

import (
	"github.com/socmond/socmond/internal/awsclient"
	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/reload"
)

// reloadConfig returns the apply step of a reload (reload.Run): read the
// config again (adjust rewrites it as at the start: the demo's schedules),
// find the clients it runs on (monitor.CheckSet.Clients: new ones only
// for another region), then the probe checks first and every feature in
// the order attached check it, and only then apply it.
func reloadConfig(g *globals, d *daemon, adjust func(*config.Config)) func() error {
	load := func() (*config.Config, error) {
		cfg, err := g.loadConfig()
		if err == nil && adjust != nil {
			adjust(cfg)
		}
		return cfg, err
	}
	return func() error {
		fs := append(reload.Features[*config.Config, *awsclient.Clients]{d.checks}, d.features...)
		err := reload.Run(load, d.checks.Clients, fs)
		if err == nil {
			d.log.Info().Int("checks", d.checks.Len()).Msg("checks applied")
		}
		return err
	}
}
