package compliance_test

import (
	"testing"
	"time"

	"github.com/socmond/socmond/internal/compliance"
	"github.com/socmond/socmond/internal/config"
)

// TestDefaultScheduleIsImmediate: docs/alerting.md promises that a changed
// setting pages within a minute (compliance schedule + Alertmanager's
// group_wait), so the checks must run at least every 30 seconds, and the
// runner's own default must be the one the configuration fills in.
func TestDefaultScheduleIsImmediate(t *testing.T) {
	if got := config.Interval(compliance.DefaultSchedule); got <= 0 || got > 30*time.Second {
		t.Errorf("compliance.DefaultSchedule %q runs every %s, want at most 30s", compliance.DefaultSchedule, got)
	}
	if compliance.DefaultSchedule != config.DefaultComplianceSchedule {
		t.Errorf("compliance.DefaultSchedule %q, config default %q: they must agree", compliance.DefaultSchedule, config.DefaultComplianceSchedule)
	}
}
