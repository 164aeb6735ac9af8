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
	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"

	"github.com/socmond/socmond/internal/awsclient"
	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/logfmt"
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
	app.Flag("log.format", "Output format of log messages. One of: [console, json, logfmt]. Default: console when stderr is a terminal, json otherwise.").
		EnumVar(&g.logFormat, "console", "json", "logfmt")
	return g
}

// loadConfig reads --config.file, or the environment when there is none.
// With neither, the error says where to start.
func (g *globals) loadConfig() (*config.Config, error) {
	if g.configFile == "" {
		cfg, err := config.FromEnv(os.Getenv)
		if errors.Is(err, config.ErrNoConfig) {
			err = fmt.Errorf("%w\n%s", err, noConfigHint)
		}
		return cfg, err
	}
	return config.Load(g.configFile)
}

// noConfigHint is the second line of the error for a first run with no
// configuration at all.
const noConfigHint = "to start, copy config.example.yaml, name your pipeline's resources in it and pass --config.file (or set SOCMOND_CONFIG_FILE); to see socmond work without AWS first, run make demo"

// oneShotClients builds the AWS clients of a command that calls AWS once
// and exits (validate, e2e, evidence verify), and obtains credentials
// first: without them every call would fail alike, each with the hint of
// a different permission. The error is then an *awsclient.CredentialsError.
func (g *globals) oneShotClients(ctx context.Context, cfg *config.Config) (*awsclient.Clients, error) {
	log := g.logger()
	o := clientOptions(cfg, "", nil)
	o.Logger = &log // the SDK's warnings as socmond's log lines, not bare text
	clients, err := awsclient.New(ctx, o)
	if err != nil {
		return nil, err
	}
	if err := clients.CheckCredentials(ctx); err != nil {
		return nil, err
	}
	return clients, nil
}

// clientsError reports oneShotClients' error: missing credentials in one
// line with what to do, and exitCredentials; anything else is a
// configuration error.
func (g *globals) clientsError(err error) int {
	var ce *awsclient.CredentialsError
	if !errors.As(err, &ce) {
		return g.configError(err)
	}
	return g.credentialsFailed(missingCredentials(ce))
}

// credentialsFailure is why socmond could use no AWS credentials, as a
// person reads it: what happened, and what to do.
type credentialsFailure struct{ msg, hint string }

// credentialsFailed says it in one line and returns exitCredentials.
func (g *globals) credentialsFailed(f credentialsFailure) int {
	fmt.Fprintf(g.stderr, "socmond: %s — %s\n", f.msg, f.hint)
	return exitCredentials
}

// missingCredentials: socmond found none, or could not obtain them.
func missingCredentials(ce *awsclient.CredentialsError) credentialsFailure {
	msg := "no AWS credentials, nothing was sent to AWS: " + ce.Cause()
	if ce.NoneFound() {
		return credentialsFailure{msg, "run it with the profile or role it should use (AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, " +
			"the IRSA role on EKS, the task role on ECS), or try it without AWS: make demo"}
	}
	return credentialsFailure{msg, "check the role socmond runs under (on EKS the IRSA web identity token and role ARN, on ECS the task role, " +
		"elsewhere the profile), that STS is reachable from here (VPC endpoint, proxy, AWS_ENDPOINT_URL_STS) and that the clock is right"}
}

// rejectedCredentials: socmond had credentials, and AWS refused them
// (probes.CredentialsRejected), so every check failed alike.
func rejectedCredentials(code string) credentialsFailure {
	return credentialsFailure{"AWS refused socmond's credentials (" + code + "), so no check reached a resource",
		"the access key is unknown or deactivated, its secret wrong or its session expired: check AWS_PROFILE or " +
			"AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN (aws sso login renews an SSO session) and that the clock is right"}
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
	switch logFormat(g.logFormat, isTerminal(g.stderr)) {
	case "console":
		w = zerolog.ConsoleWriter{Out: g.stderr, TimeFormat: "15:04:05", NoColor: os.Getenv("NO_COLOR") != ""}
	case "logfmt":
		w = logfmt.New(g.stderr)
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger()
}

// logFormat is the log format in force: the flag's, else console for a
// person at a terminal and JSON for whatever collects the logs (a
// container runtime, journald, a file), which is where socmond runs.
func logFormat(flag string, terminal bool) string {
	switch {
	case flag != "":
		return flag
	case terminal:
		return "console"
	}
	return "json"
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// clientOptions builds the AWS client options for a config; endpoint is
// set only when socmond itself decides where AWS is (the demo's simulator).
func clientOptions(cfg *config.Config, endpoint string, creds aws.CredentialsProvider) awsclient.Options {
	return awsclient.Options{Region: cfg.Region, Endpoint: endpoint, Credentials: creds}
}

// signalContext is cancelled on SIGINT or SIGTERM.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

var errInterrupted = errors.New("interrupted")
