package awssim

import (
	"encoding/json"
	"fmt"
	"hash/crc32"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// apiError is an error the simulator answers with. Status 0 means "look the code
// up in statusTable", so handlers only name the code AWS would send.
type apiError struct {
	Code    string
	Message string
	Status  int
}

func errorf(code, format string, args ...any) *apiError {
	return &apiError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// statusTable is the simulator's own copy of the HTTP status AWS sends for each
// error code, per service (aws-api.md §2). It deliberately duplicates what the
// probes know: a shared table would let one mistake hide in both places.
var statusTable = map[string]map[string]int{
	"bedrock": {
		"ResourceNotFoundException":     404,
		"AccessDeniedException":         403,
		"UnrecognizedClientException":   403,
		"ThrottlingException":           429,
		"ModelNotReadyException":        429,
		"ServiceQuotaExceededException": 400,
		"ValidationException":           400,
		"ConflictException":             409,
		"ModelTimeoutException":         408,
		"ModelErrorException":           424,
		"ModelStreamErrorException":     424,
		"InternalServerException":       500,
		"ServiceUnavailableException":   503,
		"UnknownOperationException":     404,
	},
	"dynamodb": {
		"ResourceNotFoundException":              400,
		"AccessDeniedException":                  400,
		"ThrottlingException":                    400,
		"ProvisionedThroughputExceededException": 400,
		"LimitExceededException":                 400,
		"RequestLimitExceeded":                   400,
		"ValidationException":                    400,
		"ConditionalCheckFailedException":        400,
		"InternalServerError":                    500,
		"ServiceUnavailable":                     503,
	},
	"kms": {
		"NotFoundException":          400,
		"AccessDeniedException":      400,
		"ThrottlingException":        400,
		"KMSInvalidStateException":   409,
		"DisabledException":          409,
		"InvalidArnException":        400,
		"LimitExceededException":     400,
		"ValidationException":        400,
		"KMSInternalException":       500,
		"DependencyTimeoutException": 503,
	},
	"eventbridge": {
		"ResourceNotFoundException":       400,
		"AccessDeniedException":           400,
		"ThrottlingException":             400,
		"LimitExceededException":          400,
		"ValidationException":             400,
		"ConcurrentModificationException": 400,
		"InternalException":               500,
		"OperationDisabledException":      400,
	},
	"stepfunctions": {
		"StateMachineDoesNotExist":      400,
		"StateMachineDeleting":          400,
		"ExecutionDoesNotExist":         400,
		"ExecutionAlreadyExists":        400,
		"InvalidArn":                    400,
		"InvalidName":                   400,
		"InvalidExecutionInput":         400,
		"InvalidToken":                  400,
		"AccessDeniedException":         400,
		"ThrottlingException":           400,
		"ValidationException":           400,
		"ServiceQuotaExceededException": 400,
	},
	"lambda": {
		"ResourceNotFoundException":      404,
		"AccessDeniedException":          403,
		"UnrecognizedClientException":    403,
		"TooManyRequestsException":       429,
		"InvalidParameterValueException": 400,
		"ValidationException":            400,
		"ResourceConflictException":      409,
		"ServiceException":               500,
		"ResourceNotReadyException":      502,
		"EC2ThrottledException":          502,
		"KMSAccessDeniedException":       502,
		"RequestTooLargeException":       413,
		"UnknownOperationException":      404,
	},
	"s3": {
		"NoSuchBucket":  404,
		"NoSuchKey":     404,
		"NoSuchVersion": 404,
		"NotFound":      404,
		"ServerSideEncryptionConfigurationNotFoundError": 404,
		"ObjectLockConfigurationNotFoundError":           404,
		"AccessDenied":                                   403,
		"Forbidden":                                      403,
		"InvalidAccessKeyId":                             403,
		"SignatureDoesNotMatch":                          403,
		"InvalidObjectState":                             403,
		"AllAccessDisabled":                              403,
		"SlowDown":                                       503,
		"ServiceUnavailable":                             503,
		"InternalError":                                  500,
		"NotImplemented":                                 501,
		"PermanentRedirect":                              301,
		"MovedPermanently":                               301,
		"BadDigest":                                      400,
		"InvalidDigest":                                  400,
		"InvalidRequest":                                 400,
		"InvalidArgument":                                400,
		"InvalidBucketName":                              400,
		"AuthorizationHeaderMalformed":                   400,
		"XAmzContentSHA256Mismatch":                      400,
		"RequestTimeout":                                 400,
		"ExpiredToken":                                   400,
		"KMS.NotFoundException":                          400,
		"BadRequest":                                     400,
		"MethodNotAllowed":                               405,
		"MissingContentLength":                           411,
		"PreconditionFailed":                             412,
		"OperationAborted":                               409,
		"BucketAlreadyOwnedByYou":                        409,
	},
	"sts": {
		"AccessDenied":               403,
		"InvalidClientTokenId":       403,
		"SignatureDoesNotMatch":      403,
		"MissingAuthenticationToken": 403,
		"ExpiredTokenException":      400,
		"IncompleteSignature":        400,
		"Throttling":                 400,
		"InvalidAction":              400,
		"ValidationError":            400,
		"InternalFailure":            500,
	},
}

// errorStatus returns the HTTP status AWS uses for code on service. Codes the
// table does not know fall back by name: server-side sounding codes get 5xx,
// the rest 400, which is what AWS does for most client errors.
func errorStatus(service, code string) int {
	if st, ok := statusTable[service][code]; ok {
		return st
	}
	switch {
	case strings.Contains(code, "Unavailable"):
		return http.StatusServiceUnavailable
	case strings.Contains(code, "Internal") || code == "ServiceException" || code == "InternalFailure":
		return http.StatusInternalServerError
	case strings.Contains(code, "Timeout") && strings.HasPrefix(code, "Gateway"):
		return http.StatusGatewayTimeout
	}
	return http.StatusBadRequest
}

// dynamoErrorType returns the namespaced __type DynamoDB puts in error bodies:
// front-door errors (auth, throttling, serialization) come from the Coral
// framework, the rest from the DynamoDB model.
func dynamoErrorType(code string) string {
	switch code {
	case "AccessDeniedException", "UnrecognizedClientException", "MissingAuthenticationTokenException",
		"IncompleteSignatureException", "InvalidSignatureException", "SerializationException",
		"UnknownOperationException", "ValidationException":
		return "com.amazon.coral.service#" + code
	case "ThrottlingException":
		return "com.amazon.coral.availability#" + code
	}
	return "com.amazonaws.dynamodb.v20120810#" + code
}

// writeError answers e in the body shape that service uses on the wire.
func (c *call) writeError(e *apiError) {
	status := e.Status
	if status == 0 {
		status = errorStatus(c.service, e.Code)
	}
	w := c.w
	switch c.service {
	case "dynamodb":
		c.writeAWSJSON(status, map[string]string{"__type": dynamoErrorType(e.Code), "message": e.Message})
	case "kms", "eventbridge", "unknown":
		c.writeAWSJSON(status, map[string]string{"__type": e.Code, "message": e.Message})
	case "stepfunctions":
		c.writeAWSJSON(status, map[string]string{"__type": "com.amazonaws.swf.service.v2.model#" + e.Code, "message": e.Message})
	case "bedrock":
		// Bedrock puts a Coral URL after the code; the SDK cuts it off.
		w.Header().Set("X-Amzn-Errortype", e.Code+":http://internal.amazon.com/coral/com.amazon.bedrock/")
		c.writeRESTJSON(status, map[string]string{"message": e.Message})
	case "lambda":
		w.Header().Set("X-Amzn-Errortype", e.Code)
		typ := "User"
		if status >= 500 {
			typ = "Service"
		}
		c.writeRESTJSON(status, map[string]string{"Type": typ, "Message": e.Message})
	case "sts":
		typ := "Sender"
		if status >= 500 {
			typ = "Receiver"
		}
		body := fmt.Sprintf(`<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
			typ, xmlEscape(e.Code), xmlEscape(e.Message), c.requestID)
		c.writeXML(status, "text/xml", []byte(body))
	default: // s3
		c.setS3RequestHeaders()
		if c.r.Method == http.MethodHead {
			// S3 never sends a body on HEAD; the SDK derives the code from the status text.
			w.WriteHeader(status)
			return
		}
		body := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<Error><Code>%s</Code><Message>%s</Message>%s<RequestId>%s</RequestId><HostId>%s</HostId></Error>`,
			xmlEscape(e.Code), xmlEscape(e.Message), s3ErrorExtra(c), c.requestID, c.hostID())
		c.writeXML(status, "application/xml", []byte(body))
	}
}

func s3ErrorExtra(c *call) string {
	if c.resource == "" {
		return ""
	}
	return "<BucketName>" + xmlEscape(c.resource) + "</BucketName>"
}

// xmlEscape escapes text for an XML element. Quotes stay as they are, as in
// S3's own error messages. Text the simulator echoes back (a malformed
// Authorization header, say) may hold bytes no XML document may contain;
// those become U+FFFD, so the SDK can always parse the error.
func xmlEscape(s string) string {
	var b strings.Builder
	// Ranging over a string yields U+FFFD for each invalid byte.
	for _, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '\t' || r == '\n' || r == '\r' || r >= 0x20 && r < 0xD800 || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF:
			b.WriteRune(r)
		default: // control characters and other code points XML forbids
			b.WriteRune(utf8.RuneError)
		}
	}
	return b.String()
}

// writeAWSJSON writes an awsJson1.0/1.1 response. DynamoDB clients check the
// X-Amz-Crc32 header on every response, errors included.
func (c *call) writeAWSJSON(status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		body = []byte(`{"__type":"InternalFailure","message":"simulator could not encode response"}`)
		status = http.StatusInternalServerError
	}
	c.writeRawJSON(status, body)
}

func (c *call) writeRawJSON(status int, body []byte) {
	h := c.w.Header()
	ct := "application/x-amz-json-1.1"
	if c.service == "dynamodb" || c.service == "stepfunctions" {
		ct = "application/x-amz-json-1.0"
	}
	h.Set("Content-Type", ct)
	h.Set("X-Amzn-Requestid", c.requestID)
	if c.service == "dynamodb" {
		h.Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10))
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	c.w.WriteHeader(status)
	_, _ = c.w.Write(body)
}

func (c *call) writeRESTJSON(status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		body = []byte(`{"message":"simulator could not encode response"}`)
		status = http.StatusInternalServerError
	}
	c.writeRaw(status, "application/json", body)
}

func (c *call) writeRaw(status int, contentType string, body []byte) {
	h := c.w.Header()
	h.Set("Content-Type", contentType)
	h.Set("X-Amzn-Requestid", c.requestID)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	c.w.WriteHeader(status)
	_, _ = c.w.Write(body)
}

func (c *call) writeXML(status int, contentType string, body []byte) {
	h := c.w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if c.service == "sts" {
		h.Set("X-Amzn-Requestid", c.requestID)
	}
	c.w.WriteHeader(status)
	_, _ = c.w.Write(body)
}
