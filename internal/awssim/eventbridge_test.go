package awssim

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

func TestEventBridgeDescribe(t *testing.T) {
	e := start(t, testSeed())
	c := e.events()
	for _, name := range []string{"soc-bus", "arn:aws:events:us-east-1:123456789012:event-bus/soc-bus"} {
		out, err := c.DescribeEventBus(ctx(t), &eventbridge.DescribeEventBusInput{Name: aws.String(name)})
		if err != nil || aws.ToString(out.Name) != "soc-bus" || aws.ToString(out.Arn) != "arn:aws:events:us-east-1:123456789012:event-bus/soc-bus" {
			t.Fatalf("%s: %+v %v", name, out, err)
		}
	}
	def, err := c.DescribeEventBus(ctx(t), &eventbridge.DescribeEventBusInput{})
	if err != nil || aws.ToString(def.Name) != "default" {
		t.Fatalf("default bus %+v %v", def, err)
	}
	_, err = c.DescribeEventBus(ctx(t), &eventbridge.DescribeEventBusInput{Name: aws.String("nope")})
	wantAPIErr(t, err, "ResourceNotFoundException", 400)

	rule, err := c.DescribeRule(ctx(t), &eventbridge.DescribeRuleInput{Name: aws.String("to-pipeline"), EventBusName: aws.String("soc-bus")})
	if err != nil || rule.State != types.RuleStateEnabled || aws.ToString(rule.Arn) != "arn:aws:events:us-east-1:123456789012:rule/soc-bus/to-pipeline" {
		t.Fatalf("rule %+v %v", rule, err)
	}
	_, err = c.DescribeRule(ctx(t), &eventbridge.DescribeRuleInput{Name: aws.String("to-pipeline")})
	wantAPIErr(t, err, "ResourceNotFoundException", 400)

	targets, err := c.ListTargetsByRule(ctx(t), &eventbridge.ListTargetsByRuleInput{Rule: aws.String("to-pipeline"), EventBusName: aws.String("soc-bus")})
	if err != nil || len(targets.Targets) != 1 || aws.ToString(targets.Targets[0].Arn) != testMachineARN || aws.ToString(targets.Targets[0].RoleArn) == "" {
		t.Fatalf("targets %+v %v", targets, err)
	}

	e.sim.AddFault(Fault{Service: "events", Resource: "to-pipeline", State: "DISABLED", Count: 1})
	rule, err = c.DescribeRule(ctx(t), &eventbridge.DescribeRuleInput{Name: aws.String("to-pipeline"), EventBusName: aws.String("soc-bus")})
	if err != nil || rule.State != types.RuleStateDisabled {
		t.Fatalf("disabled rule %+v %v", rule, err)
	}
}

func TestEventBridgePutEvents(t *testing.T) {
	e := start(t, testSeed())
	c := e.events()
	out, err := c.PutEvents(ctx(t), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{
		{EventBusName: aws.String("soc-bus"), Source: aws.String("socmond.probe"), DetailType: aws.String("SyntheticInvestigation"), Detail: aws.String(`{"investigationId":"inv-1"}`)},
		{EventBusName: aws.String("soc-bus"), Source: aws.String("socmond.probe"), DetailType: aws.String("SyntheticInvestigation"), Detail: aws.String(`not json`)},
		{EventBusName: aws.String("soc-bus"), DetailType: aws.String("SyntheticInvestigation"), Detail: aws.String(`{}`)},
		{EventBusName: aws.String("nope"), Source: aws.String("socmond.probe"), DetailType: aws.String("X"), Detail: aws.String(`{}`)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	codes := []string{}
	for _, en := range out.Entries {
		codes = append(codes, aws.ToString(en.ErrorCode))
	}
	if out.FailedEntryCount != 3 || aws.ToString(out.Entries[0].EventId) == "" || codes[1] != "MalformedDetail" || codes[2] != "InvalidArgument" || codes[3] != "ResourceNotFoundException" {
		t.Fatalf("failed %d codes %v", out.FailedEntryCount, codes)
	}
	events := e.sim.Events()
	if len(events) != 1 || events[0].ID != aws.ToString(out.Entries[0].EventId) || events[0].Bus != "soc-bus" || events[0].Detail != `{"investigationId":"inv-1"}` {
		t.Fatalf("recorded %+v", events)
	}
	eleven := make([]types.PutEventsRequestEntry, 11)
	for i := range eleven {
		eleven[i] = types.PutEventsRequestEntry{Source: aws.String("s"), DetailType: aws.String("d"), Detail: aws.String("{}")}
	}
	_, err = c.PutEvents(ctx(t), &eventbridge.PutEventsInput{Entries: eleven})
	wantAPIErr(t, err, "ValidationException", 400)

	e.sim.AddFault(Fault{Service: "eventbridge", Resource: "soc-bus", Error: "ThrottlingException", Count: 1})
	_, err = c.PutEvents(ctx(t), &eventbridge.PutEventsInput{Entries: eleven[:1]}) // default bus: not faulted
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.DescribeEventBus(ctx(t), &eventbridge.DescribeEventBusInput{Name: aws.String("soc-bus")})
	wantAPIErr(t, err, "ThrottlingException", 400)
	e.sim.AddFault(Fault{Service: "eventbridge", Malformed: true, Count: 1})
	_, err = c.DescribeEventBus(ctx(t), &eventbridge.DescribeEventBusInput{Name: aws.String("soc-bus")})
	wantDeserializationErr(t, err)
	e.sim.AddFault(Fault{Service: "eventbridge", Error: "InternalException", Count: 1})
	_, err = c.DescribeEventBus(ctx(t), &eventbridge.DescribeEventBusInput{Name: aws.String("soc-bus")})
	wantAPIErr(t, err, "InternalException", 500)
}

// A rule's dead-letter queue comes back on each of its targets, in the
// shape the SDK decodes.
func TestEventBridgeTargetDeadLetter(t *testing.T) {
	const dlq = "arn:aws:sqs:us-east-1:123456789012:soc-dlq"
	seed := testSeed()
	for i := range seed.Rules {
		seed.Rules[i].DeadLetter = dlq
	}
	e := start(t, seed)
	targets, err := e.events().ListTargetsByRule(ctx(t), &eventbridge.ListTargetsByRuleInput{Rule: aws.String("to-pipeline"), EventBusName: aws.String("soc-bus")})
	if err != nil || len(targets.Targets) != 1 || targets.Targets[0].DeadLetterConfig == nil || aws.ToString(targets.Targets[0].DeadLetterConfig.Arn) != dlq {
		t.Fatalf("targets %+v %v", targets, err)
	}
}
