package main

import (
	"errors"
	"io"
	"os"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/socmond/socmond/internal/awsclient"
	"github.com/socmond/socmond/internal/compliance"
	"github.com/socmond/socmond/internal/monitor"
	"github.com/socmond/socmond/internal/probes"
	"github.com/socmond/socmond/internal/report"
	"github.com/socmond/socmond/internal/version"
	"github.com/socmond/socmond/internal/workflow"
)

const validateTitle = "AWS Service Integration Validation"

func validateCommand(app *kingpin.Application, g *globals) (*kingpin.CmdClause, func() int) {
	cmd := app.Command("validate", withExitCodes("Run every probe, workflow and compliance check once and print a PASS/FAIL table (or JSON).",
		"0 all healthy, 1 anything degraded or unavailable, a compliance check that FAILs, or one that is UNKNOWN (its facts could not be read), 2 usage/config error, 4 no usable AWS credentials (one line, nothing was checked)"))
	output := cmd.Flag("output", "Output format. One of: [text, json]").Short('o').Default("text").Enum("text", "json")
	return cmd, func() int {
		cfg, err := g.loadConfig()
		if err != nil {
			return g.configError(err)
		}
		ctx, cancel := signalContext()
		defer cancel()
		clients, err := g.oneShotClients(ctx, cfg)
		var ce *awsclient.CredentialsError
		if errors.As(err, &ce) {
			return g.validateCredentialsFailed(missingCredentials(ce), *output)
		}
		if err != nil {
			return g.configError(err)
		}
		checks, err := monitor.ChecksFromConfig(cfg, clients, true, nil) // run on request, once: nothing to elect
		if err != nil {
			return g.configError(err)
		}
		results := monitor.RunOnce(ctx, checks)
		if code, rejected := probes.CredentialsRejected(results); rejected {
			return g.validateCredentialsFailed(rejectedCredentials(code), *output)
		}
		sections := []report.Section{{Title: "Service Health", Rows: report.ProbeRows(results)}}
		sections = append(sections, workflow.Section(ctx, cfg, clients)...)
		sections = append(sections, compliance.Section(ctx, cfg, clients)...)
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

// validateCredentialsFailed reports a credentials failure once. With -o
// json a pipeline reads stdout, so it also gets a report that says why
// there are no results.
func (g *globals) validateCredentialsFailed(f credentialsFailure, output string) int {
	if output == "json" {
		_ = report.JSONAborted(g.stdout, validateTitle, version.Version, time.Now(),
			report.JSONError{Class: "credentials", Message: f.msg, Hint: f.hint})
	}
	return g.credentialsFailed(f)
}

// useColor: colours only on a terminal, and never when NO_COLOR is set
// (https://no-color.org).
func useColor(w io.Writer) bool {
	if _, set := os.LookupEnv("NO_COLOR"); set {
		return false
	}
	return isTerminal(w)
}
