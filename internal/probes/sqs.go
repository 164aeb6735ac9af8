package probes

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/socmond/socmond/internal/awsclient"
)

// ServiceSQS is Amazon SQS's label value.
const ServiceSQS = "sqs"

// SQS is Amazon SQS: the dead-letter queues where EventBridge targets and
// Lambda functions put what they could not deliver. A message there is an
// alert the pipeline lost, so a queue holding more than max_messages is
// DEGRADED with class backlog, which pages (AWSServiceBacklog). socmond
// also watches the queues named as dead-letter targets by the pipeline's
// rules and functions (the workflow check finds them).
var SQS = Service{
	Name: ServiceSQS, DisplayName: "Amazon SQS", Resources: "queue URLs or ARNs",
	Example: "https://sqs.us-east-1.amazonaws.com/123456789012/soc-alerts-dlq",
	New: func(c *awsclient.Clients, r Resource) Probe {
		max, _ := strconv.Atoi(r.Params[sqsMaxMessages])
		return NewSQSQueue(awsclient.Client(c, ServiceSQS, newSQSClient), r.Name, max, r.Owner)
	},
	Read: Access{Sid: "ReadSQSQueues", Actions: []string{"sqs:GetQueueAttributes"}, ARN: QueueARN},
	// EventBridge targets name their dead-letter queues by ARN.
	DeadLetter: true,
	Env:        []EnvVar{{Name: "DEAD_LETTER_QUEUES", List: true}},
	Params: []Param{{Key: sqsMaxMessages, Default: "0",
		Help: "messages a queue may hold before it is DEGRADED (0: any message in a dead-letter queue is one the pipeline lost)",
		Check: func(v string) error {
			if n, err := strconv.Atoi(v); err != nil || n < 0 {
				return fmt.Errorf("invalid %s %q: want a whole number, 0 or more", sqsMaxMessages, v)
			}
			return nil
		}}},
	// GetQueueAttributes takes the queue's URL, which a bare name does not
	// give without a second call (GetQueueUrl) on every probe.
	Validate: func(r string) error {
		if _, _, ok := queueParts(r); !ok {
			return fmt.Errorf("invalid queue %q: must be a queue URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME) or ARN (arn:aws:sqs:REGION:ACCOUNT:NAME)", r)
		}
		return nil
	},
}

const sqsMaxMessages = "max_messages"

func newSQSClient(cfg aws.Config, tune awsclient.Tune) *sqs.Client {
	return sqs.NewFromConfig(cfg, func(o *sqs.Options) {
		o.HTTPClient, o.Retryer = tune.HTTPClient(o.HTTPClient), tune.Retryer(o.Retryer)
	})
}

// queueParts reads a queue URL or ARN: its account and name, and the
// region when the ARN or an AWS URL carries one.
func queueParts(q string) (account, name string, ok bool) {
	if strings.HasPrefix(q, "arn:") {
		p := strings.Split(q, ":")
		if len(p) == 6 && p[2] == "sqs" && p[4] != "" && p[5] != "" {
			return p[4], p[5], true
		}
		return "", "", false
	}
	u, err := url.Parse(q)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", "", false
	}
	p := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(p) != 2 || p[0] == "" || p[1] == "" {
		return "", "", false
	}
	return p[0], p[1], true
}

// QueueARN is a queue's ARN, from its URL or ARN: the URL's region when it
// is an AWS one (sqs.REGION.amazonaws.com), else the scope's.
func QueueARN(s Scope, q string) Grant {
	if strings.HasPrefix(q, "arn:") {
		return Grant{Resource: q}
	}
	account, name, ok := queueParts(q)
	if !ok {
		account, name = s.Account, q
	}
	if u, err := url.Parse(q); err == nil {
		if h := strings.Split(u.Hostname(), "."); len(h) >= 4 && h[0] == "sqs" && h[2] == "amazonaws" {
			s.Region = h[1]
		}
	}
	return Grant{Resource: "arn:" + s.Partition + ":sqs:" + s.Region + ":" + account + ":" + name}
}

// queueURL is the URL GetQueueAttributes takes: the queue's, or the one
// AWS gives a queue named by ARN.
func queueURL(q string) string {
	if !strings.HasPrefix(q, "arn:") {
		return q
	}
	p := strings.Split(q, ":")
	domain := "amazonaws.com"
	if p[1] == "aws-cn" {
		domain = "amazonaws.com.cn"
	}
	return "https://sqs." + p[3] + "." + domain + "/" + p[4] + "/" + p[5]
}

// SQSAPI is the part of the SQS client the queue probe uses.
type SQSAPI interface {
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
}

var _ SQSAPI = (*sqs.Client)(nil)

type sqsQueue struct {
	c          SQSAPI
	queue, url string
	max        int
	owner      string
}

// NewSQSQueue probes a queue, named by URL or ARN, with GetQueueAttributes:
// more than max messages waiting or in flight is a backlog (DEGRADED).
// owner is what the queue is the dead-letter queue of, for the hint; empty
// when unknown.
func NewSQSQueue(c SQSAPI, queue string, max int, owner string) Probe {
	return &sqsQueue{c: c, queue: queue, url: queueURL(queue), max: max, owner: owner}
}

func (p *sqsQueue) Target() Target { return Target{Service: ServiceSQS, Resource: p.queue} }

func (p *sqsQueue) Check(ctx context.Context) Observation {
	obs := Observation{Check: "GetQueueAttributes"}
	out, err := p.c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(p.url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible}},
		func(o *sqs.Options) { o.Retryer = aws.NopRetryer{} })
	if err != nil {
		obs.Err = err
		return obs
	}
	obs.RequestID, _ = awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
	visible, err1 := strconv.Atoi(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessages)])
	inFlight, err2 := strconv.Atoi(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessagesNotVisible)])
	if err1 != nil || err2 != nil {
		return invalid(obs, Degraded, fmt.Sprintf("unreadable message counts %q", out.Attributes), "")
	}
	held := int64(visible + inFlight)
	detail := fmt.Sprintf("%d messages waiting, %d in flight", visible, inFlight)
	over := held > int64(p.max)
	if over {
		detail = fmt.Sprintf("%s (more than %s %d)", detail, sqsMaxMessages, p.max)
	}
	what := "queue " + p.queue
	if p.owner != "" {
		what = "the dead-letter queue of " + p.owner
	}
	return backlog(obs, held, over, detail,
		fmt.Sprintf("%s holds messages the pipeline could not deliver: alerts that never reached their investigation. Read them (sqs:ReceiveMessage) to see why delivery failed, fix the target, then redrive them (StartMessageMoveTask) or handle them by hand", what))
}

// reclassify reads SQS's answer for a queue that does not exist, which it
// sends as a 400 with a code of its own.
func (p *sqsQueue) reclassify(class Class, code string, err error) Class {
	switch code {
	case "QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue":
		return ClassNotFound
	case "OverLimit":
		return ClassThrottled
	}
	return class
}

func (p *sqsQueue) Hint(place Place, class Class, code string, err error) string {
	a := advice{
		place:    place,
		name:     "Amazon SQS",
		action:   "sqs:GetQueueAttributes",
		resource: "queue " + p.queue,
		notFound: fmt.Sprintf("Queue %s was not found: check its URL or ARN and region%s; if it was deleted (DeleteQueue in CloudTrail), whatever names it as a dead-letter queue now loses what it cannot deliver", p.queue, pipelineRegion(place)),
	}
	return a.hint(class)
}
