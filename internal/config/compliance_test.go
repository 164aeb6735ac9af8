package config

import (
	"strings"
	"testing"
)

func TestComplianceDefaultsAndValidation(t *testing.T) {
	base := "services:\n  kms:\n    resources: [{name: alias/k}]\n"
	c, err := Parse("c.yaml", []byte(base+"pipeline:\n  kms_key: alias/k\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	cc := c.Compliance
	if !*cc.Enabled || cc.Schedule != "@every 30s" || cc.MinRetention.Years != 7 || cc.Evidence.Enabled ||
		cc.Evidence.Schedule != "@daily" || cc.Evidence.Prefix != "socmond/evidence/" {
		t.Errorf("defaults: %+v", cc)
	}
	if c, err := Parse("c.yaml", []byte(base), nil); err != nil || *c.Compliance.Enabled {
		t.Errorf("without a pipeline section compliance should be off: %v", err)
	}
	for body, want := range map[string]string{
		"compliance:\n  min_retention: {years: 7, days: 2557}\n": "compliance.min_retention: set years or days, not both",
		"compliance:\n  schedule: nope\n":                        "compliance.schedule: invalid schedule",
		"compliance:\n  evidence: {enabled: true}\n":             "set pipeline.audit_bucket",
		"compliance:\n  enabled: true\n":                         "names no kms_key",
		"compliance:\n  bogus: 1\n":                              "bogus",
	} {
		_, err := Parse("c.yaml", []byte(base+body), nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want one containing %q", body, err, want)
		}
	}
}

// The canary must not accept an audit artifact kept for less than the
// compliance check requires of the audit bucket: compliance.min_retention
// in days, counted as the compliance package counts it (7 years = 2557).
func TestCanaryRetentionAtLeastComplianceMinimum(t *testing.T) {
	base := "services:\n  kms:\n    resources: [{name: alias/k}]\n"
	for body, want := range map[string]string{
		"canary:\n  min_retention_days: 2555\n":                                             "c.yaml:5: canary.min_retention_days: 2555 days is less than compliance.min_retention (7 years = 2557 days)",
		"canary:\n  min_retention_days: 2556\n":                                             "c.yaml:5: canary.min_retention_days: 2556 days is less than",
		"compliance:\n  min_retention: {days: 3000}\ncanary:\n  min_retention_days: 2557\n": "c.yaml:7: canary.min_retention_days: 2557 days is less than compliance.min_retention (3000 days)",
		"canary:\n  min_retention_days: 2557\n":                                             "",
		"compliance:\n  min_retention: {years: 1}\ncanary:\n  min_retention_days: 366\n":    "",
		"compliance:\n  min_retention: {years: 1}\ncanary:\n  min_retention_days: 365\n":    "c.yaml:7: canary.min_retention_days: 365 days is less than compliance.min_retention (1 years = 366 days)",
	} {
		_, err := Parse("c.yaml", []byte(base+body), nil)
		switch {
		case want == "" && err != nil:
			t.Errorf("%q: %v", body, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%q: error %v, want one containing %q", body, err, want)
		}
	}
	// Unset, it is the compliance minimum.
	for body, want := range map[string]int{
		"": 2557,
		"compliance:\n  min_retention: {years: 10}\n":  3653,
		"compliance:\n  min_retention: {days: 3000}\n": 3000,
	} {
		c, err := Parse("c.yaml", []byte(base+body), nil)
		if err != nil || c.Canary.MinRetentionDays != want {
			t.Errorf("%q: canary.min_retention_days defaults to %d (%v), want %d", body, c.Canary.MinRetentionDays, err, want)
		}
	}
}
