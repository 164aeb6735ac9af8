// Command bench is socmond's side-by-side benchmark (make bench): it starts
// `socmond sim` seeded with generated DynamoDB tables, then measures
// `socmond run` and Debian's prometheus-blackbox-exporter probing that
// simulator at the same rates, counting only each prober process's own CPU
// and memory from /proc. It also measures the scale runs (thousands of
// resources), the scheduler's lag, /metrics scrape cost and how far the
// reported response time is from a latency the simulator injects.
//
// It is a main package under test/ so that it is never part of the product
// binary; its pure parts are smoke-tested by `make test`.
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	var o options
	flag.StringVar(&o.socmond, "socmond", "bin/socmond", "socmond binary to measure")
	flag.StringVar(&o.blackbox, "blackbox", "/usr/bin/prometheus-blackbox-exporter", "blackbox_exporter binary to compare with")
	flag.DurationVar(&o.warmup, "warmup", 5*time.Second, "time each prober runs before its measurement window")
	flag.DurationVar(&o.window, "window", 20*time.Second, "measurement window of each rate run")
	rates := flag.String("rates", "100,1000", "comma-separated probe rates (probes/s) for the side-by-side runs; empty for none")
	flag.IntVar(&o.repeat, "repeat", 1, "how many times to repeat the side-by-side runs (to show the spread)")
	flag.BoolVar(&o.fidelity, "fidelity", true, "run the injected-latency measurement")
	flag.BoolVar(&o.scale, "scale", true, "run the 2,000 and 10,000 resource scale runs")
	flag.BoolVar(&o.accounts, "accounts", true, "run 10,000 resources across 50 accounts × 2 regions and the one-account 10,000 run at the same time, and compare them")
	sizes := flag.String("scale-sizes", "2000,10000", "comma-separated resource counts of the scale runs to do (of 2000 and 10000)")
	extra := flag.String("socmond-args", "", "extra flags for every `socmond run` (space-separated), e.g. '--scheduler.tick=1ms' to measure a setting against the default")
	flag.StringVar(&o.profile, "profile", "", "directory for a CPU and heap profile of socmond at the highest rate (the profiled run is extra, not a reported figure)")
	flag.Parse()
	o.extra = strings.Fields(*extra)
	var err error
	if o.scaleRuns, err = pickScaleRuns(*sizes); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(2)
	}
	for _, r := range strings.Split(*rates, ",") {
		if strings.TrimSpace(r) == "" && strings.TrimSpace(*rates) == "" {
			continue // -rates '': no side-by-side runs
		}
		n, err := strconv.Atoi(strings.TrimSpace(r))
		if err != nil || n <= 0 {
			fmt.Fprintf(os.Stderr, "bench: bad rate %q\n", r)
			os.Exit(2)
		}
		o.rates = append(o.rates, n)
	}
	if err := run(o); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

// options are the command-line settings.
type options struct {
	socmond, blackbox string
	warmup, window    time.Duration
	rates             []int
	repeat            int
	fidelity, scale   bool
	accounts          bool // the across-accounts run (accounts.go)
	profile           string
	extra             []string // -socmond-args
	scaleRuns         []scaleRun
}

// scaleRun is one scale scenario: n resources on schedule.
type scaleRun struct {
	n        int
	schedule string
	warmup   time.Duration
	window   time.Duration
}

// scaleRuns are the two scale scenarios; the window covers at least
// one full schedule interval.
var scaleRuns = []scaleRun{
	{2000, "@every 15s", 20 * time.Second, 30 * time.Second},
	{10000, "@every 60s", 30 * time.Second, 60 * time.Second},
}

// pickScaleRuns returns the scale runs whose resource counts are listed in
// sizes (e.g. "10000" to measure only the start-up peak at 10,000), in the
// order of scaleRuns.
func pickScaleRuns(sizes string) ([]scaleRun, error) {
	want := map[int]bool{}
	for _, f := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("bad scale size %q", f)
		}
		want[n] = true
	}
	var runs []scaleRun
	for _, s := range scaleRuns {
		if want[s.n] {
			runs = append(runs, s)
			delete(want, s.n)
		}
	}
	for n := range want {
		return nil, fmt.Errorf("no scale run of %d resources (there are 2000 and 10000)", n)
	}
	return runs, nil
}

// fidelityLatency is what the simulator adds to every DynamoDB answer in
// the fidelity run.
const fidelityLatency = 50 * time.Millisecond

func run(o options) error {
	dir, err := os.MkdirTemp("", "socmond-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	b := &bench{o: o, dir: dir}

	most := 0
	for _, r := range o.rates {
		most = max(most, r)
	}
	if o.fidelity {
		most = max(most, most1000(o.rates))
	}
	if o.scale {
		for _, s := range o.scaleRuns {
			most = max(most, s.n)
		}
	}
	if o.accounts {
		most = max(most, accountsRun.n)
	}
	if err := b.startSim(most); err != nil {
		return err
	}
	defer b.sim.stop()
	printMachine()
	if len(o.extra) > 0 {
		fmt.Printf("socmond run with extra flags: %s\n", strings.Join(o.extra, " "))
	}

	var pairs [][2]result
	for rep := 0; rep < max(1, o.repeat); rep++ {
		for _, rate := range o.rates {
			s, err := b.socmond(rate, "@every 1s", rateFlags, o.warmup, o.window, nil)
			if err != nil {
				return err
			}
			bb, err := b.blackboxRun(rate, o.warmup, o.window, nil)
			if err != nil {
				return err
			}
			pairs = append(pairs, [2]result{s, bb})
			fmt.Fprintf(os.Stderr, "bench: %d/s done\n", rate)
		}
	}
	if len(pairs) > 0 {
		printRates(pairs)
	}

	if o.fidelity {
		f, err := b.fidelity(most1000(o.rates))
		if err != nil {
			return err
		}
		printFidelity(f)
	}
	if o.profile != "" {
		if err := b.profile(most1000(o.rates)); err != nil {
			return err
		}
	}
	if o.scale {
		var rs []result
		for _, s := range o.scaleRuns {
			r, err := b.socmond(s.n, s.schedule, nil, s.warmup, s.window, nil)
			if err != nil {
				return err
			}
			rs = append(rs, r)
			fmt.Fprintf(os.Stderr, "bench: scale %d done\n", s.n)
		}
		printScale(rs)
	}
	if o.accounts {
		a, err := b.acrossAccounts(accountsRun)
		if err != nil {
			return err
		}
		printAccounts([]accountsResult{a})
	}
	return nil
}

// accountsRun is the scale scenario measured across accounts, beside the
// one-account run of the same scenario.
var accountsRun = scaleRuns[1]

// most1000 is 1,000 probes/s, or the highest rate asked for if lower.
func most1000(rates []int) int {
	best := 0
	for _, r := range rates {
		if r <= 1000 {
			best = max(best, r)
		}
	}
	if best == 0 {
		return 1000
	}
	return best
}

// rateFlags give socmond enough probe slots for 1,000 probes/s of one
// service with 50 ms answers (50 in flight); the defaults (64, 16 per
// service) are sized for a real pipeline, not for a single-service flood.
var rateFlags = []string{"--scheduler.max-concurrent=256", "--scheduler.max-per-service=256"}

func printMachine() {
	model, mem := "unknown", "unknown"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if kb, err := parseStatusKB(string(b), "MemTotal"); err == nil {
			mem = fmt.Sprintf("%.1f GiB", float64(kb)/1024/1024)
		}
	}
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("machine: %d CPUs (%s), %s memory; load average at start: %s\n", numCPU(), model, mem, strings.TrimSpace(string(load)))
}
