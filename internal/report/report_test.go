package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/socmond/socmond/internal/probes"
)

func results() []Section {
	return []Section{{Title: "Service Health", Rows: ProbeRows([]probes.Result{
		{Target: probes.Target{Service: "bedrock", Resource: "anthropic.claude-3-haiku-20240307-v1:0"}, Check: "GetFoundationModel", Status: probes.Healthy, Duration: 150200 * time.Microsecond},
		{Target: probes.Target{Service: "dynamodb", Resource: "AsiaAgenticSocMetrics-dev"}, Check: "DescribeTable", Status: probes.Degraded, Class: probes.ClassThrottled, Code: "ThrottlingException", RequestID: "REQ1", Hint: "Request a quota increase", Duration: 12 * time.Millisecond},
	})}}
}

func TestText(t *testing.T) {
	var b bytes.Buffer
	if err := Text(&b, "AWS Service Integration Validation", results(), false); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		" AWS Service Integration Validation\n",
		"✅ PASS Amazon Bedrock Health    anthropic.claude-3-haiku-20240307-v1:0: Response time: 150.2ms",
		"❌ FAIL DynamoDB Health          AsiaAgenticSocMetrics-dev: ThrottlingException (degraded, throttled, 12.0ms) [request id REQ1] — Request a quota increase",
		"Overall: FAIL (1 of 2 checks passed)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b[") {
		t.Error("colour codes without colour")
	}
	b.Reset()
	_ = Text(&b, "t", results(), true)
	if !strings.Contains(b.String(), "\x1b[31mFAIL\x1b[0m") {
		t.Errorf("no colour with colour on:\n%s", b.String())
	}
}

func TestAllPassed(t *testing.T) {
	s := results()
	if AllPassed(s) {
		t.Fatal("a degraded result must fail the round")
	}
	s[0].Rows = s[0].Rows[:1]
	if !AllPassed(s) {
		t.Fatal("all healthy must pass")
	}
}

func TestJSON(t *testing.T) {
	var b bytes.Buffer
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	if err := JSON(&b, "v", "1.0", now, results()); err != nil {
		t.Fatal(err)
	}
	var rep JSONReport
	if err := json.Unmarshal(b.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Pass || rep.Total != 2 || rep.Failed != 1 || rep.GeneratedAt != "2026-11-27T12:00:00Z" {
		t.Fatalf("report = %+v", rep)
	}
	r := rep.Results[1]
	if r.Pass || r.Class != "throttled" || r.Code != "ThrottlingException" || r.RequestID != "REQ1" || r.DurationSeconds != 0.012 || r.Section != "Service Health" {
		t.Fatalf("result = %+v", r)
	}
}

func TestNotApplicableDoesNotFail(t *testing.T) {
	s := []Section{{Title: "Encryption Compliance", Rows: []Row{
		{Name: "KMS key rotation", Resource: "alias/aws/s3", Verdict: NotApplicable, Summary: "AWS-managed key rotates itself"},
		{Name: "S3 Object Lock", Resource: "audit", Verdict: Pass, Summary: "COMPLIANCE 7 years"},
	}}}
	if !AllPassed(s) {
		t.Fatal("N/A must not fail the round")
	}
	var b bytes.Buffer
	_ = Text(&b, "t", s, false)
	if !strings.Contains(b.String(), "➖ N/A  KMS key rotation") || !strings.Contains(b.String(), "Overall: PASS (1 of 1 checks passed)") {
		t.Fatalf("text:\n%s", b.String())
	}
}

// TestUnknownFailsTheRound: a check that could not read its facts is not a
// FAIL, but it is no pass either: validate exits 1 and says UNKNOWN.
func TestUnknownFailsTheRound(t *testing.T) {
	s := []Section{{Title: "Encryption Compliance", Rows: []Row{
		{Name: "DynamoDB KMS encryption", Resource: "T", Verdict: Unknown, Summary: "could not read the facts: DescribeTable failed (ThrottlingException)",
			Class: "throttled", Code: "ThrottlingException", RequestID: "REQ9", Hint: "AWS throttled dynamodb:DescribeTable"},
		{Name: "S3 Object Lock", Resource: "audit", Verdict: Pass, Summary: "COMPLIANCE 7 years"},
	}}}
	if AllPassed(s) {
		t.Fatal("an UNKNOWN must fail the round")
	}
	var b bytes.Buffer
	_ = Text(&b, "t", s, false)
	for _, want := range []string{
		"❔ UNKNOWN DynamoDB KMS encryption  T: could not read the facts: DescribeTable failed (ThrottlingException) [request id REQ9] — AWS throttled dynamodb:DescribeTable",
		"Overall: UNKNOWN (1 of 2 checks passed, 1 unknown)",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, b.String())
		}
	}
	// A FAIL outweighs an UNKNOWN.
	s[0].Rows[1].Verdict = Fail
	b.Reset()
	_ = Text(&b, "t", s, false)
	if !strings.Contains(b.String(), "Overall: FAIL (0 of 2 checks passed, 1 unknown)") {
		t.Errorf("text:\n%s", b.String())
	}
	b.Reset()
	if err := JSON(&b, "t", "1", time.Now(), s); err != nil {
		t.Fatal(err)
	}
	var rep JSONReport
	if err := json.Unmarshal(b.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Pass || rep.Total != 2 || rep.Failed != 1 || rep.Unknown != 1 || rep.Results[0].Pass || rep.Results[0].Verdict != Unknown {
		t.Fatalf("json report = %+v", rep)
	}
}

// TestPlacedRows: validate's report says where a tenant's pipeline's
// resource is, in the text and in JSON, and nothing new for others.
func TestPlacedRows(t *testing.T) {
	place := probes.Place{Tenant: "acme", Account: "111111111111", Region: "ap-east-1"}
	s := []Section{{Title: "Service Health", Rows: ProbeRows([]probes.Result{
		{Target: probes.Target{Service: "dynamodb", Resource: "investigations", Place: place}, Check: "DescribeTable", Status: probes.Unavailable, Class: probes.ClassAuth},
		{Target: probes.Target{Service: "dynamodb", Resource: "investigations"}, Check: "DescribeTable", Status: probes.Healthy},
	})}}
	var b bytes.Buffer
	if err := Text(&b, "t", s, false); err != nil {
		t.Fatal(err)
	}
	if out := b.String(); !strings.Contains(out, "investigations (tenant acme, account 111111111111, ap-east-1): ") ||
		!strings.Contains(out, "investigations: Response time") {
		t.Errorf("text:\n%s", out)
	}
	b.Reset()
	if err := JSON(&b, "v", "1.0", time.Now(), s); err != nil {
		t.Fatal(err)
	}
	var rep JSONReport
	if err := json.Unmarshal(b.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if r := rep.Results[0]; r.Tenant != "acme" || r.Account != place.Account || r.Region != place.Region || r.Resource != "investigations" {
		t.Errorf("placed row %+v", r)
	}
	if strings.Count(b.String(), `"account"`) != 1 {
		t.Errorf("the unplaced row has an account key:\n%s", b.String())
	}
}
