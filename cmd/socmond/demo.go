package main

import (
	"context"
	"fmt"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/socmond/socmond/internal/awsclient"
	"github.com/socmond/socmond/internal/awssim"
	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/probes"
	"github.com/socmond/socmond/internal/simseed"
)

// demoStep is one moment of the demo's fault timeline.
type demoStep struct {
	after  time.Duration // since the start of the cycle
	say    string
	faults []awssim.Fault // nil clears all faults
}

// demoTimeline shows each kind of trouble within two minutes, then recovery.
// With tenants, each fault strikes one pipeline only — Bedrock in the
// first, DynamoDB in the last, Lambda in the second — narrowed to its
// account and region, so the page shows one tenant's trouble beside the
// others' health.
func demoTimeline(cfg *config.Config) []demoStep {
	places := cfg.Places()
	// at is the service's first resource in the i-th pipeline (counted
	// from the end when negative), the fault that strikes it, and the
	// words that say where it is.
	at := func(service string, i int) (string, awssim.Fault, string) {
		if i < 0 {
			i += len(places)
		}
		p := places[min(max(i, 0), len(places)-1)]
		for _, t := range cfg.Targets() {
			if t.Service != service || t.Place != p {
				continue
			}
			f := awssim.Fault{Service: service, Resource: t.Resource}
			if p.IsZero() {
				return t.Resource, f, ""
			}
			f.Account, f.Region = simseed.AccountOf(cfg, p, ""), p.Region
			return t.Resource, f, fmt.Sprintf(" (tenant %s, account %s, %s; the other pipelines stay healthy)", p.Tenant, p.Account, p.Region)
		}
		return "", awssim.Fault{}, ""
	}
	steps := []demoStep{{after: 0, say: "all services healthy"}}
	if m, f, where := at(probes.ServiceBedrock, 0); m != "" {
		f.Latency = "6s"
		steps = append(steps, demoStep{after: 20 * time.Second, say: "Bedrock slows to 6s per call (over the 5s threshold): DEGRADED, class slow" + where,
			faults: []awssim.Fault{f}})
	}
	if tb, f, where := at(probes.ServiceDynamoDB, -1); tb != "" {
		f.Error = "ThrottlingException"
		steps = append(steps, demoStep{after: 50 * time.Second, say: "DynamoDB throttles " + tb + ": DEGRADED, class throttled, error ratio climbs" + where,
			faults: []awssim.Fault{f}})
	}
	if fn, f, where := at(probes.ServiceLambda, 1); fn != "" {
		f.State = "Failed"
		steps = append(steps, demoStep{after: 80 * time.Second, say: "Lambda function " + fn + " enters state Failed: UNAVAILABLE, class invalid_state" + where,
			faults: []awssim.Fault{f}})
	}
	steps = append(steps, demoStep{after: 110 * time.Second, say: "faults cleared: everything recovers"})
	return steps
}

func demoCommand(app *kingpin.Application, g *globals) (*kingpin.CmdClause, func() int) {
	cmd := app.Command("demo", withExitCodes("Run the daemon against an in-process AWS simulator seeded from the configuration, playing a fault timeline that repeats every 150 s. Nothing leaves this machine.",
		"0 after SIGINT, SIGTERM or --demo.duration, 2 config error, 3 cannot listen"))
	d := &daemonFlags{}
	addDaemonFlags(cmd, d, "127.0.0.1:9815")
	schedule := cmd.Flag("demo.schedule", "Probe schedule used in the demo, so changes show within seconds.").Default("@every 5s").String()
	duration := cmd.Flag("demo.duration", "Stop after this long (0 = until interrupted).").Default("0s").Duration()
	return cmd, func() int {
		cfg, err := g.loadConfig()
		if err != nil {
			return g.configError(err)
		}
		sim := awssim.New(simseed.FromConfig(cfg))
		url, err := sim.Start("127.0.0.1:0")
		if err != nil {
			fmt.Fprintf(g.stderr, "socmond: simulator: %v\n", err)
			return exitRuntime
		}
		defer sim.Close()

		ctx, cancel := signalContext()
		defer cancel()
		if *duration > 0 {
			var stop context.CancelFunc
			ctx, stop = context.WithTimeout(ctx, *duration)
			defer stop()
		}
		// Fake credentials: the simulator checks that requests are signed,
		// not by whom.
		co := awsclient.Options{Region: cfg.Region, Endpoint: url, Credentials: credentials.NewStaticCredentialsProvider("AKIDSOCMONDDEMO", "demo-secret-not-real", "")}
		fast := func(cfg *config.Config) { compress(cfg, *schedule) }
		started := func(addr string) {
			base := "http://" + addr
			fmt.Fprintf(g.stdout, "socmond demo: AWS simulator at %s\n  status page  %s/\n  status API   %s/api/v1/status\n  metrics      %s/metrics\n  faults       %s/_sim/faults\nPress Ctrl-C to stop.\n", url, base, base, base, url)
			go playTimeline(ctx, g, sim, demoTimeline(cfg))
		}
		return serve(ctx, g, d, cfg, co, fast, started)
	}
}

// compress makes the demo's config run on schedule: every probe on it, and
// the windows shortened as much as the schedule is, so that the alert
// conditions (docs/alerting.md) keep their shipped shape — the guard's
// share of a window, confirmation, clear_for — only faster.
func compress(cfg *config.Config, schedule string) {
	base := config.Interval(cfg.Defaults.Schedule)
	fast := config.Interval(schedule)
	if base <= 0 || fast <= 0 {
		return
	}
	shrink := func(w *config.Windows) {
		for _, d := range []*config.Duration{&w.ErrorRate, &w.Availability} {
			if *d != 0 {
				*d = config.Duration(max(time.Duration(float64(*d)*float64(fast)/float64(base)), 2*fast))
			}
		}
	}
	cfg.Defaults.Schedule = schedule
	shrink(&cfg.Defaults.Windows)
	for _, svc := range cfg.Services {
		svc.Schedule = ""
		shrink(&svc.Windows)
		for i := range svc.Resources {
			svc.Resources[i].Schedule = ""
		}
	}
}

// demoCycle is how often the demo's timeline starts again (the README's
// first screen says so).
const demoCycle = 150 * time.Second

// playTimeline applies the demo's faults in a loop until ctx ends.
func playTimeline(ctx context.Context, g *globals, sim *awssim.Sim, steps []demoStep) {
	for start := time.Now(); ; start = start.Add(demoCycle) {
		for _, s := range steps {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Until(start.Add(s.after))):
			}
			sim.ClearFaults()
			for _, f := range s.faults {
				sim.AddFault(f)
			}
			fmt.Fprintf(g.stdout, "[demo +%3ds] %s\n", int(s.after.Seconds()), s.say)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(start.Add(demoCycle))):
		}
	}
}
