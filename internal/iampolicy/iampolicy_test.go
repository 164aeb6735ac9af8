package iampolicy

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/rs/zerolog"

	"github.com/socmond/socmond/internal/awsclient"
	"github.com/socmond/socmond/internal/awssim"
	"github.com/socmond/socmond/internal/compliance"
	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/leader"
	"github.com/socmond/socmond/internal/probes"
	"github.com/socmond/socmond/internal/simseed"
	"github.com/socmond/socmond/internal/testenv"
	"github.com/socmond/socmond/internal/workflow"
)

// everythingOn is the example configuration with every opt-in feature that
// can run here switched on, so the policy and the calls cover all of them.
var everythingOn = []struct{ from, to string }{
	{"runtime:\n      # Converse", "runtime:\n      # Converse"},
	{"evidence:\n    enabled: false", "evidence:\n    enabled: true"},
	{"canary:\n  enabled: false", "canary:\n  enabled: true"},
}

func loadEverythingOn(t *testing.T) *config.Config {
	t.Helper()
	return loadText(t, everythingOnText(t))
}

// everythingOnText is the text of config.example.yaml with everythingOn.
func everythingOnText(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "config.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), "enabled: false\n      schedule: \"@every 15m\"", "enabled: true\n      schedule: \"@every 15m\"", 1)
	for _, r := range everythingOn {
		if !strings.Contains(s, r.from) {
			t.Fatalf("config.example.yaml changed shape: no %q", r.from)
		}
		s = strings.Replace(s, r.from, r.to, 1)
	}
	return s
}

// loadText loads a config file of text, as `--config.file` would, with
// the bedrock runtime probe on.
func loadText(t *testing.T, text string) *config.Config {
	t.Helper()
	path := filepath.Join(t.TempDir(), "all.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_REGION", "us-east-1")
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.RuntimeTargets()) == 0 {
		t.Fatal("the runtime probe did not get enabled; config.example.yaml changed shape")
	}
	return cfg
}

// exercise runs every probe, compliance check, evidence write, the passive
// workflow check and the canary of cfg against a fresh simulator and
// returns the AWS calls it served.
func exercise(t *testing.T, cfg *config.Config) []awssim.Call {
	t.Helper()
	sim, clients := serve(t, cfg, simseed.FromConfig(cfg))
	exerciseAt(t, cfg, clients, probes.Place{})
	return sim.Calls()
}

// serve starts the simulator with seed, and the clients of socmond's own
// identity (cfg's region) on it.
func serve(t *testing.T, cfg *config.Config, seed awssim.Seed) (*awssim.Sim, *awsclient.Clients) {
	t.Helper()
	sim, url := awssim.Serve(t, seed)
	clients, err := awsclient.New(context.Background(), awsclient.Options{Region: cfg.Region, Endpoint: url,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret-example"}, nil
		})})
	if err != nil {
		t.Fatal(err)
	}
	return sim, clients
}

// exerciseAt runs what socmond does in the pipeline at place (the zero
// Place: the config-wide one), on that place's clients (its account's
// role in its region).
//
// Compliance, evidence, the workflow check and the canary are built by
// the daemon's own per-pipeline builders and run here once per place.
func exerciseAt(t *testing.T, cfg *config.Config, base *awsclient.Clients, place probes.Place) {
	t.Helper()
	ctx := context.Background()
	clients, err := cfg.ClientsAt(base, place)
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range cfg.Targets() {
		if tg.Place != place {
			continue
		}
		p, err := probes.New(tg.Service, tg.Probe(), clients)
		if err != nil {
			t.Fatal(err)
		}
		if r := probes.Run(ctx, p, probes.Options{Timeout: 5 * time.Second}); r.Status != probes.Healthy {
			t.Errorf("probe %s: %s %s", tg.ID(), r.Status, r.Detail)
		}
	}
	for _, tg := range cfg.RuntimeTargets() {
		if tg.Place != place {
			continue
		}
		p := probes.NewBedrockRuntime(clients.BedrockRuntime, tg.Resource, 1)
		if r := probes.Run(ctx, p, probes.Options{Timeout: 5 * time.Second}); r.Status != probes.Healthy {
			t.Errorf("runtime probe %s: %s %s", tg.ID(), r.Status, r.Detail)
		}
	}

	// The pipeline's config: its names as the pipeline at place has them.
	pl := cfg.PipelineAt(place)
	// The daemon's own builders: the pipeline's checks and evidence as the
	// runner gets them.
	pipelines, err := compliance.PipelinesFromConfig(cfg, base)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(pipelines, func(p compliance.Pipeline) bool { return p.Checker.Place == place })
	if i < 0 || pipelines[i].Evidence == nil {
		t.Fatalf("no compliance checks with evidence at %+v", place)
	}
	findings := pipelines[i].Checker.Run(ctx)
	if len(findings) == 0 {
		t.Fatal("compliance checks found nothing")
	}
	ev := pipelines[i].Evidence
	now := time.Now().UTC().Truncate(time.Second)
	w, err := ev.Write(ctx, compliance.NewReport("test", now, compliance.DefaultRetention, findings), now)
	if err != nil {
		t.Fatalf("evidence write at %+v: %v", place, err)
	}
	// `socmond evidence verify`'s calls, as cmd/socmond/evidence.go makes
	// them: the configured key resolved, then the report read back.
	want := compliance.ResolveKey(ctx, clients.KMS, pl.KMSKey)
	if v, err := compliance.Verify(ctx, clients.S3, w.Bucket, w.Key, want, compliance.DefaultRetention); err != nil || !v.OK() {
		t.Fatalf("evidence verify at %+v: %+v %v", place, v.Checks, err)
	}

	if rep := workflow.PassiveAt(cfg, clients, place).Run(ctx); !rep.OK() {
		t.Errorf("passive workflow check at %+v failed: %+v", place, rep.Checks)
	}
	if !cfg.Canary.Enabled {
		return
	}
	if rep := workflow.CanaryAt(cfg, clients, place).Run(ctx, nil); !rep.Passed {
		t.Errorf("canary at %+v failed: %+v", place, rep.Steps)
	}
}

// resourceARNs are the ARNs a recorded call, made in the pipeline p, may
// be authorised by.
func resourceARNs(s scope, p config.Pipeline, c awssim.Call) []string {
	// The features' calls name resources beyond the probed ones: objects,
	// rules, executions. Every other call is a probe's, on its service's
	// own resource form.
	switch {
	case c.Service == "s3" && strings.Contains(c.Operation, "Object") && c.Operation != "GetObjectLockConfiguration" && c.Operation != "ListObjectsV2":
		return []string{s.bucket(c.Resource) + "/"} // prefix: the call names only the bucket
	case c.Service == "kms":
		return []string{c.Resource}
	case c.Service == "eventbridge" && (c.Operation == "DescribeRule" || c.Operation == "ListTargetsByRule"):
		return []string{s.rule(p.EventBus, c.Resource)}
	case c.Service == "sts" && c.Operation == "AssumeRole":
		return []string{c.Resource} // the role's ARN
	}
	if d, ok := probes.Lookup(c.Service); ok {
		return []string{d.Read.ARN(s.probes(), c.Resource).Resource}
	}
	return nil
}

// allows reports whether st grants action on the resource a call made in
// scope s names.
func allows(st Statement, s scope, action, res string) bool {
	if !slices.Contains(st.Action, action) {
		return false
	}
	for _, r := range st.Resource {
		if strings.HasSuffix(res, "/") && strings.HasPrefix(r, res) { // object in bucket
			return true
		}
		if aliases := conditionAliases(st); len(aliases) > 0 {
			// The key is named by its alias, or by its ARN (DynamoDB reports the
			// table's key by ARN), which carries that alias in AWS. Either way
			// it is a key of the call's account and region.
			if (slices.Contains(aliases, res) && globMatch(r, s.arn("kms", "key/k"))) || globMatch(r, res) {
				return true
			}
			continue
		}
		if globMatch(r, res) {
			return true
		}
	}
	return false
}

// identity is the document a recorded call is held to: that of the
// identity that made it, and where it made it.
type identity struct {
	document string // its name, for messages
	policy   Policy
	scope    scope           // the call's account and region
	pipeline config.Pipeline // the names of the pipeline there
}

// holdCalls fails for each call the policy of the identity that made it
// (of) does not allow, on the resource it touched, and returns which
// statements' actions the calls used, by document, Sid and action.
func holdCalls(t *testing.T, calls []awssim.Call, of func(awssim.Call) (identity, bool)) map[string]map[string]map[string]bool {
	t.Helper()
	used := map[string]map[string]map[string]bool{}
	for _, c := range calls {
		if c.Status >= 300 {
			t.Errorf("call failed in the simulator: %+v", c)
		}
		id, ok := of(c)
		if !ok {
			continue // of said why
		}
		acts, ok := neededActions(c.Service, c.Operation)
		if c.Service == "sts" && c.Operation == "AssumeRole" {
			acts, ok = []string{"sts:AssumeRole"}, true
		}
		if !ok {
			t.Errorf("no IAM mapping for %s:%s; add it to needs", c.Service, c.Operation)
			continue
		}
		if c.Service == "s3" && (c.Operation == "HeadObject" || c.Operation == "GetObject") && c.Resource == id.pipeline.AuditBucket {
			// S3 returns an object's lock mode and retain-until date on
			// HEAD and GET only to callers allowed s3:GetObjectRetention;
			// the canary reads them with HEAD (step 7), `evidence verify`
			// with GET.
			acts = append(slices.Clone(acts), "s3:GetObjectRetention")
		}
		for _, a := range acts {
			res := resourceARNs(id.scope, id.pipeline, c)
			if strings.HasPrefix(a, "kms:") && c.Service == "s3" {
				res = []string{id.pipeline.KMSKey} // S3 uses the bucket's key on socmond's behalf
			}
			granted := false
			for _, st := range id.policy.Statement {
				for _, r := range res {
					if allows(st, id.scope, a, r) {
						granted = true
						if used[id.document] == nil {
							used[id.document] = map[string]map[string]bool{}
						}
						if used[id.document][st.Sid] == nil {
							used[id.document][st.Sid] = map[string]bool{}
						}
						used[id.document][st.Sid][a] = true
					}
				}
			}
			if !granted {
				t.Errorf("%s misses %s on %v (for %s %s in %s %s)", id.document, a, res, c.Service, c.Operation, c.Account, c.Region)
			}
		}
	}
	return used
}

// allUsed fails for each action of a document's statements that no call
// used. What the workflow discovers depends on the pipeline in AWS, not on
// the config, so its grant may go unused.
func allUsed(t *testing.T, document string, pol Policy, used map[string]map[string]map[string]bool) {
	t.Helper()
	for _, st := range pol.Statement {
		for _, a := range st.Action {
			if !used[document][st.Sid][a] && !strings.HasPrefix(st.Sid, sidDiscovered) {
				t.Errorf("%s: statement %s grants %s, which no call used", document, st.Sid, a)
			}
		}
	}
}

func TestPolicyIsExactlyWhatSocmondCalls(t *testing.T) {
	// Every opt-in feature on, and evidence without the canary: one
	// feature's statements (the canary's reads of the audit bucket) must not
	// hide what another (`evidence verify`) lacks, since a recorded S3 call
	// names the bucket, not the object. Only with everything on does every
	// statement get used: without the canary no execution exists for the
	// passive check to read.
	for name, tc := range map[string]struct {
		configure func(*config.Config)
		allUsed   bool
	}{
		"everything on":               {func(*config.Config) {}, true},
		"evidence without the canary": {func(c *config.Config) { c.Canary.Enabled = false }, false},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := loadEverythingOn(t)
			tc.configure(cfg)
			pol, err := Generate(cfg, Options{})
			if err != nil {
				t.Fatal(err)
			}
			id := identity{document: "the policy", policy: pol, pipeline: cfg.Pipeline,
				scope: scope{partition: "aws", region: cfg.Region, account: "123456789012"}}
			used := holdCalls(t, exercise(t, cfg), func(awssim.Call) (identity, bool) { return id, true })
			if tc.allUsed {
				allUsed(t, id.document, pol, used)
			}
		})
	}
}

func TestPolicyShape(t *testing.T) {
	cfg := loadEverythingOn(t)
	pol, err := Generate(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	writes := []string{"s3:PutObject", "s3:PutObjectRetention", "events:PutEvents", "bedrock:InvokeModel", "kms:GenerateDataKey"}
	for _, st := range pol.Statement {
		for _, r := range st.Resource {
			if r == "*" || strings.HasSuffix(r, ":*:*") {
				t.Errorf("%s: unscoped resource %q", st.Sid, r)
			}
			if strings.HasSuffix(r, "key/*") && len(conditionAliases(st)) == 0 {
				t.Errorf("%s: any key without an alias condition", st.Sid)
			}
		}
		for _, a := range st.Action {
			if slices.Contains(writes, a) && !isOptIn(st.Sid) {
				t.Errorf("%s: write or billed action %s in a read-only statement", st.Sid, a)
			}
		}
	}
	// Turning the opt-in features off removes every opt-in statement.
	cfg.Services.Get(probes.ServiceBedrock).Runtime.Enabled = false
	cfg.Compliance.Evidence.Enabled = false
	cfg.Canary.Enabled = false
	pol, err = Generate(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range pol.Statement {
		if isOptIn(st.Sid) {
			t.Errorf("opt-in statement %s with every opt-in feature off", st.Sid)
		}
	}
}

func TestKeyScoping(t *testing.T) {
	s := scope{partition: "aws", region: "ap-east-1", account: "111122223333"}
	for name, want := range map[string][2]string{
		"alias/soc":                  {"arn:aws:kms:ap-east-1:111122223333:key/*", "alias/soc"},
		"1234abcd-12ab":              {"arn:aws:kms:ap-east-1:111122223333:key/1234abcd-12ab", ""},
		"arn:aws:kms:x:1:key/k":      {"arn:aws:kms:x:1:key/k", ""},
		"arn:aws:kms:x:1:alias/soc2": {"arn:aws:kms:ap-east-1:111122223333:key/*", "alias/soc2"},
	} {
		g := probes.KeyARN(s.probes(), name)
		var a string
		if g.Condition != nil {
			a = g.Condition["ForAnyValue:StringEquals"]["kms:ResourceAliases"][0]
		}
		if r := g.Resource; r != want[0] || a != want[1] {
			t.Errorf("key(%q) = %q, %q; want %q, %q", name, r, a, want[0], want[1])
		}
	}
	if got := s.rule("bus", "r"); got != "arn:aws:events:ap-east-1:111122223333:rule/bus/r" {
		t.Errorf("rule on a custom bus: %s", got)
	}
	if got := keyPrefix("investigations/{tenant}/{investigation_id}/report.json", "t1"); got != "investigations/t1/" {
		t.Errorf("keyPrefix: %q", got)
	}
}

// TestLeaseStatementIsExactlyWhatTheElectorCalls runs the DynamoDB elector
// against the simulator and holds the lease statement to its calls: each
// allowed, each granted action used.
func TestLeaseStatementIsExactlyWhatTheElectorCalls(t *testing.T) {
	cfg := loadEverythingOn(t)
	const table = "socmond-leases"
	pol, err := Generate(cfg, Options{LeaseTable: table, Account: "123456789012"})
	if err != nil {
		t.Fatal(err)
	}
	sim, url := awssim.Serve(t, awssim.Seed{Region: cfg.Region, Tables: []string{table}, TableKeys: map[string]string{table: leader.KeyAttribute}})
	c, err := awsclient.New(t.Context(), awsclient.Options{Region: cfg.Region, Endpoint: url,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDIAM", "secret", "")})
	if err != nil {
		t.Fatal(err)
	}
	timing := leader.Timing{LeaseDuration: 300 * time.Millisecond, RenewDeadline: 200 * time.Millisecond, RetryPeriod: 50 * time.Millisecond}
	run := func(id string) (*leader.DynamoDB, context.CancelFunc, chan struct{}) {
		e, err := leader.NewDynamoDB(leader.DynamoDBOptions{Client: c.DynamoDB, Table: table, Identity: id, Timing: timing, Logger: zerolog.Nop()})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); e.Run(ctx) }()
		return e, cancel, done
	}
	a, stopA, doneA := run("a")
	b, stopB, doneB := run("b") // the other one contends: it reads
	// Either may win (on a loaded machine b sometimes starts first); the
	// other then only reads, which is what the statement must cover too.
	testenv.Eventually(t, "a lease", func() bool {
		_, okA := a.Term()
		_, okB := b.Term()
		return okA || okB
	})
	time.Sleep(5 * timing.RetryPeriod)
	stopA()
	<-doneA
	stopB()
	<-doneB

	var st *Statement
	for i := range pol.Statement {
		if pol.Statement[i].Sid == "OptInLeaderElectionLease" {
			st = &pol.Statement[i]
		}
	}
	if st == nil {
		t.Fatal("no OptInLeaderElectionLease statement")
	}
	s := scope{partition: "aws", region: cfg.Region, account: "123456789012"}
	used := map[string]bool{}
	for _, call := range sim.Calls() {
		acts, ok := neededActions(call.Service, call.Operation)
		if !ok {
			t.Errorf("no IAM mapping for %s:%s; add it to needs", call.Service, call.Operation)
		}
		for _, a := range acts {
			if !allows(*st, s, a, s.table(call.Resource)) {
				t.Errorf("the lease statement does not allow %s on %s", a, call.Resource)
			}
			used[a] = true
		}
	}
	for _, a := range st.Action {
		if !used[a] {
			t.Errorf("the lease statement grants %s, which the elector never called", a)
		}
	}
}
