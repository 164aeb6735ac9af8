package probes

import (
	"context"
	"fmt"
	"github.com/socmond/socmond/internal/awsclient"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// ServiceStepFunctions is Step Functions' label value.
const ServiceStepFunctions = "stepfunctions"

// StepFunctions is AWS Step Functions: the pipeline's state machine.
var StepFunctions = Service{
	Name: ServiceStepFunctions, DisplayName: "Step Functions", Resources: "state machine ARNs",
	ARNService: "states",
	Example:    "arn:aws:states:us-east-1:123456789012:stateMachine:soc-pipeline",
	New:        func(c *awsclient.Clients, r Resource) Probe { return NewStateMachine(c.SFN, r.Name) },
	Read:       Access{Sid: "ReadStepFunctionsStateMachines", Actions: []string{"states:DescribeStateMachine"}, ARN: StateMachineARN},
	// DescribeStateMachine takes only an ARN; a bare name would fail on
	// every probe with a validation error.
	Validate: func(r string) error {
		parts := strings.SplitN(r, ":", 7)
		if len(parts) == 7 && parts[0] == "arn" && strings.HasPrefix(parts[1], "aws") &&
			parts[2] == "states" && parts[5] == "stateMachine" && parts[6] != "" {
			return nil
		}
		return fmt.Errorf("invalid state machine %q: must be an ARN (arn:aws:states:REGION:ACCOUNT:stateMachine:NAME)", r)
	},
	Env: []EnvVar{{Name: "STATE_MACHINE_ARN", Role: "state_machine"}},
}

// StateMachineARN is a state machine's ARN.
func StateMachineARN(s Scope, name string) Grant {
	return Grant{Resource: s.named("states", "stateMachine:", name)}
}

// SFNAPI is the part of the Step Functions client the state machine probe uses.
type SFNAPI interface {
	DescribeStateMachine(ctx context.Context, in *sfn.DescribeStateMachineInput, optFns ...func(*sfn.Options)) (*sfn.DescribeStateMachineOutput, error)
}

var _ SFNAPI = (*sfn.Client)(nil)

type stateMachine struct {
	c   SFNAPI
	arn string
}

// NewStateMachine probes a state machine, named by its ARN, with DescribeStateMachine.
func NewStateMachine(c SFNAPI, arn string) Probe {
	return &stateMachine{c: c, arn: arn}
}

func (p *stateMachine) Target() Target { return Target{Service: ServiceStepFunctions, Resource: p.arn} }

func (p *stateMachine) Check(ctx context.Context) Observation {
	obs := Observation{Check: "DescribeStateMachine"}
	out, err := p.c.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(p.arn)},
		func(o *sfn.Options) { o.Retryer = aws.NopRetryer{} })
	if err != nil {
		obs.Err = err
		return obs
	}
	obs.RequestID, _ = awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
	obs.Detail = "status " + string(out.Status)
	if out.Type != "" {
		obs.Detail += ", type " + string(out.Type)
	}
	switch out.Status {
	case types.StateMachineStatusActive:
		obs.Status = Healthy
		return obs
	case types.StateMachineStatusDeleting:
		return invalid(obs, Unavailable, obs.Detail,
			"The state machine is being deleted and accepts no new executions: find who deleted it in CloudTrail (DeleteStateMachine) and redeploy it")
	}
	return invalid(obs, Degraded, "unknown "+obs.Detail, "")
}

func (p *stateMachine) Hint(place Place, class Class, code string, err error) string {
	a := advice{
		place:    place,
		name:     "Step Functions",
		action:   "states:DescribeStateMachine",
		resource: "state machine " + p.arn,
		notFound: fmt.Sprintf("State machine %s does not exist: check the ARN's account, region and name%s; it may have been deleted (see DeleteStateMachine in CloudTrail)", p.arn, pipelineRegion(place)),
	}
	if code == "InvalidArn" {
		return fmt.Sprintf("%q is not a valid state machine ARN: it must look like arn:aws:states:REGION:ACCOUNT:stateMachine:NAME", p.arn)
	}
	return a.hint(class)
}
