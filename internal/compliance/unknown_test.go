package compliance_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/socmond/socmond/internal/compliance"
)

// evidenceRunner is a Runner over e's checks writing evidence to the
// audit bucket, with its metrics on reg.
func evidenceRunner(t *testing.T, e *env, reg *prometheus.Registry) *compliance.Runner {
	t.Helper()
	ev := &compliance.Evidence{S3: e.clients.S3, Bucket: audit, Prefix: "socmond/evidence/", KMSKey: key}
	r, err := compliance.NewRunner(compliance.RunnerOptions{Settings: compliance.Settings{Pipelines: []compliance.Pipeline{{Checker: e.checker, Evidence: ev}}, EvidenceSchedule: "@daily"},
		Registerer: reg, Version: "test", Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func lastEvidence(r *compliance.Runner) string {
	w, _ := r.LastEvidence()
	return w.Key
}

// TestUnknownKeepsTheLastKnownVerdict: a table that cannot be read is
// UNKNOWN. Its passed series keeps the last known verdict, the unknown
// series says it is blind, no failure is counted, and no evidence is
// written for it: only a change of known verdict writes one (PASS →
// UNKNOWN → FAIL writes, FAIL → UNKNOWN → FAIL does not). A scheduled
// report lists it as UNKNOWN.
func TestUnknownKeepsTheLastKnownVerdict(t *testing.T) {
	e := newEnv(t)
	reg := prometheus.NewRegistry()
	r := evidenceRunner(t, e, reg)
	series := func(name string) float64 {
		return testutil.ToFloat64(gaugeChild(t, reg, name, compliance.CheckDynamoDBKMS, metTable))
	}
	failures := func() float64 { return series("socmond_compliance_failures_total") }
	round := func(faults ...string) compliance.Finding {
		t.Helper()
		e.sim.ClearFaults()
		for _, f := range faults {
			e.postFault(t, f)
		}
		return find(t, r.RunOnce(t.Context()), compliance.CheckDynamoDBKMS, metTable)
	}
	const (
		throttled  = `{"service":"dynamodb","resource":"` + metTable + `","error":"ThrottlingException"}`
		awsManaged = `{"service":"dynamodb","resource":"` + metTable + `","set":{"KMSMasterKeyArn":"alias/aws/dynamodb"}}`
	)

	if f := round(); f.Verdict != compliance.Pass {
		t.Fatalf("before the fault: %+v", f)
	}
	first := lastEvidence(r)
	if first == "" {
		t.Fatal("the first round wrote no evidence")
	}

	f := round(throttled)
	if f.Verdict != compliance.Unknown || f.Code != "ThrottlingException" || f.RequestID == "" || f.Hint == "" ||
		!strings.Contains(f.Reason, "could not read the facts: DescribeTable failed (ThrottlingException)") {
		t.Fatalf("throttled read: %+v", f)
	}
	if p, u, n := series("socmond_compliance_check_passed"), series("socmond_compliance_check_unknown"), failures(); p != 1 || u != 1 || n != 0 {
		t.Errorf("while UNKNOWN after a PASS: passed %v unknown %v failures %v, want 1 1 0", p, u, n)
	}
	if got := lastEvidence(r); got != first {
		t.Errorf("an UNKNOWN wrote evidence %s", got)
	}

	// The daily report lists the finding as it is: UNKNOWN.
	r.EvidenceRound(t.Context())
	daily := lastEvidence(r)
	v, err := compliance.Verify(t.Context(), e.clients.S3, audit, daily, compliance.ResolveKey(t.Context(), e.clients.KMS, key), compliance.DefaultRetention)
	if err != nil || daily == first {
		t.Fatalf("no scheduled report: %v", err)
	}
	if rf := find(t, v.Report.Findings, compliance.CheckDynamoDBKMS, metTable); rf.Verdict != compliance.Unknown || v.Report.AllPassed {
		t.Errorf("scheduled report: %s, all_passed %v; want UNKNOWN and not all passed", rf.Verdict, v.Report.AllPassed)
	}

	// PASS → UNKNOWN → FAIL: the known verdict changed.
	if f := round(awsManaged); f.Verdict != compliance.Fail {
		t.Fatalf("aws-managed key: %+v", f)
	}
	failed := lastEvidence(r)
	if failed == daily {
		t.Error("a change of known verdict (PASS → FAIL across an UNKNOWN) wrote no evidence")
	}
	if p, u, n := series("socmond_compliance_check_passed"), series("socmond_compliance_check_unknown"), failures(); p != 0 || u != 0 || n != 1 {
		t.Errorf("after the FAIL: passed %v unknown %v failures %v, want 0 0 1", p, u, n)
	}

	// FAIL → UNKNOWN → FAIL: nothing known changed, nothing written.
	if f := round(throttled); f.Verdict != compliance.Unknown {
		t.Fatalf("throttled again: %+v", f)
	}
	if p, n := series("socmond_compliance_check_passed"), failures(); p != 0 || n != 1 {
		t.Errorf("while UNKNOWN after a FAIL: passed %v failures %v, want 0 1", p, n)
	}
	if f := round(awsManaged); f.Verdict != compliance.Fail {
		t.Fatalf("aws-managed key again: %+v", f)
	}
	if got := lastEvidence(r); got != failed {
		t.Errorf("FAIL → UNKNOWN → FAIL wrote evidence %s", got)
	}

	// And back to PASS: a change.
	if f := round(); f.Verdict != compliance.Pass || lastEvidence(r) == failed {
		t.Errorf("recovery: %s, evidence %s", f.Verdict, lastEvidence(r))
	}
}

// TestFirstRoundUnknownWritesNothing: a daemon that starts while AWS
// refuses every read has nothing to report: no evidence, no passed
// series. The first round that reads the facts writes the first report.
func TestFirstRoundUnknownWritesNothing(t *testing.T) {
	e := newEnv(t)
	reg := prometheus.NewRegistry()
	r := evidenceRunner(t, e, reg)
	for _, f := range []string{`{"service":"kms","error":"AccessDeniedException"}`, `{"service":"dynamodb","error":"AccessDeniedException"}`,
		`{"service":"s3","error":"AccessDenied"}`} {
		e.postFault(t, f)
	}
	for _, f := range r.RunOnce(t.Context()) {
		if f.Verdict != compliance.Unknown {
			t.Errorf("%s: %s, want UNKNOWN", f.Key(), f.Verdict)
		}
	}
	if got := lastEvidence(r); got != "" {
		t.Errorf("a round of UNKNOWNs wrote evidence %s", got)
	}
	if n := testutil.CollectAndCount(reg, "socmond_compliance_check_passed"); n != 0 {
		t.Errorf("%d passed series before any verdict was known, want none", n)
	}
	if n := testutil.CollectAndCount(reg, "socmond_compliance_check_unknown"); n != 6 {
		t.Errorf("%d unknown series, want 6", n)
	}
	e.sim.ClearFaults()
	r.RunOnce(t.Context())
	if lastEvidence(r) == "" {
		t.Error("the first round with known verdicts wrote no evidence")
	}
}
