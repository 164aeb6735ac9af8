package monitor_test

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/socmond/socmond/internal/awsclient"
	"github.com/socmond/socmond/internal/awssim"
	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/probes"
	"github.com/socmond/socmond/internal/testenv"
)

// TestOneAssumeRolePerCredentialLifetime is the daemon's checks of three
// accounts in two regions, six resources per role probed every second,
// over several lifetimes of their credentials: each role is assumed once
// per lifetime, refreshed ahead of expiry, never once per probe or once
// per region. Time is compressed, not faked (the SDK's credentials cache
// reads the real clock): the simulator issues 12 s sessions where AWS
// issues the hour socmond asks for, and the cache's refresh window shrinks
// with them (4 to 5 minutes of an hour: 0.8 to 1 s of 12 s), so a 26.5 s
// run is what 2.2 hours of a real run are: three sessions per role, where
// a 10-minute run is one.
func TestOneAssumeRolePerCredentialLifetime(t *testing.T) {
	const lifetime = 12 * time.Second
	const run = 26500 * time.Millisecond
	// What the count must be. A session lasts lifetime from its answer,
	// less up to a second (STS's Expiration is to the second) and the
	// answer's way back (allowed 0.5 s); the cache refreshes it 5/60 to
	// 4/60 of that before its end, at the role's first call once it may:
	// the next round of its resources, within a second here (never after
	// the adjusted expiry: the cache refreshes before signing). So the
	// next AssumeRole comes eMin to eMax after one, and the run (timed
	// from a role's first) pins the count.
	minLife := lifetime - 1500*time.Millisecond
	eMin := minLife - minLife*5/60
	eMax := lifetime - lifetime*4/60 + time.Second
	want := int(math.Ceil(float64(run) / float64(eMin)))
	if time.Duration(want-1)*eMax >= run || want < 3 {
		t.Fatalf("a %s run with sessions refreshed every %s to %s does not pin the count at several lifetimes", run, eMin, eMax)
	}

	text := strings.Replace(accountsConfig, "ext-wrong", "ext-gamma", 1)
	r := startAccounts(t, text, func(sim *awssim.Sim) { sim.SetCredentialLifetime(lifetime) })
	assumed := func(role string) []time.Time {
		var at []time.Time
		for _, c := range r.sim.Calls() {
			if c.Service == "sts" && c.Operation == "AssumeRole" && c.Resource == role {
				at = append(at, c.At)
			}
		}
		return at
	}
	var end time.Time // the latest role's first AssumeRole, plus the run
	testenv.Eventually(t, "every role's first AssumeRole", func() bool {
		for _, a := range r.cfg.Accounts {
			at := assumed(a.RoleARN)
			if len(at) == 0 {
				return false
			}
			end = latest(end, at[0].Add(run))
		}
		return true
	})
	time.Sleep(time.Until(end) + 500*time.Millisecond) // the run, compressed: see above

	for _, a := range r.cfg.Accounts {
		at := assumed(a.RoleARN)
		stop := at[0].Add(run)
		n := 0
		for i, t0 := range at {
			if t0.Before(stop) {
				n++
			}
			if i > 0 && t0.Sub(at[i-1]) < eMin && n <= want+1 {
				t.Errorf("%s assumed again %s after its last AssumeRole, before its credentials' refresh window (%s)",
					a.RoleARN, t0.Sub(at[i-1]), eMin)
			}
		}
		var gaps []string
		for i := 1; i < len(at); i++ {
			gaps = append(gaps, at[i].Sub(at[i-1]).Round(10*time.Millisecond).String())
		}
		t.Logf("%s: AssumeRole %d times, %v apart", a.RoleARN, len(at), gaps)
		if n != want {
			t.Errorf("%s: %d AssumeRole calls in a %s run of %s sessions, want %d = ceil(%s / %s)", a.RoleARN, n, run, lifetime, want, run, eMin)
		}
	}

	// Every call was answered: no probe signed with credentials that had
	// expired (the simulator refuses them), and the checks are healthy.
	probed := map[string]int{}
	for _, c := range r.sim.Calls() {
		if c.Service == "sts" {
			continue
		}
		probed[c.Role]++
		if c.Status >= 300 {
			t.Errorf("%s %s %s in %s, signed by %s: %d %s", c.Service, c.Operation, c.Resource, c.Region, c.Role, c.Status, c.Fault)
		}
	}
	for _, a := range r.cfg.Accounts {
		if probed[a.RoleARN] < 20*want { // never one AssumeRole per probe: six resources a second
			t.Errorf("%s signed %d calls", a.RoleARN, probed[a.RoleARN])
		}
	}
	for _, tg := range r.targets {
		if s, _ := r.mon.Snapshot(tg.ID(), time.Now()); s.Last.Status != probes.Healthy {
			t.Errorf("%s: %s (%s: %s)", tg.ID(), s.Last.Status, s.Last.Class, s.Last.Detail)
		}
	}
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// TestReloadChangesAccountRoles reloads the accounts' roles, session names,
// external ids and regions: each account's probes move to the clients of
// its new role session, the clients and sessions of the old ones are
// dropped (twenty reloads leave as many as one), and an external id its
// role's trust policy refuses makes only that account's resources auth.
func TestReloadChangesAccountRoles(t *testing.T) {
	const (
		acmeRole = "arn:aws:iam::111111111111:role/socmond-monitor"
		acmeV2   = "arn:aws:iam::111111111111:role/socmond-monitor-v2"
		betaRole = "arn:aws:iam::222222222222:role/socmond-monitor"
	)
	good := strings.Replace(accountsConfig, "ext-wrong", "ext-gamma", 1)
	r := startAccounts(t, good, nil)
	testenv.Eventually(t, "every resource's first result", r.mon.Ready)
	reload := func(text string) *config.Config {
		t.Helper()
		cfg, err := config.Parse("accounts.yaml", []byte(text), nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.cs.Check(cfg, r.clients); err != nil {
			t.Fatal(err)
		}
		if err := r.cs.Apply(cfg, r.clients); err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	// held is what Assume holds after a reload: one set of clients per
	// account and region of the config, each of the config's role session.
	held := func(cfg *config.Config) {
		t.Helper()
		var want, got []string
		for _, a := range cfg.Accounts {
			for _, region := range []string{"us-east-1", "eu-west-1"} {
				if len(a.Regions) == 0 || slices.Contains(a.Regions, region) {
					session := a.SessionName
					if session == "" {
						session = awsclient.DefaultSessionName
					}
					want = append(want, fmt.Sprintf("%s %s %s %v", a.RoleARN, session, region, a.ExternalID != ""))
				}
			}
		}
		for _, a := range r.clients.Assumptions() {
			got = append(got, fmt.Sprintf("%s %s %s %v", a.RoleARN, a.SessionName, a.Region, a.ExternalID != ""))
		}
		if slices.Sort(want); !slices.Equal(slices.Sorted(slices.Values(got)), want) {
			t.Errorf("clients held after the reload:\n%s\nwant\n%s", strings.Join(slices.Sorted(slices.Values(got)), "\n"), strings.Join(want, "\n"))
		}
	}
	// signedSince is who signed the calls to an account since t.
	signedSince := func(account string, since time.Time) map[string]int {
		by := map[string]int{}
		for _, c := range r.sim.Calls() {
			if c.Service != "sts" && c.Account == account && !c.At.Before(since) {
				by[c.Role]++
			}
		}
		return by
	}
	healthy := func(what string, except string) {
		t.Helper()
		testenv.Eventually(t, what, func() bool {
			for _, tg := range r.targets {
				if s, _ := r.mon.Snapshot(tg.ID(), time.Now()); tg.Place.Account != except && s.Last.Status != probes.Healthy {
					return false
				}
			}
			return true
		})
	}

	// acme's role renamed: its probes sign with the new role, and the
	// old role's clients and session are gone.
	cfg := reload(strings.Replace(good, "role_arn: "+acmeRole, "role_arn: "+acmeV2, 1))
	held(cfg)
	moved := time.Now()
	testenv.Eventually(t, "acme's calls signed by its new role", func() bool { return signedSince("111111111111", moved)[acmeV2] >= 6 })
	// A round begun before the apply may still sign with the old role;
	// the rounds after it do not.
	after := time.Now()
	testenv.Eventually(t, "a round of acme's calls after that", func() bool { return signedSince("111111111111", after)[acmeV2] >= 12 })
	if by := signedSince("111111111111", after); by[acmeRole] != 0 {
		t.Errorf("acme's calls after the reload, by role: %v", by)
	}
	healthy("every resource healthy on acme's new role", "")

	// beta's session name changed twenty times: a session each, and only
	// the last one's clients held.
	withSession := func(text string, i int) string {
		return strings.Replace(text, "role_arn: "+betaRole+"\n", fmt.Sprintf("role_arn: %s\n    session_name: audit-%d\n", betaRole, i), 1)
	}
	before := r.sim.AssumeRoleCount(betaRole)
	for i := range 20 {
		cfg = reload(withSession(strings.Replace(good, "role_arn: "+acmeRole, "role_arn: "+acmeV2, 1), i))
		held(cfg)
		testenv.Eventually(t, "beta's new session", func() bool { return r.sim.AssumeRoleCount(betaRole) == before+i+1 })
	}
	healthy("every resource healthy after beta's sessions", "")

	// gamma's external id no longer matches its trust policy, and acme
	// leaves eu-west-1: gamma's resources are auth, naming its role, and
	// every other account's are probed as before.
	text := strings.Replace(good, "role_arn: "+acmeRole, "role_arn: "+acmeV2, 1)
	text = strings.Replace(text, "ext-gamma", "ext-rotated", 1)
	text = strings.Replace(text, "regions: [us-east-1, eu-west-1]", "regions: [us-east-1]", 1)
	cfg = reload(text)
	held(cfg)
	r.targets = cfg.Targets()
	const gamma, gammaRole = "333333333333", "arn:aws:iam::333333333333:role/socmond-monitor"
	testenv.Eventually(t, "gamma's resources auth", func() bool {
		for _, tg := range r.targets {
			if s, _ := r.mon.Snapshot(tg.ID(), time.Now()); tg.Place.Account == gamma && s.Last.Class != probes.ClassAuth {
				return false
			}
		}
		return true
	})
	for _, tg := range r.targets {
		s, _ := r.mon.Snapshot(tg.ID(), time.Now())
		if tg.Place.Account == gamma && (!strings.Contains(s.Last.Hint, gammaRole) || !strings.Contains(s.Last.Hint, "external id")) {
			t.Errorf("%s: hint %q, want one naming %s and its external id", tg.ID(), s.Last.Hint, gammaRole)
		}
		if strings.Contains(s.Last.Hint+s.Last.Detail, "ext-rotated") {
			t.Errorf("%s shows the external id: %q %q", tg.ID(), s.Last.Hint, s.Last.Detail)
		}
	}
	healthy("the other accounts healthy", gamma)
	if n := len(r.targets); n != 15 {
		t.Errorf("%d targets after acme left eu-west-1, want 15", n)
	}
}
