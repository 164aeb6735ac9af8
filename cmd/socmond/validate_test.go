package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/socmond/socmond/internal/awssim"
	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/probes"
	"github.com/socmond/socmond/internal/report"
	"github.com/socmond/socmond/internal/simseed"
	"github.com/socmond/socmond/internal/testenv"
)

const example = "../../config.example.yaml"

// exampleResources is how many resources the example configuration probes.
func exampleResources(t *testing.T) int {
	t.Helper()
	cfg, err := config.Load(example)
	if err != nil {
		t.Fatal(err)
	}
	return len(cfg.Targets())
}

// startSim seeds a simulator from the example config and points the SDK's
// own endpoint variable at it, exactly as a user would.
func startSim(t *testing.T) string {
	t.Helper()
	_, url := seededSim(t, example)
	useSim(t, url)
	return url
}

// useSim points the SDK's own variables at the simulator at url.
func useSim(t *testing.T, url string) {
	t.Setenv("AWS_ENDPOINT_URL", url)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret-example")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("NO_COLOR", "1")
}

// seededSim starts a simulator seeded from the config file at path; it
// stops with the test.
func seededSim(t *testing.T, path string) (*awssim.Sim, string) {
	t.Helper()
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	sim, url := awssim.Serve(t, simseed.FromConfig(cfg))
	return sim, url
}

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestValidateAgainstSimulator(t *testing.T) {
	url := startSim(t)

	code, out, errOut := runCLI(t, "validate", "--config.file", example)
	if code != exitOK {
		t.Fatalf("exit %d, want 0\n%s\n%s", code, out, errOut)
	}
	for _, svc := range []string{"Amazon Bedrock", "DynamoDB", "Amazon S3", "AWS KMS", "EventBridge", "Step Functions", "AWS Lambda"} {
		if !strings.Contains(out, "✅ PASS "+svc+" Health") {
			t.Errorf("no PASS line for %s:\n%s", svc, out)
		}
	}
	// Probes, then the compliance and workflow sections' rows.
	if !strings.Contains(out, "Overall: PASS (") || !strings.Contains(out, "Encryption Compliance") {
		t.Errorf("overall line missing:\n%s", out)
	}

	// Inject the fault the way a user does: through the control API.
	resp, err := http.Post(url+"/_sim/faults", "application/json",
		strings.NewReader(`{"service":"dynamodb","resource":"AsiaAgenticSocMetrics-dev","error":"ThrottlingException"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /_sim/faults: %s", resp.Status)
	}
	code, out, _ = runCLI(t, "validate", "--config.file", example)
	if code != exitFailed {
		t.Fatalf("exit %d with a throttled table, want 1\n%s", code, out)
	}
	var failLines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "❌ FAIL") {
			failLines = append(failLines, l)
		}
	}
	// The compliance check of the same table cannot read it: UNKNOWN, not
	// FAIL, and it fails the round all the same.
	if !strings.Contains(out, "❔ UNKNOWN DynamoDB KMS encryption  AsiaAgenticSocMetrics-dev: could not read the facts: DescribeTable failed (ThrottlingException)") {
		t.Errorf("no UNKNOWN line for the table's compliance check:\n%s", out)
	}
	if len(failLines) != 1 || !strings.Contains(failLines[0], "DynamoDB Health") ||
		!strings.Contains(failLines[0], "AsiaAgenticSocMetrics-dev: ThrottlingException (degraded, throttled") ||
		!strings.Contains(failLines[0], "quota") {
		t.Fatalf("want one FAIL line for the throttled table with its hint, got %q", failLines)
	}

	code, out, _ = runCLI(t, "validate", "--config.file", example, "--output", "json")
	if code != exitFailed {
		t.Fatalf("json: exit %d, want 1", code)
	}
	var rep report.JSONReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("json output does not parse: %v\n%s", err, out)
	}
	// The throttled table fails its probe, and its dynamodb_kms_encryption
	// check is UNKNOWN; the other sections (compliance, workflow) add their
	// own rows.
	if rep.Pass || rep.Total < 18 || rep.Failed != 1 || rep.Unknown != 1 {
		t.Fatalf("json report = pass %v total %d failed %d unknown %d", rep.Pass, rep.Total, rep.Failed, rep.Unknown)
	}
	for _, r := range rep.Results {
		if r.Resource == "AsiaAgenticSocMetrics-dev" && (r.Class != "throttled" || r.Code != "ThrottlingException" || r.RequestID == "" || r.Hint == "") {
			t.Fatalf("throttled result = %+v", r)
		}
	}
}

func TestValidateUnreachableEndpoint(t *testing.T) {
	// A port nothing listens on: every probe fails fast with class network.
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret-example")
	code, out, _ := runCLI(t, "validate", "--config.file", example, "-o", "json")
	if code != exitFailed {
		t.Fatalf("exit %d, want 1", code)
	}
	var rep report.JSONReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Results {
		if r.Service == "compliance" {
			// A check that cannot reach AWS has no verdict: UNKNOWN.
			if r.Verdict != report.Unknown || r.Class != "network" {
				t.Fatalf("%s/%s: verdict %s class %s, want UNKNOWN/network", r.Check, r.Resource, r.Verdict, r.Class)
			}
			continue
		}
		if r.Status != "unavailable" || r.Class != "network" {
			t.Fatalf("%s/%s: status %s class %s, want unavailable/network", r.Service, r.Resource, r.Status, r.Class)
		}
	}
}

func TestBadConfigExitsTwoWithFileAndLine(t *testing.T) {
	good, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		edit func(string) string
		want string // regexp on the single stderr line
	}{
		"unknown key": {
			edit: func(s string) string { return strings.Replace(s, "  timeout: 10s", "  tiemout: 10s", 1) },
			want: `^socmond: bad\.yaml:\d+: unknown key "tiemout" in defaults$`,
		},
		"bad duration": {
			edit: func(s string) string { return strings.Replace(s, "  timeout: 10s", "  timeout: 10x", 1) },
			want: `^socmond: bad\.yaml:\d+: defaults\.timeout: .*"10x"`,
		},
		"missing required resource name": {
			edit: func(s string) string {
				return strings.Replace(s, "      - name: AsiaAgenticSocMetrics-dev", "      - schedule: \"@every 1m\"", 1)
			},
			want: `^socmond: bad\.yaml:\d+: services\.dynamodb\.resources\[1\]\.name: required$`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bad.yaml")
			if err := os.WriteFile(path, []byte(tc.edit(string(good))), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, cmd := range []string{"validate", "check-config", "run"} {
				code, _, errOut := runCLI(t, cmd, "--config.file", path)
				if code != exitUsage {
					t.Fatalf("%s: exit %d, want 2", cmd, code)
				}
				lines := strings.Split(strings.TrimSpace(errOut), "\n")
				if len(lines) != 1 || !regexp.MustCompile(tc.want).MatchString(strings.Replace(lines[0], path, "bad.yaml", 1)) {
					t.Fatalf("%s: stderr %q does not match %s", cmd, errOut, tc.want)
				}
				if !strings.Contains(lines[0], path) {
					t.Fatalf("%s: error does not name the file: %q", cmd, lines[0])
				}
			}
		})
	}
}

func TestCheckConfigPrintsEffectiveConfig(t *testing.T) {
	code, out, errOut := runCLI(t, "check-config", "--config.file", example)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// The effective config re-parses to the same targets.
	reparsed, err := config.Parse("effective.yaml", []byte(out), func(string) string { return "" })
	if err != nil {
		t.Fatalf("effective config does not parse: %v\n%s", err, out)
	}
	orig, _ := config.Load(example)
	if len(reparsed.Targets()) != len(orig.Targets()) || reparsed.Targets()[0] != orig.Targets()[0] {
		t.Fatal("effective config differs from the source")
	}
}

func TestUsageErrorsExitTwo(t *testing.T) {
	for _, args := range [][]string{{"nosuchcommand"}, {"validate", "--output", "xml"}, {"run", "--no-such-flag"}} {
		if code, _, _ := runCLI(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	if code, out, _ := runCLI(t, "--version"); code != exitOK || !strings.Contains(out+"", "socmond") {
		// kingpin prints the version to the usage writer.
		t.Errorf("--version: exit %d out %q", code, out)
	}
}

// TestNoCredentialsIsOneLine: without credentials every AWS call fails
// alike before it is sent. The commands that call AWS once say so in one
// line with what to do, and exit 4: not 1, which says something checked is
// unhealthy, nor 2, a usage error.
func TestNoCredentialsIsOneLine(t *testing.T) {
	testenv.NoAWSCredentials(t)
	for _, args := range [][]string{
		{"validate"},
		{"e2e"},
		{"evidence", "verify", "s3://asia-agentic-soc-audit-123456789012-dev/socmond/evidence/x.json"},
	} {
		t.Run(args[0], func(t *testing.T) {
			code, out, errOut := runCLI(t, append(args, "--config.file", example)...)
			if code != exitCredentials {
				t.Errorf("exit %d, want %d", code, exitCredentials)
			}
			lines := strings.Split(strings.TrimRight(errOut, "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "socmond: no AWS credentials, nothing was sent to AWS: none found (") ||
				!strings.Contains(lines[0], "AWS_PROFILE") || !strings.HasSuffix(lines[0], "make demo") {
				t.Errorf("stderr is not the one line with its hint:\n%s", errOut)
			}
			if args[0] == "validate" && out != "" {
				t.Errorf("stdout %q, want nothing: no check ran", out)
			}
		})
	}

	code, out, _ := runCLI(t, "validate", "--config.file", example, "-o", "json")
	var rep report.JSONReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	if code != exitCredentials || rep.Pass || len(rep.Results) != 0 || rep.Error == nil || rep.Error.Class != "credentials" ||
		!strings.Contains(rep.Error.Message, "no AWS credentials") || !strings.Contains(rep.Error.Hint, "make demo") {
		t.Errorf("json: exit %d, report %+v error %+v", code, rep, rep.Error)
	}
}

// TestNoConfigSaysWhereToStart: a first run with no config file and none of
// the pipeline's variables points to the example and the demo.
func TestNoConfigSaysWhereToStart(t *testing.T) {
	for _, k := range append(config.EnvVars(), "SOCMOND_CONFIG_FILE") {
		t.Setenv(k, "")
	}
	code, _, errOut := runCLI(t, "validate")
	if code != exitUsage {
		t.Errorf("exit %d, want 2", code)
	}
	if !strings.Contains(errOut, "config.example.yaml") || !strings.Contains(errOut, "make demo") || !strings.Contains(errOut, "BEDROCK_TEXT_MODEL") {
		t.Errorf("stderr does not say where to start:\n%s", errOut)
	}
}

// TestRejectedCredentialsIsOneLine: credentials AWS refuses (an unknown
// access key) fail every probe alike; validate says so once, with what to
// do, and exits 4, instead of one FAIL per resource blaming a permission.
func TestRejectedCredentialsIsOneLine(t *testing.T) {
	url := startSim(t)
	for _, svc := range probes.Services() {
		code := "UnrecognizedClientException"
		if svc == "s3" {
			code = "InvalidAccessKeyId"
		}
		addFault(t, url, `{"service":"`+svc+`","error":"`+code+`"}`)
	}
	code, out, errOut := runCLI(t, "validate", "--config.file", example)
	lines := strings.Split(strings.TrimRight(errOut, "\n"), "\n")
	if code != exitCredentials || out != "" || len(lines) != 1 ||
		!strings.HasPrefix(lines[0], "socmond: AWS refused socmond's credentials (UnrecognizedClientException)") ||
		!strings.Contains(lines[0], "AWS_SESSION_TOKEN") {
		t.Errorf("exit %d, stdout %q, stderr:\n%s", code, out, errOut)
	}

	// One resource that answers is no credentials problem: the table, exit 1.
	clearFaults(t, url)
	addFault(t, url, `{"service":"kms","error":"UnrecognizedClientException"}`)
	if code, out, _ := runCLI(t, "validate", "--config.file", example); code != exitFailed || !strings.Contains(out, "❌ FAIL AWS KMS Health") {
		t.Errorf("one refused service: exit %d\n%s", code, out)
	}
}
