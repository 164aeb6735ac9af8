package probes_test

import (
	"context"
	"errors"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	brtypes "github.com/aws/aws-sdk-go-v2/service/bedrock/types"
	rttypes "github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/socmond/socmond/internal/probes"
)

// service describes one probe for the failure table: how to build it on a
// fake, the errors its service sends for the service-specific classes (as
// aws-api.md §2 lists them), and the words its hints must carry.
type service struct {
	target   probes.Target
	check    string
	build    func(fc fakeCall) (probes.Probe, *fakeCall)
	throttle error
	denied   error
	notFound error
	hints    map[probes.Class][]string
	codes    map[probes.Class]string
}

func services() map[string]service {
	return map[string]service{
		"bedrock": {
			target: probes.Target{Service: probes.ServiceBedrock, Resource: "anthropic.claude-3-haiku-20240307-v1:0"},
			check:  "GetFoundationModel",
			build: func(fc fakeCall) (probes.Probe, *fakeCall) {
				f := &fakeBedrock{fakeCall: fc}
				return probes.NewBedrockModel(f, "anthropic.claude-3-haiku-20240307-v1:0"), &f.fakeCall
			},
			throttle: httpErr(429, &brtypes.ThrottlingException{Message: aws.String("slow")}, nil),
			denied:   httpErr(403, &brtypes.AccessDeniedException{Message: aws.String("no")}, nil),
			notFound: httpErr(404, &brtypes.ResourceNotFoundException{Message: aws.String("gone")}, nil),
			codes:    map[probes.Class]string{probes.ClassThrottled: "ThrottlingException", probes.ClassAuth: "AccessDeniedException", probes.ClassNotFound: "ResourceNotFoundException"},
			hints: map[probes.Class][]string{
				probes.ClassAuth:     {"Model access", "bedrock:InvokeModel", "anthropic.claude-3-haiku-20240307-v1:0"},
				probes.ClassNotFound: {"model id", "region"},
			},
		},
		"bedrock runtime": {
			target: probes.Target{Service: probes.ServiceBedrock, Resource: "runtime:anthropic.claude-3-haiku-20240307-v1:0"},
			check:  "Converse",
			build: func(fc fakeCall) (probes.Probe, *fakeCall) {
				f := &fakeBedrockRuntime{fakeCall: fc}
				return probes.NewBedrockRuntime(f, "anthropic.claude-3-haiku-20240307-v1:0", 1), &f.fakeCall
			},
			throttle: httpErr(429, &rttypes.ModelNotReadyException{Message: aws.String("warming")}, nil),
			denied:   httpErr(403, &rttypes.AccessDeniedException{Message: aws.String("no")}, nil),
			notFound: httpErr(404, &rttypes.ResourceNotFoundException{Message: aws.String("gone")}, nil),
			codes:    map[probes.Class]string{probes.ClassThrottled: "ModelNotReadyException", probes.ClassAuth: "AccessDeniedException", probes.ClassNotFound: "ResourceNotFoundException"},
			hints: map[probes.Class][]string{
				probes.ClassAuth:      {"Model access", "bedrock:InvokeModel"},
				probes.ClassThrottled: {"not ready"},
				probes.ClassNotFound:  {"region"},
			},
		},
		"dynamodb": {
			target: probes.Target{Service: probes.ServiceDynamoDB, Resource: "soc-alerts"},
			check:  "DescribeTable",
			build: func(fc fakeCall) (probes.Probe, *fakeCall) {
				f := &fakeDynamoDB{fakeCall: fc}
				return probes.NewDynamoDBTable(f, "soc-alerts"), &f.fakeCall
			},
			throttle: httpErr(400, &ddbtypes.ProvisionedThroughputExceededException{Message: aws.String("slow")}, nil),
			denied:   apiErr(400, "AccessDeniedException"),
			notFound: httpErr(400, &ddbtypes.ResourceNotFoundException{Message: aws.String("gone")}, nil),
			codes:    map[probes.Class]string{probes.ClassThrottled: "ProvisionedThroughputExceededException", probes.ClassAuth: "AccessDeniedException", probes.ClassNotFound: "ResourceNotFoundException"},
			hints: map[probes.Class][]string{
				probes.ClassAuth:      {"dynamodb:DescribeTable", "soc-alerts"},
				probes.ClassNotFound:  {"check the table name and region (AWS_REGION); the table may have been deleted"},
				probes.ClassThrottled: {"throughput", "quota increase"},
			},
		},
		"s3": {
			target: probes.Target{Service: probes.ServiceS3, Resource: "soc-audit"},
			check:  "HeadBucket",
			build: func(fc fakeCall) (probes.Probe, *fakeCall) {
				f := &fakeS3{fakeCall: fc}
				return probes.NewS3Bucket(f, "soc-audit"), &f.fakeCall
			},
			// HEAD has no body: codes are the status text.
			throttle: apiErr(503, "ServiceUnavailable"),
			denied:   apiErr(403, "Forbidden"),
			notFound: httpErr(404, &s3types.NotFound{}, nil),
			codes:    map[probes.Class]string{probes.ClassThrottled: "ServiceUnavailable", probes.ClassAuth: "Forbidden", probes.ClassNotFound: "NotFound"},
			hints: map[probes.Class][]string{
				probes.ClassAuth:      {"s3:ListBucket", "bucket policy", "soc-audit"},
				probes.ClassNotFound:  {"bucket name"},
				probes.ClassThrottled: {"SlowDown"},
			},
		},
		"kms": {
			target: probes.Target{Service: probes.ServiceKMS, Resource: "alias/soc-cmk"},
			check:  "DescribeKey",
			build: func(fc fakeCall) (probes.Probe, *fakeCall) {
				f := &fakeKMS{fakeCall: fc}
				return probes.NewKMSKey(f, "alias/soc-cmk"), &f.fakeCall
			},
			throttle: apiErr(400, "ThrottlingException"),
			denied:   apiErr(400, "AccessDeniedException"),
			notFound: httpErr(400, &kmstypes.NotFoundException{Message: aws.String("gone")}, nil),
			codes:    map[probes.Class]string{probes.ClassThrottled: "ThrottlingException", probes.ClassAuth: "AccessDeniedException", probes.ClassNotFound: "NotFoundException"},
			hints: map[probes.Class][]string{
				probes.ClassAuth:     {"key policy grants kms:DescribeKey to socmond's role"},
				probes.ClassNotFound: {"alias", "region"},
			},
		},
		"eventbridge": {
			target: probes.Target{Service: probes.ServiceEventBridge, Resource: "soc-bus"},
			check:  "DescribeEventBus",
			build: func(fc fakeCall) (probes.Probe, *fakeCall) {
				f := &fakeEventBridge{fakeCall: fc}
				return probes.NewEventBus(f, "soc-bus"), &f.fakeCall
			},
			throttle: apiErr(400, "ThrottlingException"),
			denied:   httpErr(400, &ebtypes.AccessDeniedException{Message: aws.String("no")}, nil),
			notFound: httpErr(400, &ebtypes.ResourceNotFoundException{Message: aws.String("gone")}, nil),
			codes:    map[probes.Class]string{probes.ClassThrottled: "ThrottlingException", probes.ClassAuth: "AccessDeniedException", probes.ClassNotFound: "ResourceNotFoundException"},
			hints: map[probes.Class][]string{
				probes.ClassAuth:     {"events:DescribeEventBus"},
				probes.ClassNotFound: {"bus name", "region"},
			},
		},
		"stepfunctions": {
			target: probes.Target{Service: probes.ServiceStepFunctions, Resource: "arn:aws:states:us-east-1:123456789012:stateMachine:triage"},
			check:  "DescribeStateMachine",
			build: func(fc fakeCall) (probes.Probe, *fakeCall) {
				f := &fakeSFN{fakeCall: fc}
				return probes.NewStateMachine(f, "arn:aws:states:us-east-1:123456789012:stateMachine:triage"), &f.fakeCall
			},
			throttle: apiErr(400, "ThrottlingException"),
			denied:   apiErr(400, "AccessDeniedException"),
			notFound: httpErr(400, &sfntypes.StateMachineDoesNotExist{Message: aws.String("gone")}, nil),
			codes:    map[probes.Class]string{probes.ClassThrottled: "ThrottlingException", probes.ClassAuth: "AccessDeniedException", probes.ClassNotFound: "StateMachineDoesNotExist"},
			hints: map[probes.Class][]string{
				probes.ClassAuth:     {"states:DescribeStateMachine"},
				probes.ClassNotFound: {"ARN", "region"},
			},
		},
		"lambda": {
			target: probes.Target{Service: probes.ServiceLambda, Resource: "soc-enrich"},
			check:  "GetFunctionConfiguration",
			build: func(fc fakeCall) (probes.Probe, *fakeCall) {
				f := &fakeLambda{fakeCall: fc}
				return probes.NewLambdaFunction(f, "soc-enrich"), &f.fakeCall
			},
			throttle: httpErr(429, &lambdatypes.TooManyRequestsException{Message: aws.String("slow")}, nil),
			denied:   apiErr(403, "AccessDeniedException"),
			notFound: httpErr(404, &lambdatypes.ResourceNotFoundException{Message: aws.String("gone")}, nil),
			codes:    map[probes.Class]string{probes.ClassThrottled: "TooManyRequestsException", probes.ClassAuth: "AccessDeniedException", probes.ClassNotFound: "ResourceNotFoundException"},
			hints: map[probes.Class][]string{
				probes.ClassAuth:     {"lambda:GetFunctionConfiguration"},
				probes.ClassNotFound: {"function name", "region"},
			},
		},
	}
}

// commonHints are the words every service's hint carries for the classes
// whose advice does not depend on the service.
var commonHints = map[probes.Class][]string{
	probes.ClassThrottled: {"quota"},
	probes.ClassTimeout:   {"deadline", "VPC endpoint"},
	probes.ClassNetwork:   {"DNS", "VPC endpoint", "proxy"},
	probes.ClassServer:    {"AWS Health Dashboard"},
	probes.ClassOther:     {"configuration"},
}

func TestProbeFailures(t *testing.T) {
	refused := &smithy.OperationError{Err: &smithyhttp.RequestSendError{Err: &url.Error{Op: "Post", URL: "http://127.0.0.1:1", Err: &net.OpError{
		Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}}}}
	malformed := httpErr(200, &smithy.DeserializationError{Err: errors.New("invalid character '<' looking for beginning of value")}, nil)

	for name, svc := range services() {
		cases := map[string]struct {
			call   fakeCall
			status probes.Status
			class  probes.Class
			code   string
		}{
			"throttled": {call: fakeCall{err: svc.throttle}, status: probes.Degraded, class: probes.ClassThrottled, code: svc.codes[probes.ClassThrottled]},
			"denied":    {call: fakeCall{err: svc.denied}, status: probes.Unavailable, class: probes.ClassAuth, code: svc.codes[probes.ClassAuth]},
			"not found": {call: fakeCall{err: svc.notFound}, status: probes.Unavailable, class: probes.ClassNotFound, code: svc.codes[probes.ClassNotFound]},
			"server":    {call: fakeCall{err: apiErr(500, "InternalFailure")}, status: probes.Unavailable, class: probes.ClassServer, code: "InternalFailure"},
			"malformed": {call: fakeCall{err: malformed}, status: probes.Unavailable, class: probes.ClassServer},
			"refused":   {call: fakeCall{err: refused}, status: probes.Unavailable, class: probes.ClassNetwork},
			"invalid":   {call: fakeCall{err: apiErr(400, "ValidationException")}, status: probes.Unavailable, class: probes.ClassOther, code: "ValidationException"},
			"deadline":  {call: fakeCall{block: true}, status: probes.Unavailable, class: probes.ClassTimeout},
		}
		for cname, tc := range cases {
			t.Run(name+"/"+cname, func(t *testing.T) {
				p, fc := svc.build(tc.call)
				opts := probes.Options{Timeout: 2 * time.Second, SlowThreshold: time.Second}
				if tc.call.block {
					opts.Timeout = 50 * time.Millisecond
				}
				r := probes.Run(context.Background(), p, opts)

				hints := append([]string{}, svc.hints[tc.class]...)
				if _, specific := svc.hints[tc.class]; !specific {
					hints = commonHints[tc.class]
				}
				assertResult(t, r, want{Status: tc.status, Class: tc.class, Code: tc.code, Hint: hints})
				if r.Target != svc.target || r.Check != svc.check {
					t.Errorf("Target/Check = %v/%q, want %v/%q", r.Target, r.Check, svc.target, svc.check)
				}
				wantResource := strings.TrimPrefix(svc.target.Resource, "runtime:")
				if fc.resource != wantResource {
					t.Errorf("probe asked for %q, want %q", fc.resource, wantResource)
				}
				assertOneAttempt(t, fc.retryer)
				if tc.code != "" && r.RequestID != "req-1" {
					t.Errorf("RequestID = %q, want req-1", r.RequestID)
				}
			})
		}
	}
}

// Every (service, class) pair must have advice a person can act on.
func TestEveryServiceHasAHintForEveryClass(t *testing.T) {
	for name, svc := range services() {
		p, _ := svc.build(fakeCall{})
		h, ok := p.(probes.Hinter)
		if !ok {
			t.Errorf("%s: probe does not implement probes.Hinter", name)
			continue
		}
		for _, c := range probes.Classes {
			if h.Hint(probes.Place{}, c, "", nil) == "" {
				t.Errorf("%s: no hint for class %q", name, c)
			}
		}
	}
}

// A tenant's pipeline's resource is looked for in its pipeline's account
// and region, not AWS_REGION's: no hint of it says AWS_REGION, the
// not-found and wrong-region ones say where it was looked for, and the
// permission ones whose role to grant.
func TestPlacedHintsNameThePipeline(t *testing.T) {
	place := probes.Place{Tenant: "acme", Account: "111111111111", Region: "eu-west-1"}
	for name, svc := range services() {
		p, _ := svc.build(fakeCall{})
		h := p.(probes.Hinter)
		for _, c := range probes.Classes {
			for _, code := range []string{"", "MovedPermanently"} {
				hint := h.Hint(place, c, code, nil)
				if strings.Contains(hint, "AWS_REGION") || strings.Contains(hint, "socmond's role") {
					t.Errorf("%s, %s %s: %q sends a pipeline's resource to AWS_REGION or socmond's own role", name, c, code, hint)
				}
				if (c == probes.ClassNotFound || code != "" && name == "s3") && !(strings.Contains(hint, place.Region) && strings.Contains(hint, place.Account)) {
					t.Errorf("%s, %s %s: %q does not name the pipeline's account and region", name, c, code, hint)
				}
			}
		}
		if hint := probes.DefaultHint(probes.Target{Service: name, Resource: "x", Place: place}, probes.ClassNotFound); strings.Contains(hint, "AWS_REGION") || !strings.Contains(hint, place.Region) {
			t.Errorf("%s: default hint %q", name, hint)
		}
	}
}
