package compliance_test

import (
	"context"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/socmond/socmond/internal/compliance"
	"github.com/socmond/socmond/internal/scheduler"
	"github.com/socmond/socmond/internal/testenv"
)

// countingKMS is the real SDK client, counting rounds (each round asks
// GetKeyRotationStatus once) and calling hook, once, in the middle of the
// next round: a reload that lands while a round is in flight.
type countingKMS struct {
	compliance.KMSAPI
	mu     sync.Mutex
	rounds int
	hook   func()
}

func (k *countingKMS) GetKeyRotationStatus(ctx context.Context, in *kms.GetKeyRotationStatusInput, optFns ...func(*kms.Options)) (*kms.GetKeyRotationStatusOutput, error) {
	k.mu.Lock()
	k.rounds++
	hook := k.hook
	k.hook = nil
	k.mu.Unlock()
	if hook != nil {
		hook()
	}
	return k.KMSAPI.GetKeyRotationStatus(ctx, in, optFns...)
}

func (k *countingKMS) count() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.rounds
}

func (k *countingKMS) onNextRound(fn func()) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.hook = fn
}

// subscriber records what a Runner tells its subscribers.
type subscriber struct {
	mu   sync.Mutex
	seen []compliance.Finding
}

func (s *subscriber) add(f compliance.Finding) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen = append(s.seen, f)
}

func (s *subscriber) since(n int) []compliance.Finding {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]compliance.Finding(nil), s.seen[n:]...)
}

func (s *subscriber) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seen)
}

type reconfEnv struct {
	*env
	kms *countingKMS
	reg *prometheus.Registry
	r   *compliance.Runner
	sub *subscriber
}

// newReconfEnv runs a Runner on the simulator checking tables, on an
// hourly schedule so that only a start, a RunOnce or a Reconfigure starts
// a round during the test. It stops with the test, before the simulator.
func newReconfEnv(t *testing.T, tables ...string) *reconfEnv {
	t.Helper()
	e := &reconfEnv{env: newEnv(t), reg: prometheus.NewRegistry(), sub: &subscriber{}}
	e.kms = &countingKMS{KMSAPI: e.clients.KMS}
	r, err := compliance.NewRunner(compliance.RunnerOptions{Settings: e.settings(tables...), Registerer: e.reg, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	e.r = r
	r.Subscribe(e.sub.add)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() { r.Run(ctx); close(done) }()
	return e
}

// settings are built afresh each time, as a reload builds them.
func (e *reconfEnv) settings(tables ...string) compliance.Settings {
	return compliance.Settings{Schedule: "@every 1h", Pipelines: []compliance.Pipeline{{Checker: &compliance.Checker{
		KMS: e.kms, DynamoDB: e.clients.DynamoDB, S3: e.clients.S3, Timeout: e.checker.Timeout,
		Targets: compliance.Targets{KMSKey: key, Tables: append([]string(nil), tables...), Buckets: []string{audit},
			AuditBucket: audit, MinRetention: compliance.DefaultRetention},
	}}}}
}

func (e *reconfEnv) has(check, resource string) bool {
	for _, f := range e.r.Findings() {
		if f.Check == check && f.Resource == resource {
			return true
		}
	}
	return false
}

func (e *reconfEnv) series(t *testing.T, resource string) int {
	t.Helper()
	n := 0
	for _, name := range []string{"socmond_compliance_check_passed", "socmond_compliance_last_run_timestamp_seconds", "socmond_compliance_failures_total"} {
		if testenv.MetricValue(t, e.reg, name, testenv.Labels("resource", resource)) != -1 {
			n++
		}
	}
	return n
}

// TestReconfigureTargets: an added table is checked at once (the schedule
// is hourly), and a removed one loses its finding, its three series, and
// gets a last NOT_APPLICABLE finding so subscribers clear its alert.
func TestReconfigureTargets(t *testing.T) {
	e := newReconfEnv(t, invTable)
	testenv.Eventually(t, "the first round", func() bool { return e.has(compliance.CheckDynamoDBKMS, invTable) })
	if e.has(compliance.CheckDynamoDBKMS, metTable) || e.series(t, metTable) != 0 {
		t.Fatalf("%s checked before it was configured", metTable)
	}

	if err := e.r.Reconfigure(e.settings(invTable, metTable)); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the added table's finding", func() bool { return e.has(compliance.CheckDynamoDBKMS, metTable) })
	if n := e.series(t, metTable); n != 3 {
		t.Errorf("added table has %d of its 3 series", n)
	}

	mark := e.sub.len()
	if err := e.r.Reconfigure(e.settings(invTable)); err != nil {
		t.Fatal(err)
	}
	// Subscribers hear of the removal after the series are gone (publish
	// removes them first), so wait for that rather than for Findings,
	// which changes as soon as the round is recorded.
	gone := func() []compliance.Finding {
		var fs []compliance.Finding
		for _, f := range e.sub.since(mark) {
			if f.Resource == metTable {
				fs = append(fs, f)
			}
		}
		return fs
	}
	testenv.Eventually(t, "the removed table's last finding", func() bool { return len(gone()) > 0 })
	if e.has(compliance.CheckDynamoDBKMS, metTable) {
		t.Errorf("removed table still has a finding")
	}
	if n := e.series(t, metTable); n != 0 {
		t.Errorf("removed table still has %d series", n)
	}
	if n := e.series(t, invTable); n != 3 {
		t.Errorf("kept table has %d of its 3 series", n)
	}
	if g := gone(); len(g) != 1 || g[0].Verdict != compliance.NotApplicable {
		t.Errorf("subscriber got %+v for the removed table, want one NOT_APPLICABLE", g)
	}
}

// TestReconfigureUnchanged: settings equal to those in force (built anew,
// as a reload does) neither start a round nor disturb one in flight.
func TestReconfigureUnchanged(t *testing.T) {
	e := newReconfEnv(t, invTable)
	testenv.Eventually(t, "the first round", func() bool { return e.r.Findings() != nil })
	before := e.kms.count()
	e.kms.onNextRound(func() {
		if err := e.r.Reconfigure(e.settings(invTable)); err != nil {
			t.Error(err)
		}
	})
	first := e.r.RunOnce(t.Context())
	if got := e.kms.count() - before; got != 1 {
		t.Errorf("%d rounds ran, want only the RunOnce", got)
	}
	if got := e.r.Findings(); len(got) != len(first) || got[0].Start != first[0].Start {
		t.Errorf("findings changed: %+v, want %+v", got, first)
	}
	// A schedule alone reschedules: no round either.
	e.kms.onNextRound(func() {
		s := e.settings(invTable)
		s.Schedule = "@every 2h"
		if err := e.r.Reconfigure(s); err != nil {
			t.Error(err)
		}
	})
	e.r.RunOnce(t.Context())
	if got := e.kms.count() - before; got != 2 {
		t.Errorf("%d rounds ran after a schedule change, want the two RunOnce", got)
	}
}

// TestReconfigureDuringRound: a round in flight when a table is removed
// publishes nothing for it after the swap; it runs again with the new
// targets instead.
func TestReconfigureDuringRound(t *testing.T) {
	e := newReconfEnv(t, invTable, metTable)
	testenv.Eventually(t, "the first round", func() bool { return e.has(compliance.CheckDynamoDBKMS, metTable) })
	mark := e.sub.len()
	swapped := -1
	e.kms.onNextRound(func() {
		if err := e.r.Reconfigure(e.settings(invTable)); err != nil {
			t.Error(err)
		}
		swapped = e.sub.len()
	})
	fs := e.r.RunOnce(t.Context())
	if swapped < 0 {
		t.Fatal("the round did not reach the swap")
	}
	for _, f := range fs {
		if f.Resource == metTable {
			t.Errorf("RunOnce returned %+v after the swap", f)
		}
	}
	if e.has(compliance.CheckDynamoDBKMS, metTable) || e.series(t, metTable) != 0 {
		t.Errorf("removed table still published: findings %+v, %d series", e.r.Findings(), e.series(t, metTable))
	}
	for _, f := range e.sub.since(mark) {
		if f.Resource == metTable && f.Verdict != compliance.NotApplicable {
			t.Errorf("subscriber told %s %s after it was removed", f.Resource, f.Verdict)
		}
	}
}

// TestReconfigureWhilePublishing: a swap that lands while a scheduled round
// tells its subscribers (its RunNow is skipped: the round is in flight)
// still gets its round at once, not at the next tick.
func TestReconfigureWhilePublishing(t *testing.T) {
	e := newEnv(t)
	kmsc := &countingKMS{KMSAPI: e.clients.KMS}
	re := &reconfEnv{env: e, kms: kmsc}
	r, err := compliance.NewRunner(compliance.RunnerOptions{Settings: re.settings(invTable), Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	re.r = r
	var once sync.Once
	r.Subscribe(func(compliance.Finding) {
		once.Do(func() {
			if err := r.Reconfigure(re.settings(invTable, metTable)); err != nil {
				t.Error(err)
			}
		})
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() { r.Run(ctx); close(done) }()
	testenv.Eventually(t, "the table added mid-round to be checked", func() bool { return re.has(compliance.CheckDynamoDBKMS, metTable) })
}

// TestReconfigureRejects: settings the runner cannot take change nothing.
func TestReconfigureRejects(t *testing.T) {
	e := newReconfEnv(t, invTable)
	testenv.Eventually(t, "the first round", func() bool { return e.r.Findings() != nil })
	s := e.settings(invTable, metTable)
	s.Schedule = "every now and then"
	if err := e.r.Reconfigure(s); err == nil {
		t.Fatal("a bad schedule was accepted")
	}
	s = e.settings(invTable, metTable)
	s.Pipelines[0].Evidence, s.EvidenceSchedule = &compliance.Evidence{S3: e.clients.S3, Bucket: audit}, "soon"
	if err := e.r.Reconfigure(s); err == nil {
		t.Fatal("a bad evidence schedule was accepted")
	}
	e.r.RunOnce(t.Context())
	if e.has(compliance.CheckDynamoDBKMS, metTable) {
		t.Error("a rejected Reconfigure changed the targets")
	}
}

// TestReconfigureDisable: no checker (compliance disabled by a reload)
// removes every finding and series; a checker again brings them back.
func TestReconfigureDisable(t *testing.T) {
	e := newReconfEnv(t, invTable)
	testenv.Eventually(t, "the first round", func() bool { return e.has(compliance.CheckDynamoDBKMS, invTable) })
	off := e.settings()
	off.Pipelines = nil
	if err := e.r.Reconfigure(off); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "every finding to go", func() bool { return len(e.r.Findings()) == 0 })
	if e.r.Enabled() || e.series(t, invTable) != 0 || e.series(t, audit) != 0 {
		t.Errorf("disabled: enabled %v, series %d/%d", e.r.Enabled(), e.series(t, invTable), e.series(t, audit))
	}
	if err := e.r.Reconfigure(e.settings(invTable)); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the findings to come back", func() bool { return e.has(compliance.CheckDynamoDBKMS, invTable) })
}

// TestReconfigureClients: new clients (a reload into another region
// rebuilds them) with the same targets are new checks: a round runs at
// once, on the new clients.
func TestReconfigureClients(t *testing.T) {
	e := newReconfEnv(t, invTable)
	testenv.Eventually(t, "the first round", func() bool { return e.r.Findings() != nil })
	fresh := &countingKMS{KMSAPI: e.clients.KMS}
	s := e.settings(invTable)
	s.Pipelines[0].Checker.KMS = fresh
	if err := e.r.Reconfigure(s); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "a round on the new KMS client", func() bool { return fresh.count() > 0 })
}

// TestReconfigureEvidence: evidence enabled by a reload writes its first
// report at once, as at start-up, not at the next evidence tick.
func TestReconfigureEvidence(t *testing.T) {
	e := newReconfEnv(t, invTable)
	testenv.Eventually(t, "the first round", func() bool { return e.r.Findings() != nil })
	if w, _ := e.r.LastEvidence(); w.Key != "" {
		t.Fatalf("evidence written while disabled: %+v", w)
	}
	s := e.settings(invTable)
	s.Pipelines[0].Evidence = &compliance.Evidence{S3: e.clients.S3, Bucket: audit, Prefix: "socmond/evidence/", KMSKey: key}
	s.EvidenceSchedule = "@daily"
	if err := e.r.Reconfigure(s); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the first report", func() bool { w, _ := e.r.LastEvidence(); return w.Key != "" })
}

// A round cut short because socmond is stopping (the scheduler cancels
// runs with scheduler.ErrStopped at the end of the grace period) read
// nothing because socmond stopped: it is no verdict, so it changes no
// finding, tells no subscriber and writes no metric.
func TestRoundCutShortByStopIsNotPublished(t *testing.T) {
	e := &reconfEnv{env: newEnv(t), reg: prometheus.NewRegistry(), sub: &subscriber{}}
	e.kms = &countingKMS{KMSAPI: e.clients.KMS}
	r, err := compliance.NewRunner(compliance.RunnerOptions{Settings: e.settings(invTable), Registerer: e.reg, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	r.Subscribe(e.sub.add)
	stopped, cancel := context.WithCancelCause(context.Background())
	cancel(scheduler.ErrStopped)
	r.RunOnce(stopped)
	if n := e.sub.len(); n != 0 || len(r.Findings()) != 0 {
		t.Fatalf("a round cut short by the stop was published: %d findings to subscribers, %d kept", n, len(r.Findings()))
	}
	if r.RunOnce(context.Background()); e.sub.len() == 0 {
		t.Fatal("a round that ran told nobody")
	}
}
