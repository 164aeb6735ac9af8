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
// up in the service's statuses", so handlers only name the code AWS would send.
type apiError struct {
	Code    string
	Message string
	Status  int
}

func errorf(code, format string, args ...any) *apiError {
	return &apiError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Each service keeps its own copy of the HTTP status AWS sends for each of
// its error codes (service.statuses, aws-api.md §2). It deliberately
// duplicates what the probes know: a shared table would let one mistake hide
// in both places.

// writeError answers e in the body shape the call's service uses on the wire.
func (c *call) writeError(e *apiError) {
	status := e.Status
	if status == 0 {
		status = c.svc.errorStatus(e.Code)
	}
	c.svc.protocol.writeError(c, status, e)
}

// brokenJSON is the malformed answer of the JSON protocols.
const brokenJSON = `{"malformed": `

// awsJSON is the awsJson protocol of the given version ("1.0" or "1.1").
// errorType renders an error code as the __type of its error body (nil: the
// bare code).
func awsJSON(version string, errorType func(code string) string) protocol {
	if errorType == nil {
		errorType = func(code string) string { return code }
	}
	return protocol{
		name:            "awsJson" + version,
		jsonContentType: "application/x-amz-json-" + version,
		writeError: func(c *call, status int, e *apiError) {
			c.writeAWSJSON(status, map[string]string{"__type": errorType(e.Code), "message": e.Message})
		},
		writeMalformed: func(c *call) { c.writeRawJSON(http.StatusOK, []byte(brokenJSON)) },
		authError:      coralAuthError(http.StatusBadRequest),
	}
}

// withCRC32 is p with X-Amz-Crc32 on every answer, which DynamoDB clients
// check on every response, errors included.
func (p protocol) withCRC32() protocol {
	p.crc32 = true
	return p
}

// restJSON is the restJson1 protocol; writeError writes the service's own
// error header and body (writeRESTJSON).
func restJSON(writeError func(c *call, status int, e *apiError)) protocol {
	return protocol{
		name:           "restJson1",
		writeError:     writeError,
		writeMalformed: func(c *call) { c.writeRaw(http.StatusOK, "application/json", []byte(brokenJSON)) },
		authError:      coralAuthError(http.StatusForbidden),
	}
}

// coralAuthError is the signature error of the JSON protocols, answered with
// status.
func coralAuthError(status int) func(c *call, kind authKind, msg string) *apiError {
	return func(c *call, kind authKind, msg string) *apiError {
		switch kind {
		case authMissing:
			return &apiError{Code: "MissingAuthenticationTokenException", Message: "Missing Authentication Token", Status: status}
		case authRegion:
			return &apiError{Code: "InvalidSignatureException", Message: wrongRegion(msg), Status: status}
		case authScope:
			return &apiError{Code: "InvalidSignatureException", Message: msg, Status: status}
		case authExpired:
			return &apiError{Code: "ExpiredTokenException", Message: expiredToken, Status: status}
		}
		return &apiError{Code: "IncompleteSignatureException", Message: msg, Status: status}
	}
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

// writeAWSJSON writes an awsJson1.0/1.1 response.
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
	h.Set("Content-Type", c.svc.protocol.jsonContentType)
	h.Set("X-Amzn-Requestid", c.requestID)
	if c.svc.protocol.crc32 {
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
	c.w.WriteHeader(status)
	_, _ = c.w.Write(body)
}
