package main

import (
	"context"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/alecthomas/kingpin/v2"

	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/probes"
	"github.com/socmond/socmond/internal/testenv"
)

// TestEMFOutput: with --cloudwatch.emf stdout holds one valid EMF line per
// probe result in the chosen namespace and nothing else, and logs stay on
// stderr; without it stdout stays empty, so a Kubernetes deployment's logs
// are not flooded.
func TestEMFOutput(t *testing.T) {
	startSim(t)
	cfg, err := config.Load(example)
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		flags []string
		lines bool
	}{
		"off": {},
		"on":  {flags: []string{"--cloudwatch.emf", "--cloudwatch.emf.namespace=SOC/Health"}, lines: true},
	} {
		t.Run(name, func(t *testing.T) {
			stdout, stderr := &testenv.Buffer{}, &testenv.Buffer{}
			g := &globals{configFile: example, logLevel: "info", logFormat: "json", stdout: stdout, stderr: stderr}
			app := kingpin.New("socmond", "")
			cmd := app.Command("run", "")
			df := &daemonFlags{}
			addDaemonFlags(cmd, df, "127.0.0.1:0")
			if _, err := app.Parse(append([]string{"run"}, tc.flags...)); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			started, exited := make(chan string, 1), make(chan int, 1)
			go func() {
				exited <- serve(ctx, g, df, cfg, clientOptions(cfg, "", nil), nil, func(a string) { started <- a })
			}()
			addr := <-started
			waitReady(t, http.DefaultClient, "http://"+addr)
			cancel()
			if code := <-exited; code != exitOK {
				t.Fatalf("exit %d:\n%s", code, stderr.String())
			}
			for _, l := range testenv.Lines(stderr.String()) {
				if strings.Contains(l, `"_aws"`) {
					t.Errorf("an EMF line on stderr: %s", l)
				}
			}
			if !tc.lines {
				if stdout.String() != "" {
					t.Errorf("stdout without --cloudwatch.emf:\n%s", stdout.String())
				}
				return
			}
			seen := map[string]bool{}
			for _, l := range testenv.Lines(stdout.String()) {
				doc, err := testenv.ParseEMF([]byte(l))
				if err != nil {
					t.Fatalf("%v\n%s", err, l)
				}
				if doc.Directives[0].Namespace != "SOC/Health" || doc.String("Tenant") != cfg.Tenant {
					t.Errorf("namespace %q tenant %q", doc.Directives[0].Namespace, doc.String("Tenant"))
				}
				seen[doc.String("Service")+"/"+doc.String("Resource")] = true
			}
			for _, tg := range cfg.Targets() {
				if !seen[tg.Service+"/"+tg.Resource] {
					t.Errorf("no EMF line for %s/%s", tg.Service, tg.Resource)
				}
			}
		})
	}
}

// TestEMFOutputPlaced: a socmond watching two tenants' pipelines in two
// accounts and regions writes each resource's lines with its tenant,
// account and region, as dimensions and members: the same table in two
// accounts is two metrics.
func TestEMFOutputPlaced(t *testing.T) {
	const text = `
region: us-east-1
tenant: soc
defaults: {schedule: "@every 1s"}
accounts:
  - id: "111111111111"
    role_arn: arn:aws:iam::111111111111:role/socmond-monitor
    external_id: ext-acme-1
    regions: [us-east-1, eu-west-1]
  - id: "222222222222"
    role_arn: arn:aws:iam::222222222222:role/socmond-monitor
tenants:
  - name: acme
    pipelines: [{account: "111111111111"}]
  - name: beta
    pipelines: [{account: "222222222222"}]
services:
  dynamodb:
    resources: [{name: investigations}]
  s3:
    resources: [{name: "soc-artifacts-${account_id}-${region}"}]
`
	path := filepath.Join(t.TempDir(), "accounts.yaml")
	writeFile(t, path, text)
	_, url := seededSim(t, path)
	t.Setenv("AWS_ENDPOINT_URL", url)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret-example")
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr := &testenv.Buffer{}, &testenv.Buffer{}
	g := &globals{configFile: path, logLevel: "info", logFormat: "json", stdout: stdout, stderr: stderr}
	app := kingpin.New("socmond", "")
	df := &daemonFlags{}
	addDaemonFlags(app.Command("run", ""), df, "127.0.0.1:0")
	if _, err := app.Parse([]string{"run", "--cloudwatch.emf"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	started, exited := make(chan string, 1), make(chan int, 1)
	go func() {
		exited <- serve(ctx, g, df, cfg, clientOptions(cfg, "", nil), nil, func(a string) { started <- a })
	}()
	waitReady(t, http.DefaultClient, "http://"+<-started)
	cancel()
	if code := <-exited; code != exitOK {
		t.Fatalf("exit %d:\n%s", code, stderr.String())
	}
	seen := map[probes.Target]float64{}
	for _, l := range testenv.Lines(stdout.String()) {
		doc, err := testenv.ParseEMF([]byte(l))
		if err != nil {
			t.Fatalf("%v\n%s", err, l)
		}
		if doc.String("Service") == "" {
			continue
		}
		if dims := doc.Directives[0].Dimensions; !slices.Equal(dims[0], []string{"Service", "Resource", "Tenant", "Account", "Region"}) {
			t.Errorf("dimensions %v: %s", dims, l)
		}
		errV, _ := doc.Value("Error")
		seen[probes.Target{Service: doc.String("Service"), Resource: doc.String("Resource"),
			Place: probes.Place{Tenant: doc.String("Tenant"), Account: doc.String("Account"), Region: doc.String("Region")}}] += 1 - errV
	}
	targets := cfg.Targets()
	if len(targets) != 6 {
		t.Fatalf("%d targets, want 6", len(targets))
	}
	for _, tg := range targets {
		if seen[tg.ID()] < 1 {
			t.Errorf("no successful EMF line for %s (lines for %v)", tg.ID(), seen)
		}
	}
}

// TestEMFNamespaceFlag: a namespace CloudWatch would refuse is a usage
// error at start, not lines CloudWatch silently drops.
func TestEMFNamespaceFlag(t *testing.T) {
	for _, ns := range []string{"AWS/EC2", "", "soc\nmond", strings.Repeat("n", 256)} {
		var stdout, stderr strings.Builder
		if code := run([]string{"run", "--cloudwatch.emf", "--cloudwatch.emf.namespace=" + ns}, &stdout, &stderr); code != exitUsage ||
			!strings.Contains(stderr.String(), "--cloudwatch.emf.namespace") {
			t.Errorf("namespace %q: exit %d, %s", ns, code, stderr.String())
		}
	}
}
