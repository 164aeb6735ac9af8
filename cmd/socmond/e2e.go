package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/socmond/socmond/internal/workflow"
)

func e2eCommand(app *kingpin.Application, g *globals) (*kingpin.CmdClause, func() int) {
	cmd := app.Command("e2e", withExitCodes("Run the synthetic end-to-end canary once (it WRITES: an event, an investigation, artifacts kept 7 years by Object Lock) and print its eight steps.",
		"0 all eight steps pass, 1 a step failed (it names the stage), 2 usage/config error, 4 no AWS credentials"))
	output := cmd.Flag("output", "Output format. One of: [text, json]").Short('o').Default("text").Enum("text", "json")
	return cmd, func() int {
		cfg, err := g.loadConfig()
		if err != nil {
			return g.configError(err)
		}
		if missing := cfg.CanaryPipelineErrors(); len(missing) > 0 {
			return g.configError(fmt.Errorf("the canary needs the pipeline section: %s", strings.Join(missing, "; ")))
		}
		ctx, cancel := signalContext()
		defer cancel()
		clients, err := g.oneShotClients(ctx, cfg)
		if err != nil {
			return g.clientsError(err)
		}
		c := workflow.CanaryFromConfig(cfg, clients)
		var progress func(workflow.StepResult)
		if *output == "text" {
			fmt.Fprintf(g.stdout, "Synthetic end-to-end canary: %s → %s (timeout %s)\n", cfg.Pipeline.EventBus, cfg.Pipeline.StateMachine, cfg.Canary.Timeout)
			progress = stepPrinter(g.stdout, useColor(g.stdout))
		}
		rep := c.Run(ctx, progress)
		if *output == "json" {
			enc := json.NewEncoder(g.stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(rep); err != nil {
				return exitRuntime
			}
		} else {
			printCanarySummary(g.stdout, rep)
		}
		if !rep.Passed {
			return exitFailed
		}
		return exitOK
	}
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
