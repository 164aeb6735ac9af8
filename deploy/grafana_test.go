package deploy

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
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
			Name       string `json:"name"`
			Query      any    `json:"query"`
			Multi      bool   `json:"multi"`
			IncludeAll bool   `json:"includeAll"`
			AllValue   string `json:"allValue"`
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
			// label_values(SELECTOR, label): the selector's matchers may
			// hold commas of their own.
			q = strings.TrimPrefix(q, "label_values(")
			exprs = append(exprs, struct{ panel, expr string }{"variable " + v.Name, q[:max(strings.LastIndex(q, ","), 0)]})
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

	addr := runSocmondOnSim(t, fastEverythingConfig(t))

	var missing []string
	deadline := time.Now().Add(45 * time.Second)
	for {
		families := scrapeFamilies(t, "http://"+addr+"/metrics")
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

// runSocmondOnSim builds socmond and runs `socmond sim` and `socmond run`
// on the config file, returning the daemon's address.
func runSocmondOnSim(t *testing.T, cfg string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "socmond")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/socmond").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	simAddr := testenv.Addr(testenv.FreePort(t))
	testenv.Start(t, simAddr, nil, bin, "sim", "--config.file", cfg, "--sim.listen-address", simAddr)
	addr := testenv.Addr(testenv.FreePort(t))
	env := []string{"AWS_ENDPOINT_URL=http://" + simAddr, "AWS_ACCESS_KEY_ID=AKIDEXAMPLE",
		"AWS_SECRET_ACCESS_KEY=secret-example", "AWS_REGION=us-east-1"}
	testenv.Start(t, addr, env, bin, "run", "--config.file", cfg, "--web.listen-address", addr)
	return addr
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
	out := map[string]bool{}
	for _, line := range strings.Split(mustGet(t, url), "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "#" && f[1] == "TYPE" {
			out[f[2]] = true
		}
	}
	return out
}

var (
	// selectorRe finds a vector selector with matchers: the metric name
	// (empty for {__name__=...}) and what is inside the braces.
	selectorRe = regexp.MustCompile(`([a-zA-Z_:][a-zA-Z0-9_:]*)?\{([^}]*)\}`)
	matcherRe  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"`)
)

// matcher is one label matcher of a selector.
type matcher struct{ metric, label, op, value string }

// matchers lists every label matcher of an expression, with the metric of
// its selector.
func matchers(expr string) []matcher {
	var out []matcher
	for _, sel := range selectorRe.FindAllStringSubmatch(expr, -1) {
		for _, m := range matcherRe.FindAllStringSubmatch(sel[2], -1) {
			out = append(out, matcher{metric: sel[1], label: m[1], op: m[2], value: m[3]})
		}
	}
	return out
}

// ruleAlerts are the alerts of deploy/prometheus: every alert socmond
// raises itself (internal/alerting keeps its names in the rule file,
// TestRulesAgree) and those only Prometheus raises.
func ruleAlerts(t *testing.T) []string {
	t.Helper()
	var names []string
	for _, g := range prometheusRuleGroups(t) {
		for _, r := range g.Rules {
			if r.Alert != "" {
				names = append(names, r.Alert)
			}
		}
	}
	if len(names) == 0 {
		t.Fatal("deploy/prometheus has no alerts")
	}
	return names
}

// alertnameProblems says what is wrong with the alertname matchers of one
// expression: a name that is no alert, or a regular expression with an
// alternative that matches none (which is how a renamed alert hides: the
// panel shows 0, not an error).
func alertnameProblems(expr string, alerts []string) []string {
	var problems []string
	for _, m := range matchers(expr) {
		if m.label != "alertname" {
			continue
		}
		alts := []string{regexp.QuoteMeta(m.value)}
		if m.op == "=~" || m.op == "!~" {
			alts = strings.Split(m.value, "|")
		}
		for _, alt := range alts {
			re, err := regexp.Compile("^(?:" + alt + ")$")
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s{alertname%s%q}: %v", m.metric, m.op, m.value, err))
				continue
			}
			if !slices.ContainsFunc(alerts, re.MatchString) {
				problems = append(problems, fmt.Sprintf("%s{alertname%s%q}: %q names no alert of deploy/prometheus", m.metric, m.op, m.value, alt))
			}
		}
	}
	return problems
}

// unmatchedAlerts are the alerts an expression's ALERTS{alertname=~...}
// selectors leave out; every alert when it has none.
func unmatchedAlerts(expr string, alerts []string) []string {
	var res []*regexp.Regexp
	for _, m := range matchers(expr) {
		if m.metric == "ALERTS" && m.label == "alertname" && (m.op == "=~" || m.op == "=") {
			v := m.value
			if m.op == "=" {
				v = regexp.QuoteMeta(v)
			}
			if re, err := regexp.Compile("^(?:" + v + ")$"); err == nil {
				res = append(res, re)
			}
		}
	}
	var out []string
	for _, a := range alerts {
		if !slices.ContainsFunc(res, func(re *regexp.Regexp) bool { return re.MatchString(a) }) {
			out = append(out, a)
		}
	}
	return out
}

// TestAlertnameChecks: the checks below catch the "Alerts firing" query
// the dashboard shipped with, which matched none of socmond's alerts.
func TestAlertnameChecks(t *testing.T) {
	alerts := []string{"AWSServiceHighErrorRate", "ComplianceViolation", "CanaryFailed"}
	old := `sum(ALERTS{alertstate="firing", alertname=~"Socmond.*|Service.*|Compliance.*|Workflow.*|Canary.*"}) or vector(0)`
	if got := alertnameProblems(old, alerts); len(got) != 3 { // Socmond.*, Service.*, Workflow.*
		t.Errorf("problems of the old query: %q", got)
	}
	if got := unmatchedAlerts(old, alerts); !slices.Equal(got, []string{"AWSServiceHighErrorRate"}) {
		t.Errorf("unmatched by the old query: %q", got)
	}
	good := `sum(ALERTS{alertname=~"AWSServiceHighErrorRate|Compliance.*|CanaryFailed"}) + socmond_alerts{alertname="CanaryFailed"}`
	if got := alertnameProblems(good, alerts); len(got) != 0 {
		t.Errorf("problems of a good query: %q", got)
	}
	if got := unmatchedAlerts(good, alerts); len(got) != 0 {
		t.Errorf("unmatched by a good query: %q", got)
	}
	if got := alertnameProblems(`socmond_alerts{alertname!="Nope"}`, alerts); len(got) != 1 {
		t.Errorf("a negative matcher on no alert: %q", got)
	}
}

// TestDashboardAlertsExist fails for every panel query that names an alert
// deploy/prometheus does not define, and when "Alerts firing" leaves out
// one that it does: the names come from the rule file, not a list here.
func TestDashboardAlertsExist(t *testing.T) {
	d := loadDashboard(t)
	alerts := ruleAlerts(t)
	var firing []string
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			for _, problem := range alertnameProblems(tg.Expr, alerts) {
				t.Errorf("panel %q: %s", p.Title, problem)
			}
			if p.Title == "Alerts firing" && strings.Contains(tg.Expr, "ALERTS") {
				firing = append(firing, tg.Expr)
			}
		}
	}
	if len(firing) == 0 {
		t.Fatal(`no "Alerts firing" panel counts the Prometheus rules' ALERTS`)
	}
	// The Watchdog always fires (a dead man's switch): counted, the panel
	// would never show 0.
	if missed := slices.DeleteFunc(unmatchedAlerts(strings.Join(firing, " + "), alerts), func(a string) bool { return a == "Watchdog" }); len(missed) > 0 {
		t.Errorf(`"Alerts firing" does not count the rule file's alerts %v`, missed)
	}
}

// TestDashboardErrorBudgetIsTheBurnRateSLI: the error-budget panel spends
// the budget the AWSServiceErrorBudgetBurn ticket burns: the same probes
// counted as bad (status="unavailable") over the same total, read from the
// recording rules of deploy/prometheus rather than a copy here. It used to
// count every failure class but slow, throttling included, so the panel
// and the ticket disagreed.
func TestDashboardErrorBudgetIsTheBurnRateSLI(t *testing.T) {
	statuses := func(expr string) []string {
		var out []string
		for _, loc := range regexp.MustCompile(`socmond_probes_total(\{[^}]*\})?`).FindAllStringSubmatch(expr, -1) {
			st := "all probes"
			for _, m := range matchers(loc[0]) {
				if m.label == "status" {
					st = "status" + m.op + strconv.Quote(m.value)
				}
			}
			out = append(out, st)
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	var sli []string
	for _, g := range prometheusRuleGroups(t) {
		for _, r := range g.Rules {
			if strings.HasPrefix(r.Record, "socmond:probe_unavailable_ratio:") {
				sli = statuses(r.Expr.String())
			}
		}
	}
	if len(sli) == 0 {
		t.Fatal("deploy/prometheus has no socmond:probe_unavailable_ratio recording rules")
	}
	found := false
	for _, p := range loadDashboard(t).Panels {
		if !strings.HasPrefix(p.Title, "Error budget") {
			continue
		}
		found = true
		for _, tg := range p.Targets {
			if got := statuses(tg.Expr); !slices.Equal(got, sli) {
				t.Errorf("panel %q counts %v of socmond_probes_total; the burn-rate rules count %v", p.Title, got, sli)
			}
			if names := slices.Compact(metricNames(tg.Expr)); !slices.Equal(names, []string{"socmond_probes_total"}) {
				t.Errorf("panel %q reads %v; the burn-rate SLI is socmond_probes_total alone", p.Title, names)
			}
		}
	}
	if !found {
		t.Fatal("no error budget panel")
	}
}

// TestDashboardVariables: one dashboard serves several tenants and
// replicas, so every socmond series a panel or variable reads is filtered
// by the tenant and instance variables (ALERTS by tenant: the rules merge
// replicas and have no instance).
func TestDashboardVariables(t *testing.T) {
	d := loadDashboard(t)
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		q, _ := v.Query.(string)
		vars[v.Name] = q
	}
	for _, name := range []string{"tenant", "instance", "service"} {
		if _, ok := vars[name]; !ok {
			t.Errorf("no $%s variable", name)
		}
	}
	type query struct{ where, expr string }
	var queries []query
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			queries = append(queries, query{"panel " + p.Title, tg.Expr})
		}
	}
	queries = append(queries, query{"variable instance", vars["instance"]}, query{"variable service", vars["service"]})
	for _, q := range queries {
		for _, name := range metricNames(q.expr) {
			if !strings.HasPrefix(name, "socmond_") && name != "ALERTS" {
				continue
			}
			want := []string{`tenant=~"$tenant"`, `instance=~"$instance"`}
			if name == "ALERTS" || q.where == "variable instance" {
				want = want[:1] // the instance variable lists the tenant's
			}
			for _, sel := range regexp.MustCompile(regexp.QuoteMeta(name)+`(\{[^}]*\})?`).FindAllString(q.expr, -1) {
				for _, w := range want {
					if !strings.Contains(sel, w) {
						t.Errorf("%s: %s is not filtered by %s", q.where, sel, w)
					}
				}
			}
		}
	}
}

// tenantsConfig is two tenants' pipelines in two accounts and regions, the
// same table name in both, probed every second, each with its compliance
// checks and workflow check.
const tenantsConfig = `
region: us-east-1
tenant: soc-operator
defaults:
  schedule: "@every 1s"
pipeline:
  kms_key: alias/soc
  artifacts_bucket: "soc-artifacts-${account_id}-${region}"
  investigations_table: investigations
  state_machine: "arn:aws:states:${region}:${account_id}:stateMachine:soc"
workflow:
  schedule: "@every 1s"
  rules: [soc-alerts]
compliance:
  schedule: "@every 1s"
accounts:
  - id: "111111111111"
    role_arn: arn:aws:iam::111111111111:role/socmond-monitor
    regions: [us-east-1]
  - id: "222222222222"
    role_arn: arn:aws:iam::222222222222:role/socmond-monitor
    regions: [eu-west-1]
tenants:
  - name: acme
    pipelines: [{account: "111111111111"}]
  - name: beta
    pipelines: [{account: "222222222222"}]
services:
  dynamodb:
    resources: [{name: investigations}]
  s3:
    resources: [{name: "soc-artifacts-${account_id}-${region}"}]
  sqs:
    resources: [{name: "https://sqs.${region}.amazonaws.com/${account_id}/soc-dlq"}]
`

// placeFilters are the matchers of the tenant, account and region
// variables.
var placeFilters = []string{`tenant=~"$tenant"`, `account=~"$account"`, `region=~"$region"`}

// TestDashboardTenantVariables: one dashboard for a managed SOC's tenants.
// Against a live socmond with a tenants config, scraped by a real
// Prometheus with the shipped scrape settings: every series socmond exports
// with an account label is filtered by the tenant, account and region
// variables wherever the dashboard reads it; the variables list the
// config's tenants, accounts and regions (each narrowed by the ones before
// it); and with All selected (".*") every panel query runs, the
// per-resource ones with data, and a series with no account label (every
// series of a config without tenants) still matches.
func TestDashboardTenantVariables(t *testing.T) {
	d := loadDashboard(t)
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		q, _ := v.Query.(string)
		vars[v.Name] = q
		if v.Name == "tenant" || v.Name == "account" || v.Name == "region" {
			if !v.Multi || !v.IncludeAll || v.AllValue != ".*" {
				t.Errorf("variable %s: multi %v, includeAll %v, allValue %q; want multi-select with All as .*", v.Name, v.Multi, v.IncludeAll, v.AllValue)
			}
		}
	}

	cfgPath := filepath.Join(t.TempDir(), "tenants.yaml")
	if err := os.WriteFile(cfgPath, []byte(tenantsConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := runSocmondOnSim(t, cfgPath)
	placed := map[string]bool{} // series names socmond exports with an account label
	deadline := time.Now().Add(30 * time.Second)
	for !placed["socmond_service_status"] || !placed["socmond_service_backlog"] {
		if time.Now().After(deadline) {
			t.Fatalf("socmond exports no placed socmond_service_status and socmond_service_backlog series: %v", placed)
		}
		time.Sleep(200 * time.Millisecond)
		for _, line := range strings.Split(mustGet(t, "http://"+addr+"/metrics"), "\n") {
			if name, labels, ok := strings.Cut(line, "{"); ok && !strings.HasPrefix(line, "#") && strings.Contains(labels, `account="`) {
				placed[name] = true
			}
		}
	}

	// Every read of a placed series carries the three filters.
	type query struct{ where, expr string }
	var queries []query
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			queries = append(queries, query{"panel " + p.Title, tg.Expr})
		}
	}
	for _, name := range []string{"instance", "service"} {
		queries = append(queries, query{"variable " + name, vars[name]})
	}
	perResource := map[string]bool{} // panel queries that read a placed series
	for _, q := range queries {
		for _, sel := range selectorRe.FindAllString(q.expr, -1) {
			name, _, _ := strings.Cut(sel, "{")
			if !placed[name] {
				continue
			}
			perResource[q.expr] = true
			for _, f := range placeFilters {
				if !strings.Contains(sel, f) {
					t.Errorf("%s: %s is not filtered by %s", q.where, sel, f)
				}
			}
		}
	}
	if len(perResource) == 0 {
		t.Fatal("no panel reads a series socmond exports per resource")
	}

	// Prometheus: the shipped scrape settings, at a 1s interval.
	dir := t.TempDir()
	promAddr := testenv.Addr(testenv.FreePort(t))
	promCfg := mustRead(t, "prometheus/prometheus.yml")
	for from, to := range map[string]string{"'socmond:9815'": "'" + addr + "'", "scrape_interval: 10s": "scrape_interval: 1s"} {
		if !strings.Contains(promCfg, from) {
			t.Fatalf("deploy/prometheus/prometheus.yml changed shape: no %q", from)
		}
		promCfg = strings.Replace(promCfg, from, to, 1)
	}
	for name, text := range map[string]string{"prometheus.yml": promCfg, "socmond-rules.yml": mustRead(t, "prometheus/socmond-rules.yml")} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Start(t, promAddr, nil, testenv.Tool(t, "prometheus"), "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "tsdb"), "--web.listen-address="+promAddr)
	prom := &promAPI{t: t, base: "http://" + promAddr}
	for ready := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if resp, err := http.Get(prom.base + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(ready) {
			t.Fatal("Prometheus is not ready after 30s")
		}
	}

	// What Grafana substitutes: a selected value, or All's ".*".
	fill := func(expr string, sel map[string]string) string {
		for _, v := range []string{"tenant", "account", "region", "instance", "service"} {
			val := ".*"
			if s, ok := sel[v]; ok {
				val = s
			}
			expr = strings.ReplaceAll(expr, "$"+v, val)
		}
		return expr
	}
	for _, c := range []struct {
		variable string
		selected map[string]string
		want     []string
	}{
		{"tenant", nil, []string{"acme", "beta"}},
		{"account", nil, []string{"111111111111", "222222222222"}},
		{"account", map[string]string{"tenant": "acme"}, []string{"111111111111"}},
		{"region", nil, []string{"eu-west-1", "us-east-1"}},
		{"region", map[string]string{"tenant": "beta"}, []string{"eu-west-1"}},
		{"region", map[string]string{"account": "111111111111"}, []string{"us-east-1"}},
		{"instance", map[string]string{"tenant": "beta", "region": "eu-west-1"}, []string{addr}},
		{"instance", map[string]string{"tenant": "acme", "region": "eu-west-1"}, nil},
	} {
		q, ok := strings.CutPrefix(vars[c.variable], "label_values(")
		i := strings.LastIndex(q, ",")
		if !ok || i < 0 || !strings.HasSuffix(q, ")") {
			t.Fatalf("variable %s: %q is not label_values(SELECTOR, LABEL)", c.variable, vars[c.variable])
		}
		selector, label := fill(q[:i], c.selected), strings.TrimSpace(strings.TrimSuffix(q[i+1:], ")"))
		var got []string
		deadline := time.Now().Add(30 * time.Second)
		for {
			got = prom.labelValues(label, selector)
			if slices.Equal(got, c.want) || time.Now().After(deadline) {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("variable %s with %v: label_values(%s, %s) = %q, want %q", c.variable, c.selected, selector, label, got, c.want)
		}
	}

	// All matches a series without the labels: what a config without
	// tenants exports (socmond_build_info has none in any config).
	if n := len(prom.query(fill(`socmond_build_info{tenant=~"$tenant", account=~"$account", region=~"$region"}`, nil))); n != 1 {
		t.Errorf("with All, the place filters match %d socmond_build_info series, want 1", n)
	}
	for _, q := range queries {
		if !strings.HasPrefix(q.where, "panel ") {
			continue
		}
		// A rate needs two scrapes of the series.
		res := prom.query(fill(q.expr, nil))
		for deadline := time.Now().Add(20 * time.Second); perResource[q.expr] && len(res) == 0 && time.Now().Before(deadline); {
			time.Sleep(500 * time.Millisecond)
			res = prom.query(fill(q.expr, nil))
		}
		if perResource[q.expr] && len(res) == 0 {
			t.Errorf("%s: %s returns nothing with All selected", q.where, fill(q.expr, nil))
		}
	}
}

// promAPI queries a Prometheus's HTTP API, failing the test on an error
// answer (a query that does not parse).
type promAPI struct {
	t    *testing.T
	base string
}

func (p *promAPI) get(path string, params url.Values, into any) {
	p.t.Helper()
	body := mustGet(p.t, p.base+path+"?"+params.Encode())
	var doc struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil || doc.Status != "success" {
		p.t.Fatalf("Prometheus %s %v: %s %s", path, params, doc.Error, body)
	}
	if err := json.Unmarshal(doc.Data, into); err != nil {
		p.t.Fatal(err)
	}
}

// labelValues is what Grafana's label_values(SELECTOR, LABEL) lists.
func (p *promAPI) labelValues(label, selector string) []string {
	p.t.Helper()
	var out []string
	p.get("/api/v1/label/"+label+"/values", url.Values{"match[]": {selector}}, &out)
	sort.Strings(out)
	return out
}

// query runs an instant query and returns its series.
func (p *promAPI) query(expr string) []json.RawMessage {
	p.t.Helper()
	var data struct {
		Result json.RawMessage `json:"result"`
	}
	p.get("/api/v1/query", url.Values{"query": {expr}}, &data)
	var series []json.RawMessage
	if err := json.Unmarshal(data.Result, &series); err != nil {
		return []json.RawMessage{data.Result} // a scalar
	}
	return series
}

func mustGet(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
