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
	// Status is the status of the latest result; Since is when the resource
	// entered it (the start of the first result of the current run of equal statuses).
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

	// P95 is the 95th percentile response time over the recent results.
	P95 time.Duration `json:"p95_ns"`

	// History holds the most recent results, oldest first, at most
	// HistoryLen of them.
	History []Point `json:"history"`
}

// HistoryLen is how many recent results a Snapshot carries.
const HistoryLen = 60

// Point is one result in a history strip.
type Point struct {
	Start    time.Time     `json:"start"`
	Status   probes.Status `json:"status"`
	Duration time.Duration `json:"duration_ns"`
}
