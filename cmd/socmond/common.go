package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/alecthomas/kingpin/v2"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/rs/zerolog"

	"github.com/socmond/socmond/internal/awsclient"
	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/monitor"
	"github.com/socmond/socmond/internal/probes"
)

// globals are the flags every subcommand shares.
type globals struct {
	configFile string
	logLevel   string
	logFormat  string
	stdout     io.Writer
	stderr     io.Writer
}

func addGlobalFlags(app *kingpin.Application, stdout, stderr io.Writer) *globals {
	g := &globals{stdout: stdout, stderr: stderr}
	app.Flag("config.file", "socmond configuration file. Without one, socmond configures itself from the environment variables of the pipeline's ECS task (see README).").
		Envar("SOCMOND_CONFIG_FILE").StringVar(&g.configFile)
	app.Flag("log.level", "Only log messages with the given severity or above. One of: [debug, info, warn, error]").
		Default("info").EnumVar(&g.logLevel, "debug", "info", "warn", "error")
	app.Flag("log.format", "Output format of log messages. One of: [json, console]").
		Default("json").EnumVar(&g.logFormat, "json", "console")
	return g
}

// loadConfig reads --config.file, or the environment when there is none.
func (g *globals) loadConfig() (*config.Config, error) {
	if g.configFile == "" {
		return config.FromEnv(os.Getenv)
	}
	return config.Load(g.configFile)
}

// configError prints a configuration error in one line per problem and
// returns the usage exit code.
func (g *globals) configError(err error) int {
	for _, line := range strings.Split(err.Error(), "\n") {
		if strings.TrimSpace(line) != "" {
			fmt.Fprintf(g.stderr, "socmond: %s\n", line)
		}
	}
	return exitUsage
}

func (g *globals) logger() zerolog.Logger {
	lvl, err := zerolog.ParseLevel(g.logLevel)
	if err != nil {
		lvl = zerolog.InfoLevel
	}
	var w io.Writer = g.stderr
	if g.logFormat == "console" {
		w = zerolog.ConsoleWriter{Out: g.stderr, TimeFormat: "15:04:05", NoColor: os.Getenv("NO_COLOR") != ""}
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger()
}

// clientOptions builds the AWS client options for a config; endpoint is
// set only when socmond itself decides where AWS is (the demo's simulator).
func clientOptions(cfg *config.Config, endpoint string, creds aws.CredentialsProvider) awsclient.Options {
	return awsclient.Options{Region: cfg.Region, Endpoint: endpoint, Credentials: creds}
}

// buildChecks turns the configured targets into scheduled probes, each
// with the region of the clients it calls through (a reload that changes
// the region replaces the checks: monitor.Apply). The billed Bedrock
// runtime probe is the leader's alone: its checks exist only while leading,
// and gate (nil: none) is asked again before each call.
func buildChecks(cfg *config.Config, c *awsclient.Clients, leading bool, gate func() bool) ([]monitor.Check, error) {
	var checks []monitor.Check
	for _, t := range cfg.Targets() {
		p, err := probes.New(t.Service, t.Resource, c)
		if err != nil {
			return nil, err
		}
		checks = append(checks, monitor.Check{Target: t, Probe: p, Region: c.Config.Region})
	}
	if !leading {
		return checks, nil
	}
	for _, t := range cfg.RuntimeTargets() {
		checks = append(checks, monitor.Check{Target: t, Probe: probes.NewBedrockRuntime(c.BedrockRuntime, t.Resource, int32(cfg.RuntimeMaxTokens())),
			Region: c.Config.Region, Gate: gate})
	}
	return checks, nil
}

// signalContext is cancelled on SIGINT or SIGTERM.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

var errInterrupted = errors.New("interrupted")
