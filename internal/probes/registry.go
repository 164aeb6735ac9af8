package probes

import (
	"fmt"
	"sort"

	"github.com/socmond/socmond/internal/awsclient"
)

// constructors maps each service label to the probe for one of its
// resources. Adding a service is one file beside this one and one line here.
var constructors = map[string]func(c *awsclient.Clients, resource string) Probe{
	ServiceBedrock:       func(c *awsclient.Clients, r string) Probe { return NewBedrockModel(c.Bedrock, r) },
	ServiceDynamoDB:      func(c *awsclient.Clients, r string) Probe { return NewDynamoDBTable(c.DynamoDB, r) },
	ServiceS3:            func(c *awsclient.Clients, r string) Probe { return NewS3Bucket(c.S3, r) },
	ServiceKMS:           func(c *awsclient.Clients, r string) Probe { return NewKMSKey(c.KMS, r) },
	ServiceEventBridge:   func(c *awsclient.Clients, r string) Probe { return NewEventBus(c.EventBridge, r) },
	ServiceStepFunctions: func(c *awsclient.Clients, r string) Probe { return NewStateMachine(c.SFN, r) },
	ServiceLambda:        func(c *awsclient.Clients, r string) Probe { return NewLambdaFunction(c.Lambda, r) },
}

// New returns the probe for one resource of a service.
func New(service, resource string, c *awsclient.Clients) (Probe, error) {
	f, ok := constructors[service]
	if !ok {
		return nil, fmt.Errorf("no probe for service %q (known: %v)", service, Services())
	}
	return f(c, resource), nil
}

// Services lists the services that have a probe, sorted.
func Services() []string {
	out := make([]string, 0, len(constructors))
	for s := range constructors {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}
