package compliance

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// BucketEncryptionFacts are what GetBucketEncryption reports.
type BucketEncryptionFacts struct {
	// Configured is false on ServerSideEncryptionConfigurationNotFoundError.
	Configured bool
	Algorithm  string // AES256, aws:kms, aws:kms:dsse
	KeyID      string // KMSMasterKeyID: id, ARN or alias; "" = the AWS-managed aws/s3 key
	BucketKey  bool
}

// EvaluateBucketEncryption decides s3_kms_encryption from what was fetched.
func EvaluateBucketEncryption(b BucketEncryptionFacts, want WantKey) (Verdict, string) {
	o := evaluateBucketEncryption(b, want)
	return o.verdict, o.reason
}

func evaluateBucketEncryption(b BucketEncryptionFacts, want WantKey) outcome {
	bucketKey := "S3 Bucket Keys off"
	if b.BucketKey {
		bucketKey = "S3 Bucket Keys on"
	}
	switch {
	case !b.Configured:
		return fail("no default encryption configuration (ServerSideEncryptionConfigurationNotFoundError); set SSE-KMS with the customer-managed key: aws s3api put-bucket-encryption")
	case b.Algorithm == "AES256":
		return fail("default encryption is AES256 (SSE-S3, keys owned by S3), not SSE-KMS with the customer-managed key; change it with put-bucket-encryption SSEAlgorithm=aws:kms")
	case b.Algorithm != "aws:kms" && b.Algorithm != "aws:kms:dsse":
		return fail("default encryption algorithm %q is not aws:kms or aws:kms:dsse", b.Algorithm)
	case b.KeyID == "":
		return fail("%s names no key, so S3 uses the AWS-managed aws/s3 key; set KMSMasterKeyID to the customer-managed key", b.Algorithm)
	case want.Name != "" && !want.matches(b.KeyID):
		return fail("%s with %s, not the configured key %s; change the bucket's default key, or correct pipeline.kms_key", b.Algorithm, b.KeyID, want.Name)
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
	var b BucketEncryptionFacts
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
	b.inputs(f.Inputs)
	o := evaluateBucketEncryption(b, want)
	f.Verdict, f.Reason = o.verdict, o.reason
	return done()
}
