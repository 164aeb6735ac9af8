package probes_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/socmond/socmond/internal/probes"
)

// cannedTransport answers every request with one fixed response, so the
// fuzzer drives the SDK's real deserializers without a network.
type cannedTransport struct {
	status int
	header http.Header
	body   []byte
}

func (c cannedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	return &http.Response{
		StatusCode: c.status, Status: strconv.Itoa(c.status) + " X", Header: c.header.Clone(),
		Body: io.NopCloser(bytes.NewReader(c.body)), ContentLength: int64(len(c.body)), Request: r,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
	}, nil
}

func fuzzConfig(t cannedTransport) aws.Config {
	return aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		HTTPClient:  &http.Client{Transport: t},
		Retryer:     func() aws.Retryer { return aws.NopRetryer{} },
	}
}

// FuzzClassifyResponse feeds arbitrary AWS responses (status, error-type
// header, body) through the real SDK clients of three protocols and checks
// that every outcome is classified into the bounded set of classes with a
// status that agrees with it and a hint for every failure.
func FuzzClassifyResponse(f *testing.F) {
	f.Add(400, "", []byte(`{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"no"}`))
	f.Add(400, "ThrottlingException", []byte(`{}`))
	f.Add(429, "TooManyRequestsException", []byte(`{"Reason":"x","Type":"User","message":"slow down"}`))
	f.Add(503, "", []byte(`<Error><Code>SlowDown</Code><Message>x</Message></Error>`))
	f.Add(200, "", []byte(`{"Table":{"TableName":"t","TableStatus":"ACTIVE"}}`))
	f.Add(200, "", []byte(`{"Table":`))
	f.Add(500, "", []byte(``))
	f.Add(403, "AccessDeniedException:http://internal", []byte(`not json`))
	f.Add(301, "", []byte(nil))
	f.Fuzz(func(t *testing.T, status int, errType string, body []byte) {
		if status < 100 || status > 599 {
			return
		}
		h := http.Header{}
		if errType != "" {
			h.Set("X-Amzn-Errortype", errType)
		}
		h.Set("Content-Type", "application/x-amz-json-1.0")
		cfg := fuzzConfig(cannedTransport{status: status, header: h, body: body})
		ps := []probes.Probe{
			probes.NewDynamoDBTable(dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.DisableValidateResponseChecksum = true }), "t"),
			probes.NewLambdaFunction(lambda.NewFromConfig(cfg), "f"),
			probes.NewS3Bucket(s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }), "b"),
		}
		for _, p := range ps {
			r := probes.Run(context.Background(), p, probes.Options{Timeout: 5 * time.Second})
			if !slices.Contains(probes.Statuses, r.Status) {
				t.Fatalf("%s: status %q not in the bounded set", p.Target(), r.Status)
			}
			if r.Class != probes.ClassNone && !slices.Contains(probes.Classes, r.Class) {
				t.Fatalf("%s: class %q not in the bounded set", p.Target(), r.Class)
			}
			if r.Status == probes.Healthy && r.Class != probes.ClassNone {
				t.Fatalf("%s: healthy with class %q", p.Target(), r.Class)
			}
			if r.Status != probes.Healthy && (r.Class == probes.ClassNone || r.Hint == "") {
				t.Fatalf("%s: %s without class or hint: %+v", p.Target(), r.Status, r)
			}
			if status >= 300 && r.Status == probes.Healthy {
				t.Fatalf("%s: HTTP %d classified healthy", p.Target(), status)
			}
		}
	})
}
