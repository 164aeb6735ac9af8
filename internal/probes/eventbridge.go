package probes

import (
	"context"
	"fmt"
	"github.com/socmond/socmond/internal/awsclient"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
)

// ServiceEventBridge is EventBridge's label value.
const ServiceEventBridge = "eventbridge"

// EventBridge is Amazon EventBridge: the bus the SOC's alerts arrive on.
var EventBridge = Service{
	Name: ServiceEventBridge, DisplayName: "EventBridge", Resources: "event bus names or ARNs",
	ARNService: "events",
	Example:    "soc-alerts",
	New:        func(c *awsclient.Clients, r Resource) Probe { return NewEventBus(c.EventBridge, r.Name) },
	Read:       Access{Sid: "ReadEventBridgeBuses", Actions: []string{"events:DescribeEventBus"}, ARN: BusARN},
	Env:        []EnvVar{{Name: "EVENT_BUS_NAME", Role: "event_bus"}},
}

// BusARN is an event bus's ARN.
func BusARN(s Scope, name string) Grant {
	return Grant{Resource: s.named("events", "event-bus/", name)}
}

// EventBridgeAPI is the part of the EventBridge client the bus probe uses.
type EventBridgeAPI interface {
	DescribeEventBus(ctx context.Context, in *eventbridge.DescribeEventBusInput, optFns ...func(*eventbridge.Options)) (*eventbridge.DescribeEventBusOutput, error)
}

var _ EventBridgeAPI = (*eventbridge.Client)(nil)

type eventBus struct {
	c    EventBridgeAPI
	name string
}

// NewEventBus probes an event bus with DescribeEventBus. A bus has no status
// field, so any successful answer is healthy.
func NewEventBus(c EventBridgeAPI, name string) Probe {
	return &eventBus{c: c, name: name}
}

func (p *eventBus) Target() Target { return Target{Service: ServiceEventBridge, Resource: p.name} }

func (p *eventBus) Check(ctx context.Context) Observation {
	obs := Observation{Check: "DescribeEventBus"}
	out, err := p.c.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: aws.String(p.name)},
		func(o *eventbridge.Options) { o.Retryer = aws.NopRetryer{} })
	if err != nil {
		obs.Err = err
		return obs
	}
	obs.RequestID, _ = awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
	obs.Status = Healthy
	if out.Arn != nil {
		obs.Detail = "bus " + *out.Arn
	}
	return obs
}

func (p *eventBus) Hint(place Place, class Class, code string, err error) string {
	a := advice{
		place:    place,
		name:     "EventBridge",
		action:   "events:DescribeEventBus",
		resource: "event bus " + p.name,
		notFound: fmt.Sprintf("Event bus %s was not found: check the bus name (the account's own bus is \"default\") and the region %s; it may have been deleted (see DeleteEventBus in CloudTrail)", p.name, regionOf(place)),
	}
	if code == "LimitExceededException" {
		return "EventBridge refused a call over an account quota: check EventBridge quotas in Service Quotas and other consumers in the account"
	}
	return a.hint(class)
}
