package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/socmond/socmond/internal/awsclient"
	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/probes"
)

// Passive is the read-only workflow check: rules, state machine, the Lambda
// functions its definition invokes, and recent executions.
type Passive struct {
	// Place is the pipeline checked (config.Places): the functions and
	// queues it discovers are resources of that place. Zero without
	// tenants.
	Place        probes.Place
	Events       EventsAPI
	SFN          SFNAPI
	Lambda       probes.LambdaAPI // probes the discovered functions; nil skips them
	EventBus     string
	Rules        []string
	StateMachine string        // ARN
	Window       time.Duration // executions started this long ago or later are counted
	// MaxFailureRatio is the share of failed executions the executions
	// check tolerates (0: none).
	MaxFailureRatio float64
	// Configured lists functions already probed on their own schedule; they
	// are not probed again here.
	Configured    []string
	LambdaTimeout time.Duration
	Now           func() time.Time

	// DeadLetter, when set, is the check of a queue the rules' targets
	// (ListTargetsByRule) or the definition's functions
	// (GetFunctionConfiguration) send what they cannot deliver to, as its
	// service's probe would check it; ok is false for a queue socmond
	// probes already, or of a service it has no probe for (an SNS topic).
	DeadLetter func(arn, owner string) (config.Target, probes.Probe, bool)
}

// Check is one passive finding.
type Check struct {
	Name      string        `json:"name"`     // rule_enabled, rule_target, state_machine_type, executions
	Resource  string        `json:"resource"` // rule name, state machine ARN
	OK        bool          `json:"ok"`
	Reason    string        `json:"reason"`
	Class     probes.Class  `json:"class,omitempty"` // set when an AWS call failed
	Code      string        `json:"code,omitempty"`
	RequestID string        `json:"request_id,omitempty"`
	Hint      string        `json:"hint,omitempty"` // set when socmond could not assume the pipeline's role
	Duration  time.Duration `json:"duration_ns"`
}

// Status maps the check to probe statuses: an AWS call that failed is
// classified like a probe; a wrong answer (rule disabled, EXPRESS machine,
// failing executions) is unavailable.
func (c Check) Status() probes.Status {
	switch {
	case c.OK:
		return probes.Healthy
	case c.Class != probes.ClassNone:
		return probes.StatusFor(c.Class)
	}
	return probes.Unavailable
}

// Failure describes the newest failed execution.
type Failure struct {
	ExecutionArn string    `json:"execution_arn"`
	Status       string    `json:"status"`
	State        string    `json:"state,omitempty"` // the state that failed
	Error        string    `json:"error,omitempty"`
	Cause        string    `json:"cause,omitempty"`
	Stop         time.Time `json:"stop"`
}

// Executions summarises the executions started within the window.
type Executions struct {
	Window        time.Duration  `json:"window_ns"`
	Counts        map[string]int `json:"counts"` // by status
	Total         int            `json:"total"`
	Failed        int            `json:"failed"` // FAILED, TIMED_OUT and ABORTED
	FailureRatio  float64        `json:"failure_ratio"`
	NewestFailure *Failure       `json:"newest_failure,omitempty"`
	// NewestFinishedFailed: the newest execution that has finished failed
	// (FAILED, TIMED_OUT, ABORTED). The pipeline has not recovered while it
	// holds, whatever the window's ratio.
	NewestFinishedFailed bool `json:"newest_finished_failed"`
}

// Failing is the failing part of the WorkflowExecutionsFailing condition
// (docs/alerting.md): at least two executions in the window failed
// (confirmed: one failed investigation is not an incident) and the newest
// finished one did (not recovered).
func (x *Executions) Failing() bool {
	return x != nil && x.Failed >= 2 && x.NewestFinishedFailed
}

// PassiveReport is what one passive round saw.
type PassiveReport struct {
	Place     probes.Place    `json:"place,omitzero"` // the pipeline's (Passive.Place)
	At        time.Time       `json:"at"`
	Checks    []Check         `json:"checks"`
	Functions []LambdaRef     `json:"functions"`
	Lambdas   []probes.Result `json:"lambdas"` // probes of discovered, not configured, functions
	// DeadLetters are the probes of the dead-letter queues of the rules'
	// targets and of the definition's functions that are not configured,
	// and Letters their targets (the queue's owner in Owner) with where
	// each was found. Unread are the rules whose targets, and the
	// functions whose configuration, could not be read: the queues they
	// named before are unknown, not gone. With every rule and function
	// read (and the definition), Letters is the whole set.
	DeadLetters []probes.Result `json:"dead_letters,omitempty"`
	Letters     []Letter        `json:"-"`
	Unread      []Source        `json:"-"`
	Executions  *Executions     `json:"executions,omitempty"`
	// DefinitionRead: the state machine's definition was read, so
	// Functions and Lambdas are the whole discovered set (else a failed
	// call left them empty, and the set is unknown, not empty).
	DefinitionRead bool `json:"-"`
}

// OK reports whether every check passed and every discovered function is healthy.
func (r PassiveReport) OK() bool {
	for _, c := range r.Checks {
		if !c.OK {
			return false
		}
	}
	for _, l := range slices.Concat(r.Lambdas, r.DeadLetters) {
		if l.Status != probes.Healthy {
			return false
		}
	}
	return true
}

func (p *Passive) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// Run performs one passive round. It never writes.
func (p *Passive) Run(ctx context.Context) PassiveReport {
	rep := PassiveReport{Place: p.Place, At: p.now()}
	var letters []deadLetter
	for _, rule := range p.Rules {
		checks, dl, read := p.checkRule(ctx, rule)
		rep.Checks = append(rep.Checks, checks...)
		letters = append(letters, dl...)
		if !read {
			rep.Unread = append(rep.Unread, Source{Kind: SourceRule, Name: rule})
		}
	}
	def, c := p.checkStateMachine(ctx)
	rep.Checks = append(rep.Checks, c)
	if def != "" {
		rep.DefinitionRead = true
		refs, err := ParseASL(def)
		if err != nil {
			rep.Checks = append(rep.Checks, Check{Name: "definition", Resource: p.StateMachine, Reason: err.Error()})
		}
		rep.Functions = refs
		lambdas, dl, unread := p.probeFunctions(ctx, refs)
		rep.Lambdas, letters, rep.Unread = lambdas, append(letters, dl...), append(rep.Unread, unread...)
	}
	// The rules' queues first: a queue a rule's target and a function
	// both name is the rule's.
	rep.DeadLetters, rep.Letters = p.probeDeadLetters(ctx, letters)
	if c.OK {
		ex, check := p.executions(ctx)
		rep.Executions = ex
		rep.Checks = append(rep.Checks, check)
	}
	return rep
}

func failed(name, resource string, err error, d time.Duration, what string) Check {
	class, code, rid := probes.Classify(err)
	c := Check{Name: name, Resource: resource, Reason: what + ": " + errText(err), Class: class, Code: code, RequestID: rid, Duration: d}
	// A pipeline whose account's role cannot be assumed: nothing reached
	// the account, and the role's trust is what to fix (probes.Classify
	// has made it auth).
	var assume *awsclient.AssumeRoleError
	if errors.As(err, &assume) {
		c.Hint = "socmond could not assume the role of this pipeline's account, so nothing was sent to it: " + assume.Hint()
	}
	return c
}

// errText is an SDK error without the request-id noise the Check carries separately.
func errText(err error) string {
	s := err.Error()
	if i := strings.Index(s, "api error "); i >= 0 {
		return s[i+len("api error "):]
	}
	return s
}

// deadLetter is a queue a rule's target or a function sends what it
// cannot deliver to, the owner its hint names, and where it was found.
type deadLetter struct {
	arn, owner string
	from       Source
}

// Source is where the workflow found a dead-letter queue: a rule's
// targets or a function's configuration.
type Source struct {
	Kind string // SourceRule or SourceFunction
	Name string // the rule's or the function's name
}

// The kinds of Source.
const (
	SourceRule     = "rule"
	SourceFunction = "function"
)

// Letter is a dead-letter queue the workflow probes: its target (the
// queue's owner in Owner) and where it was found.
type Letter struct {
	Target config.Target
	From   Source
}

// checkRule checks a rule is enabled and targets the state machine, and
// returns its targets' dead-letter queues; read is false when its targets
// could not be listed.
func (p *Passive) checkRule(ctx context.Context, rule string) (checks []Check, letters []deadLetter, read bool) {
	start := time.Now()
	out, err := p.Events.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String(rule), EventBusName: nonEmpty(p.EventBus)})
	if err != nil {
		return []Check{failed("rule_enabled", rule, err, time.Since(start), "DescribeRule failed")}, nil, false
	}
	enabled := Check{Name: "rule_enabled", Resource: rule, Duration: time.Since(start)}
	switch state := string(out.State); {
	case strings.HasPrefix(state, "ENABLED"):
		enabled.OK, enabled.Reason = true, "rule is "+state
	default:
		enabled.Reason = "rule is " + state + ": alerts sent to the bus never reach the state machine (aws events enable-rule --name " + rule + ")"
	}
	start = time.Now()
	targets, err := p.Events.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String(rule), EventBusName: nonEmpty(p.EventBus)})
	if err != nil {
		return []Check{enabled, failed("rule_target", rule, err, time.Since(start), "ListTargetsByRule failed")}, nil, false
	}
	target := Check{Name: "rule_target", Resource: rule, Duration: time.Since(start)}
	var arns []string
	for _, t := range targets.Targets {
		arns = append(arns, aws.ToString(t.Arn))
		if t.DeadLetterConfig != nil && aws.ToString(t.DeadLetterConfig.Arn) != "" {
			letters = append(letters, deadLetter{aws.ToString(t.DeadLetterConfig.Arn),
				fmt.Sprintf("rule %s's target %s (%s)", rule, aws.ToString(t.Id), aws.ToString(t.Arn)), Source{SourceRule, rule}})
		}
	}
	if slices.Contains(arns, p.StateMachine) {
		target.OK, target.Reason = true, "targets "+p.StateMachine
	} else {
		target.Reason = fmt.Sprintf("does not target %s (targets: %s)", p.StateMachine, strings.Join(arns, ", "))
		if len(arns) == 0 {
			target.Reason = "has no targets; it should target " + p.StateMachine
		}
	}
	return []Check{enabled, target}, letters, true
}

// probeDeadLetters checks each dead-letter queue once (the first target
// or function naming it owns it) with its service's probe.
func (p *Passive) probeDeadLetters(ctx context.Context, letters []deadLetter) ([]probes.Result, []Letter) {
	if p.DeadLetter == nil {
		return nil, nil
	}
	var results []probes.Result
	var targets []Letter
	seen := map[string]bool{}
	for _, l := range letters {
		if seen[l.arn] {
			continue
		}
		seen[l.arn] = true
		t, probe, ok := p.DeadLetter(l.arn, l.owner)
		if !ok {
			continue
		}
		targets = append(targets, Letter{Target: t, From: l.from})
		results = append(results, probes.Run(ctx, probe, probes.Options{Timeout: t.Timeout, SlowThreshold: t.ResponseTimeThreshold, Now: p.Now}))
	}
	return results, targets
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

func (p *Passive) checkStateMachine(ctx context.Context) (string, Check) {
	start := time.Now()
	out, err := p.SFN.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(p.StateMachine)})
	if err != nil {
		return "", failed("state_machine_type", p.StateMachine, err, time.Since(start), "DescribeStateMachine failed")
	}
	c := Check{Name: "state_machine_type", Resource: p.StateMachine, Duration: time.Since(start)}
	if out.Type == types.StateMachineTypeStandard {
		c.OK, c.Reason = true, "STANDARD, "+string(out.Status)
	} else {
		c.Reason = "type is " + string(out.Type) + ": executions of EXPRESS machines cannot be listed or followed, so socmond cannot see failures"
	}
	return aws.ToString(out.Definition), c
}

// probeFunctions runs the ordinary Lambda probe on every discovered function
// that is not configured (and so not probed) already, and returns the
// dead-letter targets of all the definition's functions, configured or
// not, and the functions whose configuration could not be read. The
// probe's own GetFunctionConfiguration answer names a probed function's
// target; a configured function's takes one call of the workflow's own.
func (p *Passive) probeFunctions(ctx context.Context, refs []LambdaRef) ([]probes.Result, []deadLetter, []Source) {
	if p.Lambda == nil {
		return nil, nil, nil
	}
	timeout := p.LambdaTimeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	var out []probes.Result
	var letters []deadLetter
	var unread []Source
	for _, fn := range Functions(refs) {
		seen := &configSeen{LambdaAPI: p.Lambda}
		if slices.ContainsFunc(p.Configured, func(c string) bool { return FunctionName(c) == fn }) {
			if p.DeadLetter == nil {
				continue
			}
			// Probed on its own schedule, which reports a failure to read
			// it: here a failure only leaves its queue unknown.
			cctx, cancel := context.WithTimeout(ctx, timeout)
			_, _ = seen.GetFunctionConfiguration(cctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(fn)})
			cancel()
		} else {
			probe := probes.Placed(probes.NewLambdaFunction(seen, fn), p.Place)
			out = append(out, probes.Run(ctx, probe, probes.Options{Timeout: timeout, Now: p.Now}))
		}
		switch {
		case seen.out == nil:
			unread = append(unread, Source{SourceFunction, fn})
		case seen.out.DeadLetterConfig != nil && aws.ToString(seen.out.DeadLetterConfig.TargetArn) != "":
			letters = append(letters, deadLetter{aws.ToString(seen.out.DeadLetterConfig.TargetArn), "function " + fn, Source{SourceFunction, fn}})
		}
	}
	return out, letters, unread
}

// configSeen is the Lambda client keeping the configuration it last read:
// the function probe's answer names the function's dead-letter target
// too, so one call serves both, and the probe still returns only its
// Result.
type configSeen struct {
	probes.LambdaAPI
	out *lambda.GetFunctionConfigurationOutput
}

func (c *configSeen) GetFunctionConfiguration(ctx context.Context, in *lambda.GetFunctionConfigurationInput, optFns ...func(*lambda.Options)) (*lambda.GetFunctionConfigurationOutput, error) {
	out, err := c.LambdaAPI.GetFunctionConfiguration(ctx, in, optFns...)
	if err == nil {
		c.out = out
	}
	return out, err
}

// maxExecutionPages bounds one round's listing (100 per page).
const maxExecutionPages = 10

func (p *Passive) executions(ctx context.Context) (*Executions, Check) {
	start := time.Now()
	since := p.now().Add(-p.Window)
	ex := &Executions{Window: p.Window, Counts: map[string]int{}}
	var newestFailed *types.ExecutionListItem
	finishedSeen := false
	var token *string
	for page := 0; page < maxExecutionPages; page++ {
		out, err := p.SFN.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(p.StateMachine), MaxResults: 100, NextToken: token})
		if err != nil {
			return nil, failed("executions", p.StateMachine, err, time.Since(start), "ListExecutions failed")
		}
		done := false
		for i := range out.Executions {
			x := &out.Executions[i]
			if aws.ToTime(x.StartDate).Before(since) {
				done = true // newest first: everything after this is older
				break
			}
			ex.Counts[string(x.Status)]++
			ex.Total++
			failed := false
			switch x.Status {
			case types.ExecutionStatusFailed, types.ExecutionStatusTimedOut, types.ExecutionStatusAborted:
				failed = true
				ex.Failed++
				if newestFailed == nil {
					newestFailed = x
				}
			}
			if x.Status != types.ExecutionStatusRunning && x.Status != types.ExecutionStatusPendingRedrive && !finishedSeen {
				finishedSeen, ex.NewestFinishedFailed = true, failed
			}
		}
		if done || out.NextToken == nil {
			break
		}
		token = out.NextToken
	}
	if ex.Total > 0 {
		ex.FailureRatio = float64(ex.Failed) / float64(ex.Total)
	}
	c := Check{Name: "executions", Resource: p.StateMachine, OK: ex.FailureRatio <= p.MaxFailureRatio,
		Reason: fmt.Sprintf("%d executions in the last %s, %d failed", ex.Total, p.Window, ex.Failed)}
	if newestFailed != nil {
		ex.NewestFailure = p.describeFailure(ctx, newestFailed)
		f := ex.NewestFailure
		c.Reason += fmt.Sprintf("; newest failure in state %q: %s: %s", f.State, f.Error, f.Cause)
	}
	c.Duration = time.Since(start)
	return ex, c
}

// describeFailure finds the failed state, error and cause of an execution.
func (p *Passive) describeFailure(ctx context.Context, x *types.ExecutionListItem) *Failure {
	f := &Failure{ExecutionArn: aws.ToString(x.ExecutionArn), Status: string(x.Status), Stop: aws.ToTime(x.StopDate)}
	if d, err := p.SFN.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: x.ExecutionArn}); err == nil {
		f.Error, f.Cause = aws.ToString(d.Error), aws.ToString(d.Cause)
	}
	events, err := history(ctx, p.SFN, x.ExecutionArn)
	if err != nil {
		return f
	}
	entered, inFail, found := "", false, false
	for _, ev := range events {
		if d := ev.StateEnteredEventDetails; d != nil {
			entered, inFail = aws.ToString(d.Name), ev.Type == types.HistoryEventTypeFailStateEntered
		}
		if d := ev.ExecutionFailedEventDetails; d != nil && inFail {
			// The execution ended in a Fail state, reached through a
			// Choice or a Catch: that state and the error and cause it set
			// are why it failed. A task failure before it was caught; its
			// error stands only if the Fail state sets none.
			f.State = entered
			if e := aws.ToString(d.Error); e != "" {
				f.Error, f.Cause = e, aws.ToString(d.Cause)
			}
			break
		}
		if e, c, ok := failureOf(ev); ok && !found {
			found, f.State = true, entered
			if f.Error == "" {
				f.Error, f.Cause = e, c
			}
		}
	}
	return f
}

// failureOf returns the error and cause of a failed task or Lambda event.
func failureOf(ev types.HistoryEvent) (string, string, bool) {
	switch {
	case ev.TaskFailedEventDetails != nil:
		return aws.ToString(ev.TaskFailedEventDetails.Error), aws.ToString(ev.TaskFailedEventDetails.Cause), true
	case ev.TaskTimedOutEventDetails != nil:
		return aws.ToString(ev.TaskTimedOutEventDetails.Error), aws.ToString(ev.TaskTimedOutEventDetails.Cause), true
	case ev.LambdaFunctionFailedEventDetails != nil:
		return aws.ToString(ev.LambdaFunctionFailedEventDetails.Error), aws.ToString(ev.LambdaFunctionFailedEventDetails.Cause), true
	case ev.LambdaFunctionTimedOutEventDetails != nil:
		return aws.ToString(ev.LambdaFunctionTimedOutEventDetails.Error), aws.ToString(ev.LambdaFunctionTimedOutEventDetails.Cause), true
	case ev.LambdaFunctionScheduleFailedEventDetails != nil:
		return aws.ToString(ev.LambdaFunctionScheduleFailedEventDetails.Error), aws.ToString(ev.LambdaFunctionScheduleFailedEventDetails.Cause), true
	case ev.LambdaFunctionStartFailedEventDetails != nil:
		return aws.ToString(ev.LambdaFunctionStartFailedEventDetails.Error), aws.ToString(ev.LambdaFunctionStartFailedEventDetails.Cause), true
	}
	return "", "", false
}

// history reads an execution's whole history, oldest first.
func history(ctx context.Context, c SFNAPI, arn *string) ([]types.HistoryEvent, error) {
	var out []types.HistoryEvent
	var token *string
	for range 20 {
		h, err := c.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: arn, MaxResults: 1000, NextToken: token, IncludeExecutionData: aws.Bool(true)})
		if err != nil {
			return nil, err
		}
		out = append(out, h.Events...)
		if h.NextToken == nil {
			break
		}
		token = h.NextToken
	}
	return out, nil
}

// inputMatches reports whether an execution input is the envelope of the
// canary's event: detail.investigationId, or the event id.
func inputMatches(input, investigationID, eventID string) bool {
	var env struct {
		ID     string `json:"id"`
		Detail struct {
			InvestigationID string `json:"investigationId"`
		} `json:"detail"`
	}
	if json.Unmarshal([]byte(input), &env) != nil {
		return false
	}
	return env.Detail.InvestigationID == investigationID || (eventID != "" && env.ID == eventID)
}
