package compliance_test

import (
	"context"
	"encoding/json"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/socmond/socmond/internal/compliance"
	"github.com/socmond/socmond/internal/leader"
	"github.com/socmond/socmond/internal/testenv"
)

// fakeLeader is a replica's term as a test sets it.
type fakeLeader struct {
	mu      sync.Mutex
	leading bool
	token   int64
}

func (f *fakeLeader) set(leading bool, token int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.leading, f.token = leading, token
}

func (f *fakeLeader) Term() (leader.Term, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return leader.Term{Token: f.token}, f.leading
}

func (f *fakeLeader) Status() leader.Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	return leader.Status{Backend: "test", Identity: "replica-a", Leading: f.leading, Token: f.token}
}

// TestEvidenceOnlyFromTheLeader: a replica that does not lead checks but
// writes no report; when it becomes leader it writes one at once (verdict
// changes it saw while another led are then on record), never a second
// under the same term, and one per verdict change while it leads. Each
// report names its writer and term.
func TestEvidenceOnlyFromTheLeader(t *testing.T) {
	e := newEnv(t)
	l := &fakeLeader{}
	r, err := compliance.NewRunner(compliance.RunnerOptions{Registerer: prometheus.NewRegistry(), Logger: zerolog.Nop(), Leader: l,
		Settings: compliance.Settings{Schedule: "@every 1h", Pipelines: []compliance.Pipeline{{Checker: e.checker,
			Evidence: &compliance.Evidence{S3: e.clients.S3, Bucket: audit, Prefix: "ev/", KMSKey: key}}}, EvidenceSchedule: "@every 1h"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() { r.Run(ctx); close(done) }()
	writes := func() int {
		n := 0
		for _, c := range e.sim.Calls() {
			if c.Operation == "PutObject" && c.Resource == audit && c.Status == 200 {
				n++
			}
		}
		return n
	}
	testenv.Eventually(t, "the first round", func() bool { return len(r.Findings()) > 0 })
	r.EvidenceRound(t.Context()) // the daily report's round, too
	if n := writes(); n != 0 {
		t.Fatalf("a replica that does not lead wrote %d reports", n)
	}

	l.set(true, 7)
	r.NewTerm()
	testenv.Eventually(t, "the new leader's report", func() bool { return writes() == 1 })
	r.NewTerm() // told twice (a subscriber and a restart of the term loop)
	r.RunOnce(t.Context())
	time.Sleep(100 * time.Millisecond)
	if n := writes(); n != 1 {
		t.Fatalf("%d reports under one term with no verdict change, want 1", n)
	}
	w, _ := r.LastEvidence()
	out, err := e.clients.S3.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(audit), Key: aws.String(w.Key)})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(out.Body)
	out.Body.Close()
	var rep compliance.Report
	if err := json.Unmarshal(body, &rep); err != nil || rep.Writer != "replica-a" || rep.LeaseToken != 7 {
		t.Errorf("report writer %q token %d (%v), want replica-a 7", rep.Writer, rep.LeaseToken, err)
	}

	// A verdict change under the term: one report.
	e.postFault(t, `{"service":"kms","set":{"KeyRotationEnabled":"false"}}`)
	r.RunOnce(t.Context())
	if n := writes(); n != 2 {
		t.Fatalf("%d reports after a change, want 2", n)
	}
	// Leadership lost: the change back is not written here.
	l.set(false, 0)
	e.sim.ClearFaults()
	r.RunOnce(t.Context())
	if n := writes(); n != 2 {
		t.Fatalf("a replica that lost the lease wrote (%d reports)", n)
	}
	// Elected again under a new term: the change it saw is put on record.
	l.set(true, 9)
	r.NewTerm()
	testenv.Eventually(t, "the next term's report", func() bool { return writes() == 3 })
}
