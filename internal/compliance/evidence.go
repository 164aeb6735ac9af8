package compliance

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/socmond/socmond/internal/probes"
)

// EvidenceFormat names the report layout, so auditors' tools can tell
// versions apart.
const EvidenceFormat = "socmond.compliance.evidence/v1"

// Report is the evidence document: every finding of one round.
type Report struct {
	Format         string    `json:"format"`
	SocmondVersion string    `json:"socmond_version"`
	GeneratedAt    time.Time `json:"generated_at"`
	MinRetention   Retention `json:"min_retention"`
	// AllPassed: no FAIL and no UNKNOWN (NOT_APPLICABLE does not count);
	// a check that could not read its facts vouches for nothing.
	AllPassed bool      `json:"all_passed"`
	Findings  []Finding `json:"findings"`
	// Writer and LeaseToken name the replica that wrote the report and
	// the fencing token of its leader term, when socmond runs replicas
	// (absent for one socmond without leader election).
	Writer     string `json:"writer,omitempty"`
	LeaseToken int64  `json:"lease_token,omitempty"`
	// Place is the tenant's pipeline the report is of: tenant, account
	// and region, each left out without tenants:. A pipeline's report
	// holds only its own findings and goes to its own audit bucket.
	probes.Place
}

// NewReport assembles a report. GeneratedAt is whole seconds so that the
// retain-until date, which S3 stores to the second, can be checked exactly.
func NewReport(version string, now time.Time, min Retention, findings []Finding) Report {
	r := Report{Format: EvidenceFormat, SocmondVersion: version, GeneratedAt: now.UTC().Truncate(time.Second),
		MinRetention: min, AllPassed: true, Findings: findings}
	for _, f := range findings {
		if f.Verdict == Fail || f.Verdict == Unknown {
			r.AllPassed = false
		}
	}
	return r
}

// EvidenceS3 is the part of the S3 client evidence needs: the one write
// socmond makes, and the read that verifies it.
type EvidenceS3 interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

var _ EvidenceS3 = (*s3.Client)(nil)

// Evidence writes reports to the audit bucket.
type Evidence struct {
	S3     EvidenceS3
	Bucket string
	Prefix string // e.g. "socmond/evidence/"
	KMSKey string // SSE-KMS key for the report: the pipeline's key
}

// Written says where a report went.
type Written struct {
	Bucket, Key, VersionID string
	RetainUntil            time.Time
}

// URI is the s3:// address `socmond evidence verify` takes.
func (w Written) URI() string { return "s3://" + w.Bucket + "/" + w.Key }

// ObjectKey is where a report generated at t is stored: one folder per day,
// milliseconds in the name so a scheduled and a change-driven report in the
// same second do not become versions of one key.
func (e *Evidence) ObjectKey(t time.Time) string {
	t = t.UTC()
	return e.Prefix + t.Format("2006/01/02/") + "compliance-" + t.Format("20060102T150405.000Z") + ".json"
}

// Write stores r with SSE-KMS under the configured key, a SHA-256 checksum
// S3 verifies on receipt, and COMPLIANCE retention until GeneratedAt plus
// the minimum period, so not even the account root can delete it early.
func (e *Evidence) Write(ctx context.Context, r Report, now time.Time) (Written, error) {
	body, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return Written{}, fmt.Errorf("evidence: encode report: %w", err)
	}
	until := r.MinRetention.RetainUntil(r.GeneratedAt)
	key := e.ObjectKey(now)
	in := &s3.PutObjectInput{
		Bucket:                    &e.Bucket,
		Key:                       &key,
		Body:                      bytes.NewReader(body),
		ContentType:               aws.String("application/json"),
		ChecksumAlgorithm:         s3types.ChecksumAlgorithmSha256,
		ServerSideEncryption:      s3types.ServerSideEncryptionAwsKms,
		ObjectLockMode:            s3types.ObjectLockModeCompliance,
		ObjectLockRetainUntilDate: &until,
	}
	if e.KMSKey != "" {
		in.SSEKMSKeyId = &e.KMSKey
	}
	out, err := e.S3.PutObject(ctx, in)
	if err != nil {
		return Written{}, fmt.Errorf("evidence: PutObject s3://%s/%s: %w", e.Bucket, key, err)
	}
	return Written{Bucket: e.Bucket, Key: key, VersionID: aws.ToString(out.VersionId), RetainUntil: until}, nil
}

// Verification is the outcome of reading a report back.
type Verification struct {
	Report Report
	Checks []VerifyCheck
}

// VerifyCheck is one property of the stored report.
type VerifyCheck struct {
	Name   string // checksum, encryption, retention, report
	OK     bool
	Detail string
}

// OK reports whether every property held.
func (v Verification) OK() bool {
	for _, c := range v.Checks {
		if !c.OK {
			return false
		}
	}
	return len(v.Checks) > 0
}

// ParseS3URI splits s3://bucket/key.
func ParseS3URI(uri string) (bucket, key string, err error) {
	rest, ok := strings.CutPrefix(uri, "s3://")
	if ok {
		bucket, key, ok = strings.Cut(rest, "/")
	}
	if !ok || bucket == "" || key == "" {
		return "", "", fmt.Errorf("want s3://bucket/key, got %q", uri)
	}
	return bucket, key, nil
}

// Verify reads a report back and checks that its bytes match the SHA-256
// S3 stored for it, that it is encrypted with SSE-KMS under want, and that
// it is locked in COMPLIANCE mode until at least its generation time plus
// min. An error means the object could not be read at all.
func Verify(ctx context.Context, c EvidenceS3, bucket, key string, want WantKey, min Retention) (Verification, error) {
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key, ChecksumMode: s3types.ChecksumModeEnabled})
	if err != nil {
		return Verification{}, fmt.Errorf("GetObject s3://%s/%s: %w", bucket, key, err)
	}
	defer out.Body.Close()
	body, err := io.ReadAll(out.Body)
	if err != nil {
		// The SDK fails the read when the body does not match the checksum
		// header: that is tampering or corruption, not an I/O hiccup.
		return Verification{Checks: []VerifyCheck{{Name: "checksum", Detail: "reading the body failed: " + err.Error()}}}, nil
	}
	var v Verification
	v.Checks = append(v.Checks, verifyChecksum(body, aws.ToString(out.ChecksumSHA256)))
	v.Checks = append(v.Checks, verifyEncryption(string(out.ServerSideEncryption), aws.ToString(out.SSEKMSKeyId), want))
	rc := VerifyCheck{Name: "report", OK: true, Detail: "valid " + EvidenceFormat + " report"}
	if err := json.Unmarshal(body, &v.Report); err != nil || v.Report.Format != EvidenceFormat {
		rc = VerifyCheck{Name: "report", Detail: fmt.Sprintf("not a %s report", EvidenceFormat)}
	}
	v.Checks = append(v.Checks, rc)
	var until time.Time
	if out.ObjectLockRetainUntilDate != nil {
		until = *out.ObjectLockRetainUntilDate
	}
	v.Checks = append(v.Checks, verifyRetention(string(out.ObjectLockMode), until, v.Report.GeneratedAt, min))
	return v, nil
}

func verifyChecksum(body []byte, stored string) VerifyCheck {
	sum := sha256.Sum256(body)
	got := base64.StdEncoding.EncodeToString(sum[:])
	switch {
	case stored == "":
		return VerifyCheck{Name: "checksum", Detail: "S3 holds no SHA-256 checksum for the object (it was not uploaded with ChecksumAlgorithm SHA256)"}
	case stored != got:
		return VerifyCheck{Name: "checksum", Detail: fmt.Sprintf("SHA-256 of the body is %s but S3 recorded %s at upload: the report was altered", got, stored)}
	}
	return VerifyCheck{Name: "checksum", OK: true, Detail: "SHA-256 " + got + " matches the checksum S3 verified at upload"}
}

func verifyEncryption(alg, keyID string, want WantKey) VerifyCheck {
	switch {
	case alg != "aws:kms" && alg != "aws:kms:dsse":
		return VerifyCheck{Name: "encryption", Detail: fmt.Sprintf("server-side encryption is %q, not SSE-KMS", alg)}
	case want.Name != "" && !want.matches(keyID):
		return VerifyCheck{Name: "encryption", Detail: fmt.Sprintf("%s with %s, not the configured key %s", alg, keyID, want.Name)}
	}
	return VerifyCheck{Name: "encryption", OK: true, Detail: alg + " with " + keyID}
}

func verifyRetention(mode string, until, generated time.Time, min Retention) VerifyCheck {
	need := min.RetainUntil(generated)
	switch {
	case mode != "COMPLIANCE":
		return VerifyCheck{Name: "retention", Detail: fmt.Sprintf("object lock mode is %q, not COMPLIANCE", mode)}
	case until.IsZero():
		return VerifyCheck{Name: "retention", Detail: "no retain-until date"}
	case generated.IsZero():
		return VerifyCheck{Name: "retention", Detail: "the report has no generation time to measure the retention from"}
	case until.Before(need.Add(-time.Second)):
		return VerifyCheck{Name: "retention", Detail: fmt.Sprintf("retained until %s, before %s (generated %s + %s)", ts(until), ts(need), ts(generated), min)}
	}
	return VerifyCheck{Name: "retention", OK: true, Detail: fmt.Sprintf("COMPLIANCE until %s (generated %s + %s)", ts(until), ts(generated), min)}
}
