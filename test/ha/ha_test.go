// Package ha proves that replicas of socmond elect one writer: two (then
// three) `socmond run` processes against the simulator with the DynamoDB
// lease, the leader killed with SIGKILL and paused with SIGSTOP past its
// lease. Every AWS call is attributed to its replica by the access key it
// was signed with, and the lease table's own successful writes are the
// ground truth of who held the lease when: every canary run, evidence
// report and Bedrock runtime call must come from the replica whose lease
// write was the last before it. The audit bucket must hold one evidence
// report per verdict change and per leader term, not one per replica.
package ha

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/socmond/socmond/internal/awssim"
	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/leader"
	"github.com/socmond/socmond/internal/simseed"
	"github.com/socmond/socmond/internal/testenv"
)

const (
	leaseTable = "socmond-leases"
	audit      = "asia-agentic-soc-audit-123456789012-dev"
	key        = "alias/AsiaAgenticSoc"
)

// The lease's timing, the defaults (15s/10s/2s) divided by 5.
var timing = leader.Timing{LeaseDuration: 3 * time.Second, RenewDeadline: 2 * time.Second, RetryPeriod: 400 * time.Millisecond}

// write is one AWS call that changed something, by whom and when.
type write struct {
	at   time.Time
	who  string // access key
	what string
}

// leaseStore is where the lease item lives and how the test reads its
// successful writes.
type leaseStore interface {
	env() []string        // endpoint variables for socmond
	leaseWrites() []write // successful conditional writes of the lease item
}

type harness struct {
	t     *testing.T
	sim   *awssim.Sim
	store leaseStore
	bin   string
	cfg   string
	procs map[string]*replica
}

type replica struct {
	name, key, url string
	cmd            *exec.Cmd
}

// simStore keeps the lease in the simulator, beside the pipeline.
type simStore struct {
	sim *awssim.Sim
	url string
}

func (s simStore) env() []string { return []string{"AWS_ENDPOINT_URL=" + s.url} }

func (s simStore) leaseWrites() []write {
	var out []write
	for _, c := range s.sim.Calls() {
		if c.Service == "dynamodb" && c.Operation == "PutItem" && c.Resource == leaseTable && c.Status == 200 {
			out = append(out, write{at: c.At, who: c.AccessKey, what: "lease"})
		}
	}
	return out
}

func newHarness(t *testing.T, mkStore func(h *harness, simURL string) leaseStore) *harness {
	t.Helper()
	root := testenv.RepoRoot(t)
	b, err := os.ReadFile(filepath.Join(root, "config.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	// In order: the canary's own "enabled" line is rewritten first.
	for _, e := range [][2]string{
		{"  enabled: false           # true: run on the schedule below\n  schedule: \"@hourly\"", "  enabled: true\n  schedule: \"@every 1s\""},
		{"  timeout: 5m\n  find_timeout: 60s", "  timeout: 20s\n  find_timeout: 10s"},
		{"  schedule: \"@every 30s\"   # a few cheap reads", "  schedule: \"@every 1s\"   # a few cheap reads"},
		{"    enabled: false         # the only S3 writes", "    enabled: true          # the only S3 writes"},
		{"      enabled: false\n      schedule: \"@every 15m\"", "      enabled: true\n      schedule: \"@every 1s\""},
	} {
		old, repl := e[0], e[1]
		if !strings.Contains(text, old) {
			t.Fatalf("config.example.yaml has no %q to change", old)
		}
		text = strings.Replace(text, old, repl, 1)
	}
	h := &harness{t: t, bin: testenv.BuildSocmond(t), procs: map[string]*replica{}}
	h.cfg = filepath.Join(t.TempDir(), "socmond.yaml")
	if err := os.WriteFile(h.cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_REGION", "us-east-1")
	cfg, err := config.Load(h.cfg)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	seed := simseed.FromConfig(cfg)
	seed.Tables = append(seed.Tables, leaseTable)
	if seed.TableKeys == nil {
		seed.TableKeys = map[string]string{}
	}
	seed.TableKeys[leaseTable] = leader.KeyAttribute
	var url string
	h.sim, url = awssim.Serve(t, seed)
	h.store = mkStore(h, url)
	return h
}

// start runs one replica, signing its calls with its own access key.
func (h *harness) start(name string) *replica {
	h.t.Helper()
	addr := testenv.Addr(testenv.FreePort(h.t))
	r := &replica{name: name, key: "AKID" + strings.ToUpper(strings.ReplaceAll(name, "-", "")), url: "http://" + addr}
	env := append(h.store.env(), "AWS_ACCESS_KEY_ID="+r.key, "AWS_SECRET_ACCESS_KEY=ha", "AWS_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true")
	r.cmd = testenv.Start(h.t, addr, env, h.bin, "run", "--config.file="+h.cfg, "--web.listen-address="+addr, "--log.level=info",
		"--leader-election.backend=dynamodb", "--leader-election.dynamodb.table="+leaseTable, "--leader-election.identity="+name,
		"--leader-election.lease-duration="+timing.LeaseDuration.String(), "--leader-election.renew-deadline="+timing.RenewDeadline.String(),
		"--leader-election.retry-period="+timing.RetryPeriod.String())
	h.procs[r.key] = r
	return r
}

// singleton is every call only the leader may make: canary runs
// (PutEvents), evidence reports (PutObject to the audit bucket) and
// Bedrock runtime calls.
func (h *harness) singleton() []write {
	var out []write
	for _, c := range h.sim.Calls() {
		if _, ok := h.procs[c.AccessKey]; !ok || c.Status >= 300 {
			continue
		}
		switch {
		case c.Operation == "PutEvents", c.Operation == "PutObject" && c.Resource == audit,
			c.Operation == "Converse", c.Operation == "InvokeModel":
			out = append(out, write{at: c.At, who: c.AccessKey, what: c.Operation})
		}
	}
	return out
}

// count is how many singleton calls of op r made.
func (h *harness) count(r *replica, op string) int {
	n := 0
	for _, w := range h.singleton() {
		if w.who == r.key && w.what == op {
			n++
		}
	}
	return n
}

func (h *harness) evidence() int {
	n := 0
	for _, w := range h.singleton() {
		if w.what == "PutObject" {
			n++
		}
	}
	return n
}

// checkOneWriter: each singleton call comes from the replica whose
// successful lease write was the last before it.
func (h *harness) checkOneWriter() (terms int) {
	h.t.Helper()
	lease := h.store.leaseWrites()
	slices.SortFunc(lease, func(a, b write) int { return a.at.Compare(b.at) })
	prev := ""
	for _, l := range lease {
		if l.who != prev {
			terms++
			prev = l.who
		}
	}
	for _, w := range h.singleton() {
		holder := ""
		for _, l := range lease {
			if l.at.After(w.at) {
				break
			}
			holder = l.who
		}
		if holder != w.who {
			h.t.Errorf("%s by %s at %s while %q held the lease", w.what, h.name(w.who), w.at.Format("15:04:05.000"), h.name(holder))
		}
	}
	return terms
}

func (h *harness) name(key string) string {
	if r, ok := h.procs[key]; ok {
		return r.name
	}
	return key
}

// leaderOf asks a replica whom it sees leading (its "leader" panel).
func leaderOf(t *testing.T, r *replica) (leader string, leading bool) {
	t.Helper()
	resp, err := http.Get(r.url + "/api/v1/status")
	if err != nil {
		return "", false
	}
	defer resp.Body.Close()
	var doc struct {
		Data struct {
			Panels []struct {
				ID    string `json:"id"`
				Items []struct {
					State   string            `json:"state"`
					Details map[string]string `json:"details"`
				} `json:"items"`
			} `json:"panels"`
		} `json:"data"`
	}
	if json.NewDecoder(resp.Body).Decode(&doc) != nil {
		return "", false
	}
	for _, p := range doc.Data.Panels {
		if p.ID == "leader" && len(p.Items) == 1 {
			return p.Items[0].Details["leader"], p.Items[0].State == "leading"
		}
	}
	return "", false
}

// waitFor polls cond until it holds; the limit stops a hung test only.
func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// settle lets every replica run a few compliance rounds (1 s each).
func settle() { time.Sleep(4 * time.Second) }

func TestOneWriterOnSimulator(t *testing.T) {
	h := newHarness(t, func(h *harness, url string) leaseStore { return simStore{sim: h.sim, url: url} })
	h.run(t)
}

// run plays the elections: start, verdict changes, kill -9, SIGSTOP past
// the lease, and checks the writes.
func (h *harness) run(t *testing.T) {
	a := h.start("replica-a")
	waitFor(t, "replica-a to lead", 10*timing.LeaseDuration, func() bool { _, l := leaderOf(t, a); return l })
	b := h.start("replica-b")
	waitFor(t, "replica-b to see replica-a lead", 10*timing.LeaseDuration, func() bool { id, _ := leaderOf(t, b); return id == "replica-a" })
	waitFor(t, "the first leader's report", 10*time.Second, func() bool { return h.evidence() >= 1 })
	settle()
	if n := h.evidence(); n != 1 {
		t.Fatalf("%d evidence reports after start with two replicas, want 1", n)
	}

	// One report per verdict change, from the leader only.
	h.sim.AddFault(awssim.Fault{Service: "kms", Resource: key, Set: map[string]string{"KeyRotationEnabled": "false"}})
	settle()
	h.sim.ClearFaults()
	settle()
	if n := h.evidence(); n != 3 {
		t.Fatalf("%d evidence reports after two verdict changes, want 3 (one per change, not one per replica)", n)
	}

	// kill -9 the leader: the other takes over after a lease duration.
	lastA := lastLeaseWrite(h.store.leaseWrites(), a.key)
	killed := time.Now()
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "replica-b to take over", 5*timing.LeaseDuration, func() bool { _, l := leaderOf(t, b); return l })
	tookB := firstLeaseWriteAfter(h.store.leaseWrites(), b.key, killed)
	t.Logf("kill -9: replica-b took over %s after the kill, %s after replica-a's last renewal (lease %s, retry %s)",
		tookB.Sub(killed).Round(time.Millisecond), tookB.Sub(lastA).Round(time.Millisecond), timing.LeaseDuration, timing.RetryPeriod)
	// A contender counts the lease from when it saw the last renewal, up
	// to one look (retry period, with its jitter) after it was written.
	if d := tookB.Sub(lastA); d > timing.LeaseDuration+2*timing.RetryPeriod+500*time.Millisecond {
		t.Errorf("takeover %s after the dead leader's last renewal, want within a lease duration and a look", d)
	}
	waitFor(t, "the new leader's report", 10*time.Second, func() bool { return h.evidence() == 4 })

	// SIGSTOP the leader past its lease; a verdict changes meanwhile.
	c := h.start("replica-c")
	waitFor(t, "replica-c to see replica-b lead", 10*timing.LeaseDuration, func() bool { id, _ := leaderOf(t, c); return id == "replica-b" })
	// Stop it in the middle of its work: after it has run the canary and
	// called Bedrock runtime as the leader.
	waitFor(t, "replica-b's canary and runtime probe", 10*time.Second, func() bool {
		return h.count(b, "PutEvents") > 0 && h.count(b, "Converse") > 0
	})
	if err := b.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	waitFor(t, "replica-c to take over", 5*timing.LeaseDuration, func() bool { _, l := leaderOf(t, c); return l })
	t.Logf("SIGSTOP: replica-c took over %s after the stop", time.Since(stopped).Round(time.Millisecond))
	waitFor(t, "replica-c's term report", 10*time.Second, func() bool { return h.evidence() == 5 })
	h.sim.AddFault(awssim.Fault{Service: "kms", Resource: key, Set: map[string]string{"KeyRotationEnabled": "false"}})
	time.Sleep(2*timing.LeaseDuration - time.Since(stopped))
	if err := b.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	// Resumed, replica-b's overdue canary, compliance round (which sees
	// the changed verdict) and runtime probe all fire at once: none may
	// write, since its lease ran out while it was stopped.
	settle()
	if _, l := leaderOf(t, b); l {
		t.Error("replica-b leads again after its pause although replica-c holds the lease")
	}
	if n := h.evidence(); n != 6 {
		t.Errorf("%d evidence reports, want 6: the change while replica-b was stopped, written once by replica-c", n)
	}
	h.sim.ClearFaults()
	settle()
	if n := h.evidence(); n != 7 {
		t.Errorf("%d evidence reports, want 7", n)
	}

	terms := h.checkOneWriter()
	byWho := map[string]int{}
	for _, w := range h.singleton() {
		byWho[h.name(w.who)+" "+w.what]++
	}
	t.Logf("%d lease terms; singleton calls: %v", terms, byWho)
	for _, who := range []string{"replica-a", "replica-b", "replica-c"} {
		if byWho[who+" PutEvents"] == 0 {
			t.Errorf("%s never ran the canary while it led", who)
		}
	}
}

func lastLeaseWrite(ws []write, who string) time.Time {
	var t time.Time
	for _, w := range ws {
		if w.who == who && w.at.After(t) {
			t = w.at
		}
	}
	return t
}

func firstLeaseWriteAfter(ws []write, who string, after time.Time) time.Time {
	var t time.Time
	for _, w := range ws {
		if w.who == who && w.at.After(after) && (t.IsZero() || w.at.Before(t)) {
			t = w.at
		}
	}
	return t
}
