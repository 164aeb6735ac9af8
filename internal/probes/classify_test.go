package probes_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/socmond/socmond/internal/probes"
)

func TestClassify(t *testing.T) {
	refused := &smithyhttp.RequestSendError{Err: &url.Error{Op: "Post", URL: "http://127.0.0.1:1", Err: &net.OpError{
		Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}}}

	tests := map[string]struct {
		err       error
		class     probes.Class
		code      string
		requestID string
	}{
		"nil":               {err: nil, class: probes.ClassNone},
		"deadline":          {err: &smithy.OperationError{Err: &smithyhttp.RequestSendError{Err: &url.Error{Op: "Post", Err: context.DeadlineExceeded}}}, class: probes.ClassTimeout},
		"canceled":          {err: &smithy.OperationError{Err: &aws.RequestCanceledError{Err: context.Canceled}}, class: probes.ClassTimeout},
		"net read timeout":  {err: &smithyhttp.RequestSendError{Err: &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}}, class: probes.ClassTimeout},
		"deadline over 5xx": {err: fmt.Errorf("%w: %w", apiErr(503, "ServiceUnavailable"), context.DeadlineExceeded), class: probes.ClassTimeout, code: "ServiceUnavailable", requestID: "req-1"},

		"ThrottlingException":         {err: apiErr(400, "ThrottlingException"), class: probes.ClassThrottled, code: "ThrottlingException", requestID: "req-1"},
		"TooManyRequestsException":    {err: apiErr(429, "TooManyRequestsException"), class: probes.ClassThrottled, code: "TooManyRequestsException", requestID: "req-1"},
		"SlowDown":                    {err: apiErr(503, "SlowDown"), class: probes.ClassThrottled, code: "SlowDown", requestID: "req-1"},
		"ProvisionedThroughput":       {err: apiErr(400, "ProvisionedThroughputExceededException"), class: probes.ClassThrottled, code: "ProvisionedThroughputExceededException", requestID: "req-1"},
		"RequestLimitExceeded":        {err: apiErr(400, "RequestLimitExceeded"), class: probes.ClassThrottled, code: "RequestLimitExceeded", requestID: "req-1"},
		"LimitExceededException":      {err: apiErr(400, "LimitExceededException"), class: probes.ClassThrottled, code: "LimitExceededException", requestID: "req-1"},
		"ModelNotReadyException":      {err: apiErr(429, "ModelNotReadyException"), class: probes.ClassThrottled, code: "ModelNotReadyException", requestID: "req-1"},
		"ServiceQuotaExceeded":        {err: apiErr(400, "ServiceQuotaExceededException"), class: probes.ClassThrottled, code: "ServiceQuotaExceededException", requestID: "req-1"},
		"unmodeled 429":               {err: apiErr(429, "SomethingNew"), class: probes.ClassThrottled, code: "SomethingNew", requestID: "req-1"},
		"AccessDeniedException":       {err: apiErr(400, "AccessDeniedException"), class: probes.ClassAuth, code: "AccessDeniedException", requestID: "req-1"},
		"AccessDenied":                {err: apiErr(403, "AccessDenied"), class: probes.ClassAuth, code: "AccessDenied", requestID: "req-1"},
		"Forbidden":                   {err: apiErr(403, "Forbidden"), class: probes.ClassAuth, code: "Forbidden", requestID: "req-1"},
		"UnauthorizedOperation":       {err: apiErr(403, "UnauthorizedOperation"), class: probes.ClassAuth, code: "UnauthorizedOperation", requestID: "req-1"},
		"UnrecognizedClient":          {err: apiErr(400, "UnrecognizedClientException"), class: probes.ClassAuth, code: "UnrecognizedClientException", requestID: "req-1"},
		"InvalidSignature":            {err: apiErr(400, "InvalidSignatureException"), class: probes.ClassAuth, code: "InvalidSignatureException", requestID: "req-1"},
		"ExpiredToken":                {err: apiErr(400, "ExpiredToken"), class: probes.ClassAuth, code: "ExpiredToken", requestID: "req-1"},
		"ExpiredTokenException":       {err: apiErr(400, "ExpiredTokenException"), class: probes.ClassAuth, code: "ExpiredTokenException", requestID: "req-1"},
		"InvalidClientTokenId":        {err: apiErr(403, "InvalidClientTokenId"), class: probes.ClassAuth, code: "InvalidClientTokenId", requestID: "req-1"},
		"MissingAuthenticationToken":  {err: apiErr(403, "MissingAuthenticationToken"), class: probes.ClassAuth, code: "MissingAuthenticationToken", requestID: "req-1"},
		"IncompleteSignature":         {err: apiErr(400, "IncompleteSignature"), class: probes.ClassAuth, code: "IncompleteSignature", requestID: "req-1"},
		"unmodeled 403":               {err: apiErr(403, "SomethingNew"), class: probes.ClassAuth, code: "SomethingNew", requestID: "req-1"},
		"no credentials":              {err: &smithy.OperationError{Err: fmt.Errorf("get identity: %w", fmt.Errorf("failed to refresh cached credentials, %w", errors.New("no EC2 IMDS role found")))}, class: probes.ClassAuth},
		"signer without credentials":  {err: &v4.SigningError{Err: fmt.Errorf("failed to retrieve credentials: %w", errors.New("boom"))}, class: probes.ClassAuth},
		"typed ResourceNotFound":      {err: httpErr(400, &ddbtypes.ResourceNotFoundException{Message: aws.String("gone")}, nil), class: probes.ClassNotFound, code: "ResourceNotFoundException", requestID: "req-1"},
		"NotFoundException":           {err: apiErr(400, "NotFoundException"), class: probes.ClassNotFound, code: "NotFoundException", requestID: "req-1"},
		"typed S3 NotFound":           {err: httpErr(404, &s3types.NotFound{}, nil), class: probes.ClassNotFound, code: "NotFound", requestID: "req-1"},
		"NoSuchBucket generic":        {err: apiErr(404, "NoSuchBucket"), class: probes.ClassNotFound, code: "NoSuchBucket", requestID: "req-1"},
		"typed StateMachineDoesNotEx": {err: httpErr(400, &sfntypes.StateMachineDoesNotExist{}, nil), class: probes.ClassNotFound, code: "StateMachineDoesNotExist", requestID: "req-1"},
		"MovedPermanently":            {err: httpErr(301, &smithy.GenericAPIError{Code: "MovedPermanently"}, http.Header{"X-Amz-Bucket-Region": {"eu-west-1"}}), class: probes.ClassNotFound, code: "MovedPermanently", requestID: "req-1"},
		"unmodeled 404":               {err: apiErr(404, "SomethingNew"), class: probes.ClassNotFound, code: "SomethingNew", requestID: "req-1"},
		"KMSInvalidStateException":    {err: apiErr(409, "KMSInvalidStateException"), class: probes.ClassInvalidState, code: "KMSInvalidStateException", requestID: "req-1"},
		"InternalServerError":         {err: apiErr(500, "InternalServerError"), class: probes.ClassServer, code: "InternalServerError", requestID: "req-1"},
		"InternalFailure":             {err: apiErr(500, "InternalFailure"), class: probes.ClassServer, code: "InternalFailure", requestID: "req-1"},
		"ServiceUnavailable":          {err: apiErr(503, "ServiceUnavailable"), class: probes.ClassServer, code: "ServiceUnavailable", requestID: "req-1"},
		"empty 502 body":              {err: apiErr(502, "UnknownError"), class: probes.ClassServer, code: "UnknownError", requestID: "req-1"},
		"malformed body":              {err: httpErr(200, &smithy.DeserializationError{Err: errors.New("invalid character '<'")}, nil), class: probes.ClassServer, requestID: "req-1"},
		// Our side closed the connection while the body was read: a broken
		// connection, not a bad answer.
		"closed mid-body":           {err: httpErr(200, &smithy.DeserializationError{Err: fmt.Errorf("failed to decode response body, %w", &net.OpError{Op: "read", Net: "tcp", Err: net.ErrClosed})}, nil), class: probes.ClassNetwork, requestID: "req-1"},
		"closed mid-body, as text":  {err: httpErr(200, &smithy.DeserializationError{Err: errors.New("failed to decode response body, read tcp 127.0.0.1:4321->127.0.0.1:443: use of closed network connection")}, nil), class: probes.ClassNetwork, requestID: "req-1"},
		"closed after the deadline": {err: httpErr(200, &smithy.DeserializationError{Err: fmt.Errorf("%w: %w", net.ErrClosed, context.DeadlineExceeded)}, nil), class: probes.ClassTimeout, requestID: "req-1"},
		"connection refused":        {err: &smithy.OperationError{Err: refused}, class: probes.ClassNetwork},
		"dns":                       {err: &smithyhttp.RequestSendError{Err: &net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}}, class: probes.ClassNetwork},
		"connection reset":          {err: fmt.Errorf("read: %w", syscall.ECONNRESET), class: probes.ClassNetwork},
		"ValidationException":       {err: apiErr(400, "ValidationException"), class: probes.ClassOther, code: "ValidationException", requestID: "req-1"},
		"plain error":               {err: errors.New("boom"), class: probes.ClassOther},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			class, code, rid := probes.Classify(tc.err)
			if class != tc.class || code != tc.code || rid != tc.requestID {
				t.Errorf("Classify = (%q, %q, %q), want (%q, %q, %q)", class, code, rid, tc.class, tc.code, tc.requestID)
			}
		})
	}
}

func TestStatusFor(t *testing.T) {
	tests := map[probes.Class]probes.Status{
		probes.ClassNone:         probes.Healthy,
		probes.ClassThrottled:    probes.Degraded,
		probes.ClassSlow:         probes.Degraded,
		probes.ClassTimeout:      probes.Unavailable,
		probes.ClassAuth:         probes.Unavailable,
		probes.ClassNotFound:     probes.Unavailable,
		probes.ClassInvalidState: probes.Unavailable,
		probes.ClassServer:       probes.Unavailable,
		probes.ClassNetwork:      probes.Unavailable,
		probes.ClassOther:        probes.Unavailable,
	}
	for class, status := range tests {
		if got := probes.StatusFor(class); got != status {
			t.Errorf("StatusFor(%q) = %q, want %q", class, got, status)
		}
	}
}

func TestCredentialsRejected(t *testing.T) {
	auth := func(code string) probes.Result {
		return probes.Result{Status: probes.Unavailable, Class: probes.ClassAuth, Code: code}
	}
	cases := map[string]struct {
		results []probes.Result
		code    string
	}{
		"unknown key everywhere, S3's bare 403 too": {
			results: []probes.Result{auth("UnrecognizedClientException"), auth("Forbidden"), auth("UnrecognizedClientException")},
			code:    "UnrecognizedClientException",
		},
		"expired session":                  {results: []probes.Result{auth("ExpiredTokenException"), auth("")}, code: "ExpiredTokenException"},
		"a permission, not the key":        {results: []probes.Result{auth("UnrecognizedClientException"), auth("AccessDeniedException")}},
		"one check got through":            {results: []probes.Result{auth("UnrecognizedClientException"), {Status: probes.Healthy}}},
		"only S3's 403: could be a policy": {results: []probes.Result{auth("Forbidden")}},
		"nothing ran":                      {},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			code, ok := probes.CredentialsRejected(tc.results)
			if code != tc.code || ok != (tc.code != "") {
				t.Errorf("probes.CredentialsRejected = %q, %v; want %q", code, ok, tc.code)
			}
		})
	}
}
