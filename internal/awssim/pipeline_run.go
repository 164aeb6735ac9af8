package awssim

import (
	"encoding/json"
	"strings"
	"time"
)

// runExecution plays an execution in the background, state by state, the way
// Step Functions does: it stays RUNNING while its Lambda stages take their
// simulated time, records the history events a real execution records, and
// ends SUCCEEDED (after the pipeline's writes) or FAILED. It is called under
// s.mu. sc is the account and region the state machine is in.
func (s *Sim) runExecution(sc *scope, m *stateMachine, x *execution) {
	r := &run{sim: s, sc: sc, m: m, x: x}
	r.add("ExecutionStarted", "executionStartedEventDetails", map[string]any{"input": x.input, "inputDetails": map[string]bool{"truncated": false}, "roleArn": m.roleARN})
	go r.play()
}

// run is one execution being played.
type run struct {
	sim *Sim
	sc  *scope
	m   *stateMachine
	x   *execution
}

// failure is why an execution failed.
type failure struct{ err, cause string }

// add appends a history event; the caller holds s.mu.
func (r *run) add(typ, details string, d any) {
	id := len(r.x.history) + 1
	ev := map[string]any{"id": id, "previousEventId": id - 1, "type": typ, "timestamp": epoch(time.Now())}
	if details != "" {
		ev[details] = d
	}
	r.x.history = append(r.x.history, ev)
}

// record appends a history event, taking the lock.
func (r *run) record(typ, details string, d any) {
	r.sim.mu.Lock()
	defer r.sim.mu.Unlock()
	r.add(typ, details, d)
}

func (r *run) play() {
	var def map[string]any
	_ = json.Unmarshal([]byte(r.m.definition), &def)
	steps := 0
	f := r.states(def, &steps)
	defect := ""
	if f == nil {
		defect = r.sim.takeFaults(r.sc, "pipeline", "", r.m.name).state
	}
	s := r.sim
	s.mu.Lock()
	defer s.mu.Unlock()
	if f != nil {
		r.add("ExecutionFailed", "executionFailedEventDetails", map[string]string{"error": f.err, "cause": f.cause})
		r.x.status, r.x.stop = "FAILED", time.Now()
		r.x.errorCode, r.x.cause = f.err, f.cause
		return
	}
	s.writeOutputs(r.sc, r.m, r.x, defect)
	r.add("ExecutionSucceeded", "executionSucceededEventDetails", map[string]any{"output": r.x.input, "outputDetails": map[string]bool{"truncated": false}})
	r.x.status, r.x.output, r.x.stop = "SUCCEEDED", r.x.input, time.Now()
}

// states runs one state list (the machine, a Parallel branch or a Map
// processor) from StartAt to an end. Choice takes its Default (or first)
// branch; Parallel branches and Map iterations run once each, in order; a
// failed state's Catch is honoured (Retry is not).
func (r *run) states(def map[string]any, steps *int) *failure {
	all, _ := def["States"].(map[string]any)
	name, _ := def["StartAt"].(string)
	for name != "" {
		if *steps++; *steps > 1000 {
			return &failure{"States.Runtime", "awssim: more than 1000 state transitions"}
		}
		st, _ := all[name].(map[string]any)
		if st == nil {
			return &failure{"States.Runtime", "state " + name + " does not exist"}
		}
		typ, _ := st["Type"].(string)
		r.record(typ+"StateEntered", "stateEnteredEventDetails", map[string]any{"name": name, "input": r.x.input})
		var f *failure
		switch typ {
		case "Task":
			f = r.task(st)
		case "Parallel":
			branches, _ := st["Branches"].([]any)
			for _, b := range branches {
				if bm, ok := b.(map[string]any); ok && f == nil {
					f = r.states(bm, steps)
				}
			}
		case "Map":
			proc, _ := st["ItemProcessor"].(map[string]any)
			if proc == nil {
				proc, _ = st["Iterator"].(map[string]any)
			}
			if proc != nil {
				f = r.states(proc, steps)
			}
		case "Fail":
			e, _ := st["Error"].(string)
			c, _ := st["Cause"].(string)
			return &failure{e, c}
		}
		caught := ""
		if f != nil {
			if caught = caughtBy(st, f); caught == "" {
				return f
			}
		}
		r.record(typ+"StateExited", "stateExitedEventDetails", map[string]any{"name": name, "output": r.x.input})
		if caught != "" {
			// A Catch leaves the state for its Next, as on AWS: the
			// failure event stays in the history and the execution goes on.
			name = caught
			continue
		}
		if typ == "Succeed" {
			return nil
		}
		if end, _ := st["End"].(bool); end {
			return nil
		}
		next, _ := st["Next"].(string)
		if typ == "Choice" {
			next, _ = st["Default"].(string)
			if choices, _ := st["Choices"].([]any); next == "" && len(choices) > 0 {
				c, _ := choices[0].(map[string]any)
				next, _ = c["Next"].(string)
			}
		}
		name = next
	}
	return nil
}

// caughtBy is the Next of the first of st's catchers whose ErrorEquals
// matches f, or "" when none does. As on AWS, States.ALL matches any error
// and States.TaskFailed any but States.Timeout, and neither catches
// States.Runtime.
func caughtBy(st map[string]any, f *failure) string {
	if f.err == "States.Runtime" {
		return ""
	}
	catchers, _ := st["Catch"].([]any)
	for _, c := range catchers {
		cm, _ := c.(map[string]any)
		errs, _ := cm["ErrorEquals"].([]any)
		for _, e := range errs {
			switch e {
			case f.err, "States.ALL":
			case "States.TaskFailed":
				if f.err == "States.Timeout" {
					continue
				}
			default:
				continue
			}
			next, _ := cm["Next"].(string)
			return next
		}
	}
	return ""
}

// task runs a Task state: an optimised Lambda integration, a direct Lambda
// ARN, or any other integration (which simply succeeds).
func (r *run) task(st map[string]any) *failure {
	resource, _ := st["Resource"].(string)
	params, _ := st["Parameters"].(map[string]any)
	switch {
	case strings.HasPrefix(resource, "arn:aws:states:::lambda:invoke"):
		fn, _ := params["FunctionName"].(string)
		if fn == "" {
			// "FunctionName.$" is resolved from the input on AWS; the
			// simulator has no input paths, so it calls it a runtime error.
			return r.lambdaStage("Task", "task", "invoke", fn, map[string]any{"FunctionName": fn})
		}
		return r.lambdaStage("Task", "task", "invoke", fn, map[string]any{"FunctionName": fn, "Payload": json.RawMessage(r.x.input)})
	case strings.HasPrefix(resource, "arn:aws:lambda:"):
		return r.lambdaStage("LambdaFunction", "lambdaFunction", resource, resource, nil)
	default:
		r.record("TaskScheduled", "taskScheduledEventDetails", map[string]any{"resourceType": "states", "resource": resource, "region": r.sc.region, "parameters": "{}"})
		r.record("TaskSucceeded", "taskSucceededEventDetails", map[string]any{"resourceType": "states", "resource": resource, "output": "{}"})
		return nil
	}
}

// lambdaStage plays one Lambda invocation: Scheduled, Started, then
// Succeeded or Failed. kind is "Task" (optimised integration) or
// "LambdaFunction" (direct ARN); prefix is the details field prefix.
func (r *run) lambdaStage(kind, prefix, resource, fn string, params map[string]any) *failure {
	details := func(ev string, d map[string]any) map[string]any {
		if kind == "Task" {
			d["resourceType"], d["resource"] = "lambda", resource
		}
		return d
	}
	if kind == "Task" {
		p, _ := json.Marshal(params)
		r.record("TaskScheduled", "taskScheduledEventDetails", map[string]any{"resourceType": "lambda", "resource": resource, "region": r.sc.region, "parameters": string(p)})
	} else {
		r.record("LambdaFunctionScheduled", "lambdaFunctionScheduledEventDetails", map[string]any{"resource": resource, "input": r.x.input})
	}
	r.record(kind+"Started", prefix+"StartedEventDetails", details("started", map[string]any{}))

	name := fn
	if _, rest, ok := strings.Cut(name, ":function:"); ok {
		name = rest
	}
	name, _, _ = strings.Cut(name, ":")
	r.sim.mu.Lock()
	exists := r.sc.lambda().functions[name] != nil
	stage := time.Duration(0)
	if p := r.sc.pipeline; p != nil && p.appliesTo(r.m) {
		stage = p.StageDuration
	}
	r.sim.mu.Unlock()
	fault := r.sim.takeFaults(r.sc, "lambda", "", name)
	r.sim.sleep(stage + fault.latency)

	var f *failure
	switch {
	case name == "":
		f = &failure{"States.Runtime", "The value for the field 'FunctionName' must be a STRING"}
	case !exists:
		f = &failure{"Lambda.ResourceNotFoundException", "Function not found: " + fn}
	case fault.err != "":
		f = &failure{"Lambda." + fault.err, "injected fault: " + fault.err + " in " + name}
	case fault.malformed:
		f = &failure{"Lambda.Unknown", "The function " + name + " returned an unparsable response"}
	case fault.state != "" && fault.state != "Active" && fault.state != "Inactive":
		f = &failure{"Lambda.ResourceConflictException", "The operation cannot be performed at this time. The function " + name + " is currently in the following state: " + fault.state}
	}
	if f != nil {
		r.record(kind+"Failed", prefix+"FailedEventDetails", details("failed", map[string]any{"error": f.err, "cause": f.cause}))
		return f
	}
	out, _ := json.Marshal(map[string]any{"StatusCode": 200, "Payload": json.RawMessage(r.x.input)})
	if kind != "Task" {
		out = []byte(r.x.input)
	}
	r.record(kind+"Succeeded", prefix+"SucceededEventDetails", details("succeeded", map[string]any{"output": string(out)}))
	return nil
}

// sleep waits d, or until the simulator closes.
func (s *Sim) sleep(d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.closed:
	}
}
