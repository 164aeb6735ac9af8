package awssim

import (
	"encoding/json"
	"net/url"
	"strings"
)

// sqsService is Amazon SQS (awsJson 1.0, as current SDKs speak it): queues,
// named by URL, ARN or name. A queue's message counts are 0 unless a fault
// sets them (Set ApproximateNumberOfMessages), which is how tests and the
// demo fill a dead-letter queue.
var sqsService = &service{
	name: "sqs", signing: "sqs",
	target: "AmazonSQS.", ops: sqsOps, resource: sqsResource,
	throttle: "RequestThrottled",
	statuses: map[string]int{
		"QueueDoesNotExist":           400,
		"RequestThrottled":            400,
		"OverLimit":                   403,
		"AccessDeniedException":       400,
		"InvalidAddress":              400,
		"InvalidAttributeName":        400,
		"InvalidSecurity":             403,
		"KmsAccessDenied":             400,
		"KmsThrottled":                400,
		"UnsupportedOperation":        400,
		"InternalError":               500,
		"ServiceUnavailable":          503,
		"InvalidParameterValue":       400,
		"MissingParameter":            400,
		"ValidationException":         400,
		"ThrottlingException":         400,
		"InvalidClientTokenId":        403,
		"UnrecognizedClientException": 400,
	},
	protocol: sqsProtocol(),
	settings: map[string]func(string) error{ // applied by sqsGetQueueAttributes
		"ApproximateNumberOfMessages":           intIn(0, 1<<30),
		"ApproximateNumberOfMessagesNotVisible": intIn(0, 1<<30),
	},
	canonical: func(sc *scope, name string) string { return queueName(name) },
	seed: func(sc *scope, seed *Seed, names []string) any {
		q := &sqsState{queues: map[string]bool{}}
		for _, n := range names {
			q.queues[queueName(n)] = true
		}
		return q
	},
}

func (sc *scope) sqs() *sqsState { return sc.state["sqs"].(*sqsState) }

// sqsState holds the queues, by name; they never change after the seed.
type sqsState struct {
	queues map[string]bool
}

// sqsProtocol is awsJson 1.0 with SQS's own error shape: a namespaced
// __type and, for clients of the older Query API, the Query error code in
// x-amzn-query-error (AWS.SimpleQueueService.NonExistentQueue for a queue
// that does not exist).
func sqsProtocol() protocol {
	p := awsJSON("1.0", func(code string) string { return "com.amazonaws.sqs#" + code })
	write := p.writeError
	p.writeError = func(c *call, status int, e *apiError) {
		q := e.Code
		if q == "QueueDoesNotExist" {
			q = "AWS.SimpleQueueService.NonExistentQueue"
		}
		fault := "Sender"
		if status >= 500 {
			fault = "Receiver"
		}
		c.w.Header().Set("X-Amzn-Query-Error", q+";"+fault)
		write(c, status, e)
	}
	return p
}

// queueName reads a queue's name from its URL (…/ACCOUNT/NAME), ARN
// (arn:aws:sqs:REGION:ACCOUNT:NAME) or the name itself.
func queueName(q string) string {
	if strings.HasPrefix(q, "arn:") {
		return q[strings.LastIndex(q, ":")+1:]
	}
	if u, err := url.Parse(q); err == nil && u.Host != "" {
		return u.Path[strings.LastIndex(u.Path, "/")+1:]
	}
	return q
}

var sqsOps = map[string]jsonOp{
	"GetQueueAttributes": sqsGetQueueAttributes,
	"GetQueueUrl":        sqsGetQueueURL,
}

func sqsResource(s *Sim, op string, in map[string]json.RawMessage) string {
	if op == "GetQueueUrl" {
		return stringField(in, "QueueName")
	}
	return queueName(stringField(in, "QueueUrl"))
}

func (c *call) findQueue(name string) *apiError {
	if !c.sc.sqs().queues[name] {
		return errorf("QueueDoesNotExist", "The specified queue does not exist.")
	}
	return nil
}

func sqsGetQueueAttributes(c *call) (any, *apiError) {
	var in struct {
		QueueUrl       string
		AttributeNames []string
	}
	if e := c.decode(&in); e != nil {
		return nil, e
	}
	if in.QueueUrl == "" {
		return nil, errorf("MissingParameter", "The request must contain the parameter QueueUrl.")
	}
	name := queueName(in.QueueUrl)
	if e := c.findQueue(name); e != nil {
		return nil, e
	}
	all := map[string]string{
		"ApproximateNumberOfMessages":           "0",
		"ApproximateNumberOfMessagesNotVisible": "0",
		"ApproximateNumberOfMessagesDelayed":    "0",
		"QueueArn":                              "arn:aws:sqs:" + c.sc.region + ":" + c.sc.account + ":" + name,
		"VisibilityTimeout":                     "30",
		"MessageRetentionPeriod":                "1209600",
	}
	for _, k := range []string{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"} {
		if v, ok := c.set[k]; ok {
			all[k] = v
		}
	}
	out := map[string]string{}
	for _, a := range in.AttributeNames {
		if a == "All" {
			out = all
			break
		}
		v, ok := all[a]
		if !ok {
			return nil, errorf("InvalidAttributeName", "Unknown Attribute %s.", a)
		}
		out[a] = v
	}
	return map[string]any{"Attributes": out}, nil
}

func sqsGetQueueURL(c *call) (any, *apiError) {
	var in struct{ QueueName string }
	if e := c.decode(&in); e != nil {
		return nil, e
	}
	if e := c.findQueue(in.QueueName); e != nil {
		return nil, e
	}
	return map[string]any{"QueueUrl": "https://sqs." + c.sc.region + ".amazonaws.com/" + c.sc.account + "/" + in.QueueName}, nil
}
