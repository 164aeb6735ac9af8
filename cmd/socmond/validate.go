package main

import (
	"context"
	"os"
	"sync"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/mattn/go-isatty"

	"github.com/socmond/socmond/internal/awsclient"
	"github.com/socmond/socmond/internal/monitor"
	"github.com/socmond/socmond/internal/probes"
	"github.com/socmond/socmond/internal/report"
	"github.com/socmond/socmond/internal/version"
)

const validateTitle = "AWS Service Integration Validation"

func validateCommand(app *kingpin.Application, g *globals) (*kingpin.CmdClause, func() int) {
	cmd := app.Command("validate", "Run every probe once and print a PASS/FAIL table. Exit 0 when all is healthy, 1 when anything is not, 2 on a usage or config error.")
	output := cmd.Flag("output", "Output format. One of: [text, json]").Short('o').Default("text").Enum("text", "json")
	return cmd, func() int {
		cfg, err := g.loadConfig()
		if err != nil {
			return g.configError(err)
		}
		ctx, cancel := signalContext()
		defer cancel()
		clients, err := awsclient.New(ctx, clientOptions(cfg, "", nil))
		if err != nil {
			return g.configError(err)
		}
		checks, err := buildChecks(cfg, clients, true, nil) // run on request, once: nothing to elect
		if err != nil {
			return g.configError(err)
		}
		sections := []report.Section{{Title: "Service Health", Rows: report.ProbeRows(runOnce(ctx, checks))}}
		sections = append(sections, workflowSection(ctx, cfg, clients)...) // workflow.go
		sections = append(sections, complianceSection(ctx, cfg, clients)...)
		if *output == "json" {
			if err := report.JSON(g.stdout, validateTitle, version.Version, time.Now(), sections); err != nil {
				return exitRuntime
			}
		} else if err := report.Text(g.stdout, validateTitle, sections, useColor(g.stdout)); err != nil {
			return exitRuntime
		}
		if !report.AllPassed(sections) {
			return exitFailed
		}
		return exitOK
	}
}

// runOnce runs every check once, a few at a time, and returns the results
// in the order of the checks.
func runOnce(ctx context.Context, checks []monitor.Check) []probes.Result {
	results := make([]probes.Result, len(checks))
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			results[i] = probes.Run(ctx, c.Probe, probes.Options{Timeout: c.Target.Timeout, SlowThreshold: c.Target.ResponseTimeThreshold})
		}()
	}
	wg.Wait()
	return results
}

// useColor: colours only on a terminal, and never when NO_COLOR is set
// (https://no-color.org).
func useColor(w any) bool {
	if _, set := os.LookupEnv("NO_COLOR"); set {
		return false
	}
	f, ok := w.(*os.File)
	return ok && isatty.IsTerminal(f.Fd())
}
