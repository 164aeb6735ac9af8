package awssim

import (
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// sfnService is Step Functions (awsJson 1.0): state machines and their
// executions.
var sfnService = &service{
	name: "stepfunctions", aliases: []string{"sfn", "states"}, signing: "states",
	target: "AWSStepFunctions.", ops: sfnOps, resource: sfnResource,
	throttle: "ThrottlingException",
	statuses: map[string]int{
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
	protocol: awsJSON("1.0", func(code string) string { return "com.amazonaws.swf.service.v2.model#" + code }),
	states:   []string{"ACTIVE", "DELETING"},
	// A fault on a state machine also hits its executions.
	canonical: func(sc *scope, name string) string {
		if _, rest, ok := strings.Cut(name, ":stateMachine:"); ok {
			return rest
		}
		if _, rest, ok := strings.Cut(name, ":execution:"); ok {
			sm, _, _ := strings.Cut(rest, ":")
			return sm
		}
		return name
	},
	// The default definition chains the seeded Lambda functions, so Lambda
	// seeds first (services).
	seed: func(sc *scope, seed *Seed, names []string) any {
		st := &sfnState{}
		st.seed(sc, slices.Concat(seed.StateMachines, names), sc.lambda().names(), seed.Definitions)
		return st
	},
}

func (sc *scope) sfn() *sfnState { return sc.state["stepfunctions"].(*sfnState) }

// sfnState holds Step Functions state machines and their executions.
type sfnState struct {
	machines   map[string]*stateMachine // by ARN
	executions map[string]*execution    // by ARN
	byMachine  map[string][]*execution  // by state machine ARN, oldest first
}

type stateMachine struct {
	arn, name  string
	definition string
	roleARN    string
	functions  []string // Lambda function ARNs the definition invokes, in order
	created    time.Time
}

type execution struct {
	arn, machineARN, name string
	status                string
	input, output         string
	start, stop           time.Time
	errorCode, cause      string // set when FAILED
	history               []map[string]any
}

// seed creates the state machines. definitions (by name or ARN) replace the
// default definition, which chains every seeded Lambda function.
func (st *sfnState) seed(sc *scope, entries []string, functionARNs []string, definitions map[string]string) {
	st.machines = map[string]*stateMachine{}
	st.executions = map[string]*execution{}
	st.byMachine = map[string][]*execution{}
	for _, e := range entries {
		arn, name := e, e
		if _, rest, ok := strings.Cut(e, ":stateMachine:"); ok {
			name = rest
		} else {
			arn = sc.arn("states", "stateMachine:"+e)
		}
		def := firstNonEmpty(definitions[arn], definitions[name], pipelineDefinition(functionARNs))
		st.machines[arn] = &stateMachine{
			arn: arn, name: name, definition: def,
			roleARN: sc.iamARN("role/" + name + "-role"), functions: functionARNs,
			created: time.Now().Add(-24 * time.Hour),
		}
	}
}

// pipelineDefinition chains one optimised Lambda task per seeded function,
// which is the shape socmond's workflow checks expect of the SOC pipeline.
func pipelineDefinition(functionARNs []string) string {
	if len(functionARNs) == 0 {
		return `{"Comment":"awssim","StartAt":"Done","States":{"Done":{"Type":"Succeed"}}}`
	}
	states := map[string]any{}
	for i, fn := range functionARNs {
		st := map[string]any{
			"Type":       "Task",
			"Resource":   "arn:aws:states:::lambda:invoke",
			"Parameters": map[string]any{"FunctionName": fn, "Payload.$": "$"},
			"OutputPath": "$.Payload",
		}
		if i+1 < len(functionARNs) {
			st["Next"] = taskName(functionARNs[i+1])
		} else {
			st["End"] = true
		}
		states[taskName(fn)] = st
	}
	b, _ := json.Marshal(map[string]any{"Comment": "awssim", "StartAt": taskName(functionARNs[0]), "States": states})
	return string(b)
}

func taskName(functionARN string) string {
	return "Invoke " + functionARN[strings.LastIndex(functionARN, ":")+1:]
}

var sfnOps = map[string]jsonOp{
	"DescribeStateMachine": sfnDescribeStateMachine,
	"ListExecutions":       sfnListExecutions,
	"DescribeExecution":    sfnDescribeExecution,
	"GetExecutionHistory":  sfnGetExecutionHistory,
	"StartExecution":       sfnStartExecution,
}

// sfnResource names the state machine for every operation, so a fault on a
// state machine also hits reads of its executions.
func sfnResource(s *Sim, op string, in map[string]json.RawMessage) string {
	if arn := stringField(in, "stateMachineArn"); arn != "" {
		return arn
	}
	return stringField(in, "executionArn")
}

var (
	machineARNRe   = regexp.MustCompile(`^arn:aws:states:[a-z0-9-]+:\d{12}:stateMachine:[^:]+$`)
	executionARNRe = regexp.MustCompile(`^arn:aws:states:[a-z0-9-]+:\d{12}:execution:[^:]+:[^:]+$`)
	execNameRe     = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)
)

func (c *call) findMachine(arn string) (*stateMachine, *apiError) {
	if arn == "" {
		return nil, validation("1 validation error detected: Value null at 'stateMachineArn' failed to satisfy constraint: Member must not be null")
	}
	if !machineARNRe.MatchString(arn) {
		return nil, errorf("InvalidArn", "Invalid Arn: 'Resource type not valid in this context: %s'", arn)
	}
	m := c.sc.sfn().machines[arn]
	if m == nil {
		return nil, errorf("StateMachineDoesNotExist", "State Machine Does Not Exist: '%s'", arn)
	}
	return m, nil
}

func (c *call) findExecution(arn string) (*execution, *apiError) {
	if arn == "" {
		return nil, validation("1 validation error detected: Value null at 'executionArn' failed to satisfy constraint: Member must not be null")
	}
	if !executionARNRe.MatchString(arn) {
		return nil, errorf("InvalidArn", "Invalid Arn: 'Resource type not valid in this context: %s'", arn)
	}
	e := c.sc.sfn().executions[arn]
	if e == nil {
		return nil, errorf("ExecutionDoesNotExist", "Execution Does Not Exist: '%s'", arn)
	}
	return e, nil
}

func sfnDescribeStateMachine(c *call) (any, *apiError) {
	var in struct {
		StateMachineArn string `json:"stateMachineArn"`
	}
	if e := c.decode(&in); e != nil {
		return nil, e
	}
	m, e := c.findMachine(in.StateMachineArn)
	if e != nil {
		return nil, e
	}
	status := "ACTIVE"
	if c.state != "" {
		status = c.state
	}
	return map[string]any{
		"stateMachineArn":      m.arn,
		"name":                 m.name,
		"status":               status,
		"definition":           m.definition,
		"roleArn":              m.roleARN,
		"type":                 "STANDARD",
		"creationDate":         epoch(m.created),
		"loggingConfiguration": map[string]any{"level": "OFF", "includeExecutionData": false},
		"tracingConfiguration": map[string]any{"enabled": false},
	}, nil
}

// page slices a listing with the offset tokens the simulator hands out.
func page[T any](items []T, maxResults int, token string) ([]T, string, *apiError) {
	if maxResults < 0 || maxResults > 1000 {
		return nil, "", validation("1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000", maxResults)
	}
	if maxResults == 0 {
		maxResults = 100
	}
	start := 0
	if token != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(token, "awssim-"))
		if err != nil || !strings.HasPrefix(token, "awssim-") || n < 0 || n > len(items) {
			return nil, "", errorf("InvalidToken", "Invalid Token: '%s'", token)
		}
		start = n
	}
	end := min(start+maxResults, len(items))
	next := ""
	if end < len(items) {
		next = "awssim-" + strconv.Itoa(end)
	}
	return items[start:end], next, nil
}

var executionStatuses = map[string]bool{"RUNNING": true, "SUCCEEDED": true, "FAILED": true, "TIMED_OUT": true, "ABORTED": true, "PENDING_REDRIVE": true}

func sfnListExecutions(c *call) (any, *apiError) {
	var in struct {
		StateMachineArn string `json:"stateMachineArn"`
		StatusFilter    string `json:"statusFilter"`
		MaxResults      int    `json:"maxResults"`
		NextToken       string `json:"nextToken"`
	}
	if e := c.decode(&in); e != nil {
		return nil, e
	}
	m, e := c.findMachine(in.StateMachineArn)
	if e != nil {
		return nil, e
	}
	if in.StatusFilter != "" && !executionStatuses[in.StatusFilter] {
		return nil, validation("1 validation error detected: Value '%s' at 'statusFilter' failed to satisfy constraint: Member must satisfy enum value set: [RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, PENDING_REDRIVE]", in.StatusFilter)
	}
	all := c.sc.sfn().byMachine[m.arn]
	items := []map[string]any{}
	for i := len(all) - 1; i >= 0; i-- { // newest first, as AWS lists them
		x := all[i]
		if in.StatusFilter != "" && x.status != in.StatusFilter {
			continue
		}
		item := map[string]any{"executionArn": x.arn, "stateMachineArn": x.machineARN, "name": x.name, "status": x.status, "startDate": epoch(x.start)}
		if !x.stop.IsZero() {
			item["stopDate"] = epoch(x.stop)
		}
		items = append(items, item)
	}
	items, next, e := page(items, in.MaxResults, in.NextToken)
	if e != nil {
		return nil, e
	}
	out := map[string]any{"executions": items}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

func sfnDescribeExecution(c *call) (any, *apiError) {
	var in struct {
		ExecutionArn string `json:"executionArn"`
	}
	if e := c.decode(&in); e != nil {
		return nil, e
	}
	x, e := c.findExecution(in.ExecutionArn)
	if e != nil {
		return nil, e
	}
	out := map[string]any{
		"executionArn": x.arn, "stateMachineArn": x.machineARN, "name": x.name, "status": x.status,
		"startDate": epoch(x.start), "input": x.input, "inputDetails": map[string]bool{"included": true},
	}
	if !x.stop.IsZero() {
		out["stopDate"] = epoch(x.stop)
	}
	if x.status == "SUCCEEDED" {
		out["output"] = x.output
		out["outputDetails"] = map[string]bool{"included": true}
	}
	if x.errorCode != "" {
		out["error"], out["cause"] = x.errorCode, x.cause
	}
	return out, nil
}

func sfnGetExecutionHistory(c *call) (any, *apiError) {
	var in struct {
		ExecutionArn string `json:"executionArn"`
		MaxResults   int    `json:"maxResults"`
		ReverseOrder bool   `json:"reverseOrder"`
		NextToken    string `json:"nextToken"`
	}
	if e := c.decode(&in); e != nil {
		return nil, e
	}
	x, e := c.findExecution(in.ExecutionArn)
	if e != nil {
		return nil, e
	}
	events := append([]map[string]any(nil), x.history...)
	if in.ReverseOrder {
		for i, j := 0, len(events)-1; i < j; i, j = i+1, j-1 {
			events[i], events[j] = events[j], events[i]
		}
	}
	events, next, e := page(events, in.MaxResults, in.NextToken)
	if e != nil {
		return nil, e
	}
	out := map[string]any{"events": events}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

func sfnStartExecution(c *call) (any, *apiError) {
	var in struct {
		StateMachineArn string  `json:"stateMachineArn"`
		Name            string  `json:"name"`
		Input           *string `json:"input"`
	}
	if e := c.decode(&in); e != nil {
		return nil, e
	}
	m, e := c.findMachine(in.StateMachineArn)
	if e != nil {
		return nil, e
	}
	if c.state == "DELETING" {
		return nil, errorf("StateMachineDeleting", "State Machine is being deleted: '%s'", m.arn)
	}
	if in.Name == "" {
		in.Name = newUUID()
	}
	if !execNameRe.MatchString(in.Name) {
		return nil, errorf("InvalidName", "Invalid Name: '%s'", in.Name)
	}
	input := "{}"
	if in.Input != nil {
		input = *in.Input
	}
	if !json.Valid([]byte(input)) {
		return nil, errorf("InvalidExecutionInput", "Invalid State Machine Execution Input: 'Unexpected token'")
	}
	arn := strings.Replace(m.arn, ":stateMachine:", ":execution:", 1) + ":" + in.Name
	if c.sc.sfn().executions[arn] != nil {
		return nil, errorf("ExecutionAlreadyExists", "Execution Already Exists: '%s'", arn)
	}
	x := &execution{arn: arn, machineARN: m.arn, name: in.Name, status: "RUNNING", input: input, start: time.Now()}
	c.sc.sfn().executions[arn] = x
	c.sc.sfn().byMachine[m.arn] = append(c.sc.sfn().byMachine[m.arn], x)
	c.sim.runExecution(c.sc, m, x)
	return map[string]any{"executionArn": arn, "startDate": epoch(x.start)}, nil
}
