package workflow

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/socmond/socmond/internal/awsclient"
	"github.com/socmond/socmond/internal/config"
)

// lockedObject answers HeadObject with one object's COMPLIANCE lock.
type lockedObject struct {
	S3API
	written, until time.Time
}

func (o lockedObject) HeadObject(context.Context, *s3.HeadObjectInput, ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	return &s3.HeadObjectOutput{LastModified: aws.Time(o.written), ObjectLockMode: s3types.ObjectLockModeCompliance,
		ObjectLockRetainUntilDate: aws.Time(o.until)}, nil
}

// A bucket whose default rule is 7 years locks an object written on
// 2028-03-01 until 2035-03-01: 2556 days, one short of the 2557 that cover
// any seven years. The compliance check passes that bucket, so a canary held
// to the same 7 years must pass the object; one held to 2557 days must not.
func TestAuditRetentionInCalendarYears(t *testing.T) {
	written := time.Date(2028, 3, 1, 10, 0, 0, 0, time.UTC)
	obj := lockedObject{written: written, until: written.AddDate(7, 0, 0)}
	run := func(days, years int) error {
		r := &canaryRun{c: &Canary{S3: obj, Spec: CanarySpec{AuditBucket: "audit", AuditKey: "a.json",
			MinRetentionDays: days, MinRetentionYears: years}}, fill: func(s string) string { return s }}
		_, err := r.audit(context.Background())
		return err
	}
	if err := run(2557, 7); err != nil {
		t.Fatalf("held to 7 years: %v", err)
	}
	if err := run(2557, 0); err == nil {
		t.Fatal("held to 2557 days, a 2556-day lock passed")
	}
	if err := run(2557, 8); err == nil {
		t.Fatal("held to 8 years, a 7-year lock passed")
	}
}

// The canary takes compliance.min_retention's years when it is held to that
// minimum (its default), and only its own days when configured otherwise.
func TestCanaryRetentionFromConfig(t *testing.T) {
	for days, want := range map[int]int{0: 7, 3000: 0} {
		cfg, err := config.Parse("c.yaml", []byte("pipeline: {audit_bucket: audit}\nservices:\n  s3:\n    resources: [{name: audit}]\n"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if days != 0 {
			cfg.Canary.MinRetentionDays = days
		} else {
			cfg.Canary.MinRetentionDays = cfg.Compliance.MinRetention.MinDays()
		}
		if got := CanaryFromConfig(cfg, &awsclient.Clients{}).Spec.MinRetentionYears; got != want {
			t.Errorf("canary.min_retention_days %d: years %d, want %d", days, got, want)
		}
	}
}
