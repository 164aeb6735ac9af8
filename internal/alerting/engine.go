package alerting

import (
	"context"
	"maps"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/health"
	"github.com/socmond/socmond/internal/probes"
)

// Sink receives the notifications the Engine decides to send (the
// Notifier; tests pass a recorder).
type Sink interface {
	Enqueue([]Notification)
	QueueLength() int
}

// Engine evaluates signals into alerts and hands notifications to a Sink:
// on firing, every ResendInterval while firing (endsAt ahead, so an
// Alertmanager that stops hearing from socmond resolves them itself), and
// on resolve (endsAt = now). Safe for concurrent use.
type Engine struct {
	settings Settings
	resend   time.Duration // under mu: a reload may change it
	sink     Sink

	mu      sync.Mutex
	machine *Machine
	out     *outcomes
}

// NewEngine returns an Engine. sink may be nil (no Alertmanager
// configured): alerts are still evaluated, shown and exported.
func NewEngine(s Settings, resend time.Duration, sink Sink) *Engine {
	if resend <= 0 {
		resend = config.DefaultResendInterval
	}
	e := &Engine{settings: s, resend: resend, sink: sink, machine: NewMachine(), out: &outcomes{}}
	if n, ok := sink.(*Notifier); ok {
		e.out = n.out
	}
	return e
}

// Settings returns the rule settings, for producers building signals.
func (e *Engine) Settings() Settings {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.settings
}

// SetSettings replaces the rule settings (config reload). Alerts already
// pending or firing keep their state and take the new for/clear_for at
// their next evaluation.
func (e *Engine) SetSettings(s Settings) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.settings = s
}

// SetResendInterval changes how often a firing alert is sent again (a
// config reload); d <= 0 means the default. It applies from the next
// Tick: an alert last sent longer ago than the new interval goes out then.
func (e *Engine) SetResendInterval(d time.Duration) {
	if d <= 0 {
		d = config.DefaultResendInterval
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.resend = d
}

// Reconcile brings the alerts in force in line with the settings in force
// after a config reload (SetSettings first). Without it a reload could leave
// a page firing for ever: nothing would evaluate an alert of a resource no
// longer probed, or of a rule now disabled, again, and one whose tenant or
// severity changed would be raised anew under its new labels while the
// old one went on being resent. So:
//   - an alert of a service rule whose resource probed reports gone, or
//     whose rule is now disabled, resolves;
//   - an alert whose tenant or severity label is now different moves to
//     its new labels with its state, and Alertmanager is told at once that
//     the old one resolved and the new one fires.
func (e *Engine) Reconcile(probed func(probes.Target) bool, now time.Time) {
	e.mu.Lock()
	s := e.settings
	ended, moved := e.machine.Relabel(func(l map[string]string) (map[string]string, bool) {
		return s.relabel(l, probed)
	}, now)
	ns := e.notifications(append(ended, moved...), now)
	e.mu.Unlock()
	e.send(ns)
}

// Removed resolves the alerts of a resource nothing checks any more (a
// Lambda function the workflow no longer discovers, a check a change of
// leadership removed): nothing would evaluate them again. Its signature is
// monitor.RemoveListener's. An alert whose settings changed meanwhile is
// left to the Reconcile of the reload that changed them.
func (e *Engine) Removed(t probes.Target) {
	e.Reconcile(func(x probes.Target) bool { return x != t }, time.Now())
}

// Observe evaluates the service rules on a recorded probe result; its
// signature is monitor.Listener's.
func (e *Engine) Observe(r probes.Result, s health.Snapshot, t config.Target) {
	e.mu.Lock()
	settings := e.settings
	tracked := e.machine.Tracks(t.Service, t.Resource)
	e.mu.Unlock()
	// Nearly every result changes nothing: all four conditions are clear
	// and the resource has no pending or firing alert, so each inactive
	// signal would leave the machine as it is. Building them (six
	// Sprintf, six maps, three label keys) was 8 % of socmond's CPU at
	// 1,000 probes/s; this check gives the same outcome without it.
	if !anyActive(s) && !tracked {
		return
	}
	now := r.Start.Add(r.Duration)
	for _, sig := range settings.Evaluate(s, t) {
		e.Set(sig, now)
	}
}

// Set applies one signal at now: any producer (compliance, workflow,
// canary) raises and clears its alerts through it.
func (e *Engine) Set(s Signal, now time.Time) {
	e.mu.Lock()
	a, changed := e.machine.Set(s, now)
	var ns []Notification
	if changed {
		ns = e.notifications([]Alert{a}, now)
	}
	e.mu.Unlock()
	e.send(ns)
}

// Tick promotes, resolves and resends by time alone; Run calls it.
func (e *Engine) Tick(now time.Time) {
	e.mu.Lock()
	changed := e.machine.Tick(now)
	ns := e.notifications(changed, now)
	for _, a := range e.machine.Alerts() {
		// An alert whose condition has cleared is on its way to resolve:
		// sending it as firing again could land after another sender's
		// resolve (a second replica, Prometheus) and revive it in
		// Alertmanager. Its last endsAt covers the clear_for.
		if a.State == Firing && a.ClearSince.IsZero() && now.Sub(a.LastSentAt) >= e.resend {
			ns = append(ns, e.notifications([]Alert{a}, now)...)
		}
	}
	e.mu.Unlock()
	e.send(ns)
}

// notifications turns firing and resolved alerts into what Alertmanager
// takes, and marks them sent. Pending alerts are not sent. e.mu is held.
func (e *Engine) notifications(as []Alert, now time.Time) []Notification {
	var out []Notification
	for _, a := range as {
		n, ok := e.notification(a, now)
		if !ok {
			continue
		}
		if a.State == Firing {
			e.machine.MarkSent(a.Labels, now)
		}
		out = append(out, n)
	}
	return out
}

// notification is what Alertmanager is told of a firing or resolved alert;
// ok is false for a pending one.
func (e *Engine) notification(a Alert, now time.Time) (n Notification, ok bool) {
	n = Notification{Labels: a.Labels, Annotations: a.Annotations, StartsAt: a.FiredAt}
	switch a.State {
	case Firing:
		// Four resends ahead, as Prometheus does: a few lost
		// notifications do not resolve the alert.
		n.EndsAt = now.Add(4 * e.resend)
	case Resolved:
		n.EndsAt = a.ResolvedAt
	default:
		return n, false
	}
	return n, true
}

// SendFiring sends every firing alert to `to` only: the Alertmanagers a
// reload added (Notifier.SetAlertmanagers) learn them now rather than at
// the next resend, and the others are not sent them again (their resend
// times stay as they were). It enqueues under e.mu, so a change decided
// after it cannot be overtaken by its older state.
func (e *Engine) SendFiring(to Sink, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var ns []Notification
	for _, a := range e.machine.Alerts() {
		if a.State == Firing {
			n, _ := e.notification(a, now)
			ns = append(ns, n)
		}
	}
	if len(ns) > 0 {
		to.Enqueue(ns)
	}
}

func (e *Engine) send(ns []Notification) {
	if len(ns) > 0 && e.sink != nil {
		e.sink.Enqueue(ns)
	}
}

// Run ticks every tick until ctx ends.
func (e *Engine) Run(ctx context.Context, tick time.Duration) {
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			e.Tick(now)
		}
	}
}

// Alerts returns the pending and firing alerts.
func (e *Engine) Alerts() []Alert {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.machine.Alerts()
}

// Collector exports socmond_alerts{alertname,state},
// socmond_notifications_total{result}, socmond_notifications_dropped_total,
// socmond_notification_queue_length and socmond_alerting_direct. Register it on the daemon's
// registry.
func (e *Engine) Collector() prometheus.Collector { return (*collector)(e) }

var (
	alertsDesc = prometheus.NewDesc("socmond_alerts",
		"Alerts of the in-daemon rules by state (pending, firing).", []string{"alertname", "state"}, nil)
	notificationsDesc = prometheus.NewDesc("socmond_notifications_total",
		"Alerts posted to Alertmanager, by result (success, failure); each retry counts again.", []string{"result"}, nil)
	droppedDesc = prometheus.NewDesc("socmond_notifications_dropped_total",
		"Alert notifications dropped because a full queue made room for newer ones.", nil, nil)
	queueDesc = prometheus.NewDesc("socmond_notification_queue_length",
		"Alert notifications waiting for delivery, over all Alertmanagers.", nil, nil)
	directDesc = prometheus.NewDesc("socmond_alerting_direct",
		"1 while socmond sends its own alerts to at least one Alertmanager (alerting.alertmanagers): the shipped Prometheus rules for the same alerts then stand down, so one incident is one page.", nil, nil)
)

// knownAlerts are always exported, at 0 when none is pending or firing,
// so a dashboard or rule sees 0 rather than no data.
var knownAlerts = []string{AlertSlowResponse, AlertHighErrorRate, AlertLowAvailability, AlertBacklog, AlertComplianceViolation, AlertComplianceCheckUnknown}

type collector Engine

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- alertsDesc
	ch <- notificationsDesc
	ch <- droppedDesc
	ch <- queueDesc
	ch <- directDesc
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	e := (*Engine)(c)
	counts := map[[2]string]float64{}
	for _, name := range knownAlerts {
		counts[[2]string{name, string(Pending)}] = 0
		counts[[2]string{name, string(Firing)}] = 0
	}
	for _, a := range e.Alerts() {
		counts[[2]string{a.Name(), string(a.State)}]++
	}
	for _, k := range keysOf(counts) {
		ch <- prometheus.MustNewConstMetric(alertsDesc, prometheus.GaugeValue, counts[k], k[0], k[1])
	}
	e.out.mu.Lock()
	s, f, d := e.out.success, e.out.failure, e.out.dropped
	e.out.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(notificationsDesc, prometheus.CounterValue, s, "success")
	ch <- prometheus.MustNewConstMetric(notificationsDesc, prometheus.CounterValue, f, "failure")
	ch <- prometheus.MustNewConstMetric(droppedDesc, prometheus.CounterValue, d)
	q := 0
	if e.sink != nil {
		q = e.sink.QueueLength()
	}
	ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, float64(q))
	direct := false
	if n, ok := e.sink.(interface{ Alertmanagers() int }); ok {
		direct = n.Alertmanagers() > 0
	}
	ch <- prometheus.MustNewConstMetric(directDesc, prometheus.GaugeValue, b2f(direct))
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func keysOf(m map[[2]string]float64) [][2]string {
	keys := make([][2]string, 0, len(m))
	for k := range maps.Keys(m) {
		keys = append(keys, k)
	}
	return keys
}
