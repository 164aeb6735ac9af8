package monitor

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/socmond/socmond/internal/awsclient"
	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/probes"
	"github.com/socmond/socmond/internal/server"
)

// ChecksFromConfig turns the configured targets into scheduled probes,
// each with the region of the clients it calls through (a reload that
// changes the region replaces the checks: Apply). The billed Bedrock
// runtime probes are the leader's alone: its checks exist only while
// leading, and gate (nil: none) is asked again before each call.
//
// A target of a tenant's pipeline (config's tenants:) is probed through
// the clients of its account's role in its region (Clients.Assume: one
// credentials cache per role, so a role that cannot be assumed fails only
// its own account's probes, as auth, and never waits on another's).
func ChecksFromConfig(cfg *config.Config, c *awsclient.Clients, leading bool, gate func() bool) ([]Check, error) {
	var checks []Check
	for _, t := range cfg.Targets() {
		pc, err := cfg.ClientsAt(c, t.Place)
		if err != nil {
			return nil, err
		}
		p, err := probes.New(t.Service, t.Probe(), pc)
		if err != nil {
			return nil, err
		}
		checks = append(checks, Check{Target: t, Probe: probes.Placed(p, t.Place), Region: pc.Config.Region, clients: pc})
	}
	if !leading {
		return checks, nil
	}
	for _, t := range cfg.RuntimeTargets() {
		pc, err := cfg.ClientsAt(c, t.Place)
		if err != nil {
			return nil, err
		}
		p, err := probes.NewRuntime(t.Service, t.Resource, pc, cfg.RuntimeMaxTokens(t.Service))
		if err != nil {
			return nil, err
		}
		checks = append(checks, Check{Target: t, Probe: probes.Placed(p, t.Place), Region: pc.Config.Region, Gate: gate, clients: pc})
	}
	return checks, nil
}

// RunOnce runs every check once, a few at a time, and returns the results
// in the order of the checks (`socmond validate`).
func RunOnce(ctx context.Context, checks []Check) []probes.Result {
	results := make([]probes.Result, len(checks))
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			results[i] = probes.Run(ctx, c.Probe, probes.Options{Timeout: c.Target.Timeout, SlowThreshold: c.Target.ResponseTimeThreshold})
		}()
	}
	wg.Wait()
	return results
}

// CheckSetOptions configure a CheckSet.
type CheckSetOptions struct {
	Monitor *Monitor
	Config  *config.Config
	Clients *awsclient.Clients
	Leading bool        // this replica leads at the start
	Gate    func() bool // asked before each billed call (the leader's runtime checks)
	// NewClients builds the clients of another region (a reload that
	// changes the region).
	NewClients func(region string) (*awsclient.Clients, error)
}

// CheckSet is the probe checks in force: the config's targets, plus the
// billed Bedrock runtime targets while this replica leads. A reload
// (Check, then Apply) and a change of leadership (Lead) both rebuild it;
// checks that did not change keep their windows (Monitor.Apply).
type CheckSet struct {
	o CheckSetOptions

	mu      sync.Mutex
	cfg     *config.Config
	clients *awsclient.Clients
	leading bool
	next    *builtChecks // Check's, for Apply
	// settings are the targets' settings in force by resource, swapped
	// whole (the status page's thresholds, the stalled gauge).
	settings atomic.Pointer[map[probes.Target]config.Target]
}

type builtChecks struct {
	cfg     *config.Config
	clients *awsclient.Clients
	leading bool
	checks  []Check
}

// NewCheckSet builds the checks of o.Config and puts them in force.
func NewCheckSet(o CheckSetOptions) (*CheckSet, error) {
	s := &CheckSet{o: o, leading: o.Leading}
	checks, err := s.build(o.Config, o.Clients, o.Leading)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s, s.applyLocked(checks, o.Config, o.Clients)
}

func (s *CheckSet) build(cfg *config.Config, clients *awsclient.Clients, leading bool) ([]Check, error) {
	return ChecksFromConfig(cfg, clients, leading, s.o.Gate)
}

// applyLocked puts checks in force for cfg and clients; s.mu is held.
func (s *CheckSet) applyLocked(checks []Check, cfg *config.Config, clients *awsclient.Clients) error {
	if err := s.o.Monitor.Apply(checks); err != nil {
		return fmt.Errorf("applying checks: %w", err)
	}
	s.cfg, s.clients = cfg, clients
	// The checks just replaced held the last of the clients of roles and
	// regions the config no longer names (an account whose role, external
	// id, session name or regions changed): drop them and their role
	// sessions. Every place of the config keeps its own, which compliance
	// and the workflow share with the checks.
	keep := make([]*awsclient.Clients, 0, len(checks))
	for _, p := range cfg.Places() {
		if pc, err := cfg.ClientsAt(clients, p); err == nil {
			keep = append(keep, pc)
		}
	}
	for _, c := range checks {
		keep = append(keep, c.clients)
	}
	clients.Retain(keep...)
	m := make(map[probes.Target]config.Target, len(checks))
	for _, c := range checks {
		m[c.Probe.Target()] = c.Target
	}
	s.settings.Store(&m)
	return nil
}

// Len is how many checks are in force.
func (s *CheckSet) Len() int { return len(*s.settings.Load()) }

// Clients are the clients cfg runs on: those in force, or, when cfg
// names another region, new ones for it (its resources are other
// resources: every check is then replaced).
func (s *CheckSet) Clients(cfg *config.Config) (*awsclient.Clients, error) {
	s.mu.Lock()
	cur, clients := s.cfg, s.clients
	s.mu.Unlock()
	if cfg.Region == cur.Region {
		return clients, nil
	}
	c, err := s.o.NewClients(cfg.Region)
	if err != nil {
		return nil, fmt.Errorf("AWS clients for region %s: %w", cfg.Region, err)
	}
	return c, nil
}

// Check builds the checks of cfg on clients; Apply puts them in force.
func (s *CheckSet) Check(cfg *config.Config, clients *awsclient.Clients) error {
	s.mu.Lock()
	leading := s.leading
	s.mu.Unlock()
	checks, err := s.build(cfg, clients, leading)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.next = &builtChecks{cfg: cfg, clients: clients, leading: leading, checks: checks}
	s.mu.Unlock()
	return nil
}

// Apply puts the checks Check built in force. Leadership that changed
// in between is honoured: the checks are built again for it.
func (s *CheckSet) Apply(cfg *config.Config, clients *awsclient.Clients) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.next
	s.next = nil
	if b == nil || b.cfg != cfg || b.clients != clients || b.leading != s.leading {
		checks, err := s.build(cfg, clients, s.leading)
		if err != nil {
			return err
		}
		b = &builtChecks{checks: checks}
	}
	return s.applyLocked(b.checks, cfg, clients)
}

// Lead adds or removes the leader-only checks. A runtime target removed
// loses its window and series, and its alerts resolve
// (Engine.Removed): nothing on this replica evaluates them any more.
func (s *CheckSet) Lead(leading bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.leading == leading {
		return nil
	}
	s.leading = leading
	checks, err := s.build(s.cfg, s.clients, leading)
	if err != nil {
		return err
	}
	return s.applyLocked(checks, s.cfg, s.clients)
}

// Target returns the settings in force of a resource's check.
func (s *CheckSet) Target(t probes.Target) (config.Target, bool) {
	c, ok := (*s.settings.Load())[t]
	return c, ok
}

// Thresholds are what the status page shows next to a resource: the
// settings of its check in force.
func (s *CheckSet) Thresholds(t probes.Target) (server.Thresholds, bool) {
	c, ok := s.Target(t)
	if !ok {
		return server.Thresholds{}, false
	}
	return server.Thresholds{
		ResponseTime: c.ResponseTimeThreshold, ErrorRate: c.ErrorRateThreshold, Availability: c.AvailabilityThreshold,
		ErrorWindow: c.ErrorRateWindow, AvailabilityWindow: c.AvailabilityWindow, Schedule: c.Schedule,
	}, true
}

// Stalled counts the resources whose latest result is older than three of
// their probe intervals, so a scheduler that stopped running them (stuck,
// starved of slots) is seen although every status still reads as it did.
func (s *CheckSet) Stalled(now time.Time) int {
	n := 0
	for _, sn := range s.o.Monitor.Snapshots(now) {
		c, ok := s.Target(sn.Target)
		if !ok || sn.Last.Start.IsZero() {
			continue
		}
		if iv := config.Interval(c.Schedule); iv > 0 && now.Sub(sn.Last.Start) > 3*iv {
			n++
		}
	}
	return n
}

// StalledGauge is socmond_probes_stalled (SocmondProbesStalled).
func (s *CheckSet) StalledGauge() prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "socmond_probes_stalled",
		Help: "Resources with no probe result for three of their probe intervals.",
	}, func() float64 { return float64(s.Stalled(time.Now())) })
}
