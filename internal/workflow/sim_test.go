package workflow

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/socmond/socmond/internal/awsclient"
	"github.com/socmond/socmond/internal/awssim"
	"github.com/socmond/socmond/internal/probes"
	"github.com/socmond/socmond/internal/testenv"
)

const (
	tTable    = "soc-investigations"
	tArtifact = "soc-artifacts"
	tAudit    = "soc-audit"
	tKey      = "alias/soc"
	tBus      = "soc-bus"
	tRule     = "soc-alerts"
	tMachine  = "arn:aws:states:us-east-1:123456789012:stateMachine:soc-pipeline"
)

var tFunctions = []string{"soc-ingest", "soc-analyze", "soc-store"}

// env is a simulator seeded with the whole pipeline and SDK clients for it.
type env struct {
	sim *awssim.Sim
	c   *awsclient.Clients
}

func startEnv(t *testing.T, definition string) *env {
	t.Helper()
	seed := awssim.Seed{
		Tables: []string{tTable}, TableKeys: map[string]string{tTable: "investigationId"},
		Buckets: []string{tArtifact}, AuditBuckets: []string{tAudit}, Keys: []string{tKey},
		EventBuses: []string{tBus}, StateMachines: []string{tMachine}, Functions: tFunctions,
		Rules:    []awssim.Rule{{Name: tRule, EventBus: tBus, EventPattern: `{"source":["socmond.probe"],"detail-type":["SyntheticInvestigation"]}`, Targets: []string{tMachine}}},
		Pipeline: &awssim.Pipeline{Table: tTable, ArtifactsBucket: tArtifact, AuditBucket: tAudit, StageDuration: 5 * time.Millisecond},
	}
	if definition != "" {
		seed.Definitions = map[string]string{tMachine: definition}
	}
	return startSim(t, seed)
}

// startSim starts the simulator on seed, with SDK clients for it.
func startSim(t *testing.T, seed awssim.Seed) *env {
	t.Helper()
	sim, url := awssim.Serve(t, seed)
	c, err := awsclient.New(context.Background(), awsclient.Options{Region: "us-east-1", Endpoint: url,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDWORKFLOWTEST", "workflow-test-secret", "")})
	if err != nil {
		t.Fatal(err)
	}
	return &env{sim: sim, c: c}
}

func (e *env) canary(timeout time.Duration) *Canary {
	return &Canary{
		Spec: CanarySpec{
			EventBus: tBus, Source: "socmond.probe", DetailType: "SyntheticInvestigation", Tenant: "canary",
			StateMachine: tMachine, Table: tTable, KeyAttribute: "investigationId", KeyTemplate: "{investigation_id}",
			AnalysisAttribute: "analysis", ArtifactsBucket: tArtifact, ArtifactKey: "investigations/{tenant}/{investigation_id}/report.json",
			AuditBucket: tAudit, AuditKey: "audit/{tenant}/{investigation_id}.json", CompliancePrefix: "compliance/{tenant}/{investigation_id}/",
			KMSKey: tKey, MinRetentionDays: 2555, Timeout: timeout, FindTimeout: 2 * time.Second,
		},
		Events: e.c.EventBridge, SFN: e.c.SFN, DynamoDB: e.c.DynamoDB, S3: e.c.S3, KMS: e.c.KMS,
	}
}

func statuses(r CanaryReport) string {
	var out []string
	for _, s := range r.Steps {
		out = append(out, s.Name+"="+s.Status)
	}
	return strings.Join(out, " ")
}

func TestCanaryCleanRunPassesAllEightSteps(t *testing.T) {
	e := startEnv(t, "")
	var progress []StepResult
	rep := e.canary(20*time.Second).Run(context.Background(), func(s StepResult) { progress = append(progress, s) })
	if !rep.Passed || len(rep.Steps) != 8 {
		t.Fatalf("clean run: %s\n%+v", statuses(rep), rep.Steps)
	}
	for i, s := range rep.Steps {
		if s.Number != i+1 || s.Name != Steps[i].Name || s.Status != Passed || s.Reason == "" {
			t.Errorf("step %d: %+v", i+1, s)
		}
	}
	if !strings.HasPrefix(rep.InvestigationID, "INV-CANARY-") || len(rep.InvestigationID) != len("INV-CANARY-")+26 {
		t.Errorf("investigation id %q", rep.InvestigationID)
	}
	if len(rep.Stages) != 3 {
		t.Fatalf("stages %+v", rep.Stages)
	}
	for i, st := range rep.Stages {
		if st.Function != tFunctions[i] || st.Status != "succeeded" || st.Duration <= 0 {
			t.Errorf("stage %d %+v", i, st)
		}
	}
	// Every step announced its start and its end.
	if len(progress) != 16 || progress[0].Status != Running || progress[1].Status != Passed {
		t.Errorf("progress %d events: %+v", len(progress), progress[:2])
	}
}

func TestCanaryFaultFailsTheRightStep(t *testing.T) {
	cases := map[string]struct {
		fault  awssim.Fault
		step   string
		reason string
	}{
		"rule disabled":        {awssim.Fault{Service: "eventbridge", Resource: tRule, State: "DISABLED"}, StepExecution, "no execution"},
		"put events throttled": {awssim.Fault{Service: "eventbridge", Error: "ThrottlingException"}, StepPutEvent, "ThrottlingException"},
		"stage failing":        {awssim.Fault{Service: "lambda", Resource: "soc-analyze", Error: "ServiceException"}, StepLambdaStages, "soc-analyze"},
		"analysis skipped":     {awssim.Fault{Service: "pipeline", State: "ANALYSIS_SKIPPED"}, StepAnalysis, `attribute "analysis" missing`},
		"item not written":     {awssim.Fault{Service: "pipeline", State: "ITEM_NOT_WRITTEN"}, StepRecord, "no item"},
		"artifact missing":     {awssim.Fault{Service: "pipeline", State: "ARTIFACT_MISSING"}, StepArtifact, "not found"},
		"artifact unencrypted": {awssim.Fault{Service: "pipeline", State: "ARTIFACT_UNENCRYPTED"}, StepArtifact, `"AES256", not SSE-KMS`},
		"audit missing":        {awssim.Fault{Service: "pipeline", State: "AUDIT_MISSING"}, StepAuditRetained, "not found"},
		"retention too short":  {awssim.Fault{Service: "pipeline", State: "RETENTION_SHORT"}, StepAuditRetained, "the minimum is 2555 days"},
		"compliance missing":   {awssim.Fault{Service: "pipeline", State: "COMPLIANCE_MISSING"}, StepCompliance, "compliance artifact was not generated"},
	}
	for name, tc := range cases {
		// Not parallel: the clients share one keep-alive pool, and a port
		// reused by the next simulator would meet a dead pooled connection.
		t.Run(name, func(t *testing.T) {
			e := startEnv(t, "")
			e.sim.AddFault(tc.fault)
			rep := e.canary(20*time.Second).Run(context.Background(), nil)
			if rep.Passed || rep.TimedOut {
				t.Fatalf("want a failure: %s", statuses(rep))
			}
			var failed []StepResult
			for _, s := range rep.Steps {
				if s.Status == Failed {
					failed = append(failed, s)
				}
			}
			if len(failed) != 1 || failed[0].Name != tc.step || !strings.Contains(failed[0].Reason, tc.reason) {
				t.Fatalf("want only %s failing with %q: %s\n%+v", tc.step, tc.reason, statuses(rep), failed)
			}
			if len(rep.Steps) != 8 {
				t.Fatalf("want 8 steps, got %s", statuses(rep))
			}
		})
	}
}

func TestCanaryTimeoutIsReportedAsSuch(t *testing.T) {
	e := startEnv(t, "")
	e.sim.AddFault(awssim.Fault{Service: "lambda", Resource: "soc-store", Latency: "30s"})
	rep := e.canary(1500*time.Millisecond).Run(context.Background(), nil)
	s, ok := rep.FailedStep()
	if rep.Passed || !rep.TimedOut || !ok || s.Name != StepExecution || !strings.Contains(s.Reason, "timed out") || !strings.Contains(s.Reason, "still RUNNING") {
		t.Fatalf("want a timeout in step 2: timed_out=%v %+v", rep.TimedOut, s)
	}
}

func TestPassiveSeesRulesMachineFunctionsAndFailures(t *testing.T) {
	def := `{"StartAt":"Ingest","States":{
	  "Ingest":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"soc-ingest"},"Next":"Fan"},
	  "Fan":{"Type":"Parallel","Branches":[{"StartAt":"Analyze","States":{"Analyze":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:soc-analyze","End":true}}}],"Next":"Store"},
	  "Store":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"soc-store"},"End":true}}}`
	e := startEnv(t, def)
	// One execution fails in the direct-ARN stage, one succeeds after it.
	e.sim.AddFault(awssim.Fault{Service: "lambda", Resource: "soc-analyze", Error: "ServiceException", Count: 1})
	c := e.canary(20 * time.Second)
	if rep := c.Run(context.Background(), nil); rep.Passed {
		t.Fatalf("first run should fail: %s", statuses(rep))
	} else if s, _ := rep.FailedStep(); s.Name != StepLambdaStages || !strings.Contains(s.Reason, "stage Analyze (soc-analyze) failed") {
		t.Fatalf("direct-ARN failure: %+v", s)
	}
	if rep := c.Run(context.Background(), nil); !rep.Passed {
		t.Fatalf("second run: %s %+v", statuses(rep), rep.Steps)
	}

	p := &Passive{Events: e.c.EventBridge, SFN: e.c.SFN, Lambda: e.c.Lambda, EventBus: tBus, Rules: []string{tRule},
		StateMachine: tMachine, Window: time.Hour, Configured: []string{"soc-ingest"}}
	rep := p.Run(context.Background())
	byName := map[string]Check{}
	for _, c := range rep.Checks {
		byName[c.Name] = c
	}
	if !byName["rule_enabled"].OK || !byName["rule_target"].OK || !byName["state_machine_type"].OK {
		t.Fatalf("checks %+v", rep.Checks)
	}
	if got := Functions(rep.Functions); strings.Join(got, ",") != "soc-analyze,soc-ingest,soc-store" {
		t.Errorf("discovered %v", got)
	}
	if len(rep.Lambdas) != 2 || rep.Lambdas[0].Status != probes.Healthy {
		t.Errorf("probed discovered functions (not the configured one): %+v", rep.Lambdas)
	}
	x := rep.Executions
	if x == nil || x.Total != 2 || x.Failed != 1 || x.Counts["SUCCEEDED"] != 1 || x.FailureRatio != 0.5 {
		t.Fatalf("executions %+v", x)
	}
	if f := x.NewestFailure; f == nil || f.State != "Analyze" || f.Error != "Lambda.ServiceException" || !strings.Contains(f.Cause, "soc-analyze") {
		t.Fatalf("newest failure %+v", x.NewestFailure)
	}
	if byName["executions"].OK || rep.OK() {
		t.Errorf("a failed execution should fail the round: %+v", byName["executions"])
	}

	e.sim.AddFault(awssim.Fault{Service: "eventbridge", Resource: tRule, State: "DISABLED"})
	rep = p.Run(context.Background())
	if c := rep.Checks[0]; c.Name != "rule_enabled" || c.OK || !strings.Contains(c.Reason, "DISABLED") {
		t.Fatalf("disabled rule %+v", c)
	}
}

// An execution that ends in a Fail state failed there, with the error and
// cause the Fail state set: whether a Catch led it there after a task
// failed, or a Choice did without any task failing.
func TestPassiveNamesTheFailState(t *testing.T) {
	const failState = `"Investigation failed":{"Type":"Fail","Error":"InvestigationFailed","Cause":"the analysis stage failed"}`
	for name, tc := range map[string]struct {
		definition string
		fault      *awssim.Fault
	}{
		"caught task failure": {
			definition: `{"StartAt":"Analyze","States":{
			  "Analyze":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"soc-analyze"},
			    "Catch":[{"ErrorEquals":["States.ALL"],"Next":"Investigation failed"}],"Next":"Store"},
			  "Store":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"soc-store"},"End":true},
			  ` + failState + `}}`,
			fault: &awssim.Fault{Service: "lambda", Resource: "soc-analyze", Error: "ServiceException", Count: 1},
		},
		"choice": {
			definition: `{"StartAt":"Analyze","States":{
			  "Analyze":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"soc-analyze"},"Next":"Verdict"},
			  "Verdict":{"Type":"Choice","Choices":[{"Variable":"$.ok","BooleanEquals":true,"Next":"Done"}],"Default":"Investigation failed"},
			  "Done":{"Type":"Succeed"},
			  ` + failState + `}}`,
		},
	} {
		t.Run(name, func(t *testing.T) {
			e := startEnv(t, tc.definition)
			if tc.fault != nil {
				e.sim.AddFault(*tc.fault)
			}
			x, err := e.c.SFN.StartExecution(context.Background(), &sfn.StartExecutionInput{StateMachineArn: aws.String(tMachine)})
			if err != nil {
				t.Fatal(err)
			}
			testenv.Eventually(t, "the execution to end", func() bool {
				d, err := e.c.SFN.DescribeExecution(context.Background(), &sfn.DescribeExecutionInput{ExecutionArn: x.ExecutionArn})
				return err == nil && d.Status != sfntypes.ExecutionStatusRunning
			})

			p := &Passive{Events: e.c.EventBridge, SFN: e.c.SFN, StateMachine: tMachine, Window: time.Hour}
			ex, check := p.executions(context.Background())
			f := ex.NewestFailure
			if f == nil || f.Status != "FAILED" || f.State != "Investigation failed" || f.Error != "InvestigationFailed" || f.Cause != "the analysis stage failed" {
				t.Fatalf("newest failure %+v, want the Fail state with its error and cause", f)
			}
			if !strings.Contains(check.Reason, `state "Investigation failed": InvestigationFailed: the analysis stage failed`) {
				t.Errorf("reason %q", check.Reason)
			}
		})
	}
}
