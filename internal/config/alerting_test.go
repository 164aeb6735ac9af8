package config

import (
	"strings"
	"testing"
	"time"
)

const alertingBase = "services:\n  kms:\n    resources: [{name: alias/k}]\n"

func TestAlertingDefaultsAndRules(t *testing.T) {
	c, err := Parse("config.yaml", []byte(alertingBase+`
alerting:
  alertmanagers:
    - url: http://am:9093
      basic_auth:
        username: u
        password: ${AM_PASSWORD}
  rules:
    high_error_rate: {for: 3m, severity: ticket}
  services:
    kms:
      high_error_rate: {severity: page, clear_for: 10m}
      slow_response: {enabled: false}
`), envMap(map[string]string{"AM_PASSWORD": "pw"}))
	if err != nil {
		t.Fatal(err)
	}
	a := &c.Alerting
	if a.ResendInterval.D() != time.Minute || *a.MinSampleRatio != 0.5 || a.QueueCapacity != 1000 ||
		a.Alertmanagers[0].Timeout.D() != 10*time.Second || a.RunbookBaseURL != DefaultRunbookBaseURL {
		t.Fatalf("defaults not applied: %+v", a)
	}
	if a.Alertmanagers[0].BasicAuth.Password != "pw" {
		t.Fatal("password not expanded from the environment")
	}
	if out, _ := c.YAML(); strings.Contains(string(out), "pw") || !strings.Contains(string(out), "<secret>") {
		t.Fatalf("check-config output shows the password:\n%s", out)
	}
	tests := map[string]struct {
		rule, service string
		want          ResolvedRule
	}{
		"built-in: no for, 1.5 intervals, ticket": {RuleSlowResponse, "s3", ResolvedRule{true, 0, 45 * time.Second, "ticket"}},
		"disabled per service":                    {RuleSlowResponse, "kms", ResolvedRule{false, 0, 45 * time.Second, "ticket"}},
		"global for, service severity":            {RuleHighErrorRate, "kms", ResolvedRule{true, 3 * time.Minute, 10 * time.Minute, "page"}},
		"global only":                             {RuleHighErrorRate, "s3", ResolvedRule{true, 3 * time.Minute, 45 * time.Second, "ticket"}},
		"compliance is immediate":                 {RuleComplianceViolation, "", ResolvedRule{true, 0, 0, "page"}},
		"unknown compliance: 5m ticket":           {RuleComplianceUnknown, "", ResolvedRule{true, 5 * time.Minute, 0, "ticket"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := a.Rule(tc.rule, tc.service, Interval("@every 30s")); got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
	if got := Interval("*/15 * * * * *"); got != 15*time.Second {
		t.Fatalf("Interval of a 15s cron spec: %s", got)
	}
}

// A window that cannot hold two results of a schedule can never confirm a
// failure, so its resources could never page: check-config says which key
// and which resources.
func TestWindowsThatCanNeverFire(t *testing.T) {
	tests := map[string]struct{ yaml, want string }{
		// The audit bucket on @every 1m in a 90s error window.
		"defaults' window": {"defaults:\n  windows:\n    error_rate: 90s\n" +
			"services:\n  s3:\n    resources: [{name: audit, schedule: '@every 1m'}, {name: art}]\n",
			`config.yaml:3: defaults.windows.error_rate: the error-rate window is shorter than two probe intervals of s3 audit ("@every 1m")`},
		"a service's own window": {"services:\n  s3:\n    windows: {availability: 50s}\n    resources: [{name: audit}]\n",
			`config.yaml:3: services.s3.windows.availability: the availability window is shorter than two probe intervals of s3 audit ("@every 30s")`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("config.yaml", []byte(tc.yaml), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
	// The same resources on a schedule the windows can hold are fine.
	if _, err := Parse("config.yaml", []byte("defaults:\n  windows:\n    error_rate: 2m\nservices:\n  s3:\n    resources: [{name: audit, schedule: '@every 1m'}]\n"), nil); err != nil {
		t.Fatal(err)
	}
}

// TestComplianceUnknownSettings: compliance_unknown is set like the other
// rules.
func TestComplianceUnknownSettings(t *testing.T) {
	c, err := Parse("config.yaml", []byte(alertingBase+`
alerting:
  rules:
    compliance_unknown: {for: 15m, clear_for: 1m, severity: info}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := ResolvedRule{true, 15 * time.Minute, time.Minute, "info"}
	if got := c.Alerting.Rule(RuleComplianceUnknown, "", 0); got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestAlertingErrors(t *testing.T) {
	tests := map[string]struct{ yaml, want string }{
		"bad url":      {"alerting:\n  alertmanagers: [{url: 'am:9093'}]\n", `config.yaml:5: alerting.alertmanagers[0].url: invalid URL "am:9093"`},
		"bad severity": {"alerting:\n  rules:\n    slow_response: {severity: urgent}\n", `alerting.rules.slow_response.severity: invalid severity "urgent"`},
		"bad unknown severity": {"alerting:\n  rules:\n    compliance_unknown: {severity: urgent}\n",
			`alerting.rules.compliance_unknown.severity: invalid severity "urgent"`},
		"unknown service": {"alerting:\n  services:\n    cloudfront: {}\n", `alerting.services.cloudfront: unknown service "cloudfront"`},
		"unknown key":     {"alerting:\n  resend: 1m\n", "resend"},
		"both auths": {"alerting:\n  alertmanagers: [{url: 'http://a', bearer_token: x, basic_auth: {username: u, password: p}}]\n",
			"set either basic_auth or bearer_token"},
		"min_samples is gone":      {"alerting:\n  min_samples: 10\n", "config.yaml:5: alerting.min_samples: replaced by alerting.min_sample_ratio"},
		"ratio above 1":            {"alerting:\n  min_sample_ratio: 1.5\n", "config.yaml:5: alerting.min_sample_ratio: 1.5 is out of range"},
		"ratio of 0":               {"alerting:\n  min_sample_ratio: 0\n", "alerting.min_sample_ratio: 0 is out of range"},
		"error rate never passed":  {"defaults:\n  thresholds: {error_rate: 1}\n", "config.yaml:5: defaults.thresholds.error_rate: 1 can never be exceeded"},
		"availability never under": {"defaults:\n  thresholds: {availability: 0}\n", "config.yaml:5: defaults.thresholds.availability: no availability is below 0"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("config.yaml", []byte(alertingBase+tc.yaml), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
