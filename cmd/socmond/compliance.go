package main

import (
	"github.com/socmond/socmond/internal/compliance"
	"github.com/socmond/socmond/internal/version"
)

// attachCompliance runs the compliance checks in the daemon: metrics on the
// daemon registry, alerts, a panel in /api/v1/status, evidence on the
// leader, EMF lines when on (compliance.Feature).
func attachCompliance(d *daemon) (feature, error) {
	f, err := compliance.NewFeature(compliance.FeatureOptions{Config: d.cfg, Clients: d.clients, Registerer: d.metrics.Registry(),
		Logger: d.log, Version: version.Version, Elector: d.elector, Alerts: d.alerts})
	if err != nil {
		return nil, err
	}
	if d.emf != nil {
		f.Subscribe(d.emf.Finding)
	}
	d.panels = append(d.panels, f.Panel)
	d.background = append(d.background, f.Run)
	return f, nil
}
