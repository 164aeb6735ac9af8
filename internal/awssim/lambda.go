package awssim

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
)

// lambdaService is Lambda (restJson1): functions.
var lambdaService = &service{
	name: "lambda", signing: "lambda",
	route:  (*Sim).routeLambda,
	claims: func(r *http.Request) bool { return strings.HasPrefix(r.URL.EscapedPath(), "/2015-03-31/") },
	// Lambda has its own host on AWS: a path it does not know, signed for
	// it, is its own unknown operation rather than S3's.
	byScope:  true,
	throttle: "TooManyRequestsException",
	statuses: map[string]int{
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
	protocol: restJSON(func(c *call, status int, e *apiError) {
		c.w.Header().Set("X-Amzn-Errortype", e.Code)
		typ := "User"
		if status >= 500 {
			typ = "Service"
		}
		c.writeRESTJSON(status, map[string]string{"Type": typ, "Message": e.Message})
	}),
	states: []string{"Pending", "Active", "Inactive", "Failed", "Deactivating", "Deactivated", "ActiveNonInvocable", "Deleting"},
	settings: map[string]func(string) error{ // applied by lambdaGetFunctionConfiguration
		// DeadLetterConfig.TargetArn: an SQS queue's or SNS topic's ARN.
		"TargetArn": func(v string) error {
			if v != "NONE" && !strings.HasPrefix(v, "arn:") {
				return fmt.Errorf(`want an ARN or "NONE"`)
			}
			return nil
		},
	},
	canonical: functionCanonical,
	// Functions are encrypted with the first seeded KMS key.
	seed: func(sc *scope, seed *Seed, names []string) any {
		l := &lambdaState{}
		l.seed(sc, slices.Concat(seed.Functions, names), sc.kms().firstKeyARN())
		for name, arn := range seed.FunctionDeadLetters {
			f := l.functions[functionCanonical(sc, name)]
			if f == nil {
				panic(fmt.Sprintf("awssim: FunctionDeadLetters names %q, which is not a seeded function", name))
			}
			f.deadLetter = arn
		}
		return l
	},
}

// functionCanonical is a function's name, from its name or ARN.
func functionCanonical(sc *scope, name string) string {
	if _, rest, ok := strings.Cut(name, ":function:"); ok {
		fn, _, _ := strings.Cut(rest, ":")
		return fn
	}
	return name
}

func (sc *scope) lambda() *lambdaState { return sc.state["lambda"].(*lambdaState) }

// lambdaState holds the Lambda functions.
type lambdaState struct {
	functions map[string]*function
	order     []string
}

type function struct {
	name, arn  string
	kmsKeyARN  string
	deadLetter string // DeadLetterConfig.TargetArn; "" for none
	modified   time.Time
}

func (l *lambdaState) seed(sc *scope, names []string, keyARN string) {
	l.functions = map[string]*function{}
	for _, n := range names {
		if l.functions[n] != nil {
			continue
		}
		l.functions[n] = &function{name: n, arn: sc.arn("lambda", "function:"+n), kmsKeyARN: keyARN, modified: time.Now().Add(-24 * time.Hour)}
		l.order = append(l.order, n)
	}
}

// names returns the function ARNs in seed order.
func (l *lambdaState) names() []string {
	out := make([]string, 0, len(l.order))
	for _, n := range l.order {
		out = append(out, l.functions[n].arn)
	}
	return out
}

var functionNameRe = regexp.MustCompile(`^(arn:aws:lambda:[a-z0-9-]+:\d{12}:function:|\d{12}:function:)?[a-zA-Z0-9_-]{1,64}(:(\$LATEST|[a-zA-Z0-9_-]+))?$`)

func (s *Sim) routeLambda(c *call) *apiError {
	rest, _ := strings.CutPrefix(c.r.URL.Path, "/2015-03-31/functions/")
	name, sub, _ := strings.Cut(rest, "/")
	c.resource = name
	switch {
	case sub == "configuration" && c.r.Method == http.MethodGet:
		c.op, c.handler = "GetFunctionConfiguration", lambdaGetFunctionConfiguration
	case sub == "invocations" && c.r.Method == http.MethodPost:
		c.op, c.handler = "Invoke", lambdaInvoke
	default:
		c.op = c.r.Method + " " + c.r.URL.Path
		return errorf("UnknownOperationException", "Unknown operation %s", c.op)
	}
	return nil
}

// findFunction resolves a name, partial ARN or ARN (with optional qualifier).
func (c *call) findFunction() (*function, string, *apiError) {
	name := c.resource
	if !functionNameRe.MatchString(name) {
		return nil, "", validation("1 validation error detected: Value '%s' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_\\.]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?", name)
	}
	if _, rest, ok := strings.Cut(name, ":function:"); ok {
		name = rest
	}
	name, qualifier, _ := strings.Cut(name, ":")
	if q := c.r.URL.Query().Get("Qualifier"); q != "" {
		qualifier = q
	}
	f := c.sc.lambda().functions[name]
	if f == nil || c.sc.elsewhere(c.resource) || (qualifier != "" && qualifier != "$LATEST") {
		arn := c.sc.arn("lambda", "function:"+name)
		if qualifier != "" {
			arn += ":" + qualifier
		}
		return nil, "", errorf("ResourceNotFoundException", "Function not found: %s", arn)
	}
	return f, qualifier, nil
}

// stateReasons are the reason codes Lambda reports beside a non-Active state.
var stateReasons = map[string][2]string{
	"Pending":            {"Creating", "The function is being created."},
	"Inactive":           {"Idle", "The function is inactive because it has not been invoked recently."},
	"Failed":             {"InternalError", "The function could not be created."},
	"Deactivating":       {"Idle", "The function is being deactivated."},
	"Deactivated":        {"Idle", "The function has been deactivated."},
	"ActiveNonInvocable": {"InternalError", "The function is active but cannot be invoked."},
	"Deleting":           {"Creating", "The function is being deleted."},
}

func lambdaGetFunctionConfiguration(c *call) {
	f, _, e := c.findFunction()
	if e != nil {
		c.writeError(e)
		return
	}
	state := "Active"
	if c.state != "" {
		state = c.state
	}
	sum := sha256.Sum256([]byte(f.arn))
	out := map[string]any{
		"FunctionName":     f.name,
		"FunctionArn":      f.arn,
		"Runtime":          "python3.12",
		"Role":             c.sc.iamARN("role/" + f.name + "-role"),
		"Handler":          "app.handler",
		"CodeSize":         1024,
		"Description":      "",
		"Timeout":          30,
		"MemorySize":       256,
		"LastModified":     f.modified.UTC().Format("2006-01-02T15:04:05.000-0700"),
		"CodeSha256":       base64.StdEncoding.EncodeToString(sum[:]),
		"Version":          "$LATEST",
		"TracingConfig":    map[string]string{"Mode": "PassThrough"},
		"RevisionId":       uuidFrom(f.arn),
		"State":            state,
		"LastUpdateStatus": "Successful",
		"PackageType":      "Zip",
		"Architectures":    []string{"x86_64"},
		"EphemeralStorage": map[string]int{"Size": 512},
		"LoggingConfig":    map[string]string{"LogFormat": "Text", "LogGroup": "/aws/lambda/" + f.name},
	}
	if f.kmsKeyARN != "" {
		out["KMSKeyArn"] = f.kmsKeyARN
	}
	// Lambda leaves DeadLetterConfig out for a function without one.
	dl := f.deadLetter
	if v, ok := c.set["TargetArn"]; ok {
		dl = v
	}
	if dl != "" && dl != "NONE" {
		out["DeadLetterConfig"] = map[string]string{"TargetArn": dl}
	}
	if r, ok := stateReasons[state]; ok {
		out["StateReasonCode"], out["StateReason"] = r[0], r[1]
	}
	c.writeRESTJSON(http.StatusOK, out)
}

// lambdaInvoke answers a RequestResponse invoke by echoing the payload, which
// is enough for a canary to prove the invoke path.
func lambdaInvoke(c *call) {
	if _, _, e := c.findFunction(); e != nil {
		c.writeError(e)
		return
	}
	switch c.state {
	case "", "Active", "Inactive":
	default:
		c.writeError(&apiError{Code: "ResourceConflictException", Message: "The operation cannot be performed at this time. The function is currently in the following state: " + c.state})
		return
	}
	payload := c.body
	if len(payload) == 0 {
		payload = []byte("null")
	}
	c.w.Header().Set("X-Amz-Executed-Version", "$LATEST")
	status := http.StatusOK
	switch c.r.Header.Get("X-Amz-Invocation-Type") {
	case "Event":
		status, payload = http.StatusAccepted, nil
	case "DryRun":
		status, payload = http.StatusNoContent, nil
	}
	c.writeRaw(status, "application/json", payload)
}
