package deploy

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.yaml.in/yaml/v3"

	"github.com/socmond/socmond/internal/alerting"
	"github.com/socmond/socmond/internal/compliance"
	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/emf"
	"github.com/socmond/socmond/internal/probes"
	"github.com/socmond/socmond/internal/testenv"
)

// The CloudFormation template, as far as the alarms file uses it. Every
// struct lists every property the CloudFormation reference defines for its
// type, so a misspelt one is an unknown key, and decoding rejects it.
type cfnTemplate struct {
	AWSTemplateFormatVersion string                  `yaml:"AWSTemplateFormatVersion"`
	Description              string                  `yaml:"Description"`
	Parameters               map[string]cfnParameter `yaml:"Parameters"`
	Resources                map[string]cfnAlarm     `yaml:"Resources"`
}

type cfnParameter struct {
	Type                  string   `yaml:"Type"`
	Default               string   `yaml:"Default"`
	Description           string   `yaml:"Description"`
	AllowedPattern        string   `yaml:"AllowedPattern"`
	AllowedValues         []string `yaml:"AllowedValues"`
	ConstraintDescription string   `yaml:"ConstraintDescription"`
	MaxLength             *int     `yaml:"MaxLength"`
	MinLength             *int     `yaml:"MinLength"`
	MaxValue              *float64 `yaml:"MaxValue"`
	MinValue              *float64 `yaml:"MinValue"`
	NoEcho                bool     `yaml:"NoEcho"`
}

type cfnAlarm struct {
	Type       string          `yaml:"Type"`
	Properties alarmProperties `yaml:"Properties"`
}

// alarmProperties are AWS::CloudWatch::Alarm's properties.
type alarmProperties struct {
	ActionsEnabled                   *bool          `yaml:"ActionsEnabled"`
	AlarmActions                     []cfnString    `yaml:"AlarmActions"`
	AlarmDescription                 cfnString      `yaml:"AlarmDescription"`
	AlarmName                        cfnString      `yaml:"AlarmName"`
	ComparisonOperator               string         `yaml:"ComparisonOperator"`
	DatapointsToAlarm                int            `yaml:"DatapointsToAlarm"`
	Dimensions                       []cfnDimension `yaml:"Dimensions"`
	EvaluateLowSampleCountPercentile string         `yaml:"EvaluateLowSampleCountPercentile"`
	EvaluationPeriods                int            `yaml:"EvaluationPeriods"`
	ExtendedStatistic                string         `yaml:"ExtendedStatistic"`
	InsufficientDataActions          []cfnString    `yaml:"InsufficientDataActions"`
	MetricName                       string         `yaml:"MetricName"`
	Metrics                          []metricQuery  `yaml:"Metrics"`
	Namespace                        string         `yaml:"Namespace"`
	OKActions                        []cfnString    `yaml:"OKActions"`
	Period                           int            `yaml:"Period"`
	Statistic                        string         `yaml:"Statistic"`
	Tags                             []cfnTag       `yaml:"Tags"`
	Threshold                        *float64       `yaml:"Threshold"`
	ThresholdMetricID                string         `yaml:"ThresholdMetricId"`
	TreatMissingData                 string         `yaml:"TreatMissingData"`
	Unit                             string         `yaml:"Unit"`
}

// metricQuery is AWS::CloudWatch::Alarm MetricDataQuery.
type metricQuery struct {
	AccountID  string      `yaml:"AccountId"`
	Expression cfnString   `yaml:"Expression"`
	ID         string      `yaml:"Id"`
	Label      string      `yaml:"Label"`
	MetricStat *metricStat `yaml:"MetricStat"`
	Period     int         `yaml:"Period"`
	ReturnData *bool       `yaml:"ReturnData"`
}

type metricStat struct {
	Metric struct {
		Dimensions []cfnDimension `yaml:"Dimensions"`
		MetricName string         `yaml:"MetricName"`
		Namespace  string         `yaml:"Namespace"`
	} `yaml:"Metric"`
	Period int    `yaml:"Period"`
	Stat   string `yaml:"Stat"`
	Unit   string `yaml:"Unit"`
}

type cfnDimension struct {
	Name  string    `yaml:"Name"`
	Value cfnString `yaml:"Value"`
}

type cfnTag struct {
	Key   string    `yaml:"Key"`
	Value cfnString `yaml:"Value"`
}

// cfnString is a string property: a literal, {Ref: parameter} or
// {Fn::Sub: "text with ${Parameter}"}, the only intrinsics the file needs.
type cfnString struct {
	Literal, Ref, Sub string
}

func (s *cfnString) UnmarshalYAML(n *yaml.Node) error {
	switch {
	case n.Kind == yaml.ScalarNode:
		s.Literal = n.Value
		return nil
	case n.Kind == yaml.MappingNode && len(n.Content) == 2 && n.Content[1].Kind == yaml.ScalarNode:
		switch n.Content[0].Value {
		case "Ref":
			s.Ref = n.Content[1].Value
			return nil
		case "Fn::Sub":
			s.Sub = n.Content[1].Value
			return nil
		}
	}
	return fmt.Errorf("line %d: want a string, {Ref: P} or {Fn::Sub: \"…\"}", n.Line)
}

// text is the string with every ${Parameter} of a Fn::Sub left as written.
func (s cfnString) text() string { return s.Literal + s.Sub }

const alarmsFile = "ecs/cloudwatch-alarms.yaml"

// loadAlarms decodes the alarms template strictly: no YAML tags (the short
// intrinsic forms !Ref/!Sub would need CloudFormation's own YAML reading),
// no unknown keys at any level.
func loadAlarms(t *testing.T) cfnTemplate {
	t.Helper()
	b, err := os.ReadFile(alarmsFile)
	if err != nil {
		t.Fatal(err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		t.Fatal(err)
	}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Tag != "" && !strings.HasPrefix(n.Tag, "!!") {
			t.Errorf("%s:%d: tag %s: write intrinsic functions in their long form (Fn::…, Ref)", alarmsFile, n.Line, n.Tag)
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&root)
	var tpl cfnTemplate
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&tpl); err != nil {
		t.Fatalf("%s: %v", alarmsFile, err)
	}
	return tpl
}

// miQuery matches the Metrics Insights queries the alarms use: one of
// socmond's metrics, from its namespace with exactly the dimensions it
// writes, of one tenant, grouped by resource (and, for a tenant's
// pipelines' lines, account and region).
var miQuery = regexp.MustCompile(`^SELECT (AVG|MAX|MIN|SUM|COUNT)\("([A-Za-z]+)"\) FROM SCHEMA\("\$\{Namespace\}", ((?:"[A-Za-z]+", )*"[A-Za-z]+")\) WHERE "Tenant" = '\$\{Tenant\}'( GROUP BY "Service", "Resource"(, "Account", "Region")? ORDER BY (AVG|MAX|MIN|SUM|COUNT)\(\) DESC LIMIT 1)?$`)

// alarmQuery is one Metrics Insights query of an alarm.
type alarmQuery struct {
	Alarm, Metric string
	Dimensions    []string // sorted
	Period        int
	// Placed: the query is of the lines of a tenant's pipeline's
	// resources (emf.DimAccount and emf.DimRegion among its dimensions).
	Placed bool
}

// alarmQueries checks every alarm's queries and expressions and returns
// the Metrics Insights queries, for the run test to hold against the lines
// socmond writes.
func alarmQueries(t *testing.T, tpl cfnTemplate) []alarmQuery {
	t.Helper()
	var out []alarmQuery
	for name, a := range tpl.Resources {
		p := a.Properties
		ids := map[string]bool{}
		returned := 0
		for _, m := range p.Metrics {
			if !regexp.MustCompile(`^[a-z][A-Za-z0-9_]*$`).MatchString(m.ID) || ids[m.ID] {
				t.Errorf("%s: metric query id %q must be unique and start with a lower-case letter", name, m.ID)
			}
			ids[m.ID] = true
			if m.ReturnData != nil && *m.ReturnData {
				returned++
			}
			if m.MetricStat != nil || m.Expression.Sub == "" {
				t.Errorf("%s %s: want a Metrics Insights query or metric math in Fn::Sub (the tenant and namespace are parameters)", name, m.ID)
			}
		}
		if returned != 1 {
			t.Errorf("%s: %d queries return data, want exactly one (the alarm's)", name, returned)
		}
		for _, m := range p.Metrics {
			expr := m.Expression.Sub
			if strings.HasPrefix(expr, "SELECT ") {
				g := miQuery.FindStringSubmatch(expr)
				if g == nil {
					t.Errorf("%s %s: not a query of socmond's metrics of one tenant: %s", name, m.ID, expr)
					continue
				}
				if m.Period < 60 || m.Period%60 != 0 {
					t.Errorf("%s %s: period %d: Metrics Insights has one-minute resolution", name, m.ID, m.Period)
				}
				dims := strings.Split(strings.ReplaceAll(g[3], `"`, ""), ", ")
				sort.Strings(dims)
				placed := slices.Contains(dims, emf.DimAccount)
				// Grouped by resource, a tenant's pipelines' lines are
				// grouped by account and region too: the same name in two
				// accounts is two resources, whose ratios must not merge.
				if g[4] != "" && placed != (g[5] != "") {
					t.Errorf("%s %s: grouped by %q of lines with dimensions %v", name, m.ID, g[4], dims)
				}
				out = append(out, alarmQuery{Alarm: name, Metric: g[2], Dimensions: dims, Period: m.Period, Placed: placed})
				continue
			}
			// Metric math: every lower-case name is a query id of this
			// alarm (functions are upper-case).
			for _, ref := range regexp.MustCompile(`\b[a-z][A-Za-z0-9_]*\b`).FindAllString(expr, -1) {
				if !ids[ref] || ref == m.ID {
					t.Errorf("%s %s: %q is no other query of the alarm: %s", name, m.ID, ref, expr)
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Alarm < out[j].Alarm })
	return out
}

// TestCloudWatchAlarms: the alarms template decodes strictly, every alarm
// is one docs/alerting.md defines (or SocmondSilent) with its default
// severity's topic and threshold, and every metric it queries is one
// socmond writes, with the dimensions it writes them with.
func TestCloudWatchAlarms(t *testing.T) {
	tpl := loadAlarms(t)
	if tpl.AWSTemplateFormatVersion != "2010-09-09" {
		t.Errorf("AWSTemplateFormatVersion %q", tpl.AWSTemplateFormatVersion)
	}
	params := tpl.Parameters
	for _, name := range []string{"Tenant", "Namespace", "PageTopicArn", "TicketTopicArn", "ProbeIntervalSeconds"} {
		if _, ok := params[name]; !ok {
			t.Errorf("parameter %s is missing", name)
		}
	}
	if params["Namespace"].Default != emf.DefaultNamespace {
		t.Errorf("Namespace defaults to %q, socmond writes to %q", params["Namespace"].Default, emf.DefaultNamespace)
	}
	if want := fmt.Sprint(config.Interval(config.DefaultSchedule).Seconds()); params["ProbeIntervalSeconds"].Default != want {
		t.Errorf("ProbeIntervalSeconds defaults to %s, the env-only schedule %q is %ss", params["ProbeIntervalSeconds"].Default, config.DefaultSchedule, want)
	}
	// A tenant is written into the queries between quotes.
	if p := params["Tenant"].AllowedPattern; p == "" || regexp.MustCompile(p).MatchString("it's") {
		t.Errorf("Tenant's AllowedPattern %q must keep quotes out of the queries", p)
	}

	var defaults config.Alerting
	rule := func(r string) string { return defaults.Rule(r, "", config.Interval(config.DefaultSchedule)).Severity }
	pct := func(ratio float64) float64 { return ratio * 100 }
	want := map[string]struct {
		severity, operator string
		threshold          float64
		period             time.Duration // of the Metrics Insights query
	}{
		alerting.AlertSlowResponse:        {rule(config.RuleSlowResponse), "GreaterThanThreshold", float64(config.DefaultResponseTimeThreshold.Milliseconds()), time.Minute},
		alerting.AlertHighErrorRate:       {rule(config.RuleHighErrorRate), "GreaterThanThreshold", pct(config.DefaultErrorRateThreshold), config.DefaultErrorRateWindow},
		alerting.AlertLowAvailability:     {rule(config.RuleLowAvailability), "LessThanThreshold", pct(config.DefaultAvailabilityThreshold), config.DefaultAvailabilityWindow},
		alerting.AlertBacklog:             {rule(config.RuleBacklog), "GreaterThanThreshold", 0, time.Minute},
		alerting.AlertComplianceViolation: {rule(config.RuleComplianceViolation), "GreaterThanOrEqualToThreshold", 1, time.Minute},
		"SocmondSilent":                   {"page", "LessThanThreshold", 1, 5 * time.Minute},
	}
	var names []string
	for name := range tpl.Resources {
		names = append(names, name)
	}
	sort.Strings(names)
	var wantNames []string
	for name := range want {
		wantNames = append(wantNames, name)
	}
	sort.Strings(wantNames)
	if !slices.Equal(names, wantNames) {
		t.Errorf("alarms %v, want %v", names, wantNames)
	}
	for name, a := range tpl.Resources {
		w, p := want[name], a.Properties
		if a.Type != "AWS::CloudWatch::Alarm" {
			t.Errorf("%s: type %s", name, a.Type)
		}
		if p.Threshold == nil || *p.Threshold != w.threshold || p.ComparisonOperator != w.operator {
			t.Errorf("%s: %s %v, want %s %v", name, p.ComparisonOperator, fmtThreshold(p.Threshold), w.operator, w.threshold)
		}
		topic := map[string]string{"page": "PageTopicArn", "ticket": "TicketTopicArn"}[w.severity]
		for what, actions := range map[string][]cfnString{"AlarmActions": p.AlarmActions, "OKActions": p.OKActions} {
			if len(actions) != 1 || actions[0].Ref != topic {
				t.Errorf("%s: %s %+v, want the %s topic (severity %s), told of resolves as well", name, what, actions, topic, w.severity)
			}
		}
		if !slices.Contains(p.Tags, cfnTag{Key: "severity", Value: cfnString{Literal: w.severity}}) {
			t.Errorf("%s: no severity tag %q", name, w.severity)
		}
		if !strings.Contains(p.AlarmName.Sub, "${Tenant}") || !strings.HasSuffix(p.AlarmName.Sub, name) {
			t.Errorf("%s: AlarmName %q must name the tenant and the alert", name, p.AlarmName.text())
		}
		if p.EvaluationPeriods < 1 || p.DatapointsToAlarm < 1 || p.DatapointsToAlarm > p.EvaluationPeriods {
			t.Errorf("%s: %d of %d datapoints", name, p.DatapointsToAlarm, p.EvaluationPeriods)
		}
		if name != "SocmondSilent" && !strings.Contains(p.AlarmDescription.text(), "docs/runbooks.md#"+strings.ToLower(name)) {
			t.Errorf("%s: the description does not link its runbook", name)
		}
		for _, s := range append([]cfnString{p.AlarmName, p.AlarmDescription}, exprs(p.Metrics)...) {
			for _, v := range regexp.MustCompile(`\$\{([^}]*)\}`).FindAllStringSubmatch(s.Sub, -1) {
				if _, ok := params[v[1]]; !ok {
					t.Errorf("%s: ${%s} is no parameter", name, v[1])
				}
			}
		}
		// The math that asks for two failures counts results in the
		// query's own period.
		for _, m := range p.Metrics {
			if strings.HasPrefix(m.Expression.Sub, "IF(") && !strings.Contains(m.Expression.Sub, fmt.Sprintf("* %d / ${ProbeIntervalSeconds}", int(w.period.Seconds()))) {
				t.Errorf("%s %s: counts results over another period than %s: %s", name, m.ID, w.period, m.Expression.Sub)
			}
		}
	}
	queries := alarmQueries(t, tpl)
	wide, placed := map[string]alarmQuery{}, map[string]alarmQuery{}
	for _, q := range queries {
		if !slices.Contains(emf.Metrics, q.Metric) {
			t.Errorf("%s queries %s, which socmond does not write (%v)", q.Alarm, q.Metric, emf.Metrics)
		}
		if w := want[q.Alarm]; q.Period != int(w.period.Seconds()) {
			t.Errorf("%s: period %ds, want %s", q.Alarm, q.Period, w.period)
		}
		m := wide
		if q.Placed {
			m = placed
		}
		if _, twice := m[q.Alarm]; twice {
			t.Errorf("%s: two queries of the same lines", q.Alarm)
		}
		m[q.Alarm] = q
	}
	// Every alarm queries the config-wide pipeline's lines, and the
	// tenant's pipelines' lines too: the same metric, with Account and
	// Region besides.
	for name := range want {
		w, ok := wide[name]
		if !ok {
			t.Errorf("%s: no query of the config-wide pipeline's lines", name)
			continue
		}
		p, ok := placed[name]
		if !ok || p.Metric != w.Metric || !slices.Equal(p.Dimensions, slices.Sorted(slices.Values(append([]string{emf.DimAccount, emf.DimRegion}, w.Dimensions...)))) {
			t.Errorf("%s: placed query %+v, want %s with %v, Account and Region", name, p, w.Metric, w.Dimensions)
		}
	}
	// The placed queries read what socmond writes for a tenant's
	// pipeline's resource (the config-wide ones are held to the lines of a
	// run: TestECSTaskPagesAndWritesEMF).
	written := writtenMetrics(t, placedLines(t))
	for _, q := range placed {
		if k := tpl.Parameters["Namespace"].Default + " " + q.Metric + " " + strings.Join(q.Dimensions, ","); !written[k] {
			t.Errorf("%s queries %s by %v, which socmond does not write for a tenant's pipeline (it writes %v)", q.Alarm, q.Metric, q.Dimensions, written)
		}
	}
}

// placedLines are the EMF lines of a tenant's pipeline's resources: one of
// each kind (a success, a failure, a dead-letter queue, a failing
// compliance check).
func placedLines(t *testing.T) []testenv.EMF {
	t.Helper()
	var out bytes.Buffer
	w := emf.New(&out, emf.DefaultNamespace, "config-tenant", zerolog.Nop())
	place := probes.Place{Tenant: "acme", Account: "111111111111", Region: "eu-west-1"}
	held := int64(1)
	for _, r := range []probes.Result{
		{Status: probes.Healthy},
		{Status: probes.Unavailable, Class: probes.ClassTimeout},
		{Status: probes.Degraded, Class: probes.ClassBacklog, Backlog: &held},
	} {
		r.Target = probes.Target{Service: "sqs", Resource: "q", Place: place}
		r.Start = time.Now()
		w.Result(r)
	}
	w.Finding(compliance.Finding{Check: compliance.CheckKMSRotation, Resource: "alias/k", Verdict: compliance.Fail, Start: time.Now(), Place: place})
	w.Flush()
	return checkEMFLines(t, out.String())
}

// writtenMetrics are the namespace, metric and sorted dimensions of
// every metric of the lines.
func writtenMetrics(t *testing.T, docs []testenv.EMF) map[string]bool {
	t.Helper()
	written := map[string]bool{}
	for _, d := range docs {
		for _, dir := range d.Directives {
			for _, set := range dir.Dimensions {
				s := slices.Clone(set)
				sort.Strings(s)
				for _, m := range dir.Metrics {
					written[dir.Namespace+" "+m.Name+" "+strings.Join(s, ",")] = true
				}
			}
		}
	}
	return written
}

func fmtThreshold(v *float64) string {
	if v == nil {
		return "(none)"
	}
	return fmt.Sprint(*v)
}

func exprs(ms []metricQuery) []cfnString {
	var out []cfnString
	for _, m := range ms {
		out = append(out, m.Expression)
	}
	return out
}
