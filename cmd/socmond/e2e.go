package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/probes"
	"github.com/socmond/socmond/internal/workflow"
)

func e2eCommand(app *kingpin.Application, g *globals) (*kingpin.CmdClause, func() int) {
	cmd := app.Command("e2e", withExitCodes("Run the synthetic end-to-end canary once (it WRITES: an event, an investigation, artifacts kept 7 years by Object Lock) and print its eight steps. "+
		"With tenants: it runs in each tenant's pipeline in turn, or in those --tenant, --account and --region choose.",
		"0 all eight steps pass, 1 a step failed (it names the stage), 2 usage/config error, 4 no AWS credentials"))
	output := cmd.Flag("output", "Output format. One of: [text, json]; json is one report, or an array of them when several pipelines run.").Short('o').Default("text").Enum("text", "json")
	var pick probes.Place
	cmd.Flag("tenant", "With tenants: run only in this tenant's pipelines.").StringVar(&pick.Tenant)
	cmd.Flag("account", "With tenants: run only in the pipelines in this account.").StringVar(&pick.Account)
	cmd.Flag("region", "With tenants: run only in the pipelines in this region.").StringVar(&pick.Region)
	return cmd, func() int {
		cfg, err := g.loadConfig()
		if err != nil {
			return g.configError(err)
		}
		if missing := cfg.CanaryPipelineErrors(); len(missing) > 0 {
			return g.configError(fmt.Errorf("the canary needs the pipeline section: %s", strings.Join(missing, "; ")))
		}
		places, err := canaryPlaces(cfg, pick)
		if err != nil {
			return g.configError(err)
		}
		ctx, cancel := signalContext()
		defer cancel()
		clients, err := g.oneShotClients(ctx, cfg)
		if err != nil {
			return g.clientsError(err)
		}
		var reps []workflow.CanaryReport
		passed := true
		for _, place := range places {
			pc, err := cfg.ClientsAt(clients, place)
			if err != nil {
				return g.configError(err)
			}
			c := workflow.CanaryAt(cfg, pc, place)
			var progress func(workflow.StepResult)
			if *output == "text" {
				if len(reps) > 0 {
					fmt.Fprintln(g.stdout) // a blank line between pipelines' runs
				}
				names := cfg.PipelineAt(place)
				fmt.Fprintf(g.stdout, "Synthetic end-to-end canary%s: %s → %s (timeout %s)\n", placeText(place), names.EventBus, names.StateMachine, cfg.Canary.Timeout)
				progress = stepPrinter(g.stdout, useColor(g.stdout))
			}
			rep := c.Run(ctx, progress)
			if *output == "text" {
				printCanarySummary(g.stdout, rep)
			}
			reps = append(reps, rep)
			passed = passed && rep.Passed
			if ctx.Err() != nil {
				break // interrupted: the next pipelines' runs would fail at once
			}
		}
		if *output == "json" {
			enc := json.NewEncoder(g.stdout)
			enc.SetIndent("", "  ")
			var v any = reps
			if len(reps) == 1 {
				v = reps[0]
			}
			if err := enc.Encode(v); err != nil {
				return exitRuntime
			}
		}
		if !passed {
			return exitFailed
		}
		return exitOK
	}
}

// canaryPlaces are the pipelines `socmond e2e` runs the canary in: every
// one (config.Places), or those whose tenant, account and region match
// the ones pick sets.
func canaryPlaces(cfg *config.Config, pick probes.Place) ([]probes.Place, error) {
	places := cfg.Places()
	if pick.IsZero() {
		return places, nil
	}
	if places[0].IsZero() {
		return nil, fmt.Errorf("--tenant, --account and --region choose among the pipelines of tenants:, and the config has none: it has one pipeline, the pipeline section's; drop them")
	}
	var all []string
	var chosen []probes.Place
	for _, p := range places {
		all = append(all, placeName(p))
		if (pick.Tenant == "" || p.Tenant == pick.Tenant) && (pick.Account == "" || p.Account == pick.Account) && (pick.Region == "" || p.Region == pick.Region) {
			chosen = append(chosen, p)
		}
	}
	if len(chosen) == 0 {
		return nil, fmt.Errorf("no pipeline of tenant %q, account %q, region %q (empty: any); the pipelines are: %s",
			pick.Tenant, pick.Account, pick.Region, strings.Join(all, ", "))
	}
	return chosen, nil
}

// placeName is a pipeline as `socmond e2e` names it.
func placeName(p probes.Place) string {
	return fmt.Sprintf("tenant %s, account %s, %s", p.Tenant, p.Account, p.Region)
}

// placeText is " (tenant …, account …, region)" for a tenant's pipeline,
// nothing for the config's one.
func placeText(p probes.Place) string {
	if p.IsZero() {
		return ""
	}
	return " (" + placeName(p) + ")"
}

// stepPrinter shows each step as it runs. On a terminal a running step is
// shown and then replaced by its outcome; piped output gets plain lines with
// outcomes only, so logs and CI stay readable.
func stepPrinter(w io.Writer, terminal bool) func(workflow.StepResult) {
	return func(s workflow.StepResult) {
		label := fmt.Sprintf("[%d/8] %-21s", s.Number, s.Name)
		if s.Status == workflow.Running {
			if terminal {
				fmt.Fprintf(w, "  %s RUNNING  %s …", label, s.Title)
			}
			return
		}
		if terminal {
			fmt.Fprint(w, "\r\033[K")
		}
		verdict := map[string]string{workflow.Passed: "PASS", workflow.Failed: "FAIL", workflow.Skipped: "SKIP"}[s.Status]
		dur := ""
		if s.Duration > 0 {
			dur = " (" + s.Duration.Round(time.Millisecond).String() + ")"
		}
		fmt.Fprintf(w, "  %s %-4s     %s%s\n", label, verdict, s.Reason, dur)
	}
}

func printCanarySummary(w io.Writer, rep workflow.CanaryReport) {
	for _, st := range rep.Stages {
		fmt.Fprintf(w, "  stage %-28s %-9s %s\n", st.State+" ("+st.Function+")", st.Status, st.Duration.Round(time.Millisecond))
	}
	result := "PASSED"
	if !rep.Passed {
		result = "FAILED"
		if s, ok := rep.FailedStep(); ok {
			result += fmt.Sprintf(" at step %d (%s)", s.Number, s.Name)
		}
		if rep.TimedOut {
			result += ", timed out"
		}
	}
	fmt.Fprintf(w, "Canary %s %s in %s\n", rep.InvestigationID, result, rep.Duration.Round(time.Millisecond))
}
