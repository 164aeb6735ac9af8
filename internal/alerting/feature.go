package alerting

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/health"
	"github.com/socmond/socmond/internal/probes"
	"github.com/socmond/socmond/internal/server"
)

// Tick is how often the engine re-evaluates by time alone (pending alerts
// whose `for` has passed, resends). One second keeps firing close to the
// configured `for` at a negligible cost.
const Tick = time.Second

// Snapshotter says whether a resource is checked now (the monitor).
type Snapshotter interface {
	Snapshot(t probes.Target, now time.Time) (health.Snapshot, bool)
}

// Feature is alerting in the daemon: the Engine the probes' results and
// every other check raise alerts through, delivered to the configured
// Alertmanagers (none is fine: a reload may add them), and the "alerts"
// panel. A reload changes the rules (tenant, thresholds via targets, for,
// severities), resend_interval and the Alertmanagers.
type Feature struct {
	e        *Engine
	notifier *Notifier
	checked  Snapshotter
	next     *Alertmanagers // built by Check, put in force by Apply
	mu       sync.Mutex
}

// NewFeature builds the engine and notifier of cfg and registers the
// engine's series on reg; checked is asked after a reload which
// resources are still checked.
func NewFeature(cfg *config.Config, reg prometheus.Registerer, log zerolog.Logger, checked Snapshotter) (*Feature, error) {
	notifier, err := NewNotifier(&cfg.Alerting, log)
	if err != nil {
		return nil, err
	}
	e := NewEngine(SettingsFromConfig(cfg), cfg.Alerting.ResendInterval.D(), notifier)
	if err := reg.Register(e.Collector()); err != nil {
		return nil, err
	}
	return &Feature{e: e, notifier: notifier, checked: checked}, nil
}

// Engine is the engine alerts are raised through.
func (f *Feature) Engine() *Engine { return f.e }

// Check builds the new Alertmanagers' clients (reading their TLS files),
// so a bad one rejects the reload before anything changes; Apply puts
// them in force.
func (f *Feature) Check(cfg *config.Config) error {
	built, err := BuildAlertmanagers(&cfg.Alerting)
	if err != nil {
		return err
	}
	f.mu.Lock()
	f.next = built
	f.mu.Unlock()
	return nil
}

// Apply puts cfg's rules and Alertmanagers in force, after the checks:
// the monitor then holds exactly the resources still checked (the
// workflow's discovered functions among them), and alerts nothing will
// evaluate again resolve (Engine.Reconcile). Alertmanagers added or
// changed are sent the alerts firing now, at once.
func (f *Feature) Apply(cfg *config.Config) error {
	f.mu.Lock()
	next := f.next
	f.mu.Unlock()
	f.e.SetSettings(SettingsFromConfig(cfg))
	f.e.SetResendInterval(cfg.Alerting.ResendInterval.D())
	now := time.Now()
	f.e.Reconcile(func(t probes.Target) bool {
		_, ok := f.checked.Snapshot(t, now)
		return ok
	}, now)
	f.e.SendFiring(f.notifier.SetAlertmanagers(next), time.Now())
	return nil
}

// Run evaluates by time and delivers until ctx ends.
func (f *Feature) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { f.e.Run(ctx, Tick) })
	f.notifier.Run(ctx)
	wg.Wait()
}

// Flush delivers what is queued, until ctx ends. Firing alerts are not
// resolved on shutdown: socmond stopping says nothing about AWS. Their
// endsAt lets Alertmanager expire them if socmond does not come back.
func (f *Feature) Flush(ctx context.Context) { f.notifier.Flush(ctx) }

// Panel lists the pending and firing alerts on /api/v1/status and the
// status page.
func (f *Feature) Panel(time.Time) server.Panel {
	p := server.Panel{ID: "alerts", Title: "Alerts"}
	for _, a := range f.e.Alerts() {
		at := a.ActiveAt
		if a.State == Firing {
			at = a.FiredAt
		}
		p.Items = append(p.Items, server.PanelItem{
			Name: a.Name(), Resource: a.Labels["resource"], State: string(a.State), OK: false,
			// A placed resource's alert is its tenant's pipeline's, so the
			// page's and API's filter keeps it with that pipeline.
			Place:  labelTarget(a.Labels).Place,
			Reason: a.Annotations["description"], Hint: a.Annotations["hint"], At: at,
			Details: map[string]string{
				"service": a.Labels["service"], "severity": a.Labels["severity"],
				"runbook_url": a.Annotations["runbook_url"],
			},
		})
	}
	return p
}
