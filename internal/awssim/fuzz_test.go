package awssim

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzServeHTTP sends arbitrary requests to the simulator and checks it
// never panics and always answers with a valid HTTP status; an error body,
// when there is one, must parse in the protocol the request was routed to,
// because the SDK parses it.
func FuzzServeHTTP(f *testing.F) {
	auth := "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261127/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc"
	f.Add("POST", "/", "DynamoDB_20120810.DescribeTable", auth, []byte(`{"TableName":"t"}`))
	f.Add("POST", "/", "DynamoDB_20120810.DescribeTable", auth, []byte(`{"TableName":`))
	f.Add("POST", "/", "TrentService.DescribeKey", strings.Replace(auth, "dynamodb", "kms", 1), []byte(`{"KeyId":"alias/k"}`))
	f.Add("POST", "/", "AWSStepFunctions.DescribeStateMachine", strings.Replace(auth, "dynamodb", "states", 1), []byte(`{"stateMachineArn":"x"}`))
	f.Add("GET", "/2015-03-31/functions/f/configuration", "", strings.Replace(auth, "dynamodb", "lambda", 1), []byte(nil))
	f.Add("GET", "/foundation-models/m%3A0", "", strings.Replace(auth, "dynamodb", "bedrock", 1), []byte(nil))
	f.Add("HEAD", "/bucket", "", strings.Replace(auth, "dynamodb", "s3", 1), []byte(nil))
	f.Add("GET", "/bucket?encryption=", "", strings.Replace(auth, "dynamodb", "s3", 1), []byte(nil))
	f.Add("POST", "/_sim/faults", "", "", []byte(`{"service":"kms","latency":"1ms","count":1}`))
	f.Add("PUT", "/b/k%2F..%2F", "", "garbage", []byte("x"))
	f.Fuzz(func(t *testing.T, method, path, target, authz string, body []byte) {
		if !validMethod(method) || !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \r\n#") {
			return
		}
		sim := New(Seed{Tables: []string{"t"}, Buckets: []string{"bucket"}, Keys: []string{"alias/k"}, Functions: []string{"f"}, Models: []string{"m:0"}})
		req, err := http.NewRequest(method, "http://127.0.0.1"+path, bytes.NewReader(body))
		if err != nil {
			return
		}
		if target != "" {
			req.Header.Set("X-Amz-Target", target)
		}
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, req)
		if rec.Code < 100 || rec.Code > 599 {
			t.Fatalf("status %d", rec.Code)
		}
		if rec.Code < 400 || rec.Body.Len() == 0 || method == http.MethodHead {
			return
		}
		ct := rec.Header().Get("Content-Type")
		switch {
		case strings.Contains(ct, "json"):
			if !json.Valid(rec.Body.Bytes()) {
				t.Fatalf("invalid JSON error body %q", rec.Body.String())
			}
		case strings.Contains(ct, "xml"):
			if err := xml.Unmarshal(rec.Body.Bytes(), new(struct{})); err != nil {
				t.Fatalf("invalid XML error body %q: %v", rec.Body.String(), err)
			}
		}
	})
}

func validMethod(m string) bool {
	switch m {
	case "GET", "HEAD", "POST", "PUT", "DELETE":
		return true
	}
	return false
}
