package compliance

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/socmond/socmond/internal/probes"
)

// BucketEncryptionFacts are what GetBucketEncryption reports.
type BucketEncryptionFacts struct {
	Bucket string // the bucket's name, for the remediation command
	// Configured is false on ServerSideEncryptionConfigurationNotFoundError.
	Configured bool
	Algorithm  string // AES256, aws:kms, aws:kms:dsse
	KeyID      string // KMSMasterKeyID: id, ARN or alias; "" = the AWS-managed aws/s3 key
	BucketKey  bool

	// S3 reports KeyID as it was set, so an alias or key id for the right
	// key does not match the configured name as written: KMS resolves it
	// (DescribeKey, through the round's key cache, as for tables).
	// KeyARN is the ARN it resolved KeyID to ("" when not asked: no KMS
	// client, or KeyID already matches as written). KeyLookup is the error
	// code when KMS does not know KeyID or socmond may not describe it:
	// then it is not the configured key, which KMS resolved (otherwise
	// WantKey.Unresolved). KeyUnresolved: KMS could not say which key
	// KeyID is (throttled, timed out), so it may still be the configured
	// one.
	KeyARN        string
	KeyLookup     string
	KeyUnresolved bool
}

// EvaluateBucketEncryption decides s3_kms_encryption from what was
// fetched; hint is what to do about a FAIL.
func EvaluateBucketEncryption(b BucketEncryptionFacts, want WantKey) (v Verdict, reason, hint string) {
	o := evaluateBucketEncryption(b, want)
	return o.verdict, o.reason, o.hint
}

func evaluateBucketEncryption(b BucketEncryptionFacts, want WantKey) outcome {
	bucketKey := "S3 Bucket Keys off"
	if b.BucketKey {
		bucketKey = "S3 Bucket Keys on"
	}
	// Objects already stored keep the key they were written with; the
	// hint says so, or the fix would look complete when it is not.
	put := fmt.Sprintf("`aws s3api put-bucket-encryption --bucket %s --server-side-encryption-configuration "+
		`'{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"aws:kms","KMSMasterKeyID":"%s"},"BucketKeyEnabled":true}]}'`+
		"` (objects already stored keep their old encryption until copied over themselves)", b.Bucket, want.ref())
	switch {
	case !b.Configured:
		return fail("no default encryption configuration (ServerSideEncryptionConfigurationNotFoundError)").
			fix("set SSE-KMS with the customer-managed key: %s", put)
	case b.Algorithm == "AES256":
		return fail("default encryption is AES256 (SSE-S3, keys owned by S3), not SSE-KMS with the customer-managed key").
			fix("change it to SSE-KMS: %s", put)
	case b.Algorithm != "aws:kms" && b.Algorithm != "aws:kms:dsse":
		return fail("default encryption algorithm %q is not aws:kms or aws:kms:dsse", b.Algorithm).
			fix("change it to SSE-KMS: %s", put)
	case b.KeyID == "":
		return fail("%s names no key, so S3 uses the AWS-managed aws/s3 key", b.Algorithm).
			fix("name the customer-managed key: %s", put)
	case want.Name != "" && !want.matches(b.KeyID) && !want.matches(b.KeyARN):
		switch {
		case want.Unresolved:
			return unresolved(want.Name, "could not tell whether %s is the configured key %s: KMS did not resolve the configured key", b.KeyID, want.Name)
		case b.KeyUnresolved:
			return unresolved(b.KeyID, "could not tell whether %s is the configured key %s: KMS did not resolve it", b.KeyID, want.Name)
		}
		o := fail("%s with %s, not the configured key %s", b.Algorithm, b.KeyID, want.Name)
		if b.KeyLookup != "" {
			o.reason += fmt.Sprintf(" (DescribeKey on it: %s)", b.KeyLookup)
		}
		return o.fix("change the bucket's default key: %s; or, if %s is the pipeline's key, correct pipeline.kms_key", put, b.KeyID)
	}
	return pass("%s with %s, %s", b.Algorithm, b.KeyID, bucketKey)
}

func (b BucketEncryptionFacts) inputs(into map[string]string) {
	if !b.Configured {
		into["ServerSideEncryptionConfiguration"] = "absent"
		return
	}
	into["SSEAlgorithm"] = b.Algorithm
	if b.KeyID != "" {
		into["KMSMasterKeyID"] = b.KeyID
	}
	if b.KeyARN != "" {
		into["KMSMasterKeyArn"] = b.KeyARN // what KMS resolved KMSMasterKeyID to
	}
	into["BucketKeyEnabled"] = boolString(b.BucketKey)
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func (c *Checker) checkBucketEncryption(ctx context.Context, keys *keyCache, bucket string) Finding {
	f, done := c.begin(CheckS3KMS, bucket)
	cctx, cancel := c.callCtx(ctx)
	out, err := c.S3.GetBucketEncryption(cctx, &s3.GetBucketEncryptionInput{Bucket: &bucket})
	cancel()
	b := BucketEncryptionFacts{Bucket: bucket}
	switch {
	case isCode(err, "ServerSideEncryptionConfigurationNotFoundError"):
		// A fact about the bucket, not a failure to read it.
	case err != nil:
		callFailed(f, "GetBucketEncryption", "s3:GetEncryptionConfiguration", err)
		return done()
	case out.ServerSideEncryptionConfiguration != nil && len(out.ServerSideEncryptionConfiguration.Rules) > 0:
		r := out.ServerSideEncryptionConfiguration.Rules[0]
		b.Configured = true
		b.BucketKey = aws.ToBool(r.BucketKeyEnabled)
		if d := r.ApplyServerSideEncryptionByDefault; d != nil {
			b.Algorithm, b.KeyID = string(d.SSEAlgorithm), aws.ToString(d.KMSMasterKeyID)
		}
	}
	want := c.wantKey(ctx, keys)
	if want.Name != "" && b.KeyID != "" && c.KMS != nil && !want.matches(b.KeyID) {
		b.resolve(ctx, keys)
	}
	b.inputs(f.Inputs)
	c.finish(ctx, keys, f, evaluateBucketEncryption(b, want))
	return done()
}

// resolve asks KMS which key the bucket's KMSMasterKeyID names.
func (b *BucketEncryptionFacts) resolve(ctx context.Context, keys *keyCache) {
	k, err := keys.describe(ctx, b.KeyID)
	if err == nil {
		b.KeyARN = k.ARN
		return
	}
	// socmond may describe the configured key, so a key KMS does not
	// know or will not describe to it is another key; anything else
	// (throttled, timed out) leaves the question open.
	switch class, code, _ := probes.Classify(err); class {
	case probes.ClassNotFound, probes.ClassAuth:
		b.KeyLookup = code
		if code == "" {
			b.KeyLookup = string(class)
		}
	default:
		b.KeyUnresolved = true
	}
}
