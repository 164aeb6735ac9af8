// Package health turns a stream of probe Results into what on-call asks about:
// the current status of each resource, since when, its error ratio and
// availability over their windows, and its recent history. It is pure code:
// no I/O and no clock of its own — time is always passed in.
package health

import (
	"time"

	"github.com/socmond/socmond/internal/probes"
)

// Snapshot is the health of one resource at one instant.
type Snapshot struct {
	probes.Target
	// Status is the status word (docs/alerting.md, "Status"): the latest
	// result's status, made worse by the conditions that are active, so it
	// never says healthy while an alert on the resource is active. Since is
	// when the resource entered it (the start of the first result of the
	// current run of equal statuses).
	Status probes.Status `json:"status"`
	Since  time.Time     `json:"since"`

	// Last is the latest result; LastFailure the latest one with a failure
	// class (nil when there has been none in memory).
	Last        probes.Result  `json:"last"`
	LastFailure *probes.Result `json:"last_failure,omitempty"`

	// ErrorRatio is the share of results in the error-rate window that
	// count as errors (Result.IsError); ErrorSamples how many results it
	// is computed from (0 means no data: ratio reported as 0).
	ErrorRatio   float64 `json:"error_ratio"`
	ErrorSamples int     `json:"error_samples"`

	// Availability is the share of results in the availability window whose
	// status is not unavailable (degraded counts as available);
	// AvailabilitySamples how many results it is computed from (0 means
	// no data: availability reported as 1).
	Availability        float64 `json:"availability"`
	AvailabilitySamples int     `json:"availability_samples"`

	// ErrorMinSamples and AvailabilityMinSamples are the low-traffic
	// guards the windows must reach for their ratios to count.
	ErrorMinSamples        int `json:"error_min_samples"`
	AvailabilityMinSamples int `json:"availability_min_samples"`

	// Conditions are the alert conditions as of the latest result,
	// indexed by Kind: slow response, high error rate, low availability, backlog.
	Conditions [NumKinds]Condition `json:"conditions"`

	// P95 is the 95th percentile response time over the recent results.
	P95 time.Duration `json:"p95_ns"`

	// History holds the most recent results, oldest first, at most
	// HistoryLen of them.
	History []Point `json:"history"`
}

// Condition is one alert condition of a resource (docs/alerting.md,
// "Conditions").
type Condition struct {
	// Failing: the latest results count against it — confirmed by a second
	// one in its window and not recovered, or so less than clear_for ago.
	Failing bool `json:"failing"`
	// Active: failing, and its ratio breaches the threshold from enough
	// samples (for slow response, failing is the whole condition). An
	// alert fires while its condition is active (after its for).
	Active bool `json:"active"`
}

// HistoryLen is how many recent results a Snapshot carries.
const HistoryLen = 60

// Point is one result in a history strip.
type Point struct {
	Start    time.Time     `json:"start"`
	Status   probes.Status `json:"status"`
	Duration time.Duration `json:"duration_ns"`
}
