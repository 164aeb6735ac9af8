package conformance_test

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/socmond/socmond/internal/awsclient"
	"github.com/socmond/socmond/internal/awssim"
	"github.com/socmond/socmond/internal/compliance"
	"github.com/socmond/socmond/internal/probes"
	"github.com/socmond/socmond/internal/testenv"
)

const (
	artifactsBucket = "soc-artifacts"
	auditBucket     = "soc-audit"
	// minioKey is MinIO's own key name (MINIO_KMS_SECRET_KEY); MinIO
	// rejects KMS key ARNs, so its config names this key instead.
	minioKey = "soc-key"
)

// s3Backend is one S3 implementation plus how to change a bucket setting on
// it: a Set fault on the simulator, the real configuration calls on MinIO.
type s3Backend struct {
	name   string
	client *s3.Client
	key    string            // the configured KMS key, as this backend names it
	kms    compliance.KMSAPI // resolves key names; nil on MinIO, which has its own key names
	set    func(t *testing.T, bucket string, settings map[string]string)
}

func (b *s3Backend) Name() string { return b.name }

func simS3(t *testing.T) *s3Backend {
	sim, url := awssim.Serve(t, awssim.Seed{Region: region, AccountID: account, Buckets: []string{artifactsBucket},
		AuditBuckets: []string{auditBucket}, Keys: []string{kmsAlias}})
	c := newClients(t, url)
	// Settings accumulate per bucket, as configuration calls on MinIO do.
	state := map[string]map[string]string{}
	return &s3Backend{name: "sim", client: c.S3, key: kmsAlias, kms: c.KMS,
		set: func(t *testing.T, bucket string, s map[string]string) {
			if state[bucket] == nil {
				state[bucket] = map[string]string{}
			}
			if s["Days"] != "" {
				delete(state[bucket], "Years")
			}
			if s["Years"] != "" {
				delete(state[bucket], "Days")
			}
			for k, v := range s {
				state[bucket][k] = v
			}
			sim.ClearFaults()
			for bk, set := range state {
				sim.AddFault(awssim.Fault{Service: "s3", Resource: bk, Set: set})
			}
		}}
}

func minioS3(t *testing.T) *s3Backend {
	bin := testenv.Tool(t, "minio")
	port := testenv.FreePort(t)
	addr := testenv.Addr(port)
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	testenv.Start(t, addr, []string{
		"MINIO_ROOT_USER=socmondtest", "MINIO_ROOT_PASSWORD=socmondtestsecret",
		"MINIO_KMS_SECRET_KEY=" + minioKey + ":" + base64.StdEncoding.EncodeToString(secret),
		"MINIO_BROWSER=off", "MINIO_UPDATE=off",
	}, bin, "server", "--quiet", "--address", addr, "--console-address", testenv.Addr(testenv.FreePort(t)), filepath.Join(t.TempDir(), "data"))
	c, err := awsclient.New(t.Context(), awsclient.Options{Region: region, Endpoint: "http://" + addr,
		Credentials: credentials.NewStaticCredentialsProvider("socmondtest", "socmondtestsecret", "")})
	if err != nil {
		t.Fatal(err)
	}
	b := &s3Backend{name: "minio", client: c.S3, key: minioKey}
	b.set = func(t *testing.T, bucket string, s map[string]string) { minioApply(t, b.client, bucket, s) }
	// The pipeline's state: both buckets SSE-KMS with the key, the audit
	// bucket locked in COMPLIANCE mode for 7 years.
	for _, bk := range []string{artifactsBucket, auditBucket} {
		in := &s3.CreateBucketInput{Bucket: aws.String(bk)}
		if bk == auditBucket {
			in.ObjectLockEnabledForBucket = aws.Bool(true)
		}
		if _, err := c.S3.CreateBucket(callCtx(t), in); err != nil {
			t.Fatalf("minio CreateBucket %s: %v", bk, err)
		}
		minioApply(t, c.S3, bk, map[string]string{"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": minioKey})
	}
	minioApply(t, c.S3, auditBucket, map[string]string{"Mode": "COMPLIANCE", "Years": "7"})
	return b
}

// minioApply makes on MinIO the change a simulator Set fault describes.
func minioApply(t *testing.T, c *s3.Client, bucket string, s map[string]string) {
	t.Helper()
	if alg, ok := s["SSEAlgorithm"]; ok {
		def := &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryption(alg)}
		if k := s["KMSMasterKeyID"]; k != "" {
			def.KMSMasterKeyID = aws.String(k)
		}
		if _, err := c.PutBucketEncryption(callCtx(t), &s3.PutBucketEncryptionInput{Bucket: &bucket,
			ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{Rules: []s3types.ServerSideEncryptionRule{{ApplyServerSideEncryptionByDefault: def}}}}); err != nil {
			t.Fatalf("minio PutBucketEncryption %v: %v", s, err)
		}
	}
	if mode, ok := s["Mode"]; ok {
		ret := &s3types.DefaultRetention{Mode: s3types.ObjectLockRetentionMode(mode)}
		if y := s["Years"]; y != "" {
			var n int32
			fmt.Sscan(y, &n)
			ret.Years = &n
		}
		if d := s["Days"]; d != "" {
			var n int32
			fmt.Sscan(d, &n)
			ret.Days = &n
		}
		if _, err := c.PutObjectLockConfiguration(callCtx(t), &s3.PutObjectLockConfigurationInput{Bucket: &bucket,
			ObjectLockConfiguration: &s3types.ObjectLockConfiguration{ObjectLockEnabled: s3types.ObjectLockEnabledEnabled,
				Rule: &s3types.ObjectLockRule{DefaultRetention: ret}}}); err != nil {
			t.Fatalf("minio PutObjectLockConfiguration %v: %v", s, err)
		}
	}
}

// s3Verdicts is what must not depend on the backend: verdict and error
// code per check and bucket (reasons name each backend's own key).
type s3Verdicts map[string]string

func runS3Checks(t *testing.T, b *s3Backend) s3Verdicts {
	c := &compliance.Checker{S3: b.client, KMS: b.kms, Timeout: probeTimeout, Targets: compliance.Targets{KMSKey: b.key,
		Buckets: []string{artifactsBucket, auditBucket}, AuditBucket: auditBucket, MinRetention: compliance.DefaultRetention}}
	out := s3Verdicts{}
	for _, f := range c.Run(t.Context()) {
		if f.Check == compliance.CheckKMSRotation {
			continue // checked against local-kms in compliance_kms_test.go
		}
		out[f.Key()] = string(f.Verdict) + " " + f.Code
		t.Logf("%s %s: %s %s", b.name, f.Key(), f.Verdict, f.Reason)
	}
	return out
}

// TestComplianceS3 runs the S3 encryption and Object Lock checks against the
// simulator and MinIO through the same sequence of bucket changes, then
// writes, verifies and fails to delete a locked evidence report on both.
func TestComplianceS3(t *testing.T) {
	t.Parallel()
	backends := []*s3Backend{simS3(t), minioS3(t)}
	all := func(enc, lock string) s3Verdicts {
		return s3Verdicts{"s3_kms_encryption/" + artifactsBucket: enc, "s3_kms_encryption/" + auditBucket: "PASS ",
			"s3_object_lock_retention/" + auditBucket: lock}
	}
	steps := []struct {
		name   string
		bucket string
		set    map[string]string
		want   s3Verdicts
	}{
		{"pipeline as deployed", "", nil, all("PASS ", "PASS ")},
		{"governance mode", auditBucket, map[string]string{"Mode": "GOVERNANCE", "Years": "7"}, all("PASS ", "FAIL ")},
		{"2555 days", auditBucket, map[string]string{"Mode": "COMPLIANCE", "Days": "2555"}, all("PASS ", "FAIL ")},
		{"2557 days", auditBucket, map[string]string{"Mode": "COMPLIANCE", "Days": "2557"}, all("PASS ", "PASS ")},
		{"artifacts SSE-S3", artifactsBucket, map[string]string{"SSEAlgorithm": "AES256"}, all("FAIL ", "PASS ")},
	}
	for _, st := range steps {
		onEach(t, st.name, backends, func(t *testing.T, b *s3Backend) s3Verdicts {
			if st.set != nil {
				b.set(t, st.bucket, st.set)
			}
			got := runS3Checks(t, b)
			if fmt.Sprint(got) != fmt.Sprint(st.want) {
				t.Errorf("verdicts\n  got  %v\n  want %v", got, st.want)
			}
			return got
		})
	}
	onEach(t, "evidence", backends, func(t *testing.T, b *s3Backend) string { return testEvidenceOn(t, b) })
}

// testEvidenceOn writes a report to the audit bucket, verifies it and tries
// to delete the locked version, which must be refused.
func testEvidenceOn(t *testing.T, b *s3Backend) string {
	ev := &compliance.Evidence{S3: b.client, Bucket: auditBucket, Prefix: "socmond/evidence/", KMSKey: b.key}
	now := time.Now()
	w, err := ev.Write(t.Context(), compliance.NewReport("test", now, compliance.DefaultRetention, runS3Findings(t, b)), now)
	if err != nil {
		t.Fatalf("write evidence: %v", err)
	}
	want := compliance.WantKey{Name: b.key}
	if b.kms != nil {
		want = compliance.ResolveKey(t.Context(), b.kms, b.key)
	}
	v, err := compliance.Verify(t.Context(), b.client, auditBucket, w.Key, want, compliance.DefaultRetention)
	if err != nil {
		t.Fatal(err)
	}
	if !v.OK() {
		t.Errorf("verify: %+v", v.Checks)
	}
	_, err = b.client.DeleteObject(callCtx(t), &s3.DeleteObjectInput{Bucket: aws.String(auditBucket), Key: &w.Key, VersionId: &w.VersionID})
	class, code, _ := probes.Classify(err)
	switch {
	case err == nil:
		t.Errorf("the locked evidence version was deleted")
	case b.name == "minio":
		// Known MinIO gap: it refuses with 400 InvalidRequest "Object is
		// WORM protected"; AWS answers 403 AccessDenied (asserted on the
		// simulator). The refusal itself is what both must show.
	case class != probes.ClassAuth || code != "AccessDenied":
		t.Errorf("delete of the locked version: err=%v class=%s code=%s, want AccessDenied", err, class, code)
	}
	if _, err := b.client.HeadObject(callCtx(t), &s3.HeadObjectInput{Bucket: aws.String(auditBucket), Key: &w.Key, VersionId: &w.VersionID}); err != nil {
		t.Errorf("the evidence version is gone after the refused delete: %v", err)
	}
	return fmt.Sprintf("verified=%t delete refused=%t", v.OK(), err != nil)
}

func runS3Findings(t *testing.T, b *s3Backend) []compliance.Finding {
	c := &compliance.Checker{S3: b.client, KMS: b.kms, Timeout: probeTimeout, Targets: compliance.Targets{KMSKey: b.key,
		Buckets: []string{artifactsBucket, auditBucket}, AuditBucket: auditBucket}}
	return c.Run(t.Context())
}
