// Command socmond watches the AWS services an AI-driven SOC pipeline runs
// on, exports their health as Prometheus metrics and pages on-call through
// Alertmanager. This file is the table of contents: each subcommand's
// wiring lives in its own file; the work lives in internal/.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/alecthomas/kingpin/v2"

	"github.com/socmond/socmond/internal/version"
)

// Exit codes shared by every subcommand.
const (
	exitOK      = 0
	exitFailed  = 1 // something checked is not healthy
	exitUsage   = 2 // bad flags or configuration
	exitRuntime = 3 // socmond itself could not do its job
	// exitCredentials: no AWS credentials, so nothing was sent to AWS. Not
	// exitFailed: nothing checked is known to be unhealthy, and a pipeline
	// gating on validate should not page for socmond's own identity.
	exitCredentials = 4
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run parses args and runs the chosen subcommand, returning the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	app, commands := newApp(stdout, stderr)
	selected, code, stop := parse(app, args, stderr)
	if stop {
		return code
	}
	return commands[selected]()
}

// newApp is the command line: the application and each command's function
// by its full name.
func newApp(stdout, stderr io.Writer) (*kingpin.Application, map[string]func() int) {
	app := kingpin.New("socmond", "Monitors the AWS services of the SOC alert pipeline and pages on-call before an investigation is lost.")
	app.Version(version.String())
	app.HelpFlag.Short('h')
	app.UsageWriter(stdout)
	app.ErrorWriter(stderr)

	g := addGlobalFlags(app, stdout, stderr)
	commands := map[string]func() int{}
	for _, add := range []func(*kingpin.Application, *globals) (*kingpin.CmdClause, func() int){
		runCommand, // the default: the daemon
		validateCommand,
		checkConfigCommand,
		simCommand,
		demoCommand,
		e2eCommand, // e2e.go: the synthetic canary, once
		healthcheckCommand,
		iamPolicyCommand,
		evidenceCommand, // evidence.go: verify compliance evidence reports
	} {
		cmd, f := add(app, g)
		commands[cmd.FullCommand()] = f
	}
	return app, commands
}

// withExitCodes ends a command's help with its exit codes. The README's
// Commands table shows the same text for each command, and
// TestHelpMatchesREADME keeps the two the same.
func withExitCodes(help, codes string) string {
	return help + " Exit codes: " + codes + "."
}

// terminated carries kingpin's exit code out of Terminate (after --help or
// --version) without calling os.Exit inside flag parsing.
type terminated int

func parse(app *kingpin.Application, args []string, stderr io.Writer) (selected string, code int, stop bool) {
	app.Terminate(func(c int) { panic(terminated(c)) })
	defer func() {
		if r := recover(); r != nil {
			c, ok := r.(terminated)
			if !ok {
				panic(r)
			}
			selected, code, stop = "", int(c), true
		}
	}()
	selected, err := app.Parse(args)
	if err != nil {
		fmt.Fprintf(stderr, "socmond: %v (see socmond --help)\n", err)
		return "", exitUsage, true
	}
	return selected, 0, false
}
