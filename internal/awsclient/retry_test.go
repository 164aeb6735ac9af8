package awsclient

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

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
