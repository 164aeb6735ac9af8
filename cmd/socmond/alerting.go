package main

import (
	"github.com/socmond/socmond/internal/alerting"
	"github.com/socmond/socmond/internal/awsclient"
	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/reload"
)

// attachAlerting evaluates the in-daemon alert rules on every probe result
// and delivers the alerts to the configured Alertmanagers
// (alerting.Feature). It sets d.alerts so features attached after it
// (compliance, workflow, canary) raise their alerts through the same
// engine.
func attachAlerting(d *daemon) (feature, error) {
	f, err := alerting.NewFeature(d.cfg, d.metrics.Registry(), d.log, d.monitor)
	if err != nil {
		return nil, err
	}
	d.alerts = f.Engine()
	d.monitor.Subscribe(d.alerts.Observe)
	d.monitor.SubscribeRemoved(d.alerts.Removed)
	d.panels = append(d.panels, f.Panel)
	d.background = append(d.background, f.Run)
	d.stops = append(d.stops, f.Flush)
	return reload.Funcs[*config.Config, *awsclient.Clients]{
		CheckFunc: func(cfg *config.Config, _ *awsclient.Clients) error { return f.Check(cfg) },
		ApplyFunc: func(cfg *config.Config, _ *awsclient.Clients) error { return f.Apply(cfg) },
	}, nil
}
