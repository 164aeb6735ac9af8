package main

import (
	"os"
	"runtime/debug"
)

// defaultGOGC is the garbage collector's target for the daemon unless the
// GOGC environment variable says otherwise: the heap may grow to 1.5× the
// live data between collections instead of Go's default 2×. socmond's live
// data grows with the number of resources (health windows and metric
// state, about 5 KB each), and at 10,000 resources the default let the
// resident size reach ~165 MB where 50 keeps it near 135 MB, for a CPU
// cost within the noise of the measurements (docs/performance.md).
const defaultGOGC = 50

// setDefaultGC applies defaultGOGC unless GOGC is set (GOGC=off included).
func setDefaultGC() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(defaultGOGC)
	}
}
