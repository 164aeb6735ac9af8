package awssim

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

func TestLambdaGetFunctionConfiguration(t *testing.T) {
	e := start(t, testSeed())
	c := e.lambda()
	for _, name := range []string{"triage", "arn:aws:lambda:us-east-1:123456789012:function:triage", "123456789012:function:triage", "triage:$LATEST"} {
		out, err := c.GetFunctionConfiguration(ctx(t), &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(name)})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if aws.ToString(out.FunctionName) != "triage" || out.State != types.StateActive || out.LastUpdateStatus != types.LastUpdateStatusSuccessful ||
			aws.ToString(out.KMSKeyArn) != e.sim.def.kms().firstKeyARN() || aws.ToString(out.LastModified) == "" {
			t.Fatalf("%s: %+v", name, out)
		}
	}
	_, err := c.GetFunctionConfiguration(ctx(t), &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("nope")})
	wantAPIErr(t, err, "ResourceNotFoundException", 404)
	_, err = c.GetFunctionConfiguration(ctx(t), &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("triage"), Qualifier: aws.String("7")})
	wantAPIErr(t, err, "ResourceNotFoundException", 404)
	_, err = c.GetFunctionConfiguration(ctx(t), &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("bad name!")})
	wantAPIErr(t, err, "ValidationException", 400)
}

// TestLambdaDeadLetterConfig: a seeded function's dead-letter target comes
// back as Lambda sends it (DeadLetterConfig.TargetArn, left out for a
// function without one), and a fault's Set changes or removes it.
func TestLambdaDeadLetterConfig(t *testing.T) {
	const dlq = "arn:aws:sqs:us-east-1:123456789012:triage-dlq"
	seed := testSeed()
	seed.FunctionDeadLetters = map[string]string{"arn:aws:lambda:us-east-1:123456789012:function:triage": dlq}
	e := start(t, seed)
	target := func(name string) string {
		t.Helper()
		out, err := e.lambda().GetFunctionConfiguration(ctx(t), &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		if out.DeadLetterConfig == nil {
			return "(none)"
		}
		return aws.ToString(out.DeadLetterConfig.TargetArn)
	}
	if got := target("triage"); got != dlq {
		t.Errorf("triage's dead-letter target %q, want %q", got, dlq)
	}
	if got := target("enrich"); got != "(none)" {
		t.Errorf("enrich has no dead-letter target, got %q", got)
	}
	_, body := rawAWS(t, "GET", e.url+"/2015-03-31/functions/triage/configuration", map[string]string{
		"Authorization": authHeader("us-east-1", "lambda"), "X-Amz-Date": "20261127T000000Z",
	}, "")
	if !strings.Contains(string(body), `"DeadLetterConfig":{"TargetArn":"`+dlq+`"}`) {
		t.Errorf("wire shape: %s", body)
	}

	const topic = "arn:aws:sns:us-east-1:123456789012:triage-failures"
	e.sim.AddFault(Fault{Service: "lambda", Resource: "enrich", Set: map[string]string{"TargetArn": topic}})
	e.sim.AddFault(Fault{Service: "lambda", Resource: "triage", Set: map[string]string{"TargetArn": "NONE"}})
	if got, other := target("enrich"), target("triage"); got != topic || other != "(none)" {
		t.Errorf("after Set: enrich %q (want %q), triage %q (want none)", got, topic, other)
	}
	if _, err := e.sim.normaliseFault(Fault{Service: "lambda", Set: map[string]string{"TargetArn": "triage-dlq"}}); err == nil {
		t.Error("a TargetArn that is no ARN was accepted")
	}
}

func TestLambdaNotFoundWireShape(t *testing.T) {
	e := start(t, testSeed())
	resp, body := rawAWS(t, "GET", e.url+"/2015-03-31/functions/nope/configuration", map[string]string{
		"Authorization": authHeader("us-east-1", "lambda"), "X-Amz-Date": "20261127T000000Z",
	}, "")
	if resp.StatusCode != 404 || resp.Header.Get("X-Amzn-Errortype") != "ResourceNotFoundException" ||
		string(body) != `{"Message":"Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope","Type":"User"}` {
		t.Fatalf("got %d %q %s", resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"), body)
	}
}

func TestLambdaInvoke(t *testing.T) {
	e := start(t, testSeed())
	out, err := e.lambda().Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("enrich"), Payload: []byte(`{"ping":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	if out.StatusCode != 200 || string(out.Payload) != `{"ping":1}` || aws.ToString(out.ExecutedVersion) != "$LATEST" {
		t.Fatalf("invoke %+v", out)
	}
	e.sim.AddFault(Fault{Service: "lambda", Resource: "enrich", State: "Pending"})
	_, err = e.lambda().Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("enrich")})
	wantAPIErr(t, err, "ResourceConflictException", 409)
}

func TestLambdaFaults(t *testing.T) {
	tests := map[string]struct {
		fault      Fault
		wantCode   string
		wantStatus int
		wantState  types.State
		wantReason types.StateReasonCode
		malformed  bool
	}{
		"throttled":      {fault: Fault{Service: "lambda", Error: "TooManyRequestsException"}, wantCode: "TooManyRequestsException", wantStatus: 429},
		"access denied":  {fault: Fault{Service: "lambda", Error: "AccessDeniedException"}, wantCode: "AccessDeniedException", wantStatus: 403},
		"service error":  {fault: Fault{Service: "lambda", Error: "ServiceException"}, wantCode: "ServiceException", wantStatus: 500},
		"failed":         {fault: Fault{Service: "lambda", Resource: "triage", State: "Failed"}, wantState: types.StateFailed, wantReason: types.StateReasonCodeInternalError},
		"fault on ARN":   {fault: Fault{Service: "lambda", Resource: "arn:aws:lambda:us-east-1:123456789012:function:triage", State: "Inactive"}, wantState: types.StateInactive, wantReason: types.StateReasonCodeIdle},
		"other function": {fault: Fault{Service: "lambda", Resource: "enrich", State: "Failed"}, wantState: types.StateActive},
		"malformed":      {fault: Fault{Service: "lambda", Malformed: true}, malformed: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := start(t, testSeed())
			e.sim.AddFault(tc.fault)
			out, err := e.lambda().GetFunctionConfiguration(ctx(t), &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("triage")})
			switch {
			case tc.malformed:
				wantDeserializationErr(t, err)
			case tc.wantCode != "":
				wantAPIErr(t, err, tc.wantCode, tc.wantStatus)
			default:
				if err != nil {
					t.Fatal(err)
				}
				if out.State != tc.wantState || out.StateReasonCode != tc.wantReason {
					t.Fatalf("state %s/%s, want %s/%s", out.State, out.StateReasonCode, tc.wantState, tc.wantReason)
				}
			}
		})
	}
}
