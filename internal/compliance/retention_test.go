package compliance_test

import (
	"testing"

	"github.com/socmond/socmond/internal/compliance"
	"github.com/socmond/socmond/internal/config"
)

// config cannot import compliance (compliance imports config), so it
// counts retention days itself; the two counts must agree.
func TestMinRetentionDaysAgreeWithCompliance(t *testing.T) {
	for y := 1; y <= 100; y++ {
		if got, want := (config.MinRetention{Years: y}).MinDays(), (compliance.Retention{Years: y}).MinDays(); got != want {
			t.Errorf("%d years: %d days, compliance counts %d", y, got, want)
		}
	}
	if got := (config.MinRetention{Days: 2557}).MinDays(); got != 2557 {
		t.Errorf("2557 days: %d", got)
	}
}
