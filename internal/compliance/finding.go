// Package compliance checks that the SOC pipeline's data at rest is
// encrypted with the bank's own KMS key, that the key rotates, and that the
// audit bucket keeps its records immutable for the required period
// (HKMA SA-2 §2.5/§2.8, TM-G-1 §3.1/§3.3). Each check first fetches what AWS
// reports, then evaluates it with a pure function (prowler style), so every
// PASS/FAIL/NOT_APPLICABLE branch is table-tested without a network.
//
// A Runner schedules the checks, keeps the latest Findings, exports them as
// metrics, tells subscribers, and optionally writes tamper-evident evidence
// reports to the audit bucket (the only S3 writes socmond makes).
// Reconfigure swaps its Settings at a config reload.
package compliance

import (
	"errors"
	"fmt"
	"time"

	"github.com/socmond/socmond/internal/awsclient"
	"github.com/socmond/socmond/internal/probes"
)

// Verdict is a check's outcome.
type Verdict string

const (
	Pass Verdict = "PASS"
	Fail Verdict = "FAIL"
	// NotApplicable: the check does not apply to what was found (an
	// AWS-managed key, a key type that cannot rotate). It never fails a round.
	NotApplicable Verdict = "NOT_APPLICABLE"
	// Unknown: the check could not read the facts it decides on (a call
	// was throttled, denied, timed out or found nothing, after the SDK's
	// retries). It is no finding about the resource, so it neither raises
	// nor clears ComplianceViolation, and it writes no evidence: the last
	// known verdict stands (docs/alerting.md). It raises the
	// ComplianceCheckUnknown ticket if it lasts.
	Unknown Verdict = "UNKNOWN"
)

// Check names. They are metric label values, so they are part of the
// metrics contract.
const (
	CheckKMSRotation  = "kms_key_rotation"
	CheckDynamoDBKMS  = "dynamodb_kms_encryption"
	CheckS3KMS        = "s3_kms_encryption"
	CheckS3ObjectLock = "s3_object_lock_retention"
)

// Finding is the outcome of one check on one resource.
type Finding struct {
	Check    string `json:"check"`
	Resource string `json:"resource"`
	// Place is the pipeline the resource is part of (tenant, account,
	// region) with tenants:, zero without: each field is then left out of
	// the JSON, so a report reads as it did before tenants existed.
	probes.Place
	Verdict Verdict `json:"verdict"`
	// Reason says, for a person, what was found and why it matters.
	Reason string `json:"reason"`
	// Hint says what to do about a FAIL (the command that restores the
	// setting) or a failed read; it is the hint annotation of the alert,
	// so the page says how to fix what it reports.
	Hint string `json:"hint,omitempty"`
	// Inputs are the facts AWS reported that the verdict rests on.
	Inputs   map[string]string `json:"inputs,omitempty"`
	Start    time.Time         `json:"start"`
	Duration time.Duration     `json:"duration_ns"`

	// Set when an AWS call failed and the check could not see the facts.
	Class     probes.Class `json:"class,omitempty"`
	Code      string       `json:"code,omitempty"`
	RequestID string       `json:"request_id,omitempty"`
}

// Key identifies a finding's (check, resource) pair and, for a tenant's
// pipeline, its place: the same name in two pipelines is two resources.
// It reads as a probe target's key does (check in place of service).
func (f Finding) Key() string {
	return probes.Target{Service: f.Check, Resource: f.Resource, Place: f.Place}.String()
}

// outcome is what a pure evaluation function returns.
type outcome struct {
	verdict Verdict
	reason  string
	hint    string // what to do; every FAIL has one (evaluate_test.go)
	// unresolved is the key name whose failed DescribeKey an UNKNOWN
	// rests on; Checker.finish adds that call's error to the finding.
	unresolved string
}

func pass(format string, args ...any) outcome {
	return outcome{verdict: Pass, reason: fmt.Sprintf(format, args...)}
}

// fail is a FAIL with its reason; every caller adds the remediation with
// fix, so the alert it raises says how to restore the setting.
func fail(format string, args ...any) outcome {
	return outcome{verdict: Fail, reason: fmt.Sprintf(format, args...)}
}

func (o outcome) fix(format string, args ...any) outcome {
	o.hint = fmt.Sprintf(format, args...)
	return o
}

// unknown is an UNKNOWN the facts themselves show: one the check needs was
// never read.
func unknown(format string, args ...any) outcome {
	return outcome{verdict: Unknown, reason: fmt.Sprintf(format, args...)}
}

// unresolved is an UNKNOWN because KMS did not resolve the key name, so
// two references to keys cannot be compared.
func unresolved(name, format string, args ...any) outcome {
	o := unknown(format, args...).fix("KMS did not resolve %s; the check runs again on its schedule", name)
	o.unresolved = name
	return o
}

func notApplicable(format string, args ...any) outcome {
	return outcome{verdict: NotApplicable, reason: fmt.Sprintf(format, args...)}
}

// apply records o in f.
func (o outcome) apply(f *Finding) { f.Verdict, f.Reason, f.Hint = o.verdict, o.reason, o.hint }

// callFailed turns a failed AWS call into an UNKNOWN finding. It used to
// be a FAIL, which paged on-call and wrote a report into the Object-Lock
// bucket, kept for 7 years, for every throttled read. The class, code and
// request id come from probes.Classify, so they read like probe failures.
func callFailed(f *Finding, op, action string, err error) {
	f.Verdict = Unknown
	f.Reason = fmt.Sprintf("could not read the facts: %s failed (%s)", op, readFailed(f, err))
	f.Hint = hint(f.Resource, f.Place, action, f.Class, err)
}

// readFailed records on f the failed call its UNKNOWN rests on (class,
// code, request id) and returns what failed: the code, else the class.
func readFailed(f *Finding, err error) string {
	class, code, rid := probes.Classify(err)
	f.Class, f.Code, f.RequestID = class, code, rid
	if code == "" {
		return string(class)
	}
	return code
}

// hint is the troubleshooting text for a failed call, in the style of the
// probes' hints. A call that failed because the pipeline's account's role
// could not be assumed never reached the account: its hint names the role.
// A tenant's pipeline's resource is looked for in its account and region.
func hint(resource string, place probes.Place, action string, class probes.Class, err error) string {
	var assume *awsclient.AssumeRoleError
	if errors.As(err, &assume) {
		return "socmond could not assume the role of this pipeline's account, so nothing was sent to it: " + assume.Hint()
	}
	switch class {
	case probes.ClassAuth:
		return fmt.Sprintf("socmond may not read %s: grant %s on it to socmond's role and check no SCP or permission boundary denies it", resource, action)
	case probes.ClassNotFound:
		if !place.IsZero() {
			return fmt.Sprintf("%s was not found in account %s, %s: check the name under pipeline: in the configuration as tenant %s's pipeline expands it",
				resource, place.Account, place.Region, place.Tenant)
		}
		return fmt.Sprintf("%s was not found: check the name under pipeline: in the configuration and the region (AWS_REGION)", resource)
	case probes.ClassThrottled:
		return fmt.Sprintf("AWS throttled %s; the check runs again on its schedule — look for other consumers of the account quota if it persists", action)
	case probes.ClassTimeout, probes.ClassNetwork:
		return "No usable answer from AWS: check the network path to the endpoint (VPC endpoint, NAT, proxy) and the AWS Health Dashboard"
	case probes.ClassInvalidState:
		return fmt.Sprintf("%s is in a state that refuses %s: see the KMS key state", resource, action)
	default:
		return fmt.Sprintf("%s failed for %s: see the AWS error code and request id; open a support case if it persists", action, resource)
	}
}

// ts formats a time for Inputs.
func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }
