package awssim

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

func TestSFNDescribeStateMachine(t *testing.T) {
	e := start(t, testSeed())
	c := e.sfn()
	out, err := c.DescribeStateMachine(ctx(t), &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(testMachineARN)})
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != types.StateMachineStatusActive || out.Type != types.StateMachineTypeStandard || aws.ToString(out.Name) != "soc-pipeline" || out.CreationDate == nil {
		t.Fatalf("machine %+v", out)
	}
	var def struct {
		StartAt string
		States  map[string]struct{ Resource string }
	}
	if err := json.Unmarshal([]byte(aws.ToString(out.Definition)), &def); err != nil || def.StartAt != "Invoke triage" || def.States["Invoke enrich"].Resource != "arn:aws:states:::lambda:invoke" {
		t.Fatalf("definition %s %v", aws.ToString(out.Definition), err)
	}
	_, err = c.DescribeStateMachine(ctx(t), &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(strings.Replace(testMachineARN, "soc-pipeline", "nope", 1))})
	wantAPIErr(t, err, "StateMachineDoesNotExist", 400)
	_, err = c.DescribeStateMachine(ctx(t), &sfn.DescribeStateMachineInput{StateMachineArn: aws.String("soc-pipeline")})
	wantAPIErr(t, err, "InvalidArn", 400)

	for _, f := range []Fault{
		{Service: "sfn", Resource: "soc-pipeline", State: "DELETING", Count: 1},
		{Service: "stepfunctions", Resource: testMachineARN, State: "DELETING", Count: 1},
	} {
		e.sim.AddFault(f)
		out, err := c.DescribeStateMachine(ctx(t), &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(testMachineARN)})
		if err != nil || out.Status != types.StateMachineStatusDeleting {
			t.Fatalf("fault %+v: %+v %v", f, out, err)
		}
	}
	e.sim.AddFault(Fault{Service: "sfn", Error: "ThrottlingException", Count: 1})
	_, err = c.DescribeStateMachine(ctx(t), &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(testMachineARN)})
	wantAPIErr(t, err, "ThrottlingException", 400)
	e.sim.AddFault(Fault{Service: "sfn", Malformed: true, Count: 1})
	_, err = c.DescribeStateMachine(ctx(t), &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(testMachineARN)})
	wantDeserializationErr(t, err)
}

func TestSFNExecutions(t *testing.T) {
	e := start(t, testSeed())
	c := e.sfn()
	input := `{"detail":{"investigationId":"inv-1"}}`
	first, err := c.StartExecution(ctx(t), &sfn.StartExecutionInput{StateMachineArn: aws.String(testMachineARN), Name: aws.String("e1"), Input: aws.String(input)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(first.ExecutionArn) != "arn:aws:states:us-east-1:123456789012:execution:soc-pipeline:e1" {
		t.Fatalf("arn %s", aws.ToString(first.ExecutionArn))
	}
	second, err := c.StartExecution(ctx(t), &sfn.StartExecutionInput{StateMachineArn: aws.String(testMachineARN)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.StartExecution(ctx(t), &sfn.StartExecutionInput{StateMachineArn: aws.String(testMachineARN), Name: aws.String("e1")})
	wantAPIErr(t, err, "ExecutionAlreadyExists", 400)
	_, err = c.StartExecution(ctx(t), &sfn.StartExecutionInput{StateMachineArn: aws.String(testMachineARN), Input: aws.String("{")})
	wantAPIErr(t, err, "InvalidExecutionInput", 400)
	_, err = c.StartExecution(ctx(t), &sfn.StartExecutionInput{StateMachineArn: aws.String(testMachineARN), Name: aws.String("bad name")})
	wantAPIErr(t, err, "InvalidName", 400)

	// Executions run in the background, as on AWS.
	waitExecution(t, c, first.ExecutionArn)
	waitExecution(t, c, second.ExecutionArn)

	list, err := c.ListExecutions(ctx(t), &sfn.ListExecutionsInput{StateMachineArn: aws.String(testMachineARN), MaxResults: 1})
	if err != nil {
		t.Fatal(err)
	}
	// Newest first, one per page.
	if len(list.Executions) != 1 || aws.ToString(list.Executions[0].ExecutionArn) != aws.ToString(second.ExecutionArn) || list.NextToken == nil {
		t.Fatalf("page 1 %+v", list)
	}
	list, err = c.ListExecutions(ctx(t), &sfn.ListExecutionsInput{StateMachineArn: aws.String(testMachineARN), MaxResults: 1, NextToken: list.NextToken})
	if err != nil || len(list.Executions) != 1 || aws.ToString(list.Executions[0].Name) != "e1" || list.NextToken != nil {
		t.Fatalf("page 2 %+v %v", list, err)
	}
	_, err = c.ListExecutions(ctx(t), &sfn.ListExecutionsInput{StateMachineArn: aws.String(testMachineARN), NextToken: aws.String("bogus")})
	wantAPIErr(t, err, "InvalidToken", 400)
	running, err := c.ListExecutions(ctx(t), &sfn.ListExecutionsInput{StateMachineArn: aws.String(testMachineARN), StatusFilter: types.ExecutionStatusRunning})
	if err != nil || len(running.Executions) != 0 {
		t.Fatalf("running %+v %v", running, err)
	}

	desc, err := c.DescribeExecution(ctx(t), &sfn.DescribeExecutionInput{ExecutionArn: first.ExecutionArn})
	if err != nil || desc.Status != types.ExecutionStatusSucceeded || aws.ToString(desc.Input) != input || aws.ToString(desc.Output) != input || desc.StopDate == nil {
		t.Fatalf("describe %+v %v", desc, err)
	}
	_, err = c.DescribeExecution(ctx(t), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(strings.Replace(aws.ToString(first.ExecutionArn), ":e1", ":e9", 1))})
	wantAPIErr(t, err, "ExecutionDoesNotExist", 400)

	hist, err := c.GetExecutionHistory(ctx(t), &sfn.GetExecutionHistoryInput{ExecutionArn: first.ExecutionArn})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	var scheduled int
	for i, ev := range hist.Events {
		kinds = append(kinds, string(ev.Type))
		if ev.Id != int64(i+1) || ev.PreviousEventId != int64(i) {
			t.Fatalf("event %d ids %d/%d", i, ev.Id, ev.PreviousEventId)
		}
		if d := ev.TaskScheduledEventDetails; d != nil {
			scheduled++
			if aws.ToString(d.ResourceType) != "lambda" || aws.ToString(d.Resource) != "invoke" || !strings.Contains(aws.ToString(d.Parameters), "function:") {
				t.Fatalf("scheduled %+v", d)
			}
		}
	}
	if kinds[0] != "ExecutionStarted" || kinds[len(kinds)-1] != "ExecutionSucceeded" || scheduled != 2 {
		t.Fatalf("history %v", kinds)
	}
	rev, err := c.GetExecutionHistory(ctx(t), &sfn.GetExecutionHistoryInput{ExecutionArn: first.ExecutionArn, ReverseOrder: true, MaxResults: 1})
	if err != nil || len(rev.Events) != 1 || rev.Events[0].Type != types.HistoryEventTypeExecutionSucceeded {
		t.Fatalf("reverse %+v %v", rev, err)
	}

	// A fault on the state machine also hits reads of its executions.
	e.sim.AddFault(Fault{Service: "sfn", Resource: "soc-pipeline", Error: "AccessDeniedException", Count: 1})
	_, err = c.DescribeExecution(ctx(t), &sfn.DescribeExecutionInput{ExecutionArn: first.ExecutionArn})
	wantAPIErr(t, err, "AccessDeniedException", 400)
	e.sim.AddFault(Fault{Service: "sfn", State: "DELETING", Count: 1})
	_, err = c.StartExecution(ctx(t), &sfn.StartExecutionInput{StateMachineArn: aws.String(testMachineARN)})
	wantAPIErr(t, err, "StateMachineDeleting", 400)
}

// waitExecution polls until the execution has left RUNNING.
func waitExecution(t *testing.T, c *sfn.Client, arn *string) *sfn.DescribeExecutionOutput {
	t.Helper()
	for range 500 {
		d, err := c.DescribeExecution(ctx(t), &sfn.DescribeExecutionInput{ExecutionArn: arn})
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != types.ExecutionStatusRunning {
			return d
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("execution %s still RUNNING", aws.ToString(arn))
	return nil
}

// A Catch takes a failed task to its Next, here a Fail state, and the
// history reads as on AWS: the task's failure, its exit, the Fail state
// entered, and the execution failed with the Fail state's error and cause.
// States.Runtime is never caught.
func TestSFNCatchToFailState(t *testing.T) {
	seed := testSeed()
	seed.Definitions = map[string]string{"soc-pipeline": `{"StartAt":"Triage","States":{
	  "Triage":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"triage"},
	    "Catch":[{"ErrorEquals":["Lambda.Unknown"],"Next":"Done"},{"ErrorEquals":["States.TaskFailed"],"Next":"Rejected"}],"End":true},
	  "Done":{"Type":"Succeed"},
	  "Rejected":{"Type":"Fail","Error":"TriageFailed","Cause":"triage could not run"}}}`}
	e := start(t, seed)
	c := e.sfn()
	run := func() (*sfn.DescribeExecutionOutput, []string) {
		t.Helper()
		x, err := c.StartExecution(ctx(t), &sfn.StartExecutionInput{StateMachineArn: aws.String(testMachineARN)})
		if err != nil {
			t.Fatal(err)
		}
		waitExecution(t, c, x.ExecutionArn)
		desc, err := c.DescribeExecution(ctx(t), &sfn.DescribeExecutionInput{ExecutionArn: x.ExecutionArn})
		if err != nil {
			t.Fatal(err)
		}
		hist, err := c.GetExecutionHistory(ctx(t), &sfn.GetExecutionHistoryInput{ExecutionArn: x.ExecutionArn})
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, ev := range hist.Events {
			kinds = append(kinds, string(ev.Type))
			if d := ev.ExecutionFailedEventDetails; d != nil {
				kinds = append(kinds, aws.ToString(d.Error)+": "+aws.ToString(d.Cause))
			}
		}
		return desc, kinds
	}

	e.sim.AddFault(Fault{Service: "lambda", Resource: "triage", Error: "ServiceException", Count: 1})
	desc, kinds := run()
	want := "ExecutionStarted TaskStateEntered TaskScheduled TaskStarted TaskFailed TaskStateExited FailStateEntered ExecutionFailed TriageFailed: triage could not run"
	if got := strings.Join(kinds, " "); got != want || desc.Status != types.ExecutionStatusFailed ||
		aws.ToString(desc.Error) != "TriageFailed" || aws.ToString(desc.Cause) != "triage could not run" {
		t.Fatalf("caught into the Fail state: %s %s/%s\nhistory %s\nwant    %s", desc.Status, aws.ToString(desc.Error), aws.ToString(desc.Cause), got, want)
	}

	// The first catcher that matches wins.
	e.sim.AddFault(Fault{Service: "lambda", Resource: "triage", Malformed: true, Count: 1})
	if desc, kinds = run(); desc.Status != types.ExecutionStatusSucceeded {
		t.Fatalf("Lambda.Unknown should be caught into Done: %s %v", desc.Status, kinds)
	}

	// No FunctionName: a States.Runtime error, which States.ALL does not catch.
	seed.Definitions = map[string]string{"soc-pipeline": `{"StartAt":"Triage","States":{
	  "Triage":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{},"Catch":[{"ErrorEquals":["States.ALL"],"Next":"Done"}],"End":true},
	  "Done":{"Type":"Succeed"}}}`}
	e = start(t, seed)
	c = e.sfn()
	if desc, kinds = run(); desc.Status != types.ExecutionStatusFailed || aws.ToString(desc.Error) != "States.Runtime" {
		t.Fatalf("States.Runtime was caught: %s %v", desc.Status, kinds)
	}
}
