package main

import (
	"fmt"
	"sync/atomic"

	"github.com/socmond/socmond/internal/awsclient"
	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/monitor"
	"github.com/socmond/socmond/internal/probes"
	"github.com/socmond/socmond/internal/reload"
	"github.com/socmond/socmond/internal/server"
)

// liveThresholds is what the status page shows next to each resource: the
// settings of the checks in force, swapped whole on every reload.
type liveThresholds struct {
	p atomic.Pointer[map[probes.Target]server.Thresholds]
}

func (l *liveThresholds) set(checks []monitor.Check) {
	m := make(map[probes.Target]server.Thresholds, len(checks))
	for _, c := range checks {
		t := c.Target
		m[c.Probe.Target()] = server.Thresholds{
			ResponseTime: t.ResponseTimeThreshold, ErrorRate: t.ErrorRateThreshold, Availability: t.AvailabilityThreshold,
			ErrorWindow: t.ErrorRateWindow, AvailabilityWindow: t.AvailabilityWindow, Schedule: t.Schedule,
		}
	}
	l.p.Store(&m)
}

func (l *liveThresholds) lookup(t probes.Target) (server.Thresholds, bool) {
	m := l.p.Load()
	if m == nil {
		return server.Thresholds{}, false
	}
	th, ok := (*m)[t]
	return th, ok
}

// reloadConfig returns the apply step of a reload: read the config again,
// build and validate everything, and only then swap it in. Until the swap
// nothing running has changed, so an invalid file leaves the old config
// in force. Checks that did not change keep their probe, schedule phase and
// health window (monitor.Apply). The AWS clients are rebuilt only when the
// region changed, and then every check is replaced: its resources are
// other resources, so their windows and series start anew. co carries the
// endpoint and credentials of the first start (the demo's simulator). The
// check set stays locked throughout, so a change of leadership waits.
func reloadConfig(g *globals, d *daemon, co awsclient.Options, adjust func(*config.Config)) func() error {
	return func() error {
		cfg, err := g.loadConfig()
		if err != nil {
			return err
		}
		cs := d.checks
		cs.mu.Lock()
		defer cs.mu.Unlock()
		next := cs.clients
		if cfg.Region != cs.cfg.Region {
			o := co
			o.Region = cfg.Region
			if next, err = awsclient.New(d.ctx, o); err != nil {
				return fmt.Errorf("AWS clients for region %s: %w", cfg.Region, err)
			}
		}
		if adjust != nil {
			adjust(cfg)
		}
		checks, err := cs.build(cfg, next)
		if err != nil {
			return err
		}
		// The probe checks first: features applied after them (alerting's
		// Reconcile) see the resources probed from now on.
		probeChecks := reload.Funcs[*config.Config, *awsclient.Clients]{ApplyFunc: func(cfg *config.Config, c *awsclient.Clients) error {
			return cs.applyLocked(checks, cfg, c)
		}}
		err = append(reload.Features[*config.Config, *awsclient.Clients]{probeChecks}, d.features...).Apply(cfg, next)
		if err == nil {
			d.log.Info().Int("checks", len(checks)).Str("region", cfg.Region).Msg("checks applied")
		}
		return err
	}
}
