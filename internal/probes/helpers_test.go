package probes_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/socmond/socmond/internal/probes"
)

// want is what a test expects of a Result. Hint and Detail list words that
// must appear; an empty Hint list still requires a non-empty hint whenever
// the class is set.
type want struct {
	Status probes.Status
	Class  probes.Class
	Code   string
	Hint   []string
	Detail []string
}

func assertResult(t *testing.T, r probes.Result, w want) {
	t.Helper()
	if r.Status != w.Status {
		t.Errorf("Status = %q, want %q (detail %q)", r.Status, w.Status, r.Detail)
	}
	if r.Class != w.Class {
		t.Errorf("Class = %q, want %q (detail %q)", r.Class, w.Class, r.Detail)
	}
	if r.Code != w.Code {
		t.Errorf("Code = %q, want %q", r.Code, w.Code)
	}
	if w.Class != probes.ClassNone && r.Hint == "" {
		t.Errorf("Hint is empty for class %q", r.Class)
	}
	if w.Class == probes.ClassNone && r.Hint != "" {
		t.Errorf("Hint = %q on a healthy result", r.Hint)
	}
	for _, s := range w.Hint {
		if !strings.Contains(r.Hint, s) {
			t.Errorf("Hint %q does not contain %q", r.Hint, s)
		}
	}
	for _, s := range w.Detail {
		if !strings.Contains(r.Detail, s) {
			t.Errorf("Detail %q does not contain %q", r.Detail, s)
		}
	}
}

// run runs a probe the way the scheduler does, with a deadline that no fake
// gets near unless it waits for it on purpose.
func run(p probes.Probe) probes.Result {
	return probes.Run(context.Background(), p, probes.Options{Timeout: 2 * time.Second, SlowThreshold: time.Second})
}

// httpErr wraps an API error the way the SDK does: an OperationError around
// an awshttp.ResponseError carrying the HTTP response and request id.
func httpErr(status int, inner error, header http.Header) error {
	if header == nil {
		header = http.Header{}
	}
	return &smithy.OperationError{
		ServiceID:     "Test",
		OperationName: "Op",
		Err: &awshttp.ResponseError{
			ResponseError: &smithyhttp.ResponseError{
				Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status, Header: header}},
				Err:      inner,
			},
			RequestID: "req-1",
		},
	}
}

// apiErr is an unmodeled error code, as the SDK returns for codes an
// operation does not declare.
func apiErr(status int, code string) error {
	return httpErr(status, &smithy.GenericAPIError{Code: code, Message: "test"}, nil)
}

// retryOpts is the per-call option set a probe passed; tests check it
// forces a single attempt.
func assertOneAttempt(t *testing.T, r aws.Retryer) {
	t.Helper()
	if _, ok := r.(aws.NopRetryer); !ok {
		t.Errorf("per-call Retryer = %T, want aws.NopRetryer (exactly one attempt)", r)
	}
}

// blockUntilDone stands in for a call that never answers: it returns what
// the SDK returns when the deadline passes.
func blockUntilDone(ctx context.Context) error {
	<-ctx.Done()
	return &smithy.OperationError{ServiceID: "Test", OperationName: "Op", Err: ctx.Err()}
}
