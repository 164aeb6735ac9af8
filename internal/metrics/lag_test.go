package metrics_test

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/socmond/socmond/internal/metrics"
	"github.com/socmond/socmond/internal/testenv"
)

func TestSchedulerLag(t *testing.T) {
	m := metrics.New("v", "r")
	m.SchedulerLag(3 * time.Millisecond)
	m.SchedulerLag(30 * time.Millisecond)
	want := `
# HELP socmond_scheduler_lag_seconds Delay between the time a probe run was planned for and the time it started (queueing for a slot included).
# TYPE socmond_scheduler_lag_seconds histogram
socmond_scheduler_lag_seconds_bucket{le="0.0005"} 0
socmond_scheduler_lag_seconds_bucket{le="0.001"} 0
socmond_scheduler_lag_seconds_bucket{le="0.002"} 0
socmond_scheduler_lag_seconds_bucket{le="0.005"} 1
socmond_scheduler_lag_seconds_bucket{le="0.01"} 1
socmond_scheduler_lag_seconds_bucket{le="0.02"} 1
socmond_scheduler_lag_seconds_bucket{le="0.05"} 2
socmond_scheduler_lag_seconds_bucket{le="0.1"} 2
socmond_scheduler_lag_seconds_bucket{le="0.25"} 2
socmond_scheduler_lag_seconds_bucket{le="0.5"} 2
socmond_scheduler_lag_seconds_bucket{le="1"} 2
socmond_scheduler_lag_seconds_bucket{le="2.5"} 2
socmond_scheduler_lag_seconds_bucket{le="5"} 2
socmond_scheduler_lag_seconds_bucket{le="10"} 2
socmond_scheduler_lag_seconds_bucket{le="+Inf"} 2
socmond_scheduler_lag_seconds_sum 0.033
socmond_scheduler_lag_seconds_count 2
`
	if err := testutil.GatherAndCompare(testenv.Scrape(m.Handler(zerolog.Nop())), strings.NewReader(want), "socmond_scheduler_lag_seconds"); err != nil {
		t.Error(err)
	}
}
