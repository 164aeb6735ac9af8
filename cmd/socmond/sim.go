package main

import (
	"fmt"

	"github.com/alecthomas/kingpin/v2"

	"github.com/socmond/socmond/internal/awssim"
	"github.com/socmond/socmond/internal/simseed"
)

func simCommand(app *kingpin.Application, g *globals) (*kingpin.CmdClause, func() int) {
	cmd := app.Command("sim", withExitCodes("Run the AWS simulator alone, seeded with the resources named in the configuration, until interrupted. Faults: POST/GET/DELETE /_sim/faults.",
		"0 after SIGINT or SIGTERM, 2 config error, 3 cannot listen"))
	listen := cmd.Flag("sim.listen-address", "Address the simulator listens on.").Default("127.0.0.1:4566").String()
	return cmd, func() int {
		cfg, err := g.loadConfig()
		if err != nil {
			return g.configError(err)
		}
		log := g.logger()
		sim := awssim.New(simseed.FromConfig(cfg))
		url, err := sim.Start(*listen)
		if err != nil {
			log.Error().Err(err).Str("address", *listen).Msg("simulator could not listen")
			return exitRuntime
		}
		defer sim.Close()
		fmt.Fprintf(g.stdout, "AWS simulator listening on %s\n  export AWS_ENDPOINT_URL=%s AWS_ACCESS_KEY_ID=sim AWS_SECRET_ACCESS_KEY=sim AWS_REGION=%s\n  faults: curl -X POST %s/_sim/faults -d '{\"service\":\"dynamodb\",\"error\":\"ThrottlingException\"}'\n",
			url, url, cfg.Region, url)
		ctx, cancel := signalContext()
		defer cancel()
		<-ctx.Done()
		log.Info().Msg("simulator stopping")
		return exitOK
	}
}
