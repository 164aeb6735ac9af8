package awssim

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
)

// SQS through the real SDK, which speaks awsJson 1.0 to it.
func TestSQSGetQueueAttributes(t *testing.T) {
	const url = "https://sqs.us-east-1.amazonaws.com/123456789012/soc-dlq"
	e := start(t, Seed{Resources: map[string][]string{"sqs": {"arn:aws:sqs:us-east-1:123456789012:soc-dlq"}}})
	c := sqs.NewFromConfig(e.cfg)

	out, err := c.GetQueueAttributes(ctx(t), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameAll}})
	if err != nil {
		t.Fatal(err)
	}
	if out.Attributes["ApproximateNumberOfMessages"] != "0" || out.Attributes["QueueArn"] == "" {
		t.Errorf("attributes %v", out.Attributes)
	}

	e.sim.AddFault(Fault{Service: "sqs", Resource: url, Set: map[string]string{"ApproximateNumberOfMessages": "7"}})
	out, err = c.GetQueueAttributes(ctx(t), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages}})
	if err != nil || len(out.Attributes) != 1 || out.Attributes["ApproximateNumberOfMessages"] != "7" {
		t.Errorf("with 7 set: %v %v", out, err)
	}

	for _, tc := range []struct{ url, attr, code string }{
		{"https://sqs.us-east-1.amazonaws.com/123456789012/gone", "All", "QueueDoesNotExist"},
		{url, "ApproximateAgeOfOldestMessage", "InvalidAttributeName"}, // a CloudWatch metric, not an attribute
	} {
		_, err := c.GetQueueAttributes(ctx(t), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(tc.url),
			AttributeNames: []types.QueueAttributeName{types.QueueAttributeName(tc.attr)}})
		var ae smithy.APIError
		if !errors.As(err, &ae) || (ae.ErrorCode() != tc.code && ae.ErrorCode() != "AWS.SimpleQueueService.NonExistentQueue") {
			t.Errorf("%s %s: %v, want %s", tc.url, tc.attr, err, tc.code)
		}
	}
	if _, err := sqs.NewFromConfig(e.cfg).GetQueueUrl(ctx(t), &sqs.GetQueueUrlInput{QueueName: aws.String("soc-dlq")}); err != nil {
		t.Errorf("GetQueueUrl: %v", err)
	}
}
