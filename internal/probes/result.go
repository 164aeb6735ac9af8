// Package probes holds the health probes for the AWS services the SOC pipeline
// depends on: one file per service, all behind the small Probe interface, and
// all producing the same Result that everything downstream consumes.
package probes

import (
	"context"
	"time"
)

// Status is the health of one resource as seen by one probe run.
type Status string

const (
	Healthy     Status = "healthy"
	Degraded    Status = "degraded"
	Unavailable Status = "unavailable"
)

// Statuses lists every status, in order of severity; metrics rely on it to
// export a 0 for the statuses a resource is not in.
var Statuses = []Status{Healthy, Degraded, Unavailable}

// Class says why a probe did not come back healthy. It is a bounded label
// value, so it is safe to put on a metric.
type Class string

const (
	ClassNone         Class = ""
	ClassTimeout      Class = "timeout"
	ClassThrottled    Class = "throttled"
	ClassAuth         Class = "auth"
	ClassNotFound     Class = "not_found"
	ClassInvalidState Class = "invalid_state"
	ClassServer       Class = "server"
	ClassNetwork      Class = "network"
	ClassOther        Class = "other"
	// ClassSlow marks a call that succeeded but took longer than the
	// response-time threshold. It is not an error, only a degradation.
	ClassSlow Class = "slow"
	// ClassBacklog marks a call that succeeded and found the resource
	// holding work the pipeline could not deliver: messages in a
	// dead-letter queue, each an alert that never reached its
	// investigation. The resource serves (DEGRADED, not an error); what it
	// holds is the problem, and it has an alert of its own.
	ClassBacklog Class = "backlog"
)

// Classes lists every failure class (ClassSlow and ClassBacklog included).
var Classes = []Class{ClassTimeout, ClassThrottled, ClassAuth, ClassNotFound, ClassInvalidState, ClassServer, ClassNetwork, ClassOther, ClassSlow, ClassBacklog}

// Target names what a probe checks. It is a map key everywhere (health
// windows, metric series, alerts), so it holds only comparable strings.
type Target struct {
	Service  string `json:"service"`
	Resource string `json:"resource"`
	// Place is where the resource is when the config lists accounts and
	// tenants (config's tenants:): the same name in two accounts or
	// regions is two resources. Empty for the config-wide account and
	// region, whose targets are Service and Resource alone.
	Place
}

// Place is the tenant, account and region a resource belongs to; its
// zero value is the config-wide account and region.
type Place struct {
	Tenant  string `json:"tenant,omitempty"`
	Account string `json:"account,omitempty"` // 12-digit AWS account id
	Region  string `json:"region,omitempty"`
}

// IsZero reports whether p is the config-wide account and region.
func (p Place) IsZero() bool { return p == Place{} }

// String is "service/resource", followed for a placed target by
// "@tenant/account/region", so each resource's key is its own.
func (t Target) String() string {
	if t.Place.IsZero() {
		return t.Service + "/" + t.Resource
	}
	return t.Service + "/" + t.Resource + "@" + t.Tenant + "/" + t.Account + "/" + t.Region
}

// Result is what one probe run saw. Everything that checks AWS produces one.
type Result struct {
	Target
	// Check is the AWS operation that was called, e.g. "DescribeTable".
	Check     string        `json:"check"`
	Start     time.Time     `json:"start"`
	Duration  time.Duration `json:"duration_ns"` // AWS's response time: the whole answer on the wire, request written to its last byte read, without signing, connection wait or decoding (the whole call when it got no answer; at least the deadline when it timed out)
	Status    Status        `json:"status"`
	Class     Class         `json:"class,omitempty"`
	Code      string        `json:"code,omitempty"`       // AWS error code, e.g. ThrottlingException
	RequestID string        `json:"request_id,omitempty"` // AWS request id, for support cases
	Hint      string        `json:"hint,omitempty"`       // what a person should do about it
	Detail    string        `json:"detail,omitempty"`     // what was seen, for a person
	// Backlog is how many items the resource holds that the pipeline
	// could not deliver (a dead-letter queue's messages), for probes that
	// read one; nil for the others and for a call that failed.
	Backlog *int64 `json:"backlog,omitempty"`
}

// IsError reports whether the result counts towards the error ratio
// (docs/alerting.md, "What counts as an error"): socmond could not use the
// resource — the call failed or was throttled, or the resource reports a
// state in which it cannot serve (UNAVAILABLE). A slow success, and a state
// the service documents as normal operation (a table UPDATING for hours
// while an index backfills, a LEGACY model, an Inactive function), are
// DEGRADED but not errors: paging for them would page for normal work.
func (r Result) IsError() bool { return r.Status == Unavailable || r.Class == ClassThrottled }

// Probe checks one resource of one AWS service with one cheap read-only call.
type Probe interface {
	Target() Target
	// Check performs exactly one attempt. It must honour ctx's deadline.
	Check(ctx context.Context) Observation
}

// Placed returns p checking the same resource as a resource of place:
// its Target carries place, and Run sees p itself for everything else
// (its hints, its classification).
func Placed(p Probe, place Place) Probe {
	if place.IsZero() {
		return p
	}
	if pp, ok := p.(placed); ok {
		p = pp.Probe
	}
	return placed{p, place}
}

// placed is a probe of a resource outside the config-wide account and
// region (Placed).
type placed struct {
	Probe
	place Place
}

func (p placed) Target() Target {
	t := p.Probe.Target()
	t.Place = p.place
	return t
}

// unplaced is the probe Placed wrapped, whose optional interfaces
// (Hinter, reclassifier) Run asks for.
func unplaced(p Probe) Probe {
	if pp, ok := p.(placed); ok {
		return pp.Probe
	}
	return p
}
