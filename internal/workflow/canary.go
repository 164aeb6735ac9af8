package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/oklog/ulid/v2"

	"github.com/socmond/socmond/internal/probes"
)

// The eight canary steps, in order.
const (
	StepPutEvent      = "put_event"
	StepExecution     = "execution"
	StepLambdaStages  = "lambda_stages"
	StepAnalysis      = "bedrock_analysis"
	StepRecord        = "investigation_record"
	StepArtifact      = "artifact_encrypted"
	StepAuditRetained = "audit_retention"
	StepCompliance    = "compliance_artifact"
)

// Steps lists the step names in order, with what each proves.
var Steps = []struct{ Name, Title string }{
	{StepPutEvent, "PutEvents accepted the test alert"},
	{StepExecution, "the rule started an execution and it completed"},
	{StepLambdaStages, "every Lambda stage succeeded"},
	{StepAnalysis, "the Bedrock analysis was stored"},
	{StepRecord, "the investigation record exists in DynamoDB"},
	{StepArtifact, "the artifact exists in S3 under SSE-KMS"},
	{StepAuditRetained, "the audit artifact is under COMPLIANCE retention"},
	{StepCompliance, "a compliance artifact was generated"},
}

// Step outcomes.
const (
	Running = "running"
	Passed  = "pass"
	Failed  = "fail"
	Skipped = "skip" // an earlier step failed, so this one could not be checked
)

// KMSAPI resolves the configured key (alias or id) to the ARN S3 reports.
type KMSAPI interface {
	DescribeKey(ctx context.Context, in *kms.DescribeKeyInput, optFns ...func(*kms.Options)) (*kms.DescribeKeyOutput, error)
}

// CanarySpec is what the canary sends and where it looks. Templates take
// {investigation_id} and {tenant}.
type CanarySpec struct {
	EventBus, Source, DetailType, Tenant string
	StateMachine                         string
	Table, KeyAttribute, KeyTemplate     string
	AnalysisAttribute                    string
	ArtifactsBucket, ArtifactKey         string
	AuditBucket, AuditKey                string
	CompliancePrefix                     string // in the artifacts bucket
	KMSKey                               string // expected SSE-KMS key (id, alias or ARN); "" accepts any KMS key
	MinRetentionDays                     int
	// MinRetentionYears, when set, also accepts a retention of that many
	// calendar years: what an Object Lock default rule in Years gives. Seven
	// years from 2028-03-01 are 2556 days, one short of the 2557 days that
	// cover any seven years, so a days-only check would fail a bucket the
	// compliance check passes, one year in four.
	MinRetentionYears int
	Timeout           time.Duration // whole run
	FindTimeout       time.Duration // finding the execution
}

// Canary is the synthetic end-to-end test. Unlike everything else in socmond
// it writes: one event, and through the pipeline an investigation and
// artifacts (the audit one cannot be deleted for the retention period).
type Canary struct {
	// Place is the pipeline whose resources it writes to and reads
	// (config.Places); its clients are that pipeline's account's in its
	// region. Zero without tenants.
	Place    probes.Place
	Spec     CanarySpec
	Events   EventsAPI
	SFN      SFNAPI
	DynamoDB DynamoDBAPI
	S3       S3API
	KMS      KMSAPI // optional
	Now      func() time.Time
}

// StepResult is one step's outcome.
type StepResult struct {
	Number   int           `json:"number"`
	Name     string        `json:"name"`
	Title    string        `json:"title"`
	Status   string        `json:"status"` // running, pass, fail, skip
	Reason   string        `json:"reason"`
	Duration time.Duration `json:"duration_ns"`
}

// Stage is one Lambda invocation seen in the execution history.
type Stage struct {
	State    string        `json:"state"`
	Function string        `json:"function"`
	Status   string        `json:"status"` // succeeded, failed, timed_out, running
	Duration time.Duration `json:"duration_ns"`
	Error    string        `json:"error,omitempty"`
	Cause    string        `json:"cause,omitempty"`
}

// CanaryReport is one canary run.
type CanaryReport struct {
	Place           probes.Place  `json:"place,omitzero"` // the pipeline's (Canary.Place)
	InvestigationID string        `json:"investigation_id"`
	EventID         string        `json:"event_id,omitempty"`
	ExecutionArn    string        `json:"execution_arn,omitempty"`
	Start           time.Time     `json:"start"`
	Duration        time.Duration `json:"duration_ns"`
	Passed          bool          `json:"passed"`
	TimedOut        bool          `json:"timed_out"`
	Steps           []StepResult  `json:"steps"`
	Stages          []Stage       `json:"stages"`
}

// FailedStep returns the first failed step, if any.
func (r CanaryReport) FailedStep() (StepResult, bool) {
	for _, s := range r.Steps {
		if s.Status == Failed {
			return s, true
		}
	}
	return StepResult{}, false
}

// NewInvestigationID returns INV-CANARY-<ulid>: unique, sortable by time,
// and obviously synthetic to anyone reading the investigations table.
func NewInvestigationID(now time.Time) string {
	return "INV-CANARY-" + ulid.MustNew(ulid.Timestamp(now), ulid.DefaultEntropy()).String()
}

// canaryRun carries one run's state between steps.
type canaryRun struct {
	c        *Canary
	rep      *CanaryReport
	progress func(StepResult)
	fill     func(string) string
	putTime  time.Time
	status   types.ExecutionStatus
	execErr  string
}

// Run runs the eight steps once. progress, if not nil, is told when each
// step starts (status running) and ends; it runs on the caller's goroutine.
func (c *Canary) Run(ctx context.Context, progress func(StepResult)) CanaryReport {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	start := now()
	if c.Spec.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Spec.Timeout)
		defer cancel()
	}
	rep := &CanaryReport{Place: c.Place, InvestigationID: NewInvestigationID(start), Start: start, Stages: []Stage{}}
	r := &canaryRun{c: c, rep: rep, progress: progress,
		fill: strings.NewReplacer("{investigation_id}", rep.InvestigationID, "{tenant}", c.Spec.Tenant).Replace}

	steps := []func(context.Context) (string, error){r.putEvent, r.execution, r.stages}
	ok := true
	for i, f := range steps {
		if !ok {
			r.skip(i, "not checked: step "+fmt.Sprint(i)+" failed")
			continue
		}
		ok = r.step(ctx, i, f)
	}
	if ok {
		r.outputs(ctx)
	} else {
		for i := len(steps); i < len(Steps); i++ {
			r.skip(i, "not checked: the pipeline did not complete")
		}
	}
	rep.Duration = time.Since(start)
	rep.Passed = true
	for _, s := range rep.Steps {
		rep.Passed = rep.Passed && s.Status == Passed
	}
	return *rep
}

func (r *canaryRun) tell(s StepResult) {
	if r.progress != nil {
		r.progress(s)
	}
}

// step runs step i and records its outcome: a nil error passes with the
// returned summary, an error fails with it as the reason.
func (r *canaryRun) step(ctx context.Context, i int, f func(context.Context) (string, error)) bool {
	res := StepResult{Number: i + 1, Name: Steps[i].Name, Title: Steps[i].Title, Status: Running}
	r.tell(res)
	t := time.Now()
	summary, err := f(ctx)
	res.Duration = time.Since(t)
	if err != nil {
		res.Status, res.Reason = Failed, err.Error()
	} else {
		res.Status, res.Reason = Passed, summary
	}
	r.rep.Steps = append(r.rep.Steps, res)
	r.tell(res)
	return err == nil
}

func (r *canaryRun) skip(i int, why string) {
	res := StepResult{Number: i + 1, Name: Steps[i].Name, Title: Steps[i].Title, Status: Skipped, Reason: why}
	r.rep.Steps = append(r.rep.Steps, res)
	r.tell(res)
}

// awsErr renders an SDK error with its code and request id.
func awsErr(op string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: timed out", op)
	}
	_, code, rid := probes.Classify(err)
	msg := errText(err)
	if rid != "" && !strings.Contains(msg, rid) {
		msg += " (request id " + rid + ")"
	}
	if code != "" && !strings.Contains(msg, code) {
		msg = code + ": " + msg
	}
	return fmt.Errorf("%s: %s", op, msg)
}

// Step 1.
func (r *canaryRun) putEvent(ctx context.Context) (string, error) {
	s := r.c.Spec
	detail, _ := json.Marshal(map[string]any{
		"investigationId": r.rep.InvestigationID, "tenantId": s.Tenant, "synthetic": true,
		"severity": "LOW", "title": "socmond synthetic canary alert",
	})
	r.putTime = time.Now()
	out, err := r.c.Events.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
		EventBusName: aws.String(s.EventBus), Source: aws.String(s.Source), DetailType: aws.String(s.DetailType),
		Detail: aws.String(string(detail)), Time: aws.Time(r.putTime),
	}}})
	if err != nil {
		return "", awsErr("PutEvents", err)
	}
	// PutEvents answers 200 even when the entry was refused.
	if out.FailedEntryCount != 0 || len(out.Entries) != 1 || out.Entries[0].EventId == nil {
		code, msg := "", ""
		if len(out.Entries) > 0 {
			code, msg = aws.ToString(out.Entries[0].ErrorCode), aws.ToString(out.Entries[0].ErrorMessage)
		}
		return "", fmt.Errorf("PutEvents returned FailedEntryCount=%d: %s %s", out.FailedEntryCount, code, msg)
	}
	r.rep.EventID = aws.ToString(out.Entries[0].EventId)
	return fmt.Sprintf("event %s on bus %s, investigationId %s", r.rep.EventID, s.EventBus, r.rep.InvestigationID), nil
}

// Step 2: the correlation algorithm of aws-api.md §4.
func (r *canaryRun) execution(ctx context.Context) (string, error) {
	arn, err := r.find(ctx)
	if err != nil {
		return "", err
	}
	r.rep.ExecutionArn = arn
	wait := 200 * time.Millisecond
	for {
		d, err := r.c.SFN.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		if err != nil {
			if ctx.Err() != nil {
				return "", r.timedOut("following execution " + arn)
			}
			return "", awsErr("DescribeExecution", err)
		}
		if d.Status != types.ExecutionStatusRunning && d.Status != types.ExecutionStatusPendingRedrive {
			r.status, r.execErr = d.Status, strings.TrimSpace(aws.ToString(d.Error)+" "+aws.ToString(d.Cause))
			took := aws.ToTime(d.StopDate).Sub(aws.ToTime(d.StartDate))
			return fmt.Sprintf("execution %s %s after %s", aws.ToString(d.Name), d.Status, took.Round(time.Millisecond)), nil
		}
		if !sleep(ctx, wait) {
			return "", r.timedOut("execution " + arn + " still RUNNING")
		}
		wait = min(wait*3/2, 2*time.Second)
	}
}

func (r *canaryRun) timedOut(what string) error {
	r.rep.TimedOut = true
	return fmt.Errorf("timed out after %s: %s", r.c.Spec.Timeout, what)
}

// find polls ListExecutions (newest first) for the execution whose input
// carries the canary's investigationId or event id.
func (r *canaryRun) find(ctx context.Context) (string, error) {
	findCtx, cancel := context.WithTimeout(ctx, r.c.Spec.FindTimeout)
	defer cancel()
	seen := map[string]bool{}
	since := r.putTime.Add(-5 * time.Second)
	wait := 200 * time.Millisecond
	for {
		out, err := r.c.SFN.ListExecutions(findCtx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(r.c.Spec.StateMachine), MaxResults: 50})
		if err != nil && findCtx.Err() == nil {
			return "", awsErr("ListExecutions", err)
		}
		if err == nil {
			for _, x := range out.Executions {
				arn := aws.ToString(x.ExecutionArn)
				if aws.ToTime(x.StartDate).Before(since) {
					break
				}
				if seen[arn] {
					continue
				}
				d, err := r.c.SFN.DescribeExecution(findCtx, &sfn.DescribeExecutionInput{ExecutionArn: x.ExecutionArn})
				if err != nil {
					continue
				}
				seen[arn] = true
				if inputMatches(aws.ToString(d.Input), r.rep.InvestigationID, r.rep.EventID) {
					return arn, nil
				}
			}
		}
		if !sleep(findCtx, wait) {
			if ctx.Err() != nil {
				return "", r.timedOut("no execution found")
			}
			return "", fmt.Errorf("no execution of %s started for investigationId %s within %s: is the EventBridge rule enabled, does its pattern match source %q, and does it target this state machine?",
				r.c.Spec.StateMachine, r.rep.InvestigationID, r.c.Spec.FindTimeout, r.c.Spec.Source)
		}
		wait = min(wait*3/2, 2*time.Second)
	}
}

// sleep waits d or until ctx ends; it reports whether the wait completed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Step 3.
func (r *canaryRun) stages(ctx context.Context) (string, error) {
	events, err := history(ctx, r.c.SFN, aws.String(r.rep.ExecutionArn))
	if err != nil {
		return "", awsErr("GetExecutionHistory", err)
	}
	r.rep.Stages = Stages(events)
	var failed []string
	for _, st := range r.rep.Stages {
		if st.Status != "succeeded" {
			failed = append(failed, fmt.Sprintf("stage %s (%s) %s: %s: %s", st.State, st.Function, st.Status, st.Error, st.Cause))
		}
	}
	switch {
	case len(failed) > 0:
		return "", errors.New(strings.Join(failed, "; "))
	case r.status != types.ExecutionStatusSucceeded:
		return "", fmt.Errorf("execution %s: %s", r.status, r.execErr)
	case len(r.rep.Stages) == 0:
		return "", errors.New("the execution invoked no Lambda function")
	}
	var parts []string
	for _, st := range r.rep.Stages {
		parts = append(parts, fmt.Sprintf("%s %s", st.State, st.Duration.Round(time.Millisecond)))
	}
	return fmt.Sprintf("%d stages succeeded: %s", len(r.rep.Stages), strings.Join(parts, ", ")), nil
}

// Stages pairs each Lambda invocation's scheduled event with its outcome, for
// both the optimised integration (Task*) and direct ARNs (LambdaFunction*).
func Stages(events []types.HistoryEvent) []Stage {
	var out []Stage
	entered := ""
	var scheduledAt time.Time
	for _, ev := range events {
		ts := aws.ToTime(ev.Timestamp)
		switch {
		case ev.StateEnteredEventDetails != nil:
			entered = aws.ToString(ev.StateEnteredEventDetails.Name)
		case ev.TaskScheduledEventDetails != nil && aws.ToString(ev.TaskScheduledEventDetails.ResourceType) == "lambda":
			var p struct{ FunctionName string }
			_ = json.Unmarshal([]byte(aws.ToString(ev.TaskScheduledEventDetails.Parameters)), &p)
			out = append(out, Stage{State: entered, Function: FunctionName(p.FunctionName), Status: "running"})
			scheduledAt = ts
		case ev.LambdaFunctionScheduledEventDetails != nil:
			out = append(out, Stage{State: entered, Function: FunctionName(aws.ToString(ev.LambdaFunctionScheduledEventDetails.Resource)), Status: "running"})
			scheduledAt = ts
		case len(out) > 0 && out[len(out)-1].Status == "running":
			last := &out[len(out)-1]
			switch ev.Type {
			case types.HistoryEventTypeTaskSucceeded, types.HistoryEventTypeLambdaFunctionSucceeded:
				last.Status = "succeeded"
			case types.HistoryEventTypeTaskTimedOut, types.HistoryEventTypeLambdaFunctionTimedOut:
				last.Status = "timed_out"
			default:
				e, c, ok := failureOf(ev)
				if !ok {
					continue
				}
				last.Status, last.Error, last.Cause = "failed", e, c
			}
			if last.Status == "timed_out" {
				last.Error, last.Cause, _ = failureOf(ev)
			}
			last.Duration = ts.Sub(scheduledAt)
		}
	}
	return out
}
