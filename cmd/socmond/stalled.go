package main

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/socmond/socmond/internal/config"
)

// attachStalled exports socmond_probes_stalled: resources whose latest
// result is older than three of their probe intervals, so a scheduler that
// stopped running them (stuck, starved of slots) is seen although every
// status still reads as it did (SocmondProbesStalled).
func attachStalled(d *daemon) (feature, error) {
	return noReload, d.metrics.Registry().Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "socmond_probes_stalled",
		Help: "Resources with no probe result for three of their probe intervals.",
	}, func() float64 {
		now, n := time.Now(), 0
		for _, sn := range d.monitor.Snapshots(now) {
			th, ok := d.checks.th.lookup(sn.Target)
			if !ok || sn.Last.Start.IsZero() {
				continue
			}
			if iv := config.Interval(th.Schedule); iv > 0 && now.Sub(sn.Last.Start) > 3*iv {
				n++
			}
		}
		return float64(n)
	}))
}
