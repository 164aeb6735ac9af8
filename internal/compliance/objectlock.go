package compliance

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// Retention is a minimum retention period, in whole years or days
// (exactly one is set), as S3 Object Lock expresses default retention.
type Retention struct {
	Years int `json:"years,omitempty"`
	Days  int `json:"days,omitempty"`
}

// DefaultRetention is seven years, the record-keeping period the bank's
// audit trail must survive.
var DefaultRetention = Retention{Years: 7}

// MinDays is the retention in days that covers the period in any calendar:
// 365 per year plus one per possible leap day, so 7 years is 2557 days
// (aws-api.md §3; 2555 can fall 1–2 days short).
func (r Retention) MinDays() int {
	if r.Years > 0 {
		return r.Years*365 + (r.Years+3)/4
	}
	return r.Days
}

// Covers reports whether a default retention of years or days is at least r.
// A rule of Y years always lasts at least Y·365 + ⌊Y/4⌋ days.
func (r Retention) Covers(years, days int) bool {
	if r.Years > 0 && years >= r.Years {
		return true
	}
	if days > 0 {
		return days >= r.MinDays()
	}
	return years > 0 && years*365+years/4 >= r.MinDays()
}

// RetainUntil is the end of a retention of r starting at t.
func (r Retention) RetainUntil(t time.Time) time.Time {
	if r.Years > 0 {
		return t.AddDate(r.Years, 0, 0)
	}
	return t.AddDate(0, 0, r.Days)
}

func (r Retention) String() string {
	if r.Years > 0 {
		return fmt.Sprintf("%d years", r.Years)
	}
	return fmt.Sprintf("%d days", r.Days)
}

// ObjectLockFacts are what GetObjectLockConfiguration reports.
type ObjectLockFacts struct {
	Bucket string // the bucket's name, for the remediation command
	// Configured is false on ObjectLockConfigurationNotFoundError.
	Configured bool
	Enabled    string // ObjectLockEnabled: "Enabled" or ""
	HasRule    bool   // a default retention rule exists
	Mode       string // COMPLIANCE or GOVERNANCE
	Years      int
	Days       int
}

// EvaluateObjectLock decides s3_object_lock_retention from what was
// fetched; hint is what to do about a FAIL.
func EvaluateObjectLock(l ObjectLockFacts, min Retention) (v Verdict, reason, hint string) {
	o := evaluateObjectLock(l, min)
	return o.verdict, o.reason, o.hint
}

func evaluateObjectLock(l ObjectLockFacts, min Retention) outcome {
	period := ""
	if l.Years > 0 {
		period = strconv.Itoa(l.Years) + " years"
	} else if l.Days > 0 {
		period = strconv.Itoa(l.Days) + " days"
	}
	unit, n := "Years", min.Years
	if n == 0 {
		unit, n = "Days", min.Days
	}
	// COMPLIANCE cannot be undone: the hint says so before anyone runs it.
	lock := fmt.Sprintf("`aws s3api put-object-lock-configuration --bucket %s --object-lock-configuration "+
		`'{"ObjectLockEnabled":"Enabled","Rule":{"DefaultRetention":{"Mode":"COMPLIANCE","%s":%d}}}'`+
		"` (COMPLIANCE retention cannot be shortened or lifted afterwards, not even by the root user)", l.Bucket, unit, n)
	switch {
	case !l.Configured || l.Enabled != "Enabled":
		return fail("Object Lock is not enabled on the audit bucket (ObjectLockConfigurationNotFoundError): audit records can be altered or deleted (HKMA SA-2 §2.8)").
			fix("enable it with COMPLIANCE default retention of at least %s: versioning must be on (`aws s3api put-bucket-versioning --bucket %s --versioning-configuration Status=Enabled`), then %s; objects already stored get no retention from it", min, l.Bucket, lock)
	case !l.HasRule:
		return fail("Object Lock is enabled but there is no default retention rule: objects written without their own retention are not protected").
			fix("set a COMPLIANCE default retention of at least %s: %s", min, lock)
	case l.Mode == "GOVERNANCE":
		return fail("default retention mode is GOVERNANCE (%s): anyone with s3:BypassGovernanceRetention can delete records early", period).
			fix("set mode COMPLIANCE: %s", lock)
	case l.Mode != "COMPLIANCE":
		return fail("default retention mode is %q, not COMPLIANCE", l.Mode).
			fix("set mode COMPLIANCE: %s", lock)
	case !min.Covers(l.Years, l.Days):
		return fail("default retention is %s, shorter than the required %s (%d days)", period, min, min.MinDays()).
			fix("lengthen the bucket's default retention: %s", lock)
	}
	return pass("Object Lock enabled, default retention COMPLIANCE %s (required %s)", period, min)
}

func (l ObjectLockFacts) inputs(into map[string]string) {
	if !l.Configured {
		into["ObjectLockConfiguration"] = "absent"
		return
	}
	into["ObjectLockEnabled"] = l.Enabled
	if !l.HasRule {
		into["Rule"] = "absent"
		return
	}
	into["Mode"] = l.Mode
	if l.Years > 0 {
		into["Years"] = strconv.Itoa(l.Years)
	}
	if l.Days > 0 {
		into["Days"] = strconv.Itoa(l.Days)
	}
}

func (c *Checker) checkObjectLock(ctx context.Context, bucket string) Finding {
	f, done := c.begin(CheckS3ObjectLock, bucket)
	cctx, cancel := c.callCtx(ctx)
	out, err := c.S3.GetObjectLockConfiguration(cctx, &s3.GetObjectLockConfigurationInput{Bucket: &bucket})
	cancel()
	l := ObjectLockFacts{Bucket: bucket}
	switch {
	case isCode(err, "ObjectLockConfigurationNotFoundError"):
	case err != nil:
		callFailed(f, "GetObjectLockConfiguration", "s3:GetBucketObjectLockConfiguration", err)
		return done()
	case out.ObjectLockConfiguration != nil:
		cfg := out.ObjectLockConfiguration
		l.Configured, l.Enabled = true, string(cfg.ObjectLockEnabled)
		if cfg.Rule != nil && cfg.Rule.DefaultRetention != nil {
			d := cfg.Rule.DefaultRetention
			l.HasRule, l.Mode = true, string(d.Mode)
			l.Years, l.Days = int(aws.ToInt32(d.Years)), int(aws.ToInt32(d.Days))
		}
	}
	min := c.Targets.MinRetention
	if min.Years == 0 && min.Days == 0 {
		min = DefaultRetention
	}
	l.inputs(f.Inputs)
	evaluateObjectLock(l, min).apply(f)
	return done()
}

// isCode reports whether err is an AWS error with this code. S3 sends
// these "not found" codes as GenericAPIErrors, so only the code is reliable.
func isCode(err error, code string) bool {
	var ae smithy.APIError
	return err != nil && errors.As(err, &ae) && ae.ErrorCode() == code
}
