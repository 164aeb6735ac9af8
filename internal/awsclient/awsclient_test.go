package awsclient

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/rs/zerolog"
)

func TestEndpointFromEnv(t *testing.T) {
	cases := map[string]struct {
		env  map[string]string
		want bool
	}{
		"none":             {env: map[string]string{}, want: false},
		"global":           {env: map[string]string{"AWS_ENDPOINT_URL": "http://localhost:4566"}, want: true},
		"service specific": {env: map[string]string{"AWS_ENDPOINT_URL_S3": "http://localhost:9000"}, want: true},
		"other service":    {env: map[string]string{"AWS_ENDPOINT_URL_KMS": "http://localhost:9000"}, want: false},
		"ignored":          {env: map[string]string{"AWS_ENDPOINT_URL": "http://x", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}, want: false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := endpointFromEnv(func(k string) string { return tc.env[k] }, "S3")
			if got != tc.want {
				t.Fatalf("endpointFromEnv = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestS3PathStyleAndRetries checks, through the real SDK, that an endpoint
// override sends S3 path-style requests to it and that the client retries
// as the SDK's standard retryer does (probes make one attempt per call on
// their own; probes' TestEveryProbeMakesOneAttempt).
func TestS3PathStyleAndRetries(t *testing.T) {
	var calls atomic.Int32
	var path, host atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		path.Store(r.URL.Path)
		host.Store(r.Host)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	c, err := New(context.Background(), Options{
		Region:      "us-east-1",
		Endpoint:    strings.Replace(srv.URL, "127.0.0.1", "localhost", 1),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.S3.HeadBucket(context.Background(), &s3.HeadBucketInput{Bucket: aws.String("audit-bucket")})
	if err == nil {
		t.Fatal("expected an error from a 503")
	}
	if got := calls.Load(); got != int32(retry.DefaultMaxAttempts) {
		t.Fatalf("attempts = %d, want the standard retryer's %d (503 is retryable)", got, retry.DefaultMaxAttempts)
	}
	if p := path.Load().(string); p != "/audit-bucket" {
		t.Fatalf("path = %q, want path-style /audit-bucket", p)
	}
	if h := host.Load().(string); strings.HasPrefix(h, "audit-bucket.") {
		t.Fatalf("host = %q: virtual-host style used", h)
	}
}

func TestNoRegion(t *testing.T) {
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_PROFILE", "")
	_, err := New(context.Background(), Options{Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")})
	if err == nil || !strings.Contains(err.Error(), "region") {
		t.Fatalf("err = %v, want a region error", err)
	}
}

// TestSDKWarningsGoThroughZerolog: a DynamoDB answer without the CRC32
// header makes the SDK warn; the warning must arrive as a structured line.
func TestSDKWarningsGoThroughZerolog(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Header().Set("X-Amz-Crc32", "1") // wrong on purpose
		_, _ = w.Write([]byte(`{"Table":{"TableName":"t","TableStatus":"ACTIVE"}}`))
	}))
	defer srv.Close()
	var buf strings.Builder
	var mu sync.Mutex
	l := zerolog.New(zerolog.SyncWriter(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(p)
	})))
	c, err := New(context.Background(), Options{Region: "us-east-1", Endpoint: srv.URL, Logger: &l,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.DynamoDB.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String("t")}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	if !strings.Contains(out, `"component":"aws-sdk"`) || !strings.Contains(out, `"level":"warn"`) || !strings.Contains(out, "checksum") {
		t.Fatalf("SDK warning not logged through zerolog: %q", out)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestClientOfAnotherService: a client a descriptor builds through Client
// is built once per Clients and gets the factory's HTTP client (bodies from
// memory) and its capped retryer, as New's own clients do.
func TestClientOfAnotherService(t *testing.T) {
	c, err := New(context.Background(), Options{Region: "ap-east-1", Endpoint: "http://127.0.0.1:1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")})
	if err != nil {
		t.Fatal(err)
	}
	var opts dynamodb.Options
	builds := 0
	build := func(cfg aws.Config, tune Tune) *dynamodb.Client {
		builds++
		return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
			o.HTTPClient, o.Retryer = tune.HTTPClient(o.HTTPClient), tune.Retryer(o.Retryer)
			opts = *o
		})
	}
	a, b := Client(c, "other", build), Client(c, "other", build)
	if a != b || builds != 1 {
		t.Errorf("built %d times, same client %v: want once", builds, a == b)
	}
	if _, ok := opts.HTTPClient.(memoryBodies); !ok {
		t.Errorf("HTTP client %T, want the factory's memoryBodies", opts.HTTPClient)
	}
	if _, ok := opts.Retryer.(withinDeadline); !ok {
		t.Errorf("retryer %T, want the factory's capped one", opts.Retryer)
	}
}
