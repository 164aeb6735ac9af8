package awssim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"

	"github.com/socmond/socmond/internal/awsclient"
)

const (
	testMachineARN = "arn:aws:states:us-east-1:123456789012:stateMachine:soc-pipeline"
	haiku          = "anthropic.claude-3-haiku-20240307-v1:0"
	titan          = "amazon.titan-embed-text-v2:0"
)

func testSeed() Seed {
	return Seed{
		Tables:        []string{"soc-alerts"},
		Buckets:       []string{"soc-data"},
		AuditBuckets:  []string{"soc-audit"},
		Keys:          []string{"alias/AsiaAgenticSoc", "alias/aws/s3"},
		EventBuses:    []string{"soc-bus"},
		StateMachines: []string{"soc-pipeline"},
		Functions:     []string{"triage", "enrich"},
		Models:        []string{haiku, titan},
		Rules:         []Rule{{Name: "to-pipeline", EventBus: "soc-bus", Targets: []string{testMachineARN}}},
	}
}

// logRecorder keeps what the SDK logs, so tests can assert it warned of nothing
// (a wrong DynamoDB CRC32 only shows up as a warning).
type logRecorder struct {
	mu    sync.Mutex
	lines []string
}

func (l *logRecorder) Logf(c logging.Classification, format string, v ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, string(c)+" "+fmt.Sprintf(format, v...))
}

func (l *logRecorder) all() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

type env struct {
	sim  *Sim
	url  string
	cfg  aws.Config
	logs *logRecorder
}

// start runs a simulator on loopback and builds an SDK config pointing at it.
// The config is built by hand, not from the environment, so nothing on the
// machine (AWS_ENDPOINT_URL, profiles) can send traffic elsewhere.
func start(t *testing.T, seed Seed) *env {
	t.Helper()
	sim, u := Serve(t, seed)
	logs := &logRecorder{}
	cfg := aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		RetryMaxAttempts: 1,
		HTTPClient:       awsclient.WithMemoryBodies(awshttp.NewBuildableClient()),
		Logger:           logs,
		BaseEndpoint:     aws.String(u),
		// What config.LoadDefaultConfig sets; the zero values turn S3 checksums off.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenSupported,
	}
	return &env{sim: sim, url: u, cfg: cfg, logs: logs}
}

func (e *env) ddb() *dynamodb.Client { return dynamodb.NewFromConfig(e.cfg) }
func (e *env) kms() *kms.Client      { return kms.NewFromConfig(e.cfg) }
func (e *env) s3() *s3.Client {
	return s3.NewFromConfig(e.cfg, func(o *s3.Options) { o.UsePathStyle = true })
}
func (e *env) events() *eventbridge.Client     { return eventbridge.NewFromConfig(e.cfg) }
func (e *env) sfn() *sfn.Client                { return sfn.NewFromConfig(e.cfg) }
func (e *env) lambda() *lambda.Client          { return lambda.NewFromConfig(e.cfg) }
func (e *env) bedrock() *bedrock.Client        { return bedrock.NewFromConfig(e.cfg) }
func (e *env) runtime() *bedrockruntime.Client { return bedrockruntime.NewFromConfig(e.cfg) }
func (e *env) sts() *sts.Client                { return sts.NewFromConfig(e.cfg) }

// apiErr returns the AWS error code and HTTP status the SDK saw.
func apiErr(t *testing.T, err error) (string, int) {
	t.Helper()
	if err == nil {
		t.Fatal("expected an error, got none")
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error is not an APIError: %v", err)
	}
	var re *awshttp.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("error carries no HTTP response: %v", err)
	}
	return ae.ErrorCode(), re.HTTPStatusCode()
}

func wantAPIErr(t *testing.T, err error, code string, status int) {
	t.Helper()
	gotCode, gotStatus := apiErr(t, err)
	if gotCode != code || gotStatus != status {
		t.Fatalf("got %s/%d, want %s/%d (err: %v)", gotCode, gotStatus, code, status, err)
	}
}

func wantDeserializationErr(t *testing.T, err error) {
	t.Helper()
	var de *smithy.DeserializationError
	if !errors.As(err, &de) {
		t.Fatalf("want a deserialization error, got %v", err)
	}
}

// ctx returns a context that ends with the test, so no call can hang it.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// postFault sends a fault through the control API and returns status and body.
func postFault(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url+"/_sim/faults", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestControlAPIValidation(t *testing.T) {
	e := start(t, testSeed())
	tests := map[string]struct {
		body       string
		wantStatus int
		wantInBody string
	}{
		"valid error fault":       {`{"service":"kms","error":"ThrottlingException"}`, 201, `"service": "kms"`},
		"alias normalised":        {`{"service":"sfn","state":"DELETING"}`, 201, `"service": "stepfunctions"`},
		"runtime alias":           {`{"service":"bedrock-runtime","latency":"1ms"}`, 201, `"service": "bedrock"`},
		"unknown service":         {`{"service":"ec2","error":"X"}`, 400, "unknown service"},
		"bad duration":            {`{"service":"s3","latency":"soon"}`, 400, "bad latency"},
		"negative duration":       {`{"service":"s3","latency":"-1s"}`, 400, "bad latency"},
		"unknown field":           {`{"service":"s3","latancy":"1s"}`, 400, "unknown field"},
		"not json":                {`service=s3`, 400, "decode fault"},
		"two values":              {`{"service":"s3","error":"SlowDown"}{}`, 400, "more than one"},
		"state for stateless svc": {`{"service":"s3","state":"ACTIVE"}`, 400, "no state"},
		"state not in enum":       {`{"service":"kms","state":"ENABLED"}`, 400, "not a kms state"},
		"error with malformed":    {`{"service":"kms","error":"X","malformed":true}`, 400, "cannot be combined"},
		"does nothing":            {`{"service":"kms","resource":"alias/x"}`, 400, "does nothing"},
		"negative count":          {`{"service":"kms","error":"X","count":-1}`, 400, "count"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			status, body := postFault(t, e.url, tc.body)
			if status != tc.wantStatus || !strings.Contains(body, tc.wantInBody) {
				t.Fatalf("got %d %s, want %d containing %q", status, body, tc.wantStatus, tc.wantInBody)
			}
		})
	}
	// Only the three valid faults were installed.
	if got := len(e.sim.Faults()); got != 3 {
		t.Fatalf("faults installed: %d, want 3", got)
	}
}

func TestControlAPIListClearAndCalls(t *testing.T) {
	e := start(t, testSeed())
	if status, body := postFault(t, e.url, `{"service":"dynamodb","resource":"soc-alerts","error":"ThrottlingException","count":2}`); status != 201 {
		t.Fatalf("post: %d %s", status, body)
	}
	var listed []Fault
	getJSON(t, e.url+"/_sim/faults", &listed)
	want := Fault{Service: "dynamodb", Resource: "soc-alerts", Error: "ThrottlingException", Count: 2}
	if len(listed) != 1 || !reflect.DeepEqual(listed[0], want) {
		t.Fatalf("listed %+v, want [%+v]", listed, want)
	}
	// One throttled request uses up one of the two.
	_, err := e.ddb().DescribeTable(ctx(t), &dynamodb.DescribeTableInput{TableName: aws.String("soc-alerts")})
	wantAPIErr(t, err, "ThrottlingException", 400)
	getJSON(t, e.url+"/_sim/faults", &listed)
	if len(listed) != 1 || listed[0].Count != 1 {
		t.Fatalf("after one use: %+v", listed)
	}
	doRequest(t, http.MethodDelete, e.url+"/_sim/faults", http.StatusNoContent)
	if got := e.sim.Faults(); len(got) != 0 {
		t.Fatalf("faults after DELETE: %+v", got)
	}
	var calls []Call
	getJSON(t, e.url+"/_sim/calls", &calls)
	wantCall := Call{Service: "dynamodb", Operation: "DescribeTable", Resource: "soc-alerts", Attempt: 1, Status: 400, Fault: "error:ThrottlingException",
		Account: "123456789012", Region: "us-east-1"}
	if len(calls) != 1 || calls[0].RequestID == "" || calls[0].Held <= 0 || calls[0].At.IsZero() || calls[0].AccessKey == "" {
		t.Fatalf("calls %+v, want one with its request id, held time, arrival and access key", calls)
	}
	calls[0].RequestID, calls[0].Held, calls[0].At, calls[0].AccessKey = "", 0, time.Time{}, ""
	if calls[0] != wantCall {
		t.Fatalf("calls %+v, want [%+v]", calls, wantCall)
	}
	doRequest(t, http.MethodDelete, e.url+"/_sim/calls", http.StatusNoContent)
	if got := e.sim.Calls(); len(got) != 0 {
		t.Fatalf("calls after DELETE: %+v", got)
	}
	doRequest(t, http.MethodPut, e.url+"/_sim/faults", http.StatusMethodNotAllowed)
	doRequest(t, http.MethodGet, e.url+"/_sim/nothing", http.StatusNotFound)
}

func TestAddFaultPanicsOnInvalidFault(t *testing.T) {
	sim := New(Seed{})
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "unknown service") {
			t.Fatalf("recovered %v, want unknown service panic", r)
		}
	}()
	sim.AddFault(Fault{Service: "rds", Error: "X"})
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

func doRequest(t *testing.T, method, url string, wantStatus int) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != wantStatus {
		t.Fatalf("%s %s: %d, want %d", method, url, resp.StatusCode, wantStatus)
	}
}

// rawAWS sends a hand-built request, for the cases the SDK never produces.
func rawAWS(t *testing.T, method, url string, headers map[string]string, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

const fakeSig = "0000000000000000000000000000000000000000000000000000000000000000"

func authHeader(region, service string) string {
	return "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261127/" + region + "/" + service + "/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + fakeSig
}

func TestAuthErrors(t *testing.T) {
	e := start(t, testSeed())
	ddbTarget := map[string]string{"X-Amz-Target": "DynamoDB_20120810.DescribeTable", "Content-Type": "application/x-amz-json-1.0", "X-Amz-Date": "20261127T000000Z"}
	with := func(base map[string]string, extra ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i]] = extra[i+1]
		}
		return m
	}
	s3Base := map[string]string{"X-Amz-Date": "20261127T000000Z", "X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD"}
	tests := map[string]struct {
		method, path string
		headers      map[string]string
		body         string
		wantStatus   int
		wantInBody   string
	}{
		"dynamodb missing":      {"POST", "/", ddbTarget, `{"TableName":"soc-alerts"}`, 400, "com.amazon.coral.service#MissingAuthenticationTokenException"},
		"dynamodb no signature": {"POST", "/", with(ddbTarget, "Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261127/us-east-1/dynamodb/aws4_request, SignedHeaders=host"), `{}`, 400, "IncompleteSignatureException"},
		"dynamodb wrong scope":  {"POST", "/", with(ddbTarget, "Authorization", authHeader("us-east-1", "kms")), `{}`, 400, "InvalidSignatureException"},
		"dynamodb wrong region": {"POST", "/", with(ddbTarget, "Authorization", authHeader("eu-west-1", "dynamodb")), `{}`, 400, "valid region"},
		"kms missing":           {"POST", "/", map[string]string{"X-Amz-Target": "TrentService.DescribeKey"}, `{}`, 400, `"__type":"MissingAuthenticationTokenException"`},
		"lambda missing":        {"GET", "/2015-03-31/functions/triage/configuration", nil, "", 403, "Missing Authentication Token"},
		"bedrock basic auth":    {"GET", "/foundation-models", map[string]string{"Authorization": "Basic eDp5"}, "", 403, "Unsupported authorization type"},
		"s3 missing":            {"GET", "/soc-data?encryption=", nil, "", 403, "<Code>AccessDenied</Code>"},
		"s3 malformed":          {"GET", "/soc-data?encryption=", with(s3Base, "Authorization", "AWS4-HMAC-SHA256 Credential=bad"), "", 400, "AuthorizationHeaderMalformed"},
		"s3 wrong region":       {"GET", "/soc-data?encryption=", with(s3Base, "Authorization", authHeader("eu-west-1", "s3")), "", 400, "expecting 'us-east-1'"},
		"s3 no content sha":     {"GET", "/soc-data?encryption=", map[string]string{"X-Amz-Date": "20261127T000000Z", "Authorization": authHeader("us-east-1", "s3")}, "", 400, "x-amz-content-sha256"},
		"sts missing":           {"POST", "/", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, "Action=GetCallerIdentity&Version=2011-06-15", 403, "<Code>MissingAuthenticationToken</Code>"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			resp, body := rawAWS(t, tc.method, e.url+tc.path, tc.headers, tc.body)
			if resp.StatusCode != tc.wantStatus || !strings.Contains(string(body), tc.wantInBody) {
				t.Fatalf("got %d %s, want %d containing %q", resp.StatusCode, body, tc.wantStatus, tc.wantInBody)
			}
		})
	}
	// The auth failure reaches the SDK as an APIError with the right code.
	anon := e.ddb()
	_, err := anon.DescribeTable(ctx(t), &dynamodb.DescribeTableInput{TableName: aws.String("soc-alerts")}, func(o *dynamodb.Options) {
		o.Credentials = nil // the SDK then sends the request unsigned
	})
	wantAPIErr(t, err, "MissingAuthenticationTokenException", 400)
}

func TestUnknownOperations(t *testing.T) {
	e := start(t, testSeed())
	sig := func(svc string, h map[string]string) map[string]string {
		h["Authorization"] = authHeader("us-east-1", svc)
		h["X-Amz-Date"] = "20261127T000000Z"
		h["X-Amz-Content-Sha256"] = "UNSIGNED-PAYLOAD"
		return h
	}
	tests := map[string]struct {
		method, path string
		headers      map[string]string
		body         string
		wantStatus   int
		wantInBody   string
	}{
		"dynamodb":     {"POST", "/", sig("dynamodb", map[string]string{"X-Amz-Target": "DynamoDB_20120810.DeleteTable"}), `{}`, 400, "UnknownOperationException"},
		"kms":          {"POST", "/", sig("kms", map[string]string{"X-Amz-Target": "TrentService.ScheduleKeyDeletion"}), `{}`, 400, "UnknownOperationException"},
		"no service":   {"POST", "/", sig("foo", map[string]string{"X-Amz-Target": "Nope_2020.Do"}), `{}`, 400, "UnknownOperationException"},
		"bad json":     {"POST", "/", sig("dynamodb", map[string]string{"X-Amz-Target": "DynamoDB_20120810.DescribeTable"}), `{"TableName":`, 400, "SerializationException"},
		"sts":          {"POST", "/", sig("sts", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}), "Action=DecodeAuthorizationMessage&Version=2011-06-15", 400, "<Code>InvalidAction</Code>"},
		"s3 list":      {"GET", "/", sig("s3", map[string]string{}), "", 501, "<Code>NotImplemented</Code>"},
		"lambda":       {"DELETE", "/2015-03-31/functions/triage", sig("lambda", map[string]string{}), "", 404, "UnknownOperationException"},
		"bedrock":      {"GET", "/custom-models", sig("bedrock", map[string]string{}), "", 404, "UnknownOperationException"},
		"bedrock path": {"DELETE", "/foundation-models/x", sig("bedrock", map[string]string{}), "", 404, "Unknown operation"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			resp, body := rawAWS(t, tc.method, e.url+tc.path, tc.headers, tc.body)
			// restJson services carry the code in a header, the others in the body.
			got := resp.Header.Get("X-Amzn-Errortype") + " " + string(body)
			if resp.StatusCode != tc.wantStatus || !strings.Contains(got, tc.wantInBody) {
				t.Fatalf("got %d %s, want %d containing %q", resp.StatusCode, got, tc.wantStatus, tc.wantInBody)
			}
		})
	}
}

func asErr(err error, target any) bool { return errors.As(err, target) }

func TestStartTwiceAndCloseTwice(t *testing.T) {
	sim := New(Seed{})
	u, err := sim.Start("127.0.0.1:0")
	if err != nil || !strings.HasPrefix(u, "http://127.0.0.1:") {
		t.Fatalf("start: %q %v", u, err)
	}
	if _, err := sim.Start("127.0.0.1:0"); err == nil {
		t.Fatal("second Start succeeded")
	}
	if err := sim.Close(); err != nil {
		t.Fatal(err)
	}
	if err := sim.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := http.Get(u + "/_sim/faults"); err == nil {
		t.Fatal("simulator still answers after Close")
	}
}

// TestFaultSetIsCopied: the simulator keeps its own copy of a fault's
// settings, so a caller changing its map afterwards changes nothing the
// serving goroutines read (the race detector caught a test doing so), and
// a caller changing what Faults returned changes nothing either.
func TestFaultSetIsCopied(t *testing.T) {
	sim := New(Seed{Buckets: []string{"b"}})
	set := map[string]string{"SSEAlgorithm": "AES256"}
	sim.AddFault(Fault{Service: "s3", Resource: "b", Set: set})
	set["SSEAlgorithm"] = "aws:kms"
	got := sim.Faults()
	if v := got[0].Set["SSEAlgorithm"]; v != "AES256" {
		t.Fatalf("fault set after the caller changed its map: %q, want AES256", v)
	}
	got[0].Set["SSEAlgorithm"] = "changed"
	if v := sim.Faults()[0].Set["SSEAlgorithm"]; v != "AES256" {
		t.Fatalf("fault set after changing what Faults returned: %q, want AES256", v)
	}
}
