package main

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"time"
)

func numCPU() int { return runtime.NumCPU() }

// cpuPer1000 is CPU seconds per 1,000 completed probes.
func (r result) cpuPer1000() float64 {
	if r.probes <= 0 {
		return math.NaN()
	}
	return r.cpu / r.probes * 1000
}

// cpuPer1000NoScrape is cpuPer1000 without the one GET /metrics the window
// holds (socmond only): the probes' own cost, apart from the exposition's,
// which grows with the labels of every series rather than with probing.
func (r result) cpuPer1000NoScrape() float64 {
	if r.probes <= 0 {
		return math.NaN()
	}
	return (r.cpu - r.scrapeCPU) / r.probes * 1000
}

// scrapeMedian is the median time of the timed scrapes, and the size of
// the last, in KB.
func (r result) scrapeMedian() (ms, kb float64) {
	var took []float64
	size := 0
	for _, s := range r.scrapes {
		took = append(took, float64(s.took)/float64(time.Millisecond))
		size = s.bytes
	}
	return percentile(took, 50), float64(size) / 1024
}

// share is the CPU used as a share of one core.
func (r result) share() float64 { return r.cpu / r.wall }

func (r result) lagMS() string {
	if len(r.lag) == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f / %.2f", quantile(0.5, r.lag)*1000, quantile(0.99, r.lag)*1000)
}

func printRates(pairs [][2]result) {
	fmt.Println("\n## Side by side (same simulator, one prober at a time; CPU of the prober process only)")
	fmt.Println()
	fmt.Println("| rate (probes/s) | prober | probes in window | CPU s / 1,000 probes | CPU share of one core | RSS steady / peak (MB) | scheduler lag p50 / p99 (ms) |")
	fmt.Println("|---|---|---|---|---|---|---|")
	for _, p := range pairs {
		for _, r := range p {
			fmt.Printf("| %d | %s | %.0f in %.1fs | %.3f | %.1f%% | %.1f / %.1f | %s |\n",
				r.rate, r.prober, r.probes, r.wall, r.cpuPer1000(), r.share()*100, r.rssMB, r.peakMB, r.lagMS())
		}
	}
	fmt.Println()
	for _, p := range pairs {
		s, b := p[0], p[1]
		fmt.Printf("- at %d probes/s: socmond/blackbox CPU per probe = %.2f, steady RSS = %.2f, peak RSS = %.2f\n",
			b.rate, s.cpuPer1000()/b.cpuPer1000(), s.rssMB/b.rssMB, s.peakMB/b.peakMB)
	}
}

func printFidelity(f fidelityResult) {
	fmt.Printf("\n## Response-time fidelity (simulator injects %s into every DynamoDB answer)\n\n", fidelityLatency)
	fmt.Println("| prober | rate (probes/s) | samples | reported − injected p50 / p99 (ms) | scheduler lag p50 / p99 (ms) |")
	fmt.Println("|---|---|---|---|---|")
	for _, x := range []struct {
		r    result
		errs []float64
	}{{f.socmond, f.socmondErrs}, {f.blackbox, f.blackboxErrs}} {
		errs := slices.Clone(x.errs)
		fmt.Printf("| %s | %d | %d | %.2f / %.2f | %s |\n", x.r.prober, x.r.rate, len(errs),
			percentile(errs, 50)*1000, percentile(errs, 99)*1000, x.r.lagMS())
	}
	own := slices.Clone(f.socmondOwn)
	fmt.Printf("\nsocmond's own error, reported minus what the simulator held that answer (matched by request id): "+
		"p50 %.2f ms, p99 %.2f ms, max %.2f ms over %d answers (%d unmatched)\n",
		percentile(own, 50)*1000, percentile(own, 99)*1000, percentile(slices.Clone(own), 100)*1000, len(own), f.unmatched)
}

func printScale(rs []result) {
	fmt.Println("\n## Scale (socmond alone, default scheduler limits)")
	fmt.Println()
	fmt.Println("| resources | schedule | probes/s | CPU share of one core | CPU s / 1,000 probes | RSS steady / peak (MB) | peak before the first /metrics (MB) | scheduler lag p50 / p99 (ms) | /metrics scrape median / max (ms) | /metrics size (KB) |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range rs {
		var took []float64
		size := 0
		for _, s := range r.scrapes {
			took = append(took, float64(s.took)/float64(time.Millisecond))
			size = s.bytes
		}
		fmt.Printf("| %d | %s | %.1f | %.1f%% | %.3f | %.1f / %.1f | %.1f | %s | %.1f / %.1f | %.0f |\n",
			r.resources, r.schedule, r.probes/r.wall, r.share()*100, r.cpuPer1000(), r.rssMB, r.peakMB, r.startMB, r.lagMS(),
			percentile(slices.Clone(took), 50), percentile(slices.Clone(took), 100), float64(size)/1024)
	}
}
