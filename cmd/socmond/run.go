package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"sync"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"
	"github.com/rs/zerolog"

	"github.com/socmond/socmond/internal/alerting"
	"github.com/socmond/socmond/internal/awsclient"
	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/emf"
	"github.com/socmond/socmond/internal/leader"
	"github.com/socmond/socmond/internal/metrics"
	"github.com/socmond/socmond/internal/monitor"
	"github.com/socmond/socmond/internal/reload"
	"github.com/socmond/socmond/internal/scheduler"
	"github.com/socmond/socmond/internal/server"
	"github.com/socmond/socmond/internal/version"
	"github.com/socmond/socmond/internal/workflow"
)

// defaultListen is socmond's port: /metrics, /api/v1/status and / live here.
const defaultListen = ":9815"

// stopsTimeout bounds the daemon's stops (the last delivery of queued
// alerts) after the grace period, which probes in flight may use up whole.
// With the HTTP shutdown's 5 s and the default 15 s grace period it stays
// within the 30 s the shipped ECS and Kubernetes manifests allow.
const stopsTimeout = 5 * time.Second

// daemonFlags are the flags of `run` and `demo`.
type daemonFlags struct {
	web           *web.FlagConfig // --web.listen-address, --web.config.file, --web.systemd-socket
	maxConcurrent int
	maxPerService int
	maxPerRegion  int // 0: the scheduler's default, half of maxConcurrent
	tick          time.Duration
	grace         time.Duration
	pprof         bool
	emf           emfFlags // emf.go: --cloudwatch.emf
	leader        leaderFlags
}

func addDaemonFlags(cmd *kingpin.CmdClause, d *daemonFlags, listen string) {
	// The exporter-toolkit flags, as in every Prometheus exporter: repeatable
	// --web.listen-address and --web.config.file (TLS, basic auth).
	d.web = kingpinflag.AddFlags(cmd, listen)
	cmd.Flag("scheduler.max-concurrent", "Most probes running at once.").Default("64").IntVar(&d.maxConcurrent)
	cmd.Flag("scheduler.max-per-service", "Most probes of one service running at once (in each region, with tenants:), so one hanging service cannot starve the others.").Default("16").IntVar(&d.maxPerService)
	cmd.Flag("scheduler.max-per-region", "With tenants:, most probes of one region's resources running at once, so a region whose endpoints hang cannot starve the others (default: half of --scheduler.max-concurrent).").PlaceHolder("N").IntVar(&d.maxPerRegion)
	cmd.Flag("scheduler.tick", "Probe starts are spread over each schedule on a grid of this step; probes that share a step start on one wake-up, which costs less CPU than waking for each (1ms gives every probe its own millisecond).").Default("50ms").DurationVar(&d.tick)
	// A command has one validator (a second Validate replaces the first),
	// so every daemon flag's check is in this one.
	cmd.Validate(func(*kingpin.CmdClause) error {
		if d.maxPerRegion < 0 {
			return fmt.Errorf("--scheduler.max-per-region must be at least 1, not %d", d.maxPerRegion)
		}
		if d.tick < time.Millisecond {
			return fmt.Errorf("--scheduler.tick must be at least 1ms, not %s", d.tick)
		}
		if err := d.emf.validate(); err != nil {
			return err
		}
		return d.leader.validate()
	})
	cmd.Flag("shutdown.grace-period", "On SIGTERM, how long probes in flight may take to finish.").Default("15s").DurationVar(&d.grace)
	cmd.Flag("web.enable-pprof", "Serve Go's profiling endpoints on /debug/pprof/ (off by default; for performance work).").Default("false").BoolVar(&d.pprof)
	addEMFFlags(cmd, &d.emf)
	addLeaderFlags(cmd, &d.leader)
}

func runCommand(app *kingpin.Application, g *globals) (*kingpin.CmdClause, func() int) {
	cmd := app.Command("run", withExitCodes("Run the monitoring daemon (the default).",
		"0 after SIGTERM or SIGINT, 2 invalid config or web config at start, 3 cannot listen or serve HTTP")).Default()
	d := &daemonFlags{}
	addDaemonFlags(cmd, d, defaultListen)
	return cmd, func() int {
		cfg, err := g.loadConfig()
		if err != nil {
			return g.configError(err)
		}
		ctx, cancel := signalContext()
		defer cancel()
		return serve(ctx, g, d, cfg, awsclient.Options{Region: cfg.Region}, nil, nil)
	}
}

// daemon is what serve assembles. Features beyond the probes (alerting,
// compliance, workflow, …) attach to it, each from its own attach function
// listed in attachments, so serve itself stays a short table of contents.
type daemon struct {
	ctx     context.Context // ends when the daemon stops
	cfg     *config.Config
	clients *awsclient.Clients
	log     zerolog.Logger
	metrics *metrics.Metrics
	monitor *monitor.Monitor
	// elector says whether this replica does the singleton work; checks
	// are the probes in force, rebuilt by reloads and leadership changes.
	elector  leader.Elector
	checks   *monitor.CheckSet
	handlers map[string]http.Handler // extra routes, ServeMux patterns
	panels   []server.PanelSource    // extra /api/v1/status and status page sections
	// alerts is the alert engine (alerting.go); features attached after
	// attachAlerting raise their alerts with alerts.Set.
	alerts *alerting.Engine
	// emf writes CloudWatch EMF lines to stdout (emf.go); nil unless
	// --cloudwatch.emf is on.
	emf      *emf.Writer
	emfFlags emfFlags
	stdout   io.Writer
	// cfg and clients are those of the start; after a reload, features
	// learn the new config and the clients in force (rebuilt when the
	// region changed) from the reload.Feature their attach function
	// returned (reload.go).
	features reload.Features[*config.Config, *awsclient.Clients]
	// background runs until the daemon's context ends; serve waits for it
	// before exiting.
	background []func(ctx context.Context)
	// stops run after the probes have stopped, in order, under their own
	// deadline (stopsTimeout): the grace period may be spent by then.
	stops []func(ctx context.Context)
}

// feature is what each attach function returns: what a reload does to it.
type feature = reload.Feature[*config.Config, *awsclient.Clients]

// noReload is the feature of an attachment the config does not change.
var noReload = reload.None[*config.Config, *awsclient.Clients]()

// attachments add features to the daemon, in this order; a reload checks
// and applies their features in the same order, after the probe checks.
var attachments = []func(d *daemon) (feature, error){
	attachAlerting, // first: later features raise alerts through d.alerts
	attachEMF,      // emf.go: before compliance, whose findings it writes
	attachLeader,   // leader.go: socmond_leader, the panel, the Bedrock runtime probe on the leader only
	attachStalled,  // stalled.go: socmond_probes_stalled
	attachWorkflow, // workflow.go: passive workflow health and the scheduled canary
	attachCompliance,
}

// serve runs the daemon until ctx ends: probes on their schedules, the HTTP
// endpoints, and a graceful stop. adjust may rewrite the config (the demo
// speeds up schedules); started is told the listening address.
func serve(ctx context.Context, g *globals, df *daemonFlags, cfg *config.Config, co awsclient.Options,
	adjust func(*config.Config), started func(addr string)) int {
	setDefaultGC() // gc.go
	log := g.logger()
	co.Logger = &log
	clients, err := awsclient.New(ctx, co)
	if err != nil {
		return g.configError(err)
	}
	if adjust != nil {
		adjust(cfg)
	}
	elector, err := newElector(df.leader, clients, log)
	if err != nil {
		return g.configError(err)
	}
	workflow.WarnCanaryLeader(cfg, log)
	m := metrics.New(version.Version, version.Revision)
	mon := monitor.New(monitor.Options{
		Logger:    log,
		Metrics:   m,
		Scheduler: scheduler.Options{MaxConcurrent: df.maxConcurrent, MaxPerGroup: df.maxPerService, MaxPerPartition: df.maxPerRegion, Stagger: true, Tick: df.tick},
	})
	runCtx, cancelRun := context.WithCancel(ctx)
	defer cancelRun()
	cs, err := monitor.NewCheckSet(monitor.CheckSetOptions{Monitor: mon, Config: cfg, Clients: clients,
		Leading: elector.Status().Leading, Gate: func() bool { _, ok := elector.Term(); return ok },
		NewClients: func(region string) (*awsclient.Clients, error) {
			o := co
			o.Region = region
			return awsclient.New(runCtx, o)
		}})
	if err != nil {
		return g.configError(err)
	}
	d := &daemon{ctx: runCtx, cfg: cfg, clients: clients, log: log, metrics: m, monitor: mon, handlers: map[string]http.Handler{},
		emfFlags: df.emf, stdout: g.stdout, elector: elector, checks: cs}
	if df.pprof {
		maps.Copy(d.handlers, pprofHandlers())
	}
	for _, attach := range attachments {
		f, err := attach(d)
		if err != nil {
			return g.configError(err)
		}
		if f == nil {
			panic("an attach function returned no reload.Feature; return noReload if the config cannot change it")
		}
		d.features = append(d.features, f)
	}

	if err := checkWebConfig(df.web); err != nil {
		return g.configError(err)
	}
	reloader, err := reload.New(m.Registry(), log, reloadConfig(g, d, adjust), nil)
	if err != nil {
		return g.configError(err)
	}
	d.handlers["POST /-/reload"] = reloader.Handler()
	hupWatched := reloader.WatchSIGHUP(runCtx)

	srv := server.New(server.Options{Metrics: m.Handler(log), Source: mon, Version: version.Version, Logger: log,
		Extra: d.handlers, Panels: d.panels, Thresholds: cs.Thresholds})
	httpSrv := server.NewHTTPServer("", srv.Handler())
	addrs, serveErr, err := listenWeb(df.web, httpSrv, log)
	if err != nil {
		log.Error().Err(err).Msg("cannot serve HTTP")
		return exitRuntime
	}
	log.Info().Str("version", version.Version).Strs("addresses", addrs).Int("checks", cs.Len()).
		Str("region", clients.Config.Region).Msg("socmond started")
	if started != nil {
		started(addrs[0])
	}
	var bg sync.WaitGroup
	for _, f := range d.background {
		bg.Go(func() { f(runCtx) })
	}
	// The election outlives the singleton work: the lease is released
	// only after the canary and evidence have stopped (bg.Wait below), so
	// the next leader never starts while this one still writes.
	electCtx, stopElection := context.WithCancel(context.Background())
	defer stopElection()
	elected := make(chan struct{})
	go func() { defer close(elected); elector.Run(electCtx) }()
	mon.Start()

	code := exitOK
	select {
	case <-ctx.Done():
		log.Info().Str("grace_period", df.grace.String()).Msg("stopping: letting probes in flight finish")
	case err := <-serveErr:
		log.Error().Err(err).Msg("HTTP server failed")
		code = exitRuntime
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), df.grace)
	defer cancel()
	if err := mon.Stop(stopCtx); err != nil {
		log.Warn().Err(err).Msg("probes still running at the end of the grace period were cancelled")
	}
	cancelRun()
	bg.Wait()
	stopElection()
	<-elected
	<-hupWatched
	stopsCtx, cancelStops := context.WithTimeout(context.Background(), stopsTimeout)
	defer cancelStops()
	for _, stop := range d.stops {
		stop(stopsCtx)
	}
	if err := shutdownHTTP(httpSrv); err != nil {
		log.Warn().Err(err).Msg("HTTP server did not shut down cleanly")
	}
	log.Info().Msg("socmond stopped")
	return code
}

func shutdownHTTP(s *http.Server) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
