package workflow

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// listOnly answers ListExecutions with fixed executions, newest first, and
// nothing else (a failed execution's details are not needed here).
type listOnly struct {
	SFNAPI
	items []types.ExecutionListItem
}

func (l listOnly) ListExecutions(context.Context, *sfn.ListExecutionsInput, ...func(*sfn.Options)) (*sfn.ListExecutionsOutput, error) {
	return &sfn.ListExecutionsOutput{Executions: l.items}, nil
}

func (l listOnly) DescribeExecution(context.Context, *sfn.DescribeExecutionInput, ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error) {
	return &sfn.DescribeExecutionOutput{}, nil
}

func (l listOnly) GetExecutionHistory(context.Context, *sfn.GetExecutionHistoryInput, ...func(*sfn.Options)) (*sfn.GetExecutionHistoryOutput, error) {
	return &sfn.GetExecutionHistoryOutput{}, nil
}

// WorkflowExecutionsFailing's failing part (docs/alerting.md): two failed
// executions in the window, and the newest finished one failed; a pipeline
// that recovered is not failing though its window still holds failures.
func TestExecutionsFailing(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	tests := map[string]struct {
		statuses string // newest first: R running, S succeeded, F failed, T timed out
		want     bool
	}{
		"failing now, twice":                {"FFSSS", true},
		"a run in progress does not decide": {"RRTFS", true},
		"recovered: the newest finished ok": {"SFFFF", false},
		"one failure is not confirmed":      {"FSSSS", false},
		"nothing finished":                  {"RR", false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var items []types.ExecutionListItem
			for i, c := range tc.statuses {
				st := map[rune]types.ExecutionStatus{'R': types.ExecutionStatusRunning, 'S': types.ExecutionStatusSucceeded,
					'F': types.ExecutionStatusFailed, 'T': types.ExecutionStatusTimedOut}[c]
				items = append(items, types.ExecutionListItem{ExecutionArn: aws.String("arn:x:" + string(c)), Status: st,
					StartDate: aws.Time(now.Add(-time.Duration(i+1) * time.Minute))})
			}
			p := &Passive{SFN: listOnly{items: items}, StateMachine: "arn:sm", Window: time.Hour, MaxFailureRatio: 0.1,
				Now: func() time.Time { return now }}
			x, _ := p.executions(context.Background())
			if got := x.Failing(); got != tc.want {
				t.Fatalf("Failing() = %v, want %v (%+v)", got, tc.want, x)
			}
		})
	}
	var none *Executions
	if none.Failing() {
		t.Fatal("no executions listed is failing")
	}
}
