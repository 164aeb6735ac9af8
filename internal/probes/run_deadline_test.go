package probes_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"github.com/socmond/socmond/internal/probes"
)

// deadlineProbe waits for its deadline, then fails the way the SDK does
// when the transport is closed under a body it was still reading.
type deadlineProbe struct{ err error }

func (p deadlineProbe) Target() probes.Target {
	return probes.Target{Service: "dynamodb", Resource: "t"}
}
func (p deadlineProbe) Check(ctx context.Context) probes.Observation {
	<-ctx.Done()
	return probes.Observation{Check: "DescribeTable", Err: p.err}
}

func TestDeadlineMidBodyIsTimeout(t *testing.T) {
	closed := &smithy.OperationError{ServiceID: "DynamoDB", OperationName: "DescribeTable",
		Err: fmt.Errorf("read body: %w", &net.OpError{Op: "read", Net: "tcp", Err: errors.New("use of closed network connection")})}
	cases := map[string]struct {
		err  error
		want probes.Class
	}{
		"closed connection mid-body": {closed, probes.ClassTimeout},
		"undecodable partial body":   {&smithy.DeserializationError{Err: errors.New("unexpected EOF")}, probes.ClassTimeout},
		// An answer AWS gave just before the deadline is still that answer.
		"throttled at the deadline": {&smithy.GenericAPIError{Code: "ThrottlingException"}, probes.ClassThrottled},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := probes.Run(context.Background(), deadlineProbe{err: tc.err}, probes.Options{Timeout: 20 * time.Millisecond})
			if r.Class != tc.want {
				t.Fatalf("class %s, want %s (%s)", r.Class, tc.want, r.Detail)
			}
		})
	}
}
