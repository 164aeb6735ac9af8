package deploy

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/socmond/socmond/internal/testenv"
)

// dashboard is the part of a Grafana dashboard JSON the test reads.
type dashboard struct {
	Title  string `json:"title"`
	UID    string `json:"uid"`
	Panels []struct {
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
	Templating struct {
		List []struct {
			Query any `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	var d dashboard
	if err := json.Unmarshal([]byte(mustRead(t, "grafana/socmond-dashboard.json")), &d); err != nil {
		t.Fatal(err)
	}
	return d
}

var (
	// metricRe finds identifiers in PromQL; label names, functions and
	// keywords are filtered out below.
	metricRe  = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	labelsRe  = regexp.MustCompile(`\{[^}]*\}`)
	stringsRe = regexp.MustCompile(`"[^"]*"`)
	rangeRe   = regexp.MustCompile(`\[[^\]]*\]`)
	groupRe   = regexp.MustCompile(`\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
)

// metricNames returns the metric names one PromQL expression reads.
func metricNames(expr string) []string {
	e := stringsRe.ReplaceAllString(expr, `""`)
	e = labelsRe.ReplaceAllString(e, " ")
	e = rangeRe.ReplaceAllString(e, " ")
	e = groupRe.ReplaceAllString(e, " ")
	var out []string
	for _, loc := range metricRe.FindAllStringIndex(e, -1) {
		name := e[loc[0]:loc[1]]
		rest := strings.TrimLeft(e[loc[1]:], " ")
		if strings.HasPrefix(rest, "(") || promqlWords[name] || strings.HasPrefix(name, "__") {
			continue // a function call or keyword
		}
		if loc[0] > 0 && e[loc[0]-1] == '$' {
			continue // a Grafana variable
		}
		out = append(out, name)
	}
	return out
}

var promqlWords = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true,
	"inf": true, "nan": true, "e": true}

// dashboardMetrics lists the metric names every panel query reads, with
// histogram series reduced to their family.
func dashboardMetrics(t *testing.T, d dashboard) map[string][]string {
	t.Helper()
	used := map[string][]string{} // family → panels
	var exprs []struct{ panel, expr string }
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			exprs = append(exprs, struct{ panel, expr string }{p.Title, tg.Expr})
		}
	}
	for _, v := range d.Templating.List {
		if q, ok := v.Query.(string); ok && strings.HasPrefix(q, "label_values(") {
			metric, _, _ := strings.Cut(strings.TrimPrefix(q, "label_values("), ",")
			exprs = append(exprs, struct{ panel, expr string }{"variable", metric})
		}
	}
	for _, e := range exprs {
		for _, n := range metricNames(e.expr) {
			for _, suf := range []string{"_bucket", "_sum", "_count"} {
				if f, ok := strings.CutSuffix(n, suf); ok && strings.HasPrefix(f, "socmond_") && strings.HasSuffix(f, "_seconds") {
					n = f
				}
			}
			used[n] = append(used[n], e.panel)
		}
	}
	return used
}

func TestMetricNamesFromPromQL(t *testing.T) {
	got := metricNames(`histogram_quantile(0.95, sum by (le, service) (rate(socmond_probe_duration_seconds_bucket{service=~"$service", x="a b"}[5m]))) or vector(0) / socmond:probes:rate5m`)
	want := []string{"socmond_probe_duration_seconds_bucket", "socmond:probes:rate5m"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// TestDashboardPanels checks the dashboard has the panels users look for.
func TestDashboardPanels(t *testing.T) {
	d := loadDashboard(t)
	if d.UID == "" || d.Title == "" {
		t.Fatal("dashboard needs a uid and title")
	}
	var all strings.Builder
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			all.WriteString(tg.Expr + "\n")
		}
	}
	for what, needle := range map[string]string{
		"status of every resource": "socmond_service_status",
		"p50":                      "histogram_quantile(0.5,",
		"p95":                      "histogram_quantile(0.95,",
		"p99":                      "histogram_quantile(0.99,",
		"error ratio":              "socmond_service_error_ratio",
		"availability":             "socmond_service_availability_ratio",
		"error budget":             "/ (1 - 0.99)",
		"compliance checks":        "socmond_compliance_check_passed",
		"canary results":           "socmond_canary_runs_total",
		"canary stage latency":     "socmond_canary_duration_seconds",
		"alerts firing":            "socmond_alerts",
	} {
		if !strings.Contains(all.String(), needle) {
			t.Errorf("no panel shows %s (%s)", what, needle)
		}
	}
}

// TestDashboardMetricsExist reads a live /metrics of the socmond binary
// running against its simulator (with compliance, workflow and the canary
// on) and fails for every metric a panel uses that socmond does not export,
// so a renamed metric cannot silently blank a panel.
func TestDashboardMetricsExist(t *testing.T) {
	used := dashboardMetrics(t, loadDashboard(t))
	allowed := map[string]bool{"ALERTS": true} // Prometheus's own, from the rules
	for _, g := range prometheusRuleGroups(t) {
		for _, r := range g.Rules {
			if r.Record != "" {
				allowed[r.Record] = true
			}
		}
	}

	bin := filepath.Join(t.TempDir(), "socmond")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/socmond").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cfg := fastEverythingConfig(t)
	simPort := testenv.FreePort(t)
	testenv.Start(t, testenv.Addr(simPort), nil, bin, "sim", "--config.file", cfg, "--sim.listen-address", testenv.Addr(simPort))
	port := testenv.FreePort(t)
	env := []string{"AWS_ENDPOINT_URL=http://" + testenv.Addr(simPort), "AWS_ACCESS_KEY_ID=AKIDEXAMPLE",
		"AWS_SECRET_ACCESS_KEY=secret-example", "AWS_REGION=us-east-1"}
	testenv.Start(t, testenv.Addr(port), env, bin, "run", "--config.file", cfg, "--web.listen-address", testenv.Addr(port))

	var missing []string
	deadline := time.Now().Add(45 * time.Second)
	for {
		families := scrapeFamilies(t, fmt.Sprintf("http://%s/metrics", testenv.Addr(port)))
		missing = missing[:0]
		for name, panels := range used {
			if !families[name] && !allowed[name] {
				missing = append(missing, fmt.Sprintf("%s (panels %v)", name, slices.Compact(panels)))
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("dashboard uses a metric socmond does not export: %s", m)
	}
}

// fastEverythingConfig is the example with every schedule at seconds and
// the canary on, so every metric family has appeared within seconds.
func fastEverythingConfig(t *testing.T) string {
	t.Helper()
	s := mustRead(t, "../config.example.yaml")
	for from, to := range map[string]string{
		`schedule: "@every 30s"`:                                `schedule: "@every 1s"`,
		"workflow:\n  enabled: true\n  schedule: \"@every 1m\"": "workflow:\n  enabled: true\n  schedule: \"@every 2s\"",
		"enabled: false           # true: run on":               "enabled: true            # true: run on",
		"schedule: \"@hourly\"":                                 "schedule: \"@every 3s\"",
		"compliance:\n  schedule: \"@every 30s\"":               "compliance:\n  schedule: \"@every 2s\"",
	} {
		if !strings.Contains(s, from) {
			t.Fatalf("config.example.yaml changed shape: no %q", from)
		}
		s = strings.Replace(s, from, to, 1)
	}
	path := filepath.Join(t.TempDir(), "fast.yaml")
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// scrapeFamilies returns the metric family names of an exposition.
func scrapeFamilies(t *testing.T, url string) map[string]bool {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "#" && f[1] == "TYPE" {
			out[f[2]] = true
		}
	}
	return out
}
