package probes

import (
	"context"
	"fmt"
	"github.com/socmond/socmond/internal/awsclient"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// ServiceLambda is AWS Lambda's label value.
const ServiceLambda = "lambda"

// Lambda is AWS Lambda: the pipeline's stages.
var Lambda = Service{
	Name: ServiceLambda, DisplayName: "AWS Lambda", Resources: "function names or ARNs",
	Example: "soc-triage",
	New:     func(c *awsclient.Clients, r Resource) Probe { return NewLambdaFunction(c.Lambda, r.Name) },
	Read:    Access{Sid: "ReadLambdaFunctions", Actions: []string{"lambda:GetFunctionConfiguration"}, ARN: FunctionARN},
	Env:     []EnvVar{{Name: "LAMBDA_FUNCTIONS", List: true}},
}

// FunctionARN is a Lambda function's ARN.
func FunctionARN(s Scope, name string) Grant {
	return Grant{Resource: s.named("lambda", "function:", name)}
}

// LambdaAPI is the part of the Lambda client the function probe uses.
type LambdaAPI interface {
	GetFunctionConfiguration(ctx context.Context, in *lambda.GetFunctionConfigurationInput, optFns ...func(*lambda.Options)) (*lambda.GetFunctionConfigurationOutput, error)
}

var _ LambdaAPI = (*lambda.Client)(nil)

type lambdaFunction struct {
	c    LambdaAPI
	name string
}

// NewLambdaFunction probes a function (name or ARN) with GetFunctionConfiguration.
// It never invokes the function.
func NewLambdaFunction(c LambdaAPI, name string) Probe {
	return &lambdaFunction{c: c, name: name}
}

func (p *lambdaFunction) Target() Target { return Target{Service: ServiceLambda, Resource: p.name} }

func (p *lambdaFunction) Check(ctx context.Context) Observation {
	obs := Observation{Check: "GetFunctionConfiguration"}
	out, err := p.c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(p.name)},
		func(o *lambda.Options) { o.Retryer = aws.NopRetryer{} })
	if err != nil {
		obs.Err = err
		return obs
	}
	obs.RequestID, _ = awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
	obs.Detail = fmt.Sprintf("State %s, LastUpdateStatus %s", out.State, out.LastUpdateStatus)

	switch out.State {
	case types.StateFailed:
		return invalid(obs, Unavailable, obs.Detail+reason(string(out.StateReasonCode), aws.ToString(out.StateReason)),
			"The function failed to be created or updated and cannot run: fix the cause in StateReasonCode (often the execution role, KMS key access, or subnets out of IP addresses) and redeploy")
	case types.StateDeactivating, types.StateDeactivated:
		return invalid(obs, Unavailable, obs.Detail+reason(string(out.StateReasonCode), aws.ToString(out.StateReason)),
			"The function has been deactivated: check StateReasonCode (often a KMS key or VPC resource it depends on was removed), restore it, and update the function to reactivate it")
	case types.StateActiveNonInvocable:
		return invalid(obs, Unavailable, obs.Detail+reason(string(out.StateReasonCode), aws.ToString(out.StateReason)),
			"The function is active but cannot be invoked: check StateReasonCode and the resources it depends on (KMS key, VPC, layers, code signing)")
	case types.StateDeleting:
		return invalid(obs, Unavailable, obs.Detail,
			"The function is being deleted: find who deleted it in CloudTrail (DeleteFunction) and redeploy it")
	case types.StatePending:
		return invalid(obs, Degraded, obs.Detail+reason(string(out.StateReasonCode), aws.ToString(out.StateReason)),
			"The function is still being created or its resources (VPC network interfaces) set up; invocations fail until it is Active. If it stays Pending, check StateReasonCode")
	case types.StateInactive:
		return invalid(obs, Degraded, obs.Detail+reason(string(out.StateReasonCode), aws.ToString(out.StateReason)),
			"The function was idle and its resources were reclaimed; the next invocation reactivates it but fails or runs slowly meanwhile. Invoke it once if the SOC pipeline needs it warm")
	case types.StateActive, "":
		// An empty State only comes from functions older than Lambda's
		// state model; they behave as Active.
	default:
		return invalid(obs, Degraded, "unknown "+obs.Detail, "")
	}

	switch out.LastUpdateStatus {
	case types.LastUpdateStatusSuccessful, "":
		obs.Status = Healthy
		return obs
	case types.LastUpdateStatusInProgress:
		return invalid(obs, Degraded, obs.Detail,
			"An update of the function is in progress; the previous version keeps serving until it finishes")
	case types.LastUpdateStatusFailed:
		return invalid(obs, Degraded, obs.Detail+reason(string(out.LastUpdateStatusReasonCode), aws.ToString(out.LastUpdateStatusReason)),
			"The last update of the function failed; the previous version keeps serving. Fix the cause in LastUpdateStatusReasonCode and deploy again")
	}
	return invalid(obs, Degraded, "unknown "+obs.Detail, "")
}

// reason formats Lambda's reason code and text, which say why a function is
// not usable.
func reason(code, text string) string {
	s := ""
	if code != "" {
		s += ", reason " + code
	}
	if text != "" {
		s += ": " + text
	}
	return s
}

func (p *lambdaFunction) Hint(place Place, class Class, code string, err error) string {
	a := advice{
		place:    place,
		name:     "Lambda",
		action:   "lambda:GetFunctionConfiguration",
		resource: "function " + p.name,
		notFound: fmt.Sprintf("Function %s was not found: check the function name or ARN (and any version or alias qualifier) and the region %s; it may have been deleted (see DeleteFunction in CloudTrail)", p.name, regionOf(place)),
	}
	if code == "TooManyRequestsException" {
		return "Lambda is throttling control-plane calls for the account (TooManyRequestsException): look for other tools polling Lambda and request a quota increase if the load is legitimate"
	}
	return a.hint(class)
}
