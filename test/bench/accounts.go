package main

import (
	"fmt"
	"os"
	"sort"
	"time"
)

// accountsResult is the across-accounts run beside the one-account run of
// the same size and schedule.
type accountsResult struct {
	single, spread result
	// roles counts the STS AssumeRole calls the simulator served for each
	// role during the spread run (it is started for that run alone, so
	// every one of them is socmond's): one per role is expected, however
	// many regions share its session.
	roles map[string]int
}

// ratio is the spread run's CPU per probe over the one-account run's.
func (a accountsResult) ratio() float64 { return a.spread.cpuPer1000() / a.single.cpuPer1000() }

// ratioNoScrape is ratio without the GET /metrics each window holds.
func (a accountsResult) ratioNoScrape() float64 {
	return a.spread.cpuPer1000NoScrape() / a.single.cpuPer1000NoScrape()
}

// assumeRoles is the number of AssumeRole calls and of roles they named.
func (a accountsResult) assumeRoles() (calls, roles int) {
	for _, n := range a.roles {
		calls += n
	}
	return calls, len(a.roles)
}

// acrossAccounts measures s's resources spread over benchAccounts accounts
// × benchRegions (accountsConfig), against a simulator seeded from that
// config, and the one-account run of the same scenario at the same time,
// over the same window: on a machine others share, load comes and goes
// within minutes, and two runs one after the other saw different machines
// (ratios from 1.07 to 1.29 for the same binaries). Together, each daemon
// is a few percent of a core, and both see the same load.
func (b *bench) acrossAccounts(s scaleRun) (accountsResult, error) {
	var a accountsResult
	config := accountsConfig(s.n, s.schedule)
	sim, url, err := b.startSimOf("sim-accounts.yaml", config)
	if err != nil {
		return a, err
	}
	defer sim.stop()
	w := workload{file: fmt.Sprintf("accounts-%d.yaml", s.n), config: config, simURL: url}
	var singleErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.single, singleErr = b.socmond(s.n, s.schedule, nil, s.warmup, s.window, nil)
	}()
	a.spread, err = b.socmondOn(w, s.n, s.schedule, nil, s.warmup, s.window, nil)
	<-done
	if err != nil {
		return a, err
	}
	if singleErr != nil {
		return a, singleErr
	}
	calls, err := simCalls(url)
	if err != nil {
		return a, err
	}
	a.roles = map[string]int{}
	for _, c := range calls {
		if c.Service == "sts" && c.Operation == "AssumeRole" {
			a.roles[c.Resource]++
		}
	}
	if b.o.profile != "" {
		// Extra runs, not reported: the profiler's own CPU would be in
		// the figures.
		one := workload{file: fmt.Sprintf("socmond-%d.yaml", s.n), config: socmondConfig(s.n, s.schedule), simURL: b.simURL}
		for _, x := range []struct {
			prefix string
			w      workload
		}{{"accounts-one-", one}, {"accounts-spread-", w}} {
			if _, err := b.socmondOn(x.w, s.n, s.schedule, []string{"--web.enable-pprof"}, s.warmup, s.window, func(base string) error {
				return b.saveProfiles(base, x.prefix, s.window-5*time.Second)
			}); err != nil {
				return a, err
			}
		}
		fmt.Printf("\nprofiles of the one-account and across-accounts runs written to %s/accounts-{one,spread}-*.pprof\n", b.o.profile)
	}
	fmt.Fprintf(os.Stderr, "bench: across accounts %d done\n", s.n)
	return a, nil
}

func printAccounts(rs []accountsResult) {
	fmt.Printf("\n## Scale across accounts (%d accounts × %d regions, one role per account, beside one account: "+
		"both daemons at once over the same window, default scheduler limits)\n\n", benchAccounts, len(benchRegions))
	fmt.Println("| run | resources | schedule | probes/s | healthy | CPU share of one core | CPU s / 1,000 probes | without the window's /metrics | /metrics CPU s, median ms, KB | RSS steady / peak (MB) | scheduler lag p50 / p99 (ms) | STS AssumeRole calls |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, a := range rs {
		calls, roles := a.assumeRoles()
		for _, x := range []struct {
			name, sts string
			r         result
		}{
			{"one account, one region", "–", a.single},
			{fmt.Sprintf("%d accounts × %d regions", benchAccounts, len(benchRegions)), fmt.Sprintf("%d for %d roles", calls, roles), a.spread},
		} {
			r := x.r
			ms, kb := r.scrapeMedian()
			fmt.Printf("| %s | %d | %s | %.1f | %.1f%% | %.1f%% | %.3f | %.3f | %.3f, %.0f, %.0f | %.1f / %.1f | %s | %s |\n",
				x.name, r.resources, r.schedule, r.probes/r.wall, 100*r.healthy/r.probes, r.share()*100, r.cpuPer1000(),
				r.cpuPer1000NoScrape(), r.scrapeCPU, ms, kb, r.rssMB, r.peakMB, r.lagMS(), x.sts)
		}
	}
	fmt.Println()
	for _, a := range rs {
		calls, roles := a.assumeRoles()
		fmt.Printf("- at %d resources: CPU per probe across accounts / one account = **%.2f** (%.3f / %.3f ms; target ≤ 1.10); "+
			"without the /metrics scrape each window holds: %.2f\n",
			a.spread.resources, a.ratio(), a.spread.cpuPer1000(), a.single.cpuPer1000(), a.ratioNoScrape())
		note := "one per role, as expected"
		if calls != benchAccounts || roles != benchAccounts {
			note = fmt.Sprintf("expected %d, one per role", benchAccounts)
		}
		fmt.Printf("- STS AssumeRole during the run: %d calls for %d roles (%s)", calls, roles, note)
		if over := overAssumed(a.roles); len(over) > 0 {
			fmt.Printf("; more than once: %v", over)
		}
		fmt.Println()
	}
}

// overAssumed lists the roles assumed more than once, sorted.
func overAssumed(roles map[string]int) []string {
	var out []string
	for r, n := range roles {
		if n > 1 {
			out = append(out, fmt.Sprintf("%s ×%d", r, n))
		}
	}
	sort.Strings(out)
	return out
}
