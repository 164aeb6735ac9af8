package probes

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/socmond/socmond/internal/awsclient"
)

// codeClasses maps AWS error codes to classes. Classification is on the
// code a service sent, never on the SDK's Go types: the same code arrives
// as a modeled type from one operation and as a GenericAPIError from
// another (aws-api.md §2).
var codeClasses = map[string]Class{
	// Throttling: the service is up but refusing some of our calls.
	"Throttling":                             ClassThrottled,
	"ThrottlingException":                    ClassThrottled,
	"ThrottledException":                     ClassThrottled,
	"RequestThrottledException":              ClassThrottled,
	"RequestThrottled":                       ClassThrottled,
	"TooManyRequestsException":               ClassThrottled,
	"ProvisionedThroughputExceededException": ClassThrottled,
	"TransactionInProgressException":         ClassThrottled,
	"RequestLimitExceeded":                   ClassThrottled,
	"BandwidthLimitExceeded":                 ClassThrottled,
	"LimitExceededException":                 ClassThrottled,
	"SlowDown":                               ClassThrottled,
	"PriorRequestNotComplete":                ClassThrottled,
	"EC2ThrottledException":                  ClassThrottled,
	"ModelNotReadyException":                 ClassThrottled,
	"ServiceQuotaExceededException":          ClassThrottled,
	"KmsThrottlingException":                 ClassThrottled,

	// Auth: a misconfiguration on our side, not an outage, but the
	// resource is unusable to socmond all the same.
	"AccessDeniedException":               ClassAuth,
	"AccessDenied":                        ClassAuth,
	"Forbidden":                           ClassAuth,
	"UnauthorizedOperation":               ClassAuth,
	"UnrecognizedClientException":         ClassAuth,
	"InvalidSignatureException":           ClassAuth,
	"SignatureDoesNotMatch":               ClassAuth,
	"ExpiredToken":                        ClassAuth,
	"ExpiredTokenException":               ClassAuth,
	"InvalidClientTokenId":                ClassAuth,
	"InvalidAccessKeyId":                  ClassAuth,
	"MissingAuthenticationToken":          ClassAuth,
	"MissingAuthenticationTokenException": ClassAuth,
	"IncompleteSignature":                 ClassAuth,
	"IncompleteSignatureException":        ClassAuth,

	// Not found. S3 answers a bucket in another region with 301 and no
	// body; for a probe that means "not where we look for it".
	"ResourceNotFoundException": ClassNotFound,
	"NotFoundException":         ClassNotFound,
	"NotFound":                  ClassNotFound,
	"NoSuchBucket":              ClassNotFound,
	"StateMachineDoesNotExist":  ClassNotFound,
	"ExecutionDoesNotExist":     ClassNotFound,
	"InvalidArn":                ClassNotFound,
	"MovedPermanently":          ClassNotFound,
	"PermanentRedirect":         ClassNotFound,

	// The key exists but its state refuses the call (disabled, pending
	// deletion): the same kind of problem as a bad KeyState.
	"KMSInvalidStateException": ClassInvalidState,
	"DisabledException":        ClassInvalidState,

	// Server side. Bedrock's model errors are the model failing, not us.
	"InternalServerError":         ClassServer,
	"InternalServerException":     ClassServer,
	"InternalFailure":             ClassServer,
	"InternalError":               ClassServer,
	"ServiceUnavailable":          ClassServer,
	"ServiceUnavailableException": ClassServer,
	"ServiceException":            ClassServer,
	"KMSInternalException":        ClassServer,
	"DependencyTimeoutException":  ClassServer,
	"ModelTimeoutException":       ClassServer,
	"ModelErrorException":         ClassServer,
}

// rejectedCredentialCodes are the codes with which AWS refuses the
// credentials themselves, before it looks at a resource or a permission: an
// unknown or deactivated access key, an expired session token, a signature
// made with the wrong secret.
var rejectedCredentialCodes = map[string]bool{
	"UnrecognizedClientException": true,
	"InvalidClientTokenId":        true,
	"InvalidAccessKeyId":          true,
	"ExpiredToken":                true,
	"ExpiredTokenException":       true,
	"SignatureDoesNotMatch":       true,
	"InvalidSignatureException":   true,
}

// CredentialsRejected reports whether every result failed because AWS
// refused socmond's credentials, and with which code: all of them auth
// failures, each with a code that names the credentials or none at all
// (S3 answers HEAD with a bare 403, "Forbidden"), and at least one that
// does. Then every check failed for one reason that is no resource's, and
// a person needs to hear it once.
func CredentialsRejected(results []Result) (code string, ok bool) {
	for _, r := range results {
		switch {
		case r.Class != ClassAuth:
			return "", false
		case rejectedCredentialCodes[r.Code]:
			code = r.Code
		case r.Code != "" && r.Code != "Forbidden":
			return "", false
		}
	}
	return code, code != ""
}

// credentialErrorMarkers are the texts the SDK wraps credential-provider
// failures in. These errors are not APIErrors and have no exported type, so
// the message is all there is to go on.
var credentialErrorMarkers = []string{
	"failed to retrieve credentials",
	"failed to refresh cached credentials",
	"get identity:",
}

// Classify says why a call failed: the class, the AWS error code (empty
// when the failure never reached AWS) and the request id, if AWS sent one.
// A nil error is ClassNone.
//
// Order matters: a deadline is checked first because the SDK wraps it in
// transport errors that would otherwise read as network failures.
func Classify(err error) (class Class, code string, requestID string) {
	if err == nil {
		return ClassNone, "", ""
	}
	var rid interface{ ServiceRequestID() string }
	if errors.As(err, &rid) {
		requestID = rid.ServiceRequestID()
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		code = apiErr.ErrorCode()
	}

	// A role that could not be assumed is auth whatever stopped STS (a
	// refusal, or no answer within AssumeRole's own deadline): nothing
	// was sent to the account, and its hint names the role.
	var assume *awsclient.AssumeRoleError
	if errors.As(err, &assume) {
		return ClassAuth, code, requestID
	}
	if isTimeout(err) {
		return ClassTimeout, code, requestID
	}
	if isCredentialError(err) {
		return ClassAuth, code, requestID
	}
	if c, ok := codeClasses[code]; ok {
		return c, code, requestID
	}
	if status := httpStatus(err); status != 0 {
		switch {
		case status >= 500:
			return ClassServer, code, requestID
		case status == 429:
			return ClassThrottled, code, requestID
		case status == 401 || status == 403:
			return ClassAuth, code, requestID
		case status == 404:
			return ClassNotFound, code, requestID
		}
	}
	// Our side closed the connection while the answer was read: the SDK
	// reports a body it could not decode, but nothing was wrong with what
	// the service sent; the connection broke. (When the deadline closed it,
	// Run has already made it a timeout.)
	if isClosedConnection(err) {
		return ClassNetwork, code, requestID
	}
	// A body that is not the protocol's (HTML from a proxy, truncated JSON)
	// is the far side's fault, so it counts as a server failure rather than
	// "other": the service answered, but not with anything usable.
	var de *smithy.DeserializationError
	if errors.As(err, &de) {
		return ClassServer, code, requestID
	}
	if code == "" && isNetwork(err) {
		return ClassNetwork, code, requestID
	}
	return ClassOther, code, requestID
}

// StatusFor is the status a failure of this class leaves a resource in.
// Throttling and slowness mean the service works but not fully; everything
// else means socmond could not use the resource.
func StatusFor(c Class) Status {
	switch c {
	case ClassNone:
		return Healthy
	case ClassThrottled, ClassSlow, ClassBacklog:
		return Degraded
	default:
		return Unavailable
	}
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func isCredentialError(err error) bool {
	var assume *awsclient.AssumeRoleError
	if errors.As(err, &assume) {
		return true
	}
	msg := err.Error()
	for _, m := range credentialErrorMarkers {
		if strings.Contains(msg, m) {
			return true
		}
	}
	return false
}

// closedConnection is net.ErrClosed's text. Some decoders keep only an
// error's text, not the error, so the text is matched as well.
const closedConnection = "use of closed network connection"

func isClosedConnection(err error) bool {
	return errors.Is(err, net.ErrClosed) || strings.Contains(err.Error(), closedConnection)
}

// isNetwork reports a failure to reach the endpoint or a connection that
// broke before a response was read.
func isNetwork(err error) bool {
	var opErr *net.OpError
	var dnsErr *net.DNSError
	var sendErr *smithyhttp.RequestSendError
	switch {
	case errors.As(err, &opErr), errors.As(err, &dnsErr), errors.As(err, &sendErr):
		return true
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, io.ErrUnexpectedEOF):
		return true
	}
	return false
}

// httpStatus is the HTTP status of the response behind err, or 0 if there
// was no response.
func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		return re.HTTPStatusCode()
	}
	var sre *smithyhttp.ResponseError
	if errors.As(err, &sre) && sre.Response != nil {
		return sre.HTTPStatusCode()
	}
	return 0
}

// responseHeader is a header of the response behind err, or "".
func responseHeader(err error, name string) string {
	// awshttp.ResponseError embeds the smithy one but unwraps past it, so
	// errors.As must look for both.
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		return re.Response.Header.Get(name)
	}
	var sre *smithyhttp.ResponseError
	if errors.As(err, &sre) && sre.Response != nil {
		return sre.Response.Header.Get(name)
	}
	return ""
}
