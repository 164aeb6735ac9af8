package workflow

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/rs/zerolog"

	"github.com/socmond/socmond/internal/alerting"
	"github.com/socmond/socmond/internal/awsclient"
	"github.com/socmond/socmond/internal/awssim"
	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/leader"
	"github.com/socmond/socmond/internal/metrics"
	"github.com/socmond/socmond/internal/monitor"
	"github.com/socmond/socmond/internal/probes"
	"github.com/socmond/socmond/internal/report"
	"github.com/socmond/socmond/internal/simseed"
	"github.com/socmond/socmond/internal/testenv"
)

// Three tenants' pipelines, one per account, each in two regions: six
// pipelines, whose names the pipeline section and the rules template.
// The configured functions are probed on their own; the definition also
// invokes "enrich" (seeded below), which the workflow discovers in every
// pipeline: six resources of one name.
const pipelinesConfig = `
region: us-east-1
tenant: soc
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
    external_id: ext-gamma
    regions: [us-east-1, eu-west-1]
tenants:
  - name: acme
    pipelines: [{account: "111111111111"}]
  - name: beta
    pipelines: [{account: "222222222222"}]
  - name: gamma
    pipelines: [{account: "333333333333"}]
pipeline:
  investigations_table: investigations-${tenant}
  artifacts_bucket: artifacts-${account_id}-${region}
  audit_bucket: audit-${account_id}-${region}
  kms_key: alias/soc
  event_bus: soc-bus
  state_machine: arn:aws:states:${region}:${account_id}:stateMachine:soc-pipeline-${tenant}
workflow:
  schedule: "@every 1h"
  rules: ["soc-alerts-${tenant}"]
  failure_ratio: 0.1
canary:
  enabled: true
  schedule: "@every 1h"
  timeout: 20s
  find_timeout: 5s
compliance:
  enabled: false
services:
  kms:
    resources: [{name: alias/soc}]
  dynamodb:
    resources: [{name: "investigations-${tenant}"}]
  s3:
    resources: [{name: "artifacts-${account_id}-${region}"}]
  eventbridge:
    resources: [{name: soc-bus}]
  stepfunctions:
    resources: [{name: "arn:aws:states:${region}:${account_id}:stateMachine:soc-pipeline-${tenant}"}]
  lambda:
    resources: [{name: "ingest-${tenant}"}, {name: "analyze-${tenant}"}]
`

// roleOf is the role each account's calls must be signed by.
var roleOf = map[string]string{
	"111111111111": "arn:aws:iam::111111111111:role/socmond-monitor",
	"222222222222": "arn:aws:iam::222222222222:role/socmond-monitor",
	"333333333333": "arn:aws:iam::333333333333:role/socmond-monitor",
}

// enrichDLQ is the ARN of enrich's dead-letter queue in p's account and region.
func enrichDLQ(p probes.Place) string {
	return fmt.Sprintf("arn:aws:sqs:%s:%s:enrich-dlq", p.Region, p.Account)
}

// pipelinesRun is the daemon's wiring of the workflow over the pipelines
// of text, against the simulator seeded with the six of pipelinesConfig
// (simseed.FromConfig) plus "enrich" in every account and region.
type pipelinesRun struct {
	cfg     *config.Config
	sim     *awssim.Sim
	clients *awsclient.Clients
	m       *metrics.Metrics
	mon     *monitor.Monitor
	engine  *alerting.Engine
	elector *leader.None
	f       *Feature
}

func startPipelines(t *testing.T, text string) *pipelinesRun {
	t.Helper()
	r := &pipelinesRun{}
	var err error
	r.cfg, err = config.Parse("pipelines.yaml", []byte(text), nil)
	if err != nil {
		t.Fatal(err)
	}
	// The simulator holds all six pipelines, whichever text configures.
	all, err := config.Parse("pipelines.yaml", []byte(pipelinesConfig), nil)
	if err != nil {
		t.Fatal(err)
	}
	seed := simseed.FromConfig(all)
	if len(seed.Scopes) != 6 {
		t.Fatalf("seeded %d scopes, want the six pipelines'", len(seed.Scopes))
	}
	for i := range seed.Scopes {
		sc := &seed.Scopes[i]
		sc.Functions = append(sc.Functions, "enrich")
		// enrich sends what it cannot process to a queue socmond is not
		// configured to probe: the workflow finds it, in each pipeline.
		if err := sc.Add("sqs", "enrich-dlq"); err != nil {
			t.Fatal(err)
		}
		sc.FunctionDeadLetters = map[string]string{"enrich": enrichDLQ(probes.Place{Account: sc.AccountID, Region: sc.Region})}
	}
	// The roles' trust, whatever external ids text configures.
	seed.Roles = []awssim.Role{{ARN: roleOf["111111111111"], ExternalID: "ext-acme"}, {ARN: roleOf["222222222222"]},
		{ARN: roleOf["333333333333"], ExternalID: "ext-gamma"}}
	var url string
	r.sim, url = awssim.Serve(t, seed)
	r.clients, err = awsclient.New(context.Background(), awsclient.Options{Region: r.cfg.Region, Endpoint: url,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDWORKFLOWPLACES", "workflow-places-secret", "")})
	if err != nil {
		t.Fatal(err)
	}
	r.m = metrics.New("test", "abc")
	r.mon = monitor.New(monitor.Options{Logger: zerolog.Nop(), Metrics: r.m})
	r.engine = alerting.NewEngine(alerting.SettingsFromConfig(r.cfg), time.Hour, nil)
	r.mon.Subscribe(r.engine.Observe)
	r.mon.SubscribeRemoved(r.engine.Removed)
	r.elector = leader.NewNone("test")
	r.f, err = NewFeature(FeatureOptions{Config: r.cfg, Clients: r.clients, Registerer: r.m.Registry(), Recorder: r.mon,
		Alerts: r.engine, Elector: r.elector, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// passive runs a passive round of every pipeline and returns them by place.
func (r *pipelinesRun) passive(t *testing.T) map[probes.Place]PassiveReport {
	t.Helper()
	out := map[probes.Place]PassiveReport{}
	for _, p := range r.cfg.Places() {
		out[p] = r.f.RunnerAt(p).RunPassive(context.Background())
	}
	return out
}

func (r *pipelinesRun) scrape(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	return testenv.MetricValue(t, testenv.Scrape(r.m.Handler(zerolog.Nop())), name, testenv.Labels(labels...))
}

func placeKV(p probes.Place) []string {
	return []string{"tenant", p.Tenant, "account", p.Account, "region", p.Region}
}

// TestEachPipelineIsCheckedInItsAccountAndRegion: every pipeline's
// workflow calls are signed by its account's role in its region and name
// its own rules and state machine; the functions each discovers are
// resources of its place, six distinct ones of one name, probed there,
// with their own series; and each pipeline's workflow series carry its
// place.
func TestEachPipelineIsCheckedInItsAccountAndRegion(t *testing.T) {
	r := startPipelines(t, pipelinesConfig)
	places := r.cfg.Places()
	if len(places) != 6 {
		t.Fatalf("%d places, want 6", len(places))
	}
	for p, rep := range r.passive(t) {
		if rep.Place != p || !rep.OK() || !rep.DefinitionRead {
			t.Fatalf("%v: place %v, ok %t: %+v %+v", p, rep.Place, rep.OK(), rep.Checks, rep.Lambdas)
		}
		if len(rep.Lambdas) != 1 || rep.Lambdas[0].Target != (probes.Target{Service: "lambda", Resource: "enrich", Place: p}) {
			t.Errorf("%v discovered %+v, want enrich of its own place", p, rep.Lambdas)
		}
		if len(rep.DeadLetters) != 1 || rep.DeadLetters[0].Target != (probes.Target{Service: "sqs", Resource: enrichDLQ(p), Place: p}) {
			t.Errorf("%v found dead-letter queues %+v, want enrich's of its own place", p, rep.DeadLetters)
		}
	}

	// Who answered what: each pipeline's names only in its account and
	// region, through its role.
	byName := map[string][]awssim.Call{}
	for _, c := range r.sim.Calls() {
		if c.Service == "eventbridge" || c.Service == "stepfunctions" || c.Service == "lambda" {
			byName[c.Operation+" "+c.Resource] = append(byName[c.Operation+" "+c.Resource], c)
		}
	}
	served := func(key string) string {
		var where []string
		for _, c := range byName[key] {
			where = append(where, c.Account+"/"+c.Region+"/"+c.Role)
		}
		slices.Sort(where)
		return strings.Join(slices.Compact(where), " ")
	}
	for _, p := range places {
		machine := fmt.Sprintf("arn:aws:states:%s:%s:stateMachine:soc-pipeline-%s", p.Region, p.Account, p.Tenant)
		if got, want := served("DescribeStateMachine "+machine), p.Account+"/"+p.Region+"/"+roleOf[p.Account]; got != want {
			t.Errorf("%s described in %q, want only %q", machine, got, want)
		}
	}
	for _, tenant := range []string{"acme", "beta", "gamma"} {
		want := map[string]bool{}
		for _, p := range places {
			if p.Tenant == tenant {
				want[p.Account+"/"+p.Region+"/"+roleOf[p.Account]] = true
			}
		}
		// The rule's name is the tenant's: read in both its regions.
		if got, want := served("DescribeRule soc-alerts-"+tenant), strings.Join(slices.Sorted(maps.Keys(want)), " "); got != want {
			t.Errorf("tenant %s's rule read in %q, want %q", tenant, got, want)
		}
	}
	for _, svc := range []string{"lambda", "sqs"} {
		var enrich []string
		for _, c := range r.sim.Calls() {
			if c.Service == svc && strings.Contains(c.Resource, "enrich") {
				enrich = append(enrich, c.Account+"/"+c.Region+"/"+c.Role)
			}
		}
		var want []string
		for _, p := range places {
			want = append(want, p.Account+"/"+p.Region+"/"+roleOf[p.Account])
		}
		slices.Sort(want)
		if slices.Sort(enrich); !slices.Equal(slices.Compact(enrich), want) {
			t.Errorf("enrich's %s probed in %v, want in each of the six accounts and regions, through their roles: %v", svc, enrich, want)
		}
	}

	for _, p := range places {
		// The discovered function is the monitor's resource at its place,
		// with its own window and series.
		if sn, ok := r.mon.Snapshot(probes.Target{Service: "lambda", Resource: "enrich", Place: p}, time.Now()); !ok || sn.AvailabilitySamples != 1 {
			t.Errorf("enrich at %v: recorded %t, %d samples; want its own window with one sample", p, ok, sn.AvailabilitySamples)
		}
		if got := r.scrape(t, "socmond_probes_total", append(placeKV(p), "service", "lambda", "resource", "enrich")...); got == -1 {
			t.Errorf("no socmond_probes_total of enrich at %v", p)
		}
		if sn, ok := r.mon.Snapshot(probes.Target{Service: "sqs", Resource: enrichDLQ(p), Place: p}, time.Now()); !ok || sn.AvailabilitySamples != 1 {
			t.Errorf("enrich's queue at %v: recorded %t, %d samples; want its own window with one sample", p, ok, sn.AvailabilitySamples)
		}
		machine := fmt.Sprintf("arn:aws:states:%s:%s:stateMachine:soc-pipeline-%s", p.Region, p.Account, p.Tenant)
		for _, s := range []struct {
			name   string
			labels []string
			want   float64
		}{
			{"socmond_workflow_healthy", nil, 1},
			{"socmond_workflow_rule_enabled", []string{"rule", "soc-alerts-" + p.Tenant}, 1},
			{"socmond_workflow_failing", []string{"resource", machine}, 0},
			{"socmond_workflow_execution_failure_ratio_threshold", nil, 0.1},
			{"socmond_workflow_discovered_functions", nil, 3},
		} {
			if got := r.scrape(t, s.name, append(placeKV(p), s.labels...)...); got != s.want {
				t.Errorf("%s%v at %v = %v, want %v", s.name, s.labels, p, got, s.want)
			}
		}
	}
	if got := r.scrape(t, "socmond_workflow_healthy", "account", ""); got != -1 {
		t.Errorf("an unplaced socmond_workflow_healthy beside the pipelines' (%v)", got)
	}
}

// TestFailingPipelineAlertsAlone: the canary of each pipeline writes only
// to that pipeline's resources, in its account and region, through its
// role; a stage failing in one pipeline (a fault narrowed to its account
// and region) fails that pipeline's canary and executions alone, and its
// CanaryFailed and WorkflowExecutionsFailing carry its tenant, account
// and region.
func TestFailingPipelineAlertsAlone(t *testing.T) {
	r := startPipelines(t, pipelinesConfig)
	bad := probes.Place{Tenant: "beta", Account: "222222222222", Region: "eu-west-1"}
	r.sim.AddFault(awssim.Fault{Service: "lambda", Resource: "enrich", Error: "ServiceException", Account: bad.Account, Region: bad.Region})

	for _, p := range r.cfg.Places() {
		before := len(r.sim.Calls())
		for range 2 { // two failed executions confirm the failure
			rep := r.f.RunnerAt(p).RunCanary(context.Background())
			if rep.Place != p || rep.Passed != (p != bad) {
				t.Fatalf("canary at %v: place %v, passed %t: %s", p, rep.Place, rep.Passed, statuses(rep))
			}
		}
		// The canary's calls: every one in its pipeline's account and
		// region, and its one write, PutEvents, to its bus there.
		puts := 0
		for _, c := range r.sim.Calls()[before:] {
			if c.Service == "sts" {
				continue
			}
			if c.Account != p.Account || c.Region != p.Region || c.Role != roleOf[p.Account] {
				t.Errorf("canary at %v: %s %s %s served in %s/%s for %q", p, c.Service, c.Operation, c.Resource, c.Account, c.Region, c.Role)
			}
			if c.Operation == "PutEvents" {
				puts++
			}
		}
		if puts != 2 {
			t.Errorf("canary at %v put %d events, want 2", p, puts)
		}
	}
	r.passive(t)

	type alert struct{ name, tenant, account, region, resource string }
	var firing []alert
	for _, a := range r.engine.Alerts() {
		if a.State == alerting.Firing && a.Labels["service"] == "workflow" {
			l := a.Labels
			firing = append(firing, alert{l["alertname"], l["tenant"], l["account"], l["region"], l["resource"]})
		}
	}
	slices.SortFunc(firing, func(a, b alert) int { return strings.Compare(a.name, b.name) })
	machine := "arn:aws:states:eu-west-1:222222222222:stateMachine:soc-pipeline-beta"
	want := []alert{
		{AlertCanaryFailed, "beta", "222222222222", "eu-west-1", machine},
		{AlertExecutionsFailing, "beta", "222222222222", "eu-west-1", machine},
	}
	if !slices.Equal(firing, want) {
		t.Fatalf("firing workflow alerts %+v, want %+v", firing, want)
	}
	if got := r.scrape(t, "socmond_canary_passed", placeKV(bad)...); got != 0 {
		t.Errorf("socmond_canary_passed at %v = %v, want 0", bad, got)
	}
	if got := r.scrape(t, "socmond_workflow_failing", placeKV(bad)...); got != 1 {
		t.Errorf("socmond_workflow_failing at %v = %v, want 1", bad, got)
	}
	for _, p := range r.cfg.Places() {
		if p == bad {
			continue
		}
		if got := r.scrape(t, "socmond_canary_passed", placeKV(p)...); got != 1 {
			t.Errorf("socmond_canary_passed at %v = %v, want 1", p, got)
		}
		if got := r.scrape(t, "socmond_canary_runs_total", append(placeKV(p), "result", "pass")...); got != 2 {
			t.Errorf("socmond_canary_runs_total{pass} at %v = %v, want 2", p, got)
		}
	}
}

// TestUnassumableRoleFailsOnlyItsPipelines: gamma's role trusts another
// external id than the one configured. Gamma's two pipelines' workflow
// checks fail as auth, their hint naming the role; the others pass.
func TestUnassumableRoleFailsOnlyItsPipelines(t *testing.T) {
	r := startPipelines(t, strings.Replace(pipelinesConfig, "external_id: ext-gamma", "external_id: ext-wrong", 1))
	for p, rep := range r.passive(t) {
		if p.Tenant != "gamma" {
			if !rep.OK() {
				t.Errorf("%v failed: %+v", p, rep.Checks)
			}
			continue
		}
		if len(rep.Checks) == 0 {
			t.Fatalf("%v: no checks", p)
		}
		for _, c := range rep.Checks {
			if c.OK || c.Class != probes.ClassAuth || !strings.Contains(c.Hint, roleOf[p.Account]) {
				t.Errorf("%v %s: ok %t, class %q, hint %q; want auth naming %s", p, c.Name, c.OK, c.Class, c.Hint, roleOf[p.Account])
			}
		}
	}
}

// withoutBeta is pipelinesConfig without tenant beta's pipelines.
var withoutBeta = strings.Replace(pipelinesConfig, `  - name: beta
    pipelines: [{account: "222222222222"}]
`, "", 1)

// TestReloadRemovesAPipeline: a reload that drops beta's pipelines takes
// their discovered functions, their series and their alerts away; acme's
// and gamma's keep their windows, series and firing alerts.
func TestReloadRemovesAPipeline(t *testing.T) {
	r := startPipelines(t, pipelinesConfig)
	beta := probes.Place{Tenant: "beta", Account: "222222222222", Region: "us-east-1"}
	acme := probes.Place{Tenant: "acme", Account: "111111111111", Region: "us-east-1"}
	for _, p := range []probes.Place{beta, acme} {
		r.sim.AddFault(awssim.Fault{Service: "lambda", Resource: "enrich", Error: "ServiceException", Account: p.Account, Region: p.Region})
		for range 2 {
			r.f.RunnerAt(p).RunCanary(context.Background())
		}
	}
	r.passive(t)
	firing := func() map[string]time.Time {
		out := map[string]time.Time{}
		for _, a := range r.engine.Alerts() {
			if a.State == alerting.Firing {
				out[a.Labels["alertname"]+"@"+a.Labels["tenant"]+"/"+a.Labels["region"]] = a.FiredAt
			}
		}
		return out
	}
	before := firing()
	for _, k := range []string{"CanaryFailed@beta/us-east-1", "WorkflowExecutionsFailing@beta/us-east-1", "CanaryFailed@acme/us-east-1"} {
		if before[k].IsZero() {
			t.Fatalf("%s not firing before the reload: %v", k, before)
		}
	}
	enrich := func(p probes.Place) int {
		sn, ok := r.mon.Snapshot(probes.Target{Service: "lambda", Resource: "enrich", Place: p}, time.Now())
		if !ok {
			return -1
		}
		return sn.AvailabilitySamples
	}

	next, err := config.Parse("pipelines.yaml", []byte(withoutBeta), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.f.Check(next, r.clients); err != nil {
		t.Fatal(err)
	}
	if err := r.f.Apply(next, r.clients); err != nil {
		t.Fatal(err)
	}

	after := firing()
	for k, at := range after {
		if strings.Contains(k, "@beta/") {
			t.Errorf("%s still fires after beta's pipelines went", k)
		}
		if !before[k].Equal(at) {
			t.Errorf("%s fired at %v, was %v: the reload resolved and re-fired it", k, at, before[k])
		}
	}
	if after["CanaryFailed@acme/us-east-1"].IsZero() {
		t.Errorf("acme's CanaryFailed resolved by a reload that kept acme: %v", after)
	}
	if r.f.RunnerAt(beta) != nil || enrich(beta) != -1 {
		t.Errorf("beta's pipeline kept: runner %v, enrich %d samples", r.f.RunnerAt(beta) != nil, enrich(beta))
	}
	for _, name := range []string{"socmond_workflow_healthy", "socmond_canary_passed", "socmond_canary_runs_total", "socmond_workflow_execution_failure_ratio_threshold"} {
		if got := r.scrape(t, name, "tenant", "beta"); got != -1 {
			t.Errorf("%s of beta = %v after beta's pipelines went", name, got)
		}
		if got := r.scrape(t, name, placeKV(acme)...); got == -1 {
			t.Errorf("%s of acme went with beta's", name)
		}
	}
	if got := r.scrape(t, "socmond_probes_total", append(placeKV(beta), "resource", "enrich")...); got != -1 {
		t.Errorf("beta's enrich keeps its series (%v)", got)
	}
	if n := enrich(acme); n != 1 {
		t.Errorf("acme's enrich has %d samples after the reload, want its one", n)
	}
	r.f.RunnerAt(acme).RunPassive(context.Background())
	if n := enrich(acme); n != 2 {
		t.Errorf("acme's enrich has %d samples after a round, want 2", n)
	}
}

// TestUnplacedSeriesCarryNoPlace: without tenants, the workflow's series
// are those of a single-account socmond: no account, region or tenant.
func TestUnplacedSeriesCarryNoPlace(t *testing.T) {
	env := startEnv(t, "")
	cfg := workflowConfig(t, tMachine, tRule)
	m, _, _, f := wireFeature(t, cfg, env.c)
	f.Runner().RunPassive(context.Background())
	rec := httptest.NewRecorder()
	m.Handler(zerolog.Nop()).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(rec.Result().Body)
	text := string(b)
	for _, want := range []string{
		"socmond_workflow_healthy 1\n",
		"socmond_workflow_state_machine_standard 1\n",
		`socmond_workflow_failing{resource="` + tMachine + `"} 0` + "\n",
		`socmond_workflow_rule_enabled{rule="` + tRule + `"} 1` + "\n",
		`socmond_canary_runs_total{result="pass"} 0` + "\n",
		"socmond_canary_last_run_timestamp_seconds 0\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q", want)
		}
	}
	for _, line := range strings.Split(text, "\n") {
		if (strings.HasPrefix(line, "socmond_workflow") || strings.HasPrefix(line, "socmond_canary")) && strings.Contains(line, "account=") {
			t.Errorf("unplaced series with a place: %s", line)
		}
	}
}

// TestPanelAndValidateShowThePlace: the workflow panel's items and
// `socmond validate`'s workflow rows say which pipeline they are of; a
// pipeline whose role cannot be assumed fails its rows alone, as auth,
// with the role in the hint.
func TestPanelAndValidateShowThePlace(t *testing.T) {
	r := startPipelines(t, strings.Replace(pipelinesConfig, "external_id: ext-gamma", "external_id: ext-wrong", 1))
	r.passive(t)
	seen := map[probes.Place]int{}
	for _, it := range r.f.Panel(time.Now()).Items {
		p := it.Place
		if p.IsZero() {
			t.Errorf("panel item %s %s without its pipeline", it.Name, it.Resource)
		}
		if p.Tenant != "gamma" && !it.OK {
			t.Errorf("panel item %s at %v failed: %s", it.Name, p, it.Reason)
		}
		if p.Tenant == "gamma" && (it.OK || !strings.Contains(it.Hint, roleOf[p.Account])) {
			t.Errorf("panel item %s at %v: ok %t, hint %q; want a failure naming the role", it.Name, p, it.OK, it.Hint)
		}
		seen[p]++
	}
	if len(seen) != 6 {
		t.Errorf("panel items of %d pipelines, want 6: %v", len(seen), seen)
	}

	sections := Section(context.Background(), r.cfg, r.clients)
	if len(sections) != 1 {
		t.Fatalf("%d sections", len(sections))
	}
	rows := map[probes.Place]int{}
	for _, row := range sections[0].Rows {
		rows[row.Place]++
		gamma := row.Place.Tenant == "gamma"
		if gamma != (row.Verdict == report.Fail) || (gamma && (row.Class != string(probes.ClassAuth) || !strings.Contains(row.Hint, roleOf[row.Place.Account]))) {
			t.Errorf("row %s %s at %v: %s %s %q", row.Name, row.Resource, row.Place, row.Verdict, row.Class, row.Hint)
		}
	}
	if len(rows) != 6 || rows[probes.Place{}] != 0 {
		t.Errorf("rows by pipeline %v, want six placed ones", rows)
	}
}

// TestLeadershipLostWithdrawsEveryCanary: a replica that stops leading
// withdraws every pipeline's last canary verdict (its CanaryFailed
// resolves, its canary gauges go; the run counters stay) and runs no
// canary in any pipeline.
func TestLeadershipLostWithdrawsEveryCanary(t *testing.T) {
	r := startPipelines(t, pipelinesConfig)
	bad := probes.Place{Tenant: "gamma", Account: "333333333333", Region: "us-east-1"}
	good := probes.Place{Tenant: "acme", Account: "111111111111", Region: "eu-west-1"}
	r.sim.AddFault(awssim.Fault{Service: "lambda", Resource: "enrich", Error: "ServiceException", Account: bad.Account, Region: bad.Region})
	for _, p := range []probes.Place{bad, good} {
		r.f.RunnerAt(p).RunCanary(context.Background())
	}
	canaryAlerts := func() int {
		n := 0
		for _, a := range r.engine.Alerts() {
			if a.Labels["alertname"] == AlertCanaryFailed && a.State == alerting.Firing {
				n++
			}
		}
		return n
	}
	if canaryAlerts() != 1 || r.scrape(t, "socmond_canary_passed", placeKV(good)...) != 1 {
		t.Fatalf("before: %d CanaryFailed firing, acme's canary_passed %v", canaryAlerts(), r.scrape(t, "socmond_canary_passed", placeKV(good)...))
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r.elector.Run(ctx) // stops leading
	if n := canaryAlerts(); n != 0 {
		t.Errorf("%d CanaryFailed still firing after leadership was lost", n)
	}
	for _, p := range []probes.Place{bad, good} {
		if got := r.scrape(t, "socmond_canary_passed", placeKV(p)...); got != -1 {
			t.Errorf("socmond_canary_passed at %v = %v after leadership was lost, want absent", p, got)
		}
		if got := r.scrape(t, "socmond_canary_runs_total", placeKV(p)...); got == -1 {
			t.Errorf("socmond_canary_runs_total at %v went with leadership", p)
		}
		before := len(r.sim.Calls())
		if rep := r.f.RunnerAt(p).RunCanary(context.Background()); rep.InvestigationID != "" || len(r.sim.Calls()) != before {
			t.Errorf("a replica that does not lead ran the canary at %v", p)
		}
	}
}

// TestHangingSTSHoldsOnlyItsPipelines: STS does not answer AssumeRole for
// gamma's role. Every other pipeline's first round is published while
// gamma's still waits for its credentials; gamma's then fails as auth,
// naming the role, when AssumeRole gives up.
func TestHangingSTSHoldsOnlyItsPipelines(t *testing.T) {
	r := startPipelines(t, strings.Replace(pipelinesConfig, "  failure_ratio: 0.1\n", "  failure_ratio: 0.1\n  timeout: 25s\n", 1))
	r.sim.AddFault(awssim.Fault{Service: "sts", Resource: roleOf["333333333333"], Latency: "1h"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.f.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	published := func(p probes.Place) *PassiveReport {
		rep, _ := r.f.RunnerAt(p).Latest()
		return rep
	}
	testenv.Eventually(t, "the other pipelines' rounds while gamma's waits", func() bool {
		for _, p := range r.cfg.Places() {
			rep := published(p)
			if p.Tenant == "gamma" && rep != nil {
				t.Fatalf("gamma's round at %v was published before the others'", p)
			}
			if p.Tenant != "gamma" && (rep == nil || !rep.OK()) {
				return false
			}
		}
		return true
	})
	testenv.Eventually(t, "gamma's rounds to fail as auth", func() bool {
		for _, p := range r.cfg.Places() {
			if p.Tenant != "gamma" {
				continue
			}
			rep := published(p)
			if rep == nil || len(rep.Checks) == 0 {
				return false
			}
			if c := rep.Checks[0]; c.Class != probes.ClassAuth || !strings.Contains(c.Hint, roleOf[p.Account]) {
				t.Fatalf("gamma's round at %v: %+v", p, c)
			}
		}
		return true
	})
}

// TestReloadAddsAPipelineWhileRunning: a reload that adds beta's
// pipelines to a running feature schedules them at once: their first
// rounds run without waiting for the schedule (an hour here).
func TestReloadAddsAPipelineWhileRunning(t *testing.T) {
	r := startPipelines(t, withoutBeta)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.f.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	ran := func(p probes.Place) bool {
		rn := r.f.RunnerAt(p)
		if rn == nil {
			return false
		}
		rep, _ := rn.Latest()
		return rep != nil && rep.OK()
	}
	testenv.Eventually(t, "the first rounds of acme's and gamma's pipelines", func() bool {
		for _, p := range r.cfg.Places() {
			if !ran(p) {
				return false
			}
		}
		return true
	})
	full, err := config.Parse("pipelines.yaml", []byte(pipelinesConfig), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.f.Apply(full, r.clients); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "beta's pipelines' first rounds", func() bool {
		return ran(probes.Place{Tenant: "beta", Account: "222222222222", Region: "us-east-1"}) &&
			ran(probes.Place{Tenant: "beta", Account: "222222222222", Region: "eu-west-1"})
	})
}
