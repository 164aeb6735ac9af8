package awsclient

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/socmond/socmond/internal/awssim"
)

// The clients' own default is the SDK's standard retryer: a compliance,
// workflow, canary or evidence read that is throttled once is retried and
// succeeds, instead of turning one throttled read into a (wrong) finding.
// Only probes make a single attempt, per call (see probes'
// TestEveryProbeMakesOneAttempt).
func TestThrottledReadIsRetried(t *testing.T) {
	// The simulator encrypts its tables with the first seeded key.
	sim, c := simClients(t, awssim.Seed{Tables: []string{"findings"}, Keys: []string{"alias/k"}})
	sim.AddFault(awssim.Fault{Service: "dynamodb", Resource: "findings", Error: "ThrottlingException", Count: 1})
	// What the compliance check reads of a table: its SSE settings.
	out, err := c.DynamoDB.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String("findings")})
	if err != nil {
		t.Fatalf("a read throttled once failed: %v", err)
	}
	if out.Table == nil || out.Table.SSEDescription == nil {
		t.Fatalf("the retried read has no SSE description: %+v", out.Table)
	}
	calls := sim.Calls()
	if len(calls) != 2 || calls[0].Fault != "error:ThrottlingException" || calls[1].Fault != "" || calls[1].Attempt != 2 {
		t.Fatalf("want a throttled attempt, then a second that answered; the simulator saw %+v", calls)
	}
}

// A write retried after a server error sends its whole body again: the SDK
// rewinds its stream for each attempt and memoryBodies (body.go) reads it
// afresh, as an evidence report written to S3 needs.
func TestRetriedWriteSendsItsBodyAgain(t *testing.T) {
	sim, c := simClients(t, awssim.Seed{Buckets: []string{"evidence"}, Keys: []string{"alias/k"}})
	sim.AddFault(awssim.Fault{Service: "s3", Resource: "evidence", Error: "InternalError", Count: 1})
	report := bytes.Repeat([]byte("evidence line\n"), 200)
	if _, err := c.S3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("evidence"), Key: aws.String("r.txt"),
		Body: bytes.NewReader(report)}); err != nil {
		t.Fatalf("a write that failed once with a 500 failed: %v", err)
	}
	out, err := c.S3.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("evidence"), Key: aws.String("r.txt")})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Body.Close()
	if got, err := io.ReadAll(out.Body); err != nil || !bytes.Equal(got, report) {
		t.Fatalf("stored %d bytes (%v), want the %d written", len(got), err, len(report))
	}
	puts := 0
	for _, call := range sim.Calls() {
		if call.Operation == "PutObject" {
			puts++
		}
	}
	if puts != 2 {
		t.Fatalf("%d PutObject attempts, want the failed one and its retry: %+v", puts, sim.Calls())
	}
}

// A read throttled on every attempt, under a deadline that the SDK's
// backoffs would overrun, ends with the throttling AWS sent, not with
// "context deadline exceeded": the retries stop while there is still time,
// so a compliance finding says ThrottlingException, not timeout.
func TestRetriesStopBeforeTheDeadline(t *testing.T) {
	sim, c := simClients(t, awssim.Seed{Tables: []string{"findings"}, Keys: []string{"alias/k"}})
	sim.AddFault(awssim.Fault{Service: "dynamodb", Resource: "findings", Error: "ThrottlingException"})
	for range 5 { // the backoff is random; a few tries cover its range
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := c.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("findings")})
		cancel()
		var api smithy.APIError
		if !errors.As(err, &api) || api.ErrorCode() != "ThrottlingException" || errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("want the throttling AWS answered, got %v", err)
		}
	}
	if n := len(sim.Calls()); n < 10 {
		t.Fatalf("%d calls for 5 reads: the retries did not happen while there was time", n)
	}
}
