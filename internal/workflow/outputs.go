package workflow

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// outputs runs steps 4–8, which check what the pipeline wrote. Steps 4 and
// 5 share one GetItem: without a record there is no analysis to look at, so
// step 4 is skipped rather than failed and only step 5 fails.
func (r *canaryRun) outputs(ctx context.Context) {
	s := r.c.Spec
	key := r.fill(s.KeyTemplate)
	t := time.Now()
	item, getErr := r.c.DynamoDB.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.Table), ConsistentRead: aws.Bool(true),
		Key: map[string]ddbtypes.AttributeValue{s.KeyAttribute: &ddbtypes.AttributeValueMemberS{Value: key}}})
	took := time.Since(t)
	recordErr := func() error {
		switch {
		case getErr != nil:
			return awsErr("GetItem", getErr)
		case item.Item == nil:
			return fmt.Errorf("no item with %s=%q in table %s: the store stage did not write the investigation", s.KeyAttribute, key, s.Table)
		}
		return nil
	}()
	if recordErr != nil {
		r.skip(3, "not checked: no investigation record (step 5)")
	} else {
		r.step(ctx, 3, func(context.Context) (string, error) { return r.analysis(item.Item) })
	}
	r.step(ctx, 4, func(context.Context) (string, error) {
		if recordErr != nil {
			return "", recordErr
		}
		return fmt.Sprintf("item %s=%q in %s (%d attributes, read in %s)", s.KeyAttribute, key, s.Table, len(item.Item), took.Round(time.Millisecond)), nil
	})
	r.step(ctx, 5, r.artifact)
	r.step(ctx, 6, r.audit)
	r.step(ctx, 7, r.compliance)
}

// Step 4.
func (r *canaryRun) analysis(item map[string]ddbtypes.AttributeValue) (string, error) {
	attr := r.c.Spec.AnalysisAttribute
	v, ok := item[attr]
	if !ok {
		return "", fmt.Errorf("attribute %q missing from the investigation: the Bedrock analysis stage did not run or did not store its result", attr)
	}
	if sv, isS := v.(*ddbtypes.AttributeValueMemberS); isS && strings.TrimSpace(sv.Value) == "" {
		return "", fmt.Errorf("attribute %q is empty: the Bedrock analysis returned nothing", attr)
	}
	return fmt.Sprintf("attribute %q present", attr), nil
}

func notFound(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && (ae.ErrorCode() == "NotFound" || ae.ErrorCode() == "NoSuchKey")
}

// Step 6.
func (r *canaryRun) artifact(ctx context.Context) (string, error) {
	s := r.c.Spec
	key := r.fill(s.ArtifactKey)
	h, err := r.c.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.ArtifactsBucket), Key: aws.String(key)})
	switch {
	case notFound(err):
		return "", fmt.Errorf("s3://%s/%s not found: the pipeline did not write the artifact", s.ArtifactsBucket, key)
	case err != nil:
		return "", awsErr("HeadObject", err)
	}
	if h.ServerSideEncryption != s3types.ServerSideEncryptionAwsKms && h.ServerSideEncryption != s3types.ServerSideEncryptionAwsKmsDsse {
		return "", fmt.Errorf("s3://%s/%s is encrypted with %q, not SSE-KMS with the pipeline's key", s.ArtifactsBucket, key, h.ServerSideEncryption)
	}
	got := aws.ToString(h.SSEKMSKeyId)
	if want := r.keyARN(ctx); want != "" && got != want {
		return "", fmt.Errorf("s3://%s/%s is encrypted with KMS key %s, not the configured %s", s.ArtifactsBucket, key, got, s.KMSKey)
	}
	return fmt.Sprintf("s3://%s/%s, %s with %s", s.ArtifactsBucket, key, h.ServerSideEncryption, got), nil
}

// keyARN resolves the configured key to its ARN; "" when it cannot be
// resolved (then any KMS key is accepted rather than failing on a lookup).
func (r *canaryRun) keyARN(ctx context.Context) string {
	k := r.c.Spec.KMSKey
	if strings.HasPrefix(k, "arn:") && strings.Contains(k, ":key/") {
		return k
	}
	if k == "" || r.c.KMS == nil {
		return ""
	}
	out, err := r.c.KMS.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(k)})
	if err != nil || out.KeyMetadata == nil {
		return ""
	}
	return aws.ToString(out.KeyMetadata.Arn)
}

// Step 7.
func (r *canaryRun) audit(ctx context.Context) (string, error) {
	s := r.c.Spec
	key := r.fill(s.AuditKey)
	h, err := r.c.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.AuditBucket), Key: aws.String(key)})
	switch {
	case notFound(err):
		return "", fmt.Errorf("s3://%s/%s not found: the pipeline did not write the audit artifact", s.AuditBucket, key)
	case err != nil:
		return "", awsErr("HeadObject", err)
	}
	if h.ObjectLockMode != s3types.ObjectLockModeCompliance {
		mode := string(h.ObjectLockMode)
		if mode == "" {
			mode = "no lock"
		}
		return "", fmt.Errorf("s3://%s/%s has %s, not COMPLIANCE retention: it can be deleted or overwritten", s.AuditBucket, key, mode)
	}
	written, until := aws.ToTime(h.LastModified), aws.ToTime(h.ObjectLockRetainUntilDate)
	days := int(until.Sub(written).Hours() / 24)
	short := until.Before(written.AddDate(0, 0, s.MinRetentionDays))
	if s.MinRetentionYears > 0 && !until.Before(written.AddDate(s.MinRetentionYears, 0, 0)) {
		short = false
	}
	if short {
		return "", fmt.Errorf("s3://%s/%s is retained until %s, %d days after it was written; the minimum is %d days",
			s.AuditBucket, key, until.UTC().Format(time.DateOnly), days, s.MinRetentionDays)
	}
	return fmt.Sprintf("s3://%s/%s COMPLIANCE until %s (%d days)", s.AuditBucket, key, until.UTC().Format(time.DateOnly), days), nil
}

// Step 8.
func (r *canaryRun) compliance(ctx context.Context) (string, error) {
	s := r.c.Spec
	prefix := r.fill(s.CompliancePrefix)
	out, err := r.c.S3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(s.ArtifactsBucket), Prefix: aws.String(prefix), MaxKeys: aws.Int32(10)})
	if err != nil {
		return "", awsErr("ListObjectsV2", err)
	}
	if len(out.Contents) == 0 {
		return "", fmt.Errorf("nothing under s3://%s/%s: the compliance artifact was not generated", s.ArtifactsBucket, prefix)
	}
	return fmt.Sprintf("s3://%s/%s", s.ArtifactsBucket, aws.ToString(out.Contents[0].Key)), nil
}
