package probes_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/socmond/socmond/internal/awssim"
	"github.com/socmond/socmond/internal/probes"
)

// The SQS probe through the real SDK against the simulator: a queue named
// by URL or ARN, empty or holding what the pipeline could not deliver.
func TestSQSQueue(t *testing.T) {
	const (
		url = "https://sqs.us-east-1.amazonaws.com/123456789012/soc-alerts-dlq"
		arn = "arn:aws:sqs:us-east-1:123456789012:soc-alerts-dlq"
	)
	sim, c := probes.SimClients(t, awssim.Seed{Resources: map[string][]string{"sqs": {url}}})
	run := func(r probes.Resource) probes.Result {
		p, err := probes.New(probes.ServiceSQS, r, c)
		if err != nil {
			t.Fatal(err)
		}
		return probes.Run(context.Background(), p, probes.Options{Timeout: 10 * time.Second})
	}
	messages := func(n string) {
		sim.ClearFaults()
		if n != "" {
			sim.AddFault(awssim.Fault{Service: "sqs", Resource: url, Set: map[string]string{"ApproximateNumberOfMessages": n}})
		}
	}

	for _, name := range []string{url, arn} {
		messages("")
		if r := run(probes.Resource{Name: name}); r.Status != probes.Healthy || r.Check != "GetQueueAttributes" || !strings.Contains(r.Detail, "0 messages waiting") ||
			r.Backlog == nil || *r.Backlog != 0 {
			t.Errorf("%s empty: %s %s %q, backlog %v", name, r.Status, r.Check, r.Detail, r.Backlog)
		}
	}

	messages("3")
	r := run(probes.Resource{Name: arn, Owner: "rule soc-alerts target pipeline"})
	if r.Status != probes.Degraded || r.Class != probes.ClassBacklog || !strings.Contains(r.Detail, "3 messages waiting") ||
		r.Backlog == nil || *r.Backlog != 3 {
		t.Errorf("3 messages: %s %s %q, backlog %v", r.Status, r.Class, r.Detail, r.Backlog)
	}
	if !strings.Contains(r.Hint, "the dead-letter queue of rule soc-alerts target pipeline") || r.IsError() {
		t.Errorf("3 messages: hint %q names no owner, or counts as an error (%v)", r.Hint, r.IsError())
	}
	if r := run(probes.Resource{Name: url, Params: probes.Params{"max_messages": "5"}}); r.Status != probes.Healthy || r.Backlog == nil || *r.Backlog != 3 {
		t.Errorf("3 messages under max_messages 5: %s %q, backlog %v", r.Status, r.Detail, r.Backlog)
	}

	messages("")
	r = run(probes.Resource{Name: "https://sqs.us-east-1.amazonaws.com/123456789012/gone"})
	if r.Status != probes.Unavailable || r.Class != probes.ClassNotFound || !strings.Contains(r.Hint, "was not found") {
		t.Errorf("missing queue: %s %s %q %q", r.Status, r.Class, r.Code, r.Hint)
	}
}

func TestSQSQueueNames(t *testing.T) {
	s := probes.Scope{Partition: "aws", Region: "ap-east-1", Account: "111122223333"}
	for in, want := range map[string]string{
		"https://sqs.ap-southeast-1.amazonaws.com/123456789012/dlq": "arn:aws:sqs:ap-southeast-1:123456789012:dlq",
		"http://127.0.0.1:4566/000000000000/dlq":                    "arn:aws:sqs:ap-east-1:000000000000:dlq",
		"arn:aws:sqs:ap-east-1:123456789012:dlq":                    "arn:aws:sqs:ap-east-1:123456789012:dlq",
	} {
		if got := probes.QueueARN(s, in).Resource; got != want {
			t.Errorf("QueueARN(%q) = %q, want %q", in, got, want)
		}
		if err := probes.SQS.Validate(in); err != nil {
			t.Errorf("Validate(%q): %v", in, err)
		}
	}
	for _, bad := range []string{"dlq", "arn:aws:sns:ap-east-1:1:topic", "https://sqs.ap-east-1.amazonaws.com/dlq"} {
		if err := probes.SQS.Validate(bad); err == nil {
			t.Errorf("Validate(%q) accepted it", bad)
		}
	}
	for _, v := range []string{"-1", "x", "1.5"} {
		if err := probes.SQS.Params[0].Check(v); err == nil {
			t.Errorf("max_messages %q accepted", v)
		}
	}
}
