package awssim

import (
	"encoding/json"
	"net/http"
	"strings"
)

// jsonOp handles one awsJson operation and returns the response body or an error.
type jsonOp func(c *call) (any, *apiError)

// unknownJSON answers an X-Amz-Target no service has, in the generic
// awsJson shape. It is not a registered service.
var unknownJSON = &service{name: "unknown", protocol: awsJSON("1.1", nil)}

// routeJSON finds the awsJson service whose target prefix the request's
// X-Amz-Target has, and its operation.
func (s *Sim) routeJSON(c *call, target string) *apiError {
	for _, js := range s.services {
		op, ok := strings.CutPrefix(target, js.target)
		if js.target == "" || !ok {
			continue
		}
		c.svc, c.service, c.signing, c.op = js, js.name, js.signing, op
		if c.r.Method != http.MethodPost {
			return &apiError{Code: "UnknownOperationException", Message: "awsJson requests must be POST", Status: http.StatusBadRequest}
		}
		handler, ok := js.ops[op]
		if !ok {
			return &apiError{Code: "UnknownOperationException", Message: "Unknown operation " + target, Status: http.StatusBadRequest}
		}
		var in map[string]json.RawMessage
		if len(strings.TrimSpace(string(c.body))) > 0 {
			if err := json.Unmarshal(c.body, &in); err != nil {
				return &apiError{Code: "SerializationException", Message: "Start of structure or map found where not expected", Status: http.StatusBadRequest}
			}
		}
		c.resource = js.resource(s, op, in)
		c.handler = func(c *call) {
			out, e := handler(c)
			if e != nil {
				c.writeError(e)
				return
			}
			c.writeAWSJSON(http.StatusOK, out)
		}
		return nil
	}
	// Unknown service: answer in the generic awsJson shape.
	c.svc, c.service, c.op = unknownJSON, unknownJSON.name, target
	return &apiError{Code: "UnknownOperationException", Message: "No service handles target " + target, Status: http.StatusBadRequest}
}

// decode reads the awsJson request body into v. Type mismatches are the
// SerializationException AWS answers for a body it cannot read.
func (c *call) decode(v any) *apiError {
	if len(strings.TrimSpace(string(c.body))) == 0 {
		return nil
	}
	if err := json.Unmarshal(c.body, v); err != nil {
		return &apiError{Code: "SerializationException", Message: "could not read request: " + err.Error(), Status: http.StatusBadRequest}
	}
	return nil
}

// stringField reads a top-level string member of an awsJson request.
func stringField(in map[string]json.RawMessage, name string) string {
	var v string
	if raw, ok := in[name]; ok {
		_ = json.Unmarshal(raw, &v)
	}
	return v
}

func validation(format string, args ...any) *apiError {
	return errorf("ValidationException", format, args...)
}
