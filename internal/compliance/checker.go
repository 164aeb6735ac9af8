package compliance

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/socmond/socmond/internal/probes"
)

// KMSAPI is the part of the KMS client the checks use.
type KMSAPI interface {
	DescribeKey(ctx context.Context, in *kms.DescribeKeyInput, optFns ...func(*kms.Options)) (*kms.DescribeKeyOutput, error)
	GetKeyRotationStatus(ctx context.Context, in *kms.GetKeyRotationStatusInput, optFns ...func(*kms.Options)) (*kms.GetKeyRotationStatusOutput, error)
}

// DynamoDBAPI is the part of the DynamoDB client the checks use.
type DynamoDBAPI interface {
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
}

// S3API is the part of the S3 client the checks use (read-only).
type S3API interface {
	GetBucketEncryption(ctx context.Context, in *s3.GetBucketEncryptionInput, optFns ...func(*s3.Options)) (*s3.GetBucketEncryptionOutput, error)
	GetObjectLockConfiguration(ctx context.Context, in *s3.GetObjectLockConfigurationInput, optFns ...func(*s3.Options)) (*s3.GetObjectLockConfigurationOutput, error)
}

var (
	_ KMSAPI      = (*kms.Client)(nil)
	_ DynamoDBAPI = (*dynamodb.Client)(nil)
	_ S3API       = (*s3.Client)(nil)
)

// Targets say what to check.
type Targets struct {
	// KMSKey is the pipeline's customer-managed key: key id, key ARN, alias
	// name or alias ARN. Empty skips the rotation check, and the encryption
	// checks then accept any customer-managed key.
	KMSKey string
	Tables []string // DynamoDB tables that must use KMSKey
	// Buckets must default-encrypt with KMSKey; AuditBucket is also checked
	// for Object Lock retention.
	Buckets      []string
	AuditBucket  string
	MinRetention Retention
}

// Checker runs the checks once. Clients may be nil when their checks are
// not configured; a nil KMS means keys are compared as written (an S3
// implementation with its own key names, such as MinIO, has no KMS to ask).
type Checker struct {
	KMS      KMSAPI
	DynamoDB DynamoDBAPI
	S3       S3API
	Targets  Targets
	// Place is the tenant's pipeline the targets are part of (zero
	// without tenants:); every finding carries it.
	Place probes.Place
	// Timeout bounds each AWS call (default 10s).
	Timeout time.Duration
	// Now defaults to time.Now.
	Now func() time.Time
}

// Same reports whether c and o run the same checks: the same clients,
// targets and timeout (Now, a test hook, is not compared). Either may be
// nil, meaning no checks.
func (c *Checker) Same(o *Checker) bool {
	if c == nil || o == nil {
		return c == o
	}
	t, u := c.Targets, o.Targets
	return c.KMS == o.KMS && c.DynamoDB == o.DynamoDB && c.S3 == o.S3 && c.Timeout == o.Timeout && c.Place == o.Place &&
		t.KMSKey == u.KMSKey && slices.Equal(t.Tables, u.Tables) && slices.Equal(t.Buckets, u.Buckets) &&
		t.AuditBucket == u.AuditBucket && t.MinRetention == u.MinRetention
}

// Run performs every configured check once and returns the findings in a
// stable order: rotation, tables, bucket encryption, Object Lock.
func (c *Checker) Run(ctx context.Context) []Finding {
	var out []Finding
	keys := &keyCache{c: c, facts: map[string]*keyLookup{}}
	if c.Targets.KMSKey != "" && c.KMS != nil {
		out = append(out, c.checkKeyRotation(ctx, keys))
	}
	for _, t := range c.Targets.Tables {
		out = append(out, c.checkTable(ctx, keys, t))
	}
	for _, b := range c.Targets.Buckets {
		out = append(out, c.checkBucketEncryption(ctx, keys, b))
	}
	if c.Targets.AuditBucket != "" {
		out = append(out, c.checkObjectLock(ctx, c.Targets.AuditBucket))
	}
	return out
}

func (c *Checker) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Checker) callCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	d := c.Timeout
	if d <= 0 {
		d = 10 * time.Second
	}
	return context.WithTimeout(ctx, d)
}

// begin starts a finding and returns a function that stamps its duration.
func (c *Checker) begin(check, resource string) (*Finding, func() Finding) {
	f := &Finding{Check: check, Resource: resource, Place: c.Place, Start: c.now(), Inputs: map[string]string{}}
	return f, func() Finding {
		f.Duration = c.now().Sub(f.Start)
		if len(f.Inputs) == 0 {
			f.Inputs = nil
		}
		return *f
	}
}

// finish records o in f. An UNKNOWN because a key was not resolved gets
// that DescribeKey's error, from the round's cache (no new call): its
// class, code and request id, and the hint for it.
func (c *Checker) finish(ctx context.Context, keys *keyCache, f *Finding, o outcome) {
	o.apply(f)
	if o.unresolved == "" {
		return
	}
	if _, err := keys.describe(ctx, o.unresolved); err != nil {
		f.Reason += fmt.Sprintf(" (DescribeKey %s failed: %s)", o.unresolved, readFailed(f, err))
		f.Hint = hint(o.unresolved, f.Place, "kms:DescribeKey", f.Class, err)
	}
}

// keyLookup is what DescribeKey said about one key name.
type keyLookup struct {
	facts KeyFacts
	err   error
}

// keyCache resolves each key name at most once per run: the configured key
// and the keys tables point at are usually the same.
type keyCache struct {
	c     *Checker
	facts map[string]*keyLookup
}

func (k *keyCache) describe(ctx context.Context, name string) (KeyFacts, error) {
	if l, ok := k.facts[name]; ok {
		return l.facts, l.err
	}
	cctx, cancel := k.c.callCtx(ctx)
	defer cancel()
	out, err := k.c.KMS.DescribeKey(cctx, &kms.DescribeKeyInput{KeyId: &name})
	l := &keyLookup{err: err}
	if err == nil && out.KeyMetadata != nil {
		l.facts = keyFactsFrom(out.KeyMetadata)
	}
	k.facts[name] = l
	return l.facts, l.err
}

// sameKey reports whether a key reference a resource reports (id, ARN or,
// for some S3 implementations, a plain key name) names the configured key.
// want holds the configured name and, when KMS could resolve it, its id and
// ARN.
func sameKey(got string, want ...string) bool {
	if got == "" {
		return false
	}
	for _, w := range want {
		if w == "" {
			continue
		}
		if got == w || strings.TrimPrefix(got, "arn:aws:kms:") == w {
			return true
		}
		// An alias ARN and an alias name name the same alias.
		if i := strings.Index(w, ":alias/"); i >= 0 && got == w[i+1:] {
			return true
		}
		if i := strings.Index(got, ":alias/"); i >= 0 && got[i+1:] == w {
			return true
		}
		// A key ARN ends in key/<id>.
		if strings.HasSuffix(got, ":key/"+w) || strings.HasSuffix(w, ":key/"+got) {
			return true
		}
	}
	return false
}
