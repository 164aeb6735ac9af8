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
