package monitor_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/rs/zerolog"

	"github.com/socmond/socmond/internal/alerting"
	"github.com/socmond/socmond/internal/awsclient"
	"github.com/socmond/socmond/internal/awssim"
	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/metrics"
	"github.com/socmond/socmond/internal/monitor"
	"github.com/socmond/socmond/internal/probes"
	"github.com/socmond/socmond/internal/scheduler"
	"github.com/socmond/socmond/internal/server"
	"github.com/socmond/socmond/internal/testenv"
)

// Three accounts in two regions each, one tenant's pipelines in each
// account. Account 333333333333's trust policy wants another external id
// than the one configured: its role cannot be assumed.
const accountsConfig = `
region: us-east-1
tenant: soc
defaults:
  schedule: "@every 1s"
  timeout: 5s
  windows: {error_rate: 4s, availability: 10s}
accounts:
  - id: "111111111111"
    role_arn: arn:aws:iam::111111111111:role/socmond-monitor
    external_id: ext-acme
    regions: [us-east-1, eu-west-1]
  - id: "222222222222"
    role_arn: arn:aws:iam::222222222222:role/socmond-monitor
    regions: [us-east-1, eu-west-1]
  - id: "333333333333"
    role_arn: arn:aws:iam::333333333333:role/socmond-monitor
    external_id: ext-wrong
    regions: [us-east-1, eu-west-1]
tenants:
  - name: acme
    pipelines: [{account: "111111111111"}]
  - name: beta
    pipelines: [{account: "222222222222"}]
  - name: gamma
    pipelines: [{account: "333333333333"}]
services:
  dynamodb:
    resources: [{name: investigations}]
  lambda:
    resources: [{name: "analyze-${tenant}-${region}"}]
  s3:
    resources: [{name: "soc-artifacts-${account_id}-${region}"}]
`

var accountRoles = []awssim.Role{
	{ARN: "arn:aws:iam::111111111111:role/socmond-monitor", ExternalID: "ext-acme"},
	{ARN: "arn:aws:iam::111111111111:role/socmond-monitor-v2", ExternalID: "ext-acme"},
	{ARN: "arn:aws:iam::222222222222:role/socmond-monitor"},
	{ARN: "arn:aws:iam::333333333333:role/socmond-monitor", ExternalID: "ext-gamma"},
}

// accountsRun is the daemon's core running a config of several accounts
// against the simulator, each account and region seeded with its
// pipeline's resources.
type accountsRun struct {
	cfg     *config.Config
	targets []config.Target
	sim     *awssim.Sim
	clients *awsclient.Clients
	mon     *monitor.Monitor
	m       *metrics.Metrics
	engine  *alerting.Engine
	cs      *monitor.CheckSet
	start   time.Time
}

// startAccounts starts the checks of config text (18 targets: three
// accounts, two regions, three services) on a simulator that setup (nil:
// none) has set up, with faults or a credential lifetime, before the start.
func startAccounts(t *testing.T, text string, setup func(*awssim.Sim)) *accountsRun {
	t.Helper()
	r := startAccountsWith(t, text, scheduler.Options{}, setup)
	if len(r.targets) != 3*2*3 {
		t.Fatalf("%d targets, want 18", len(r.targets))
	}
	return r
}

// startAccountsWith is startAccounts with the monitor's scheduler options
// and any number of targets.
func startAccountsWith(t *testing.T, text string, so scheduler.Options, setup func(*awssim.Sim)) *accountsRun {
	t.Helper()
	r := &accountsRun{}
	var err error
	r.cfg, err = config.Parse("accounts.yaml", []byte(text), nil)
	if err != nil {
		t.Fatal(err)
	}
	r.targets = r.cfg.Targets()
	// Each account and region holds its pipeline's resources, under the
	// names the template gives them there; the table has the same name
	// everywhere.
	seed := awssim.Seed{Roles: accountRoles}
	for _, p := range r.cfg.Pipelines() {
		sc := awssim.Seed{AccountID: p.Account, Region: p.Region}
		for _, tg := range r.targets {
			if tg.Place == p {
				if err := sc.Add(tg.Service, tg.Resource); err != nil {
					t.Fatal(err)
				}
			}
		}
		seed.Scopes = append(seed.Scopes, sc)
	}
	var url string
	r.sim, url = awssim.Serve(t, seed)
	if setup != nil {
		setup(r.sim)
	}
	r.clients, err = awsclient.New(context.Background(), awsclient.Options{Region: r.cfg.Region, Endpoint: url,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDSIM", "secret", "")})
	if err != nil {
		t.Fatal(err)
	}
	r.m = metrics.New("test", "abc")
	r.mon = monitor.New(monitor.Options{Logger: zerolog.New(io.Discard), Metrics: r.m, Scheduler: so})
	r.engine = alerting.NewEngine(alerting.SettingsFromConfig(r.cfg), time.Minute, nil)
	r.mon.Subscribe(r.engine.Observe)
	r.cs, err = monitor.NewCheckSet(monitor.CheckSetOptions{Monitor: r.mon, Config: r.cfg, Clients: r.clients})
	if err != nil {
		t.Fatal(err)
	}
	r.start = time.Now()
	r.mon.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = r.mon.Stop(ctx)
	})
	return r
}

// TestHangingSTSDelaysOnlyItsAccount: STS does not answer for one
// account's role; that account's resources wait for it, and are auth, with
// a hint naming the role and saying STS did not answer, whichever gives up
// first: AssumeRole's own bound (10 s, within a 15 s probe deadline) or
// the probe's deadline (2 s). Every other account's resources are probed
// at once and on schedule meanwhile.
func TestHangingSTSDelaysOnlyItsAccount(t *testing.T) {
	const hung, hungAccount = "arn:aws:iam::222222222222:role/socmond-monitor", "222222222222"
	for _, tc := range []struct{ name, timeout string }{
		{"AssumeRole's bound first", "15s"},
		{"the probe's deadline first", "2s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := strings.NewReplacer("ext-wrong", "ext-gamma", "timeout: 5s", "timeout: "+tc.timeout).Replace(accountsConfig)
			r := startAccounts(t, text, func(sim *awssim.Sim) {
				sim.AddFault(awssim.Fault{Service: "sts", Resource: hung, Latency: "1h"})
			})
			// Four scheduled rounds of every other account's resources before
			// AssumeRole of the hung role has even given up.
			testenv.Eventually(t, "the other accounts' first rounds", func() bool {
				for _, tg := range r.targets {
					if tg.Place.Account == hungAccount {
						continue
					}
					if s, ok := r.mon.Snapshot(tg.ID(), time.Now()); !ok || s.Last.Status != probes.Healthy || len(s.History) < 4 {
						return false
					}
				}
				return true
			})
			if d := time.Since(r.start); d > 8*time.Second {
				t.Errorf("the other accounts' first four rounds took %s", d)
			}
			testenv.Eventually(t, "the hung role's resources to be auth", func() bool {
				for _, tg := range r.targets {
					if tg.Place.Account != hungAccount {
						continue
					}
					if s, ok := r.mon.Snapshot(tg.ID(), time.Now()); !ok || s.Last.Class == "" {
						return false
					}
				}
				return true
			})
			for _, tg := range r.targets {
				if tg.Place.Account != hungAccount {
					continue
				}
				s, _ := r.mon.Snapshot(tg.ID(), time.Now())
				if s.Last.Class != probes.ClassAuth || !strings.Contains(s.Last.Hint, hung) || !strings.Contains(s.Last.Hint, "STS did not answer") {
					t.Errorf("%s: class %q, hint %q; want auth naming %s and saying STS did not answer", tg.ID(), s.Last.Class, s.Last.Hint, hung)
				}
			}
		})
	}
}

// TestAccountsAndRegions runs the daemon's checks of a config with three
// accounts in two regions against the simulator: every resource is probed
// with its account's role in its pipeline's region (the simulator serves
// each account and region its own resources, and records who signed for
// where), the account whose role cannot be assumed is auth, with a hint
// naming the role, while the others are healthy, each role is assumed once,
// and /metrics, /api/v1/status and the alerts say tenant, account and
// region.
func TestAccountsAndRegions(t *testing.T) {
	r := startAccounts(t, accountsConfig, nil)
	cfg, targets, sim, clients, mon, m, engine, cs, start := r.cfg, r.targets, r.sim, r.clients, r.mon, r.m, r.engine, r.cs, r.start
	testenv.Eventually(t, "every resource's first result", mon.Ready)

	roleOf := map[string]string{}
	for _, a := range cfg.Accounts {
		roleOf[a.ID] = a.RoleARN
	}
	const bad = "333333333333"
	for _, tg := range targets {
		s, ok := mon.Snapshot(tg.ID(), time.Now())
		if !ok {
			t.Fatalf("%s has no snapshot", tg.ID())
		}
		if tg.Place.Account == bad {
			if s.Last.Class != probes.ClassAuth || !strings.Contains(s.Last.Hint, roleOf[bad]) || !strings.Contains(s.Last.Hint, "trust policy") {
				t.Errorf("%s: class %q, hint %q; want auth naming %s and its trust policy", tg.ID(), s.Last.Class, s.Last.Hint, roleOf[bad])
			}
			continue
		}
		if s.Last.Status != probes.Healthy {
			t.Errorf("%s: %s (%s %s: %s)", tg.ID(), s.Last.Status, s.Last.Class, s.Last.Code, s.Last.Detail)
		}
	}

	// Every call for a resource was signed by its account's role for its
	// pipeline's region (the simulator says whose credentials signed for
	// which scope), and none for the unassumable account reached AWS.
	probed := map[probes.Target]bool{}
	for _, c := range sim.Calls() {
		if c.Service == "sts" {
			continue
		}
		if c.Role == "" || c.Account == bad {
			t.Errorf("call %s %s %s signed by %q for account %q: want an assumed role of a good account", c.Service, c.Operation, c.Resource, c.Role, c.Account)
			continue
		}
		if roleOf[c.Account] != c.Role {
			t.Errorf("call %s %s in account %s signed by %s", c.Service, c.Operation, c.Account, c.Role)
		}
		for _, tg := range targets {
			if tg.Place.Account == c.Account && tg.Place.Region == c.Region && tg.Service == c.Service && strings.HasSuffix(tg.Resource, c.Resource) {
				probed[tg.ID()] = true
			}
		}
	}
	for _, tg := range targets {
		if tg.Place.Account != bad && !probed[tg.ID()] {
			t.Errorf("%s was never probed in its account and region", tg.ID())
		}
	}

	// One AssumeRole per role, however many regions and services use it;
	// the refused one at most once per held failure (5 s).
	for _, a := range cfg.Accounts {
		n := sim.AssumeRoleCount(a.RoleARN)
		limit := 1
		if a.ID == bad {
			limit = 1 + int(time.Since(start)/(5*time.Second))
		}
		if n < 1 || n > limit {
			t.Errorf("AssumeRole of %s: %d calls, want 1 to %d", a.RoleARN, n, limit)
		}
	}

	// /metrics: a placed resource's series carry its tenant, account and
	// region; the same table name in each account is a series of its own.
	text := testenv.Scrape(m.Handler(zerolog.Nop()))
	for _, tg := range targets {
		status := "healthy"
		if tg.Place.Account == bad {
			status = "unavailable"
		}
		labels := testenv.Labels("service", tg.Service, "resource", tg.Resource, "status", status,
			"tenant", tg.Place.Tenant, "account", tg.Place.Account, "region", tg.Place.Region)
		if v := testenv.MetricValue(t, text, "socmond_service_status", labels); v != 1 {
			t.Errorf("socmond_service_status%v = %v, want 1", labels, v)
		}
	}

	// /api/v1/status says where each resource is.
	ts := httptest.NewServer(server.New(server.Options{Source: mon, Logger: zerolog.Nop()}).Handler())
	t.Cleanup(ts.Close)
	resp, err := ts.Client().Get(ts.URL + "/api/v1/status")
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Data struct {
			Resources []struct {
				Service, Resource, Tenant, Account, Region string
				Status                                     probes.Status
			} `json:"resources"`
		} `json:"data"`
	}
	err = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	listed := map[probes.Target]bool{}
	for _, r := range st.Data.Resources {
		listed[probes.Target{Service: r.Service, Resource: r.Resource, Place: probes.Place{Tenant: r.Tenant, Account: r.Account, Region: r.Region}}] = true
	}
	for _, tg := range targets {
		if !listed[tg.ID()] {
			t.Errorf("/api/v1/status does not list %s", tg.ID())
		}
	}

	// The unassumable account's resources page, each alert with its
	// tenant, account and region; no other account's does.
	testenv.Eventually(t, "gamma's error-rate alerts", func() bool {
		n := 0
		for _, a := range engine.Alerts() {
			if a.Labels["alertname"] == alerting.AlertHighErrorRate && a.State == alerting.Firing {
				n++
			}
		}
		return n == 6
	})
	for _, a := range engine.Alerts() {
		if a.Labels["account"] != bad || a.Labels["tenant"] != "gamma" || (a.Labels["region"] != "us-east-1" && a.Labels["region"] != "eu-west-1") {
			t.Errorf("alert %v: want only gamma's, with its account and region", a.Labels)
		}
	}

	// A reload with gamma's right external id: its checks get the new
	// role session's clients and recover, keeping their windows, as do
	// the other accounts' checks, which did not change.
	acmeTable := targets[0].ID()
	reloaded := time.Now()
	fixed, err := config.Parse("accounts.yaml", []byte(strings.Replace(accountsConfig, "ext-wrong", "ext-gamma", 1)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := cs.Check(fixed, clients); err != nil {
		t.Fatal(err)
	}
	if err := cs.Apply(fixed, clients); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "gamma's resources to recover after the reload", func() bool {
		for _, tg := range targets {
			if s, _ := mon.Snapshot(tg.ID(), time.Now()); s.Last.Status != probes.Healthy {
				return false
			}
		}
		return true
	})
	for _, tg := range []probes.Target{acmeTable, targets[len(targets)-1].ID()} {
		if s, _ := mon.Snapshot(tg, time.Now()); len(s.History) == 0 || !s.History[0].Start.Before(reloaded) {
			t.Errorf("%s: its history starts after the reload: its window started anew", tg)
		}
	}
	if n := sim.AssumeRoleCount(roleOf["111111111111"]); n != 1 {
		t.Errorf("acme's role assumed %d times after a reload that did not change it", n)
	}
}

// TestRegionOutageDelaysOnlyItsRegion: every call in eu-west-1 hangs past
// the probes' deadline; us-east-1's resources, in the same accounts, are
// probed on schedule meanwhile, and eu-west-1's time out. (At this scale
// the scheduler's slots are plenty; TestRegionOutageHoldsOnlyItsShare has
// more hanging resources than slots.)
func TestRegionOutageDelaysOnlyItsRegion(t *testing.T) {
	text := strings.NewReplacer("ext-wrong", "ext-gamma", "timeout: 5s", "timeout: 2s").Replace(accountsConfig)
	r := startAccounts(t, text, func(sim *awssim.Sim) {
		for _, svc := range []string{"dynamodb", "lambda", "s3"} {
			sim.AddFault(awssim.Fault{Service: svc, Region: "eu-west-1", Latency: "1h"})
		}
	})
	testenv.Eventually(t, "us-east-1's rounds and eu-west-1's timeouts", func() bool {
		for _, tg := range r.targets {
			s, ok := r.mon.Snapshot(tg.ID(), time.Now())
			switch {
			case !ok:
				return false
			case tg.Place.Region == "us-east-1" && (s.Last.Status != probes.Healthy || len(s.History) < 4):
				return false
			case tg.Place.Region == "eu-west-1" && s.Last.Class != probes.ClassTimeout:
				return false
			}
		}
		return true
	})
	if d := time.Since(r.start); d > 8*time.Second {
		t.Errorf("us-east-1's first four rounds took %s", d)
	}
}
