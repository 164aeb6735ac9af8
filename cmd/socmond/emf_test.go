package main

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/alecthomas/kingpin/v2"

	"github.com/socmond/socmond/internal/config"
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
