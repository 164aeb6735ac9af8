package config

import (
	"fmt"
	"maps"
	"math"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/socmond/socmond/internal/probes"
)

// Alerting defaults. The resend interval matches Prometheus' resend delay
// of one minute. min_sample_ratio is half of the results a window should
// hold on the resource's schedule (docs/alerting.md, "Conditions"): 5 of a
// 5m window's 10 at 30s, so one skipped run does not disarm the guard and
// a window just after start-up is too empty to page.
const (
	DefaultResendInterval = time.Minute
	DefaultMinSampleRatio = 0.5
	DefaultQueueCapacity  = 1000
	DefaultAMTimeout      = 10 * time.Second
	DefaultRunbookBaseURL = "https://github.com/socmond/socmond/blob/main/docs/runbooks.md"
	// DefaultComplianceUnknownFor: a compliance read that fails is
	// retried at the next round (every 30s), so a blip clears on its own;
	// one that lasts 5 minutes means the check is blind and someone should
	// find out why (docs/alerting.md).
	DefaultComplianceUnknownFor = 5 * time.Minute
)

// Alert rule keys as written under alerting.rules.
const (
	RuleSlowResponse        = "slow_response"
	RuleHighErrorRate       = "high_error_rate"
	RuleLowAvailability     = "low_availability"
	RuleBacklog             = "backlog"
	RuleComplianceViolation = "compliance_violation"
	RuleComplianceUnknown   = "compliance_unknown"
)

// Severities an alert may carry; the example Alertmanager config routes
// page to the pager and ticket to the ticket queue.
var Severities = []string{"page", "ticket", "info"}

// Alerting configures the in-daemon rules and where their alerts go.
// Thresholds and windows are not repeated here: they are the targets'
// own (services.<name>.thresholds > defaults.thresholds).
type Alerting struct {
	Alertmanagers  []Alertmanager        `yaml:"alertmanagers,omitempty"`    // none: rules still evaluate (status page, metrics) but nothing is sent
	ResendInterval Duration              `yaml:"resend_interval,omitempty"`  // default 1m
	MinSampleRatio *float64              `yaml:"min_sample_ratio,omitempty"` // low-traffic guard: share of the results a window should hold, default 0.5
	MinSamples     int                   `yaml:"min_samples,omitempty"`      // replaced by min_sample_ratio; rejected with a pointer to it
	QueueCapacity  int                   `yaml:"queue_capacity,omitempty"`   // per Alertmanager, default 1000; full → oldest dropped and counted
	RunbookBaseURL string                `yaml:"runbook_base_url,omitempty"`
	Rules          AlertRules            `yaml:"rules,omitempty"`    // global rule settings
	Services       map[string]AlertRules `yaml:"services,omitempty"` // per service overrides, keyed by service name
}

// Alertmanager is one Alertmanager to POST /api/v2/alerts to.
type Alertmanager struct {
	URL         string     `yaml:"url"` // base URL, e.g. http://alertmanager:9093
	Timeout     Duration   `yaml:"timeout,omitempty"`
	BasicAuth   *BasicAuth `yaml:"basic_auth,omitempty"`
	BearerToken Secret     `yaml:"bearer_token,omitempty"` // use ${VAR}; never logged
	TLS         TLS        `yaml:"tls,omitempty"`
}

// BasicAuth is HTTP basic authentication.
type BasicAuth struct {
	Username string `yaml:"username"`
	Password Secret `yaml:"password"` // use ${VAR}; never logged
}

// TLS configures the client side of an HTTPS connection.
type TLS struct {
	CAFile             string `yaml:"ca_file,omitempty"`
	CertFile           string `yaml:"cert_file,omitempty"`
	KeyFile            string `yaml:"key_file,omitempty"`
	ServerName         string `yaml:"server_name,omitempty"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify,omitempty"`
}

// Secret is a credential: check-config prints it as <secret>, as
// Prometheus does, so the effective config can be shared without it.
type Secret string

// MarshalYAML hides the value.
func (s Secret) MarshalYAML() (any, error) {
	if s == "" {
		return "", nil
	}
	return "<secret>", nil
}

// AlertRules holds the settings of each in-daemon rule.
type AlertRules struct {
	SlowResponse        RuleSettings `yaml:"slow_response,omitempty"`
	HighErrorRate       RuleSettings `yaml:"high_error_rate,omitempty"`
	LowAvailability     RuleSettings `yaml:"low_availability,omitempty"`
	Backlog             RuleSettings `yaml:"backlog,omitempty"`
	ComplianceViolation RuleSettings `yaml:"compliance_violation,omitempty"`
	ComplianceUnknown   RuleSettings `yaml:"compliance_unknown,omitempty"`
}

// RuleSettings tune one rule. Zero values inherit (service > global >
// built-in).
type RuleSettings struct {
	Enabled  *bool    `yaml:"enabled,omitempty"`
	For      Duration `yaml:"for,omitempty"`       // how long a condition must be active before its alert fires; default 0 (compliance_unknown: 5m)
	ClearFor Duration `yaml:"clear_for,omitempty"` // a condition keeps failing this long after its last failing result; default: 1.5 probe intervals (compliance: 0)
	Severity string   `yaml:"severity,omitempty"`  // page, ticket or info
}

func (a *AlertRules) byKey() map[string]*RuleSettings {
	return map[string]*RuleSettings{
		RuleSlowResponse:        &a.SlowResponse,
		RuleHighErrorRate:       &a.HighErrorRate,
		RuleLowAvailability:     &a.LowAvailability,
		RuleBacklog:             &a.Backlog,
		RuleComplianceViolation: &a.ComplianceViolation,
		RuleComplianceUnknown:   &a.ComplianceUnknown,
	}
}

// defaultSeverity: availability and errors lose investigations, so they
// page, as does a backlog (each message in a dead-letter queue is an alert
// that was lost); slowness only delays them, so it opens a ticket. A compliance
// violation is a regulatory finding and pages at once; a check that cannot
// read its facts has found nothing wrong, so it opens a ticket.
var defaultSeverity = map[string]string{
	RuleSlowResponse:        "ticket",
	RuleHighErrorRate:       "page",
	RuleLowAvailability:     "page",
	RuleBacklog:             "page",
	RuleComplianceViolation: "page",
	RuleComplianceUnknown:   "ticket",
}

// ResolvedRule is one rule's settings for one service with every default
// applied. ClearFor is zero when it depends on the probe interval and the
// caller has none (see Rule).
type ResolvedRule struct {
	Enabled  bool
	For      time.Duration
	ClearFor time.Duration
	Severity string
}

// Rule resolves the settings of rule (one of the Rule* keys) for service;
// interval is the resource's probe interval, from which the default
// clear_for (1.5 intervals: a recovered resource is clear at its second good
// probe in a row, one that alternates failure and success stays failing) is
// derived. Every service rule defaults to no for: its condition is confirmed
// by a second failing result already (docs/alerting.md). Compliance clears
// at once: a violation pages at once and either compliance alert resolves
// at the first verdict that ends it; compliance_unknown waits
// DefaultComplianceUnknownFor before it raises a ticket.
func (a *Alerting) Rule(rule, service string, interval time.Duration) ResolvedRule {
	var svc, glob *RuleSettings
	if s, ok := a.Services[service]; ok {
		svc = s.byKey()[rule]
	}
	glob = a.Rules.byKey()[rule]
	if glob == nil {
		glob = &RuleSettings{}
	}
	if svc == nil {
		svc = &RuleSettings{}
	}
	var defFor time.Duration
	defClear := interval * 3 / 2
	switch rule {
	case RuleComplianceViolation:
		defClear = 0
	case RuleComplianceUnknown:
		defFor, defClear = DefaultComplianceUnknownFor, 0
	}
	r := ResolvedRule{
		Enabled:  true,
		For:      firstDuration(svc.For, glob.For, Duration(defFor)),
		ClearFor: firstDuration(svc.ClearFor, glob.ClearFor, Duration(defClear)),
		Severity: firstString(svc.Severity, glob.Severity, defaultSeverity[rule]),
	}
	if svc.Enabled != nil {
		r.Enabled = *svc.Enabled
	} else if glob.Enabled != nil {
		r.Enabled = *glob.Enabled
	}
	return r
}

// MinSamples is the low-traffic guard of a window on a schedule: ratio of
// the results the window should hold, rounded up, at least one.
func MinSamples(ratio float64, window, interval time.Duration) int {
	if interval <= 0 {
		return 1
	}
	return max(1, int(math.Ceil(ratio*float64(window)/float64(interval)-1e-9)))
}

// Interval is the time between two runs of a schedule, measured from a
// fixed instant (cron specs with irregular gaps get their first gap).
func Interval(schedule string) time.Duration {
	s, err := scheduleParser.Parse(schedule)
	if err != nil {
		return 0
	}
	t0 := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	t1 := s.Next(t0)
	return s.Next(t1).Sub(t1)
}

func (a *Alerting) applyDefaults() {
	if a.ResendInterval == 0 {
		a.ResendInterval = Duration(DefaultResendInterval)
	}
	if a.MinSampleRatio == nil {
		v := DefaultMinSampleRatio
		a.MinSampleRatio = &v
	}
	if a.QueueCapacity == 0 {
		a.QueueCapacity = DefaultQueueCapacity
	}
	if a.RunbookBaseURL == "" {
		a.RunbookBaseURL = DefaultRunbookBaseURL
	}
	for i := range a.Alertmanagers {
		if a.Alertmanagers[i].Timeout == 0 {
			a.Alertmanagers[i].Timeout = Duration(DefaultAMTimeout)
		}
	}
}

func validateAlerting(a *Alerting, l *locator) []error {
	var errs []error
	add := func(e *Error) { errs = append(errs, e) }
	for i, am := range a.Alertmanagers {
		p := fmt.Sprintf("alerting.alertmanagers[%d]", i)
		u, err := url.Parse(am.URL)
		if am.URL == "" {
			add(l.errorf(p+".url", "required"))
		} else if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add(l.errorf(p+".url", "invalid URL %q: expected http(s)://host:port", am.URL))
		}
		if am.BasicAuth != nil && am.BearerToken != "" {
			add(l.errorf(p+".bearer_token", "set either basic_auth or bearer_token, not both"))
		}
		if am.BasicAuth != nil && am.BasicAuth.Username == "" {
			add(l.errorf(p+".basic_auth.username", "required"))
		}
		if (am.TLS.CertFile == "") != (am.TLS.KeyFile == "") {
			add(l.errorf(p+".tls", "cert_file and key_file go together"))
		}
	}
	if a.MinSamples != 0 {
		add(l.errorf("alerting.min_samples", "replaced by alerting.min_sample_ratio, a share of the results a window should hold on each resource's schedule (default 0.5): a fixed count could never be reached by a slow schedule"))
	}
	// Written as a negated range so NaN is rejected too.
	if r := a.MinSampleRatio; r != nil && !(*r > 0 && *r <= 1) {
		add(l.errorf("alerting.min_sample_ratio", "%v is out of range: must be above 0 and at most 1", *r))
	}
	if a.QueueCapacity < 1 {
		add(l.errorf("alerting.queue_capacity", "must be at least 1, got %d", a.QueueCapacity))
	}
	if u, err := url.Parse(a.RunbookBaseURL); err != nil || u.Scheme == "" {
		add(l.errorf("alerting.runbook_base_url", "invalid URL %q", a.RunbookBaseURL))
	}
	for _, e := range validateRules(&a.Rules, "alerting.rules", l) {
		add(e)
	}
	names := probes.Services()
	keys := make([]string, 0, len(a.Services))
	for k := range a.Services {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, svc := range keys {
		base := "alerting.services." + svc
		if !slices.Contains(names, svc) {
			add(l.errorf(base, "unknown service %q (one of %s)", svc, strings.Join(names, ", ")))
			continue
		}
		r := a.Services[svc]
		for _, e := range validateRules(&r, base, l) {
			add(e)
		}
	}
	return errs
}

func validateRules(r *AlertRules, base string, l *locator) []*Error {
	var errs []*Error
	rules := r.byKey()
	for _, key := range slices.Sorted(maps.Keys(rules)) {
		s := rules[key]
		if s.Severity != "" && !slices.Contains(Severities, s.Severity) {
			errs = append(errs, l.errorf(base+"."+key+".severity", "invalid severity %q (one of %s)", s.Severity, strings.Join(Severities, ", ")))
		}
	}
	return errs
}
