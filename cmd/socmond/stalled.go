package main

// attachStalled exports socmond_probes_stalled (monitor.CheckSet.Stalled).
func attachStalled(d *daemon) (feature, error) {
	return noReload, d.metrics.Registry().Register(d.checks.StalledGauge())
}
