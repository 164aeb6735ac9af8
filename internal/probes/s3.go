package probes

import (
	"context"
	"fmt"
	"github.com/socmond/socmond/internal/awsclient"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// ServiceS3 is Amazon S3's label value.
const ServiceS3 = "s3"

// S3 is Amazon S3: the artifacts and audit buckets.
var S3 = Service{
	Name: ServiceS3, DisplayName: "Amazon S3", Resources: "bucket names",
	Example: "soc-artifacts-123456789012",
	New:     func(c *awsclient.Clients, r Resource) Probe { return NewS3Bucket(c.S3, r.Name) },
	// HeadBucket is authorised by s3:ListBucket.
	Read: Access{Sid: "ReadS3Buckets", Actions: []string{"s3:ListBucket"}, ARN: BucketARN},
	Env:  []EnvVar{{Name: "ARTIFACTS_BUCKET", Role: "artifacts_bucket"}, {Name: "AUDIT_BUCKET", Role: "audit_bucket"}},
}

// BucketARN is an S3 bucket's ARN: buckets have no region or account in it.
func BucketARN(s Scope, name string) Grant {
	return Grant{Resource: "arn:" + s.Partition + ":s3:::" + name}
}

// S3API is the part of the S3 client the bucket probe uses.
type S3API interface {
	HeadBucket(ctx context.Context, in *s3.HeadBucketInput, optFns ...func(*s3.Options)) (*s3.HeadBucketOutput, error)
}

var _ S3API = (*s3.Client)(nil)

type s3Bucket struct {
	c      S3API
	bucket string
}

// NewS3Bucket probes a bucket with HeadBucket.
func NewS3Bucket(c S3API, bucket string) Probe {
	return &s3Bucket{c: c, bucket: bucket}
}

func (p *s3Bucket) Target() Target { return Target{Service: ServiceS3, Resource: p.bucket} }

func (p *s3Bucket) Check(ctx context.Context) Observation {
	obs := Observation{Check: "HeadBucket"}
	out, err := p.c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(p.bucket)},
		func(o *s3.Options) { o.Retryer = aws.NopRetryer{} })
	if err != nil {
		obs.Err = err
		return obs
	}
	obs.RequestID, _ = awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
	obs.Status = Healthy
	if out.BucketRegion != nil {
		obs.Detail = "bucket region " + *out.BucketRegion
	}
	return obs
}

// reclassify treats a bare 503 as throttling: HEAD responses have no body,
// so S3's SlowDown arrives as ServiceUnavailable (aws-api.md §1 lists S3 503
// as degraded).
func (p *s3Bucket) reclassify(class Class, code string, err error) Class {
	if code == "ServiceUnavailable" && httpStatus(err) == 503 {
		return ClassThrottled
	}
	return class
}

func (p *s3Bucket) Hint(place Place, class Class, code string, err error) string {
	a := advice{
		place:    place,
		name:     "S3",
		action:   "s3:ListBucket",
		resource: "bucket " + p.bucket,
		notFound: fmt.Sprintf("Bucket %s was not found: check the bucket name%s; it may have been deleted (see DeleteBucket in CloudTrail)", p.bucket, pipelineRegion(place)),
	}
	switch {
	case code == "MovedPermanently" || code == "PermanentRedirect":
		// S3 names the bucket's real region on the redirect; without it the
		// person would have to go and look.
		region := responseHeader(err, "X-Amz-Bucket-Region")
		if !place.IsZero() {
			// A pipeline's bucket is looked for in the pipeline's region;
			// AWS_REGION has nothing to do with it.
			if region == "" {
				region = "another region"
			}
			return fmt.Sprintf("Bucket %s is in %s, not %s where tenant %s's pipeline in account %s runs: check the bucket name (its ${region} and ${account_id}) and the pipeline's regions", p.bucket, region, place.Region, place.Tenant, place.Account)
		}
		if region != "" {
			return fmt.Sprintf("Bucket %s is in region %s, not the region socmond uses: set the target's region to %s (or AWS_REGION)", p.bucket, region, region)
		}
		return fmt.Sprintf("Bucket %s is in another region than the one socmond uses: find its region in the S3 console and set the target's region (or AWS_REGION)", p.bucket)
	case class == ClassAuth:
		return fmt.Sprintf("socmond may not read bucket %s: grant s3:ListBucket on arn:aws:s3:::%s to %s, and check the bucket policy (and any VPC endpoint policy) does not deny it", p.bucket, p.bucket, roleOf(place))
	case class == ClassThrottled:
		return fmt.Sprintf("S3 is asking for fewer requests on bucket %s (503 SlowDown): find other heavy consumers of the bucket or spread requests over more prefixes", p.bucket)
	}
	return a.hint(class)
}
