package compliance_test

import (
	"strings"
	"testing"

	"github.com/socmond/socmond/internal/compliance"
)

// TestBucketKeyResolvedByKMS: S3 reports a bucket's default key as it was
// set — alias, alias ARN, key id or key ARN — so the check asks KMS which
// key that is and compares keys, not spellings. A different key still
// FAILs; one KMS cannot resolve right now leaves the verdict UNKNOWN.
func TestBucketKeyResolvedByKMS(t *testing.T) {
	e := newEnv(t)
	k := compliance.ResolveKey(t.Context(), e.clients.KMS, key)
	if k.ARN == "" || k.KeyID == "" {
		t.Fatalf("the simulator did not resolve %s: %+v", key, k)
	}
	const arnPrefix = "arn:aws:kms:us-east-1:123456789012:"
	cases := []struct {
		name, configured, bucketKey, fault string
		want                               compliance.Verdict
		reason, code                       string
	}{
		{"alias ARN, configured by key ARN", k.ARN, arnPrefix + key, "", compliance.Pass, "aws:kms with " + arnPrefix + key, ""},
		{"alias name, configured by key ARN", k.ARN, key, "", compliance.Pass, "aws:kms with " + key, ""},
		{"alias ARN, configured by key id", k.KeyID, arnPrefix + key, "", compliance.Pass, "aws:kms with", ""},
		{"key id, configured by alias", key, k.KeyID, "", compliance.Pass, "aws:kms with " + k.KeyID, ""},
		{"key ARN, configured by alias ARN", arnPrefix + key, k.ARN, "", compliance.Pass, "aws:kms with", ""},
		{"another key by alias ARN", key, arnPrefix + otherKey, "", compliance.Fail, "not the configured key " + key, ""},
		{"another key by alias, configured by key ARN", k.ARN, otherKey, "", compliance.Fail, "not the configured key", ""},
		{"a key KMS does not know", k.ARN, arnPrefix + "key/00000000-0000-4000-a000-000000000000", "", compliance.Fail, "NotFoundException", ""},
		{"the bucket's key cannot be resolved", k.ARN, arnPrefix + key,
			`{"service":"kms","resource":"` + arnPrefix + key + `","error":"ThrottlingException"}`, compliance.Unknown, "could not tell", "ThrottlingException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.sim.ClearFaults()
			e.postFault(t, `{"service":"s3","resource":"`+artifacts+`","set":{"KMSMasterKeyID":"`+tc.bucketKey+`"}}`)
			if tc.fault != "" {
				e.postFault(t, tc.fault)
			}
			c := *e.checker
			c.Targets = compliance.Targets{KMSKey: tc.configured, Buckets: []string{artifacts}}
			f := find(t, c.Run(t.Context()), compliance.CheckS3KMS, artifacts)
			if f.Verdict != tc.want || !strings.Contains(f.Reason, tc.reason) || f.Code != tc.code {
				t.Errorf("got %s %q code=%q, want %s containing %q code=%q", f.Verdict, f.Reason, f.Code, tc.want, tc.reason, tc.code)
			}
			if f.Verdict != compliance.Pass && f.Hint == "" {
				t.Errorf("%s without a hint", f.Verdict)
			}
			if tc.code != "" && f.RequestID == "" {
				t.Errorf("UNKNOWN without the failed call's request id: %+v", f)
			}
		})
	}
}

// TestConfiguredKeyUnresolved: while KMS cannot resolve the configured key,
// a table or bucket that names its key another way cannot be compared with
// it: UNKNOWN, not a FAIL that pages and writes evidence.
func TestConfiguredKeyUnresolved(t *testing.T) {
	e := newEnv(t)
	e.postFault(t, `{"service":"kms","resource":"`+key+`","error":"ThrottlingException"}`)
	for _, f := range e.checker.Run(t.Context()) {
		if f.Check == compliance.CheckS3ObjectLock {
			continue // needs no key
		}
		if f.Verdict != compliance.Unknown || f.Code != "ThrottlingException" || f.RequestID == "" || f.Hint == "" {
			t.Errorf("%s: %s %q code=%q, want UNKNOWN from the throttled DescribeKey", f.Key(), f.Verdict, f.Reason, f.Code)
		}
	}
}
