package main

import (
	"github.com/socmond/socmond/internal/workflow"
)

// attachWorkflow runs the passive workflow check on every replica and,
// when the canary is enabled, the scheduled canary on the elected leader
// (workflow.Feature); a reload changes both in place.
func attachWorkflow(d *daemon) (feature, error) {
	f, err := workflow.NewFeature(workflow.FeatureOptions{Config: d.cfg, Clients: d.clients, Registerer: d.metrics.Registry(),
		Recorder: d.monitor, Alerts: d.alerts, Elector: d.elector, Logger: d.log})
	if err != nil {
		return nil, err
	}
	d.panels = append(d.panels, f.Panel)
	d.background = append(d.background, f.Run)
	return f, nil
}
