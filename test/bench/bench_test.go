package main

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/socmond/socmond/internal/config"
)

// The harness runs only under `make bench`; these check its pure parts so
// that `make test` keeps it correct and compiling.

func TestParseStatCPU(t *testing.T) {
	// The command name may hold spaces and parentheses.
	stat := "1234 (socmond (x) y) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 12 0 100 1000000 2000 18446744073709551615"
	got, err := parseStatCPU(stat)
	if err != nil || got != 325 {
		t.Fatalf("parseStatCPU = %d, %v; want 325 (utime 250 + stime 75)", got, err)
	}
	if _, err := parseStatCPU("1234 (x) S 1 2"); err == nil {
		t.Error("a truncated stat line parsed")
	}
	// This process's own stat line must parse too.
	self, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parseStatCPU(string(self)); err != nil {
		t.Errorf("/proc/self/stat: %v", err)
	}
}

func TestParseStatusKB(t *testing.T) {
	status := "Name:\tsocmond\nVmHWM:\t   41234 kB\nVmRSS:\t   30000 kB\n"
	for key, want := range map[string]int64{"VmHWM": 41234, "VmRSS": 30000} {
		if got, err := parseStatusKB(status, key); err != nil || got != want {
			t.Errorf("%s = %d, %v; want %d", key, got, err, want)
		}
	}
	if _, err := parseStatusKB(status, "VmSwap"); err == nil {
		t.Error("a missing key was found")
	}
}

func TestSocmondConfigLoads(t *testing.T) {
	// The generated config must be one socmond accepts, with every table
	// on the asked-for schedule.
	path := filepath.Join(t.TempDir(), "bench.yaml")
	if err := os.WriteFile(path, []byte(socmondConfig(3, "@every 15s")), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	targets := cfg.Targets()
	if len(targets) != 3 {
		t.Fatalf("%d targets, want 3", len(targets))
	}
	for i, tg := range targets {
		if tg.Service != "dynamodb" || tg.Resource != tableName(i) || tg.Schedule != "@every 15s" {
			t.Errorf("target %d = %s/%s %q", i, tg.Service, tg.Resource, tg.Schedule)
		}
	}
}

func TestBlackboxConfigShape(t *testing.T) {
	c := blackboxConfig("t1")
	for _, want := range []string{"X-Amz-Target: DynamoDB_20120810.DescribeTable", `{"TableName":"t1"}`, "/dynamodb/aws4_request", "method: POST"} {
		if !strings.Contains(c, want) {
			t.Errorf("blackbox config lacks %q:\n%s", want, c)
		}
	}
}

func TestHistogramQuantile(t *testing.T) {
	before := parseSamples(`# HELP x_seconds lag
x_seconds_bucket{le="0.001"} 10
x_seconds_bucket{le="0.01"} 10
x_seconds_bucket{le="+Inf"} 10
`)
	after := parseSamples(`x_seconds_bucket{le="0.001"} 60
x_seconds_bucket{le="0.01"} 110
x_seconds_bucket{le="+Inf"} 110
x_seconds_sum 1
x_seconds_count 110
other_total{a="b"} 3
other_total{a="c"} 4
`)
	d := delta(histogram(after, "x_seconds"), histogram(before, "x_seconds"))
	// 100 new observations: 50 up to 1 ms, 50 between 1 and 10 ms.
	if got := quantile(0.5, d); math.Abs(got-0.001) > 1e-9 {
		t.Errorf("p50 = %v, want 0.001", got)
	}
	if got := quantile(0.99, d); math.Abs(got-(0.001+0.009*49/50)) > 1e-9 {
		t.Errorf("p99 = %v", got)
	}
	if got := sumOf(after, "other_total"); got != 7 {
		t.Errorf("sum = %v, want 7", got)
	}
	if !math.IsNaN(quantile(0.5, nil)) {
		t.Error("quantile of nothing is not NaN")
	}
}

func TestPercentile(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3}
	if got := percentile(xs, 50); got != 3 {
		t.Errorf("p50 = %v, want 3", got)
	}
	if got := percentile(xs, 100); got != 5 {
		t.Errorf("p100 = %v, want 5", got)
	}
}

func TestPickScaleRuns(t *testing.T) {
	for sizes, want := range map[string][]int{"10000": {10000}, "10000, 2000": {2000, 10000}, "2000,10000": {2000, 10000}} {
		runs, err := pickScaleRuns(sizes)
		if err != nil {
			t.Fatalf("%q: %v", sizes, err)
		}
		var got []int
		for _, r := range runs {
			got = append(got, r.n)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%q: runs of %v, want %v", sizes, got, want)
		}
	}
	for _, bad := range []string{"5000", "x", ""} {
		if _, err := pickScaleRuns(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestAccountsConfigLoads(t *testing.T) {
	// The across-accounts config must be one socmond accepts: the tables
	// spread evenly over every account's role in both regions, each
	// account its own tenant, all on the asked-for schedule.
	path := filepath.Join(t.TempDir(), "accounts.yaml")
	n := 3 * benchAccounts * len(benchRegions)
	if err := os.WriteFile(path, []byte(accountsConfig(n, "@every 60s")), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Accounts) != benchAccounts {
		t.Fatalf("%d accounts, want %d", len(cfg.Accounts), benchAccounts)
	}
	for _, a := range cfg.Accounts {
		if a.RoleARN != benchRoleARN(a.ID) || !slices.Equal(a.Regions, benchRegions) {
			t.Errorf("account %s: role %s, regions %v", a.ID, a.RoleARN, a.Regions)
		}
	}
	targets := cfg.Targets()
	if len(targets) != n {
		t.Fatalf("%d targets, want %d", len(targets), n)
	}
	perPlace := map[string]int{}
	for _, tg := range targets {
		if tg.Service != "dynamodb" || tg.Schedule != "@every 60s" || tg.Place.Tenant == "" {
			t.Errorf("target %s/%s %q at %+v", tg.Service, tg.Resource, tg.Schedule, tg.Place)
		}
		perPlace[tg.Place.Account+"/"+tg.Place.Region]++
	}
	if len(perPlace) != benchAccounts*len(benchRegions) {
		t.Errorf("%d account-regions, want %d", len(perPlace), benchAccounts*len(benchRegions))
	}
	for p, k := range perPlace {
		if k != 3 {
			t.Errorf("%s has %d tables, want 3", p, k)
		}
	}
}
