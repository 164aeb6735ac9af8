package awssim

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func TestS3Buckets(t *testing.T) {
	e := start(t, testSeed())
	c := e.s3()
	keyARN := e.sim.def.kms().firstKeyARN()

	head, err := c.HeadBucket(ctx(t), &s3.HeadBucketInput{Bucket: aws.String("soc-data")})
	if err != nil || aws.ToString(head.BucketRegion) != "us-east-1" {
		t.Fatalf("head %+v %v", head, err)
	}
	_, err = c.HeadBucket(ctx(t), &s3.HeadBucketInput{Bucket: aws.String("no-such-bucket")})
	wantAPIErr(t, err, "NotFound", 404)

	enc, err := c.GetBucketEncryption(ctx(t), &s3.GetBucketEncryptionInput{Bucket: aws.String("soc-audit")})
	if err != nil {
		t.Fatal(err)
	}
	rule := enc.ServerSideEncryptionConfiguration.Rules[0]
	if rule.ApplyServerSideEncryptionByDefault.SSEAlgorithm != types.ServerSideEncryptionAwsKms ||
		aws.ToString(rule.ApplyServerSideEncryptionByDefault.KMSMasterKeyID) != keyARN || !aws.ToBool(rule.BucketKeyEnabled) {
		t.Fatalf("encryption %+v", rule)
	}
	_, err = c.GetBucketEncryption(ctx(t), &s3.GetBucketEncryptionInput{Bucket: aws.String("no-such-bucket")})
	wantAPIErr(t, err, "NoSuchBucket", 404)

	lock, err := c.GetObjectLockConfiguration(ctx(t), &s3.GetObjectLockConfigurationInput{Bucket: aws.String("soc-audit")})
	if err != nil {
		t.Fatal(err)
	}
	lc := lock.ObjectLockConfiguration
	if lc.ObjectLockEnabled != types.ObjectLockEnabledEnabled || lc.Rule.DefaultRetention.Mode != types.ObjectLockRetentionModeCompliance ||
		aws.ToInt32(lc.Rule.DefaultRetention.Years) != 7 || lc.Rule.DefaultRetention.Days != nil {
		t.Fatalf("lock %+v", lc.Rule.DefaultRetention)
	}
	_, err = c.GetObjectLockConfiguration(ctx(t), &s3.GetObjectLockConfigurationInput{Bucket: aws.String("soc-data")})
	wantAPIErr(t, err, "ObjectLockConfigurationNotFoundError", 404)

	ver, err := c.GetBucketVersioning(ctx(t), &s3.GetBucketVersioningInput{Bucket: aws.String("soc-audit")})
	if err != nil || ver.Status != types.BucketVersioningStatusEnabled {
		t.Fatalf("versioning %+v %v", ver, err)
	}

	// Without a seeded key, buckets get the SSE-S3 default every bucket has had since 2023.
	plain := start(t, Seed{Buckets: []string{"plain-bucket"}})
	enc, err = plain.s3().GetBucketEncryption(ctx(t), &s3.GetBucketEncryptionInput{Bucket: aws.String("plain-bucket")})
	if err != nil || enc.ServerSideEncryptionConfiguration.Rules[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm != types.ServerSideEncryptionAes256 {
		t.Fatalf("plain bucket %+v %v", enc, err)
	}
}

func TestS3RequestIDs(t *testing.T) {
	e := start(t, testSeed())
	_, err := e.s3().GetBucketEncryption(ctx(t), &s3.GetBucketEncryptionInput{Bucket: aws.String("no-such-bucket")})
	var re interface {
		ServiceRequestID() string
		ServiceHostID() string
	}
	if !asErr(err, &re) || len(re.ServiceRequestID()) != 16 || re.ServiceHostID() == "" {
		t.Fatalf("request ids missing: %v", err)
	}
}

func TestS3Objects(t *testing.T) {
	e := start(t, testSeed())
	c := e.s3()
	keyARN := e.sim.def.kms().firstKeyARN()
	body := []byte(`{"investigationId":"inv-1"}`)

	put, err := c.PutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String("soc-data"), Key: aws.String("alerts/a 1.json"),
		Body: bytes.NewReader(body), ChecksumAlgorithm: types.ChecksumAlgorithmSha256, ContentType: aws.String("application/json")})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	wantSum := base64.StdEncoding.EncodeToString(sum[:])
	if put.ServerSideEncryption != types.ServerSideEncryptionAwsKms || aws.ToString(put.SSEKMSKeyId) != keyARN || aws.ToString(put.ChecksumSHA256) != wantSum || put.VersionId != nil {
		t.Fatalf("put %+v", put)
	}
	get, err := c.GetObject(ctx(t), &s3.GetObjectInput{Bucket: aws.String("soc-data"), Key: aws.String("alerts/a 1.json"), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(get.Body)
	get.Body.Close()
	if !bytes.Equal(got, body) || aws.ToString(get.ChecksumSHA256) != wantSum || aws.ToString(get.ContentType) != "application/json" ||
		get.ServerSideEncryption != types.ServerSideEncryptionAwsKms || !aws.ToBool(get.BucketKeyEnabled) {
		t.Fatalf("get %q %+v", got, get)
	}

	// A checksum that does not match the bytes is refused.
	_, err = c.PutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String("soc-data"), Key: aws.String("bad"),
		Body: bytes.NewReader(body), ChecksumSHA256: aws.String(base64.StdEncoding.EncodeToString(make([]byte, 32)))})
	wantAPIErr(t, err, "BadDigest", 400)

	// SSE-KMS with a named key stores the key ARN; an unknown key is refused.
	put, err = c.PutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String("soc-data"), Key: aws.String("k"), Body: bytes.NewReader(body),
		ServerSideEncryption: types.ServerSideEncryptionAwsKms, SSEKMSKeyId: aws.String("alias/aws/s3")})
	if err != nil || !strings.HasSuffix(aws.ToString(put.SSEKMSKeyId), uuidFrom("alias/aws/s3")) {
		t.Fatalf("put with key %+v %v", put, err)
	}
	_, err = c.PutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String("soc-data"), Key: aws.String("k"), Body: bytes.NewReader(body),
		ServerSideEncryption: types.ServerSideEncryptionAwsKms, SSEKMSKeyId: aws.String("alias/nope")})
	wantAPIErr(t, err, "KMS.NotFoundException", 400)

	// Lock headers on a bucket without Object Lock are refused.
	_, err = c.PutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String("soc-data"), Key: aws.String("k"), Body: bytes.NewReader(body),
		ObjectLockMode: types.ObjectLockModeCompliance, ObjectLockRetainUntilDate: aws.Time(time.Now().Add(time.Hour))})
	wantAPIErr(t, err, "InvalidRequest", 400)

	// Unversioned delete removes the object.
	if _, err := c.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: aws.String("soc-data"), Key: aws.String("alerts/a 1.json")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: aws.String("soc-data"), Key: aws.String("alerts/a 1.json")})
	wantAPIErr(t, err, "NotFound", 404)
	_, err = c.GetObject(ctx(t), &s3.GetObjectInput{Bucket: aws.String("soc-data"), Key: aws.String("alerts/a 1.json")})
	wantAPIErr(t, err, "NoSuchKey", 404)
}

func TestS3ObjectLock(t *testing.T) {
	e := start(t, testSeed())
	c := e.s3()
	body := []byte("audit record")
	put, err := c.PutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String("soc-audit"), Key: aws.String("audit/1"), Body: bytes.NewReader(body)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(put.VersionId) == "" {
		t.Fatal("no version id from a lock bucket")
	}
	head, err := c.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: aws.String("soc-audit"), Key: aws.String("audit/1")})
	if err != nil {
		t.Fatal(err)
	}
	wantUntil := time.Now().AddDate(7, 0, 0)
	if head.ObjectLockMode != types.ObjectLockModeCompliance || head.ObjectLockRetainUntilDate == nil ||
		head.ObjectLockRetainUntilDate.Sub(wantUntil).Abs() > time.Hour || aws.ToInt64(head.ContentLength) != int64(len(body)) {
		t.Fatalf("head %+v until %v", head, head.ObjectLockRetainUntilDate)
	}

	// A locked version cannot be deleted.
	_, err = c.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: aws.String("soc-audit"), Key: aws.String("audit/1"), VersionId: put.VersionId})
	wantAPIErr(t, err, "AccessDenied", 403)

	// Deleting without a version only adds a delete marker; the version survives.
	del, err := c.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: aws.String("soc-audit"), Key: aws.String("audit/1")})
	if err != nil || !aws.ToBool(del.DeleteMarker) {
		t.Fatalf("delete %+v %v", del, err)
	}
	_, err = c.GetObject(ctx(t), &s3.GetObjectInput{Bucket: aws.String("soc-audit"), Key: aws.String("audit/1")})
	wantAPIErr(t, err, "NoSuchKey", 404)
	old, err := c.GetObject(ctx(t), &s3.GetObjectInput{Bucket: aws.String("soc-audit"), Key: aws.String("audit/1"), VersionId: put.VersionId})
	if err != nil {
		t.Fatal(err)
	}
	old.Body.Close()

	// GOVERNANCE can be bypassed with the header; COMPLIANCE cannot.
	gov, err := c.PutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String("soc-audit"), Key: aws.String("audit/2"), Body: bytes.NewReader(body),
		ObjectLockMode: types.ObjectLockModeGovernance, ObjectLockRetainUntilDate: aws.Time(time.Now().Add(time.Hour))})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: aws.String("soc-audit"), Key: aws.String("audit/2"), VersionId: gov.VersionId})
	wantAPIErr(t, err, "AccessDenied", 403)
	if _, err := c.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: aws.String("soc-audit"), Key: aws.String("audit/2"), VersionId: gov.VersionId,
		BypassGovernanceRetention: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}

	// Lock parameters need an integrity header; with checksums turned off there is none.
	noSum := s3.NewFromConfig(e.cfg, func(o *s3.Options) {
		o.UsePathStyle = true
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
	})
	_, err = noSum.PutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String("soc-audit"), Key: aws.String("audit/3"), Body: bytes.NewReader(body)})
	wantAPIErr(t, err, "InvalidRequest", 400)
	_, err = c.PutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String("soc-audit"), Key: aws.String("audit/3"), Body: bytes.NewReader(body),
		ObjectLockMode: types.ObjectLockModeCompliance, ObjectLockRetainUntilDate: aws.Time(time.Now().Add(-time.Hour))})
	wantAPIErr(t, err, "InvalidArgument", 400)
}

func TestS3ChunkedUploadWithTrailer(t *testing.T) {
	e := start(t, testSeed())
	data := "hello, audit"
	sum := sha256.Sum256([]byte(data))
	trailer := base64.StdEncoding.EncodeToString(sum[:])
	chunked := "c\r\n" + data + "\r\n0\r\nx-amz-checksum-sha256:" + trailer + "\r\n\r\n"
	headers := map[string]string{
		"Authorization": authHeader("us-east-1", "s3"), "X-Amz-Date": "20261127T000000Z",
		"X-Amz-Content-Sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "Content-Encoding": "aws-chunked",
		"X-Amz-Decoded-Content-Length": "12", "X-Amz-Trailer": "x-amz-checksum-sha256",
	}
	resp, body := rawAWS(t, "PUT", e.url+"/soc-audit/chunked", headers, chunked)
	if resp.StatusCode != 200 || resp.Header.Get("X-Amz-Checksum-Sha256") != trailer {
		t.Fatalf("chunked put: %d %s %v", resp.StatusCode, body, resp.Header)
	}
	got, err := e.s3().GetObject(ctx(t), &s3.GetObjectInput{Bucket: aws.String("soc-audit"), Key: aws.String("chunked")})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(got.Body)
	got.Body.Close()
	if string(b) != data {
		t.Fatalf("stored %q", b)
	}
	bad := strings.Replace(chunked, trailer, base64.StdEncoding.EncodeToString(make([]byte, 32)), 1)
	resp, body = rawAWS(t, "PUT", e.url+"/soc-audit/chunked", headers, bad)
	if resp.StatusCode != 400 || !strings.Contains(string(body), "<Code>BadDigest</Code>") {
		t.Fatalf("bad trailer: %d %s", resp.StatusCode, body)
	}
	headers["X-Amz-Content-Sha256"] = strings.Repeat("ab", 32)
	delete(headers, "Content-Encoding")
	resp, body = rawAWS(t, "PUT", e.url+"/soc-data/x", headers, data)
	if resp.StatusCode != 400 || !strings.Contains(string(body), "XAmzContentSHA256Mismatch") {
		t.Fatalf("payload hash mismatch: %d %s", resp.StatusCode, body)
	}
}

func TestS3Faults(t *testing.T) {
	type op func(*s3.Client) error
	headBucket := func(c *s3.Client) error {
		_, err := c.HeadBucket(ctx(t), &s3.HeadBucketInput{Bucket: aws.String("soc-data")})
		return err
	}
	getEnc := func(c *s3.Client) error {
		_, err := c.GetBucketEncryption(ctx(t), &s3.GetBucketEncryptionInput{Bucket: aws.String("soc-data")})
		return err
	}
	getLock := func(c *s3.Client) error {
		_, err := c.GetObjectLockConfiguration(ctx(t), &s3.GetObjectLockConfigurationInput{Bucket: aws.String("soc-audit")})
		return err
	}
	putObj := func(c *s3.Client) error {
		_, err := c.PutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String("soc-data"), Key: aws.String("k"), Body: strings.NewReader("x")})
		return err
	}
	headObj := func(c *s3.Client) error {
		_, err := c.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: aws.String("soc-data"), Key: aws.String("seed")})
		return err
	}
	delObj := func(c *s3.Client) error {
		_, err := c.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: aws.String("soc-data"), Key: aws.String("seed")})
		return err
	}
	tests := map[string]struct {
		fault      Fault
		call       op
		wantCode   string
		wantStatus int
		malformed  bool
	}{
		"HEAD slow down has no body":    {Fault{Service: "s3", Error: "SlowDown"}, headBucket, "ServiceUnavailable", 503, false},
		"GET slow down":                 {Fault{Service: "s3", Error: "SlowDown"}, getEnc, "SlowDown", 503, false},
		"HEAD access denied":            {Fault{Service: "s3", Resource: "soc-data", Error: "AccessDenied"}, headBucket, "Forbidden", 403, false},
		"GET access denied":             {Fault{Service: "s3", Resource: "soc-data", Error: "AccessDenied"}, getEnc, "AccessDenied", 403, false},
		"no encryption config":          {Fault{Service: "s3", Error: "ServerSideEncryptionConfigurationNotFoundError"}, getEnc, "ServerSideEncryptionConfigurationNotFoundError", 404, false},
		"HEAD wrong region":             {Fault{Service: "s3", Error: "PermanentRedirect"}, headBucket, "MovedPermanently", 301, false},
		"malformed HeadBucket":          {Fault{Service: "s3", Malformed: true}, headBucket, "", 0, true},
		"malformed GetBucketEncryption": {Fault{Service: "s3", Malformed: true}, getEnc, "", 0, true},
		"malformed object lock":         {Fault{Service: "s3", Malformed: true}, getLock, "", 0, true},
		"malformed PutObject":           {Fault{Service: "s3", Malformed: true}, putObj, "", 0, true},
		"malformed HeadObject":          {Fault{Service: "s3", Malformed: true}, headObj, "", 0, true},
		"malformed DeleteObject":        {Fault{Service: "s3", Malformed: true}, delObj, "", 0, true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := start(t, testSeed())
			if _, err := e.s3().PutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String("soc-data"), Key: aws.String("seed"), Body: strings.NewReader("x")}); err != nil {
				t.Fatal(err)
			}
			e.sim.AddFault(tc.fault)
			err := tc.call(e.s3())
			if tc.malformed {
				wantDeserializationErr(t, err)
				return
			}
			wantAPIErr(t, err, tc.wantCode, tc.wantStatus)
		})
	}
}
