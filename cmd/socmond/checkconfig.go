package main

import (
	"github.com/alecthomas/kingpin/v2"
)

func checkConfigCommand(app *kingpin.Application, g *globals) (*kingpin.CmdClause, func() int) {
	cmd := app.Command("check-config", withExitCodes("Validate the configuration and print the effective configuration, defaults filled in.",
		"0 valid, 2 invalid"))
	return cmd, func() int {
		cfg, err := g.loadConfig()
		if err != nil {
			return g.configError(err)
		}
		out, err := cfg.YAML()
		if err != nil {
			return g.configError(err)
		}
		if _, err := g.stdout.Write(out); err != nil {
			return exitRuntime
		}
		return exitOK
	}
}
