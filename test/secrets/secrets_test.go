package secrets

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/crypto/bcrypt"

	"github.com/socmond/socmond/internal/awssim"
	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/simseed"
	"github.com/socmond/socmond/internal/testenv"
)

// TestNoSecretLeaks runs the daemon, every endpoint and every command with
// the fake secrets and checks everything they print, serve and write.
func TestNoSecretLeaks(t *testing.T) {
	root := testenv.RepoRoot(t)
	bin := filepath.Join(t.TempDir(), "socmond")
	if out, err := exec.Command("go", "build", "-o", bin, filepath.Join(root, "cmd", "socmond")).CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dir := t.TempDir()

	basicAM, bearerAM := &amRecorder{}, &amRecorder{}
	basicSrv, bearerSrv := httptest.NewServer(basicAM), httptest.NewServer(bearerAM)
	t.Cleanup(basicSrv.Close)
	t.Cleanup(bearerSrv.Close)

	// The password comes through ${VAR} expansion, the token literally:
	// both ways into the config must stay hidden.
	t.Setenv("SOCMOND_TEST_AM_PASSWORD", amPassword)
	cfgPath := writeConfig(t, root, dir, basicSrv.URL, bearerSrv.URL)
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	// A throttled table makes the alert rules fire, so both Alertmanagers
	// are sent notifications with their credentials.
	simURL := startSim(t, cfg, awssim.Fault{Service: "dynamodb", Resource: "AsiaAgenticSocMetrics-dev", Error: "ThrottlingException"})

	env := append(os.Environ(), "AWS_ENDPOINT_URL="+simURL, "AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID="+accessKey,
		"AWS_SECRET_ACCESS_KEY="+secretKey, "AWS_SESSION_TOKEN="+sessionToken, "AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null", "NO_COLOR=1")

	webCfg := writeWebConfig(t, dir)
	port := testenv.FreePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	daemon := exec.Command(bin, "run", "--config.file", cfgPath, "--web.listen-address", testenv.Addr(port),
		"--web.config.file", webCfg, "--log.level", "debug", "--shutdown.grace-period", "5s")
	daemon.Env = env
	logs := &testenv.Buffer{}
	daemon.Stdout, daemon.Stderr = logs, logs
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = daemon.Process.Kill(); _ = daemon.Wait() })

	testenv.Eventually(t, "socmond ready", func() bool { return get(t, base, "/-/ready", true).status == http.StatusOK })
	testenv.Eventually(t, "notifications at both Alertmanagers", func() bool {
		return len(basicAM.requests()) > 0 && len(bearerAM.requests()) > 0
	})
	evidence := readEvidence(t, simURL, cfg)

	// Every endpoint, authenticated, and what a client without the
	// password is told.
	for _, path := range []string{"/", "/metrics", "/api/v1/status", "/-/healthy", "/-/ready", "/static/does-not-exist"} {
		r := get(t, base, path, true)
		assertClean(t, "GET "+path, r.status.String()+"\n"+r.headers+r.body)
		if path == "/api/v1/status" && !strings.Contains(r.body, "AsiaAgenticSocMetrics-dev") {
			t.Errorf("/api/v1/status does not list the throttled table: %.300s", r.body)
		}
		u := get(t, base, path, false)
		if u.status != http.StatusUnauthorized {
			t.Errorf("GET %s without the password: status %d, want 401", path, u.status)
		}
		assertClean(t, "unauthenticated GET "+path, u.status.String()+"\n"+u.headers+u.body)
	}
	reload := post(t, base+"/-/reload")
	assertClean(t, "POST /-/reload", reload)

	for _, ev := range evidence {
		assertClean(t, "evidence report "+ev.key, ev.body)
	}
	checkAlertmanager(t, "the basic-auth Alertmanager", basicAM, "Basic "+basicAuth(amUser, amPassword))
	checkAlertmanager(t, "the bearer-token Alertmanager", bearerAM, "Bearer "+amToken)

	// Every command, with debug logging, stdout and stderr together.
	type command struct {
		name string
		args []string
		want int // exit code: 1 where the throttled table must fail
	}
	evidenceURL := "s3://" + cfg.Pipeline.AuditBucket + "/" + evidence[0].key
	for _, c := range []command{
		{"validate", []string{"validate"}, 1},
		{"validate --output json", []string{"validate", "--output", "json"}, 1},
		{"check-config", []string{"check-config"}, 0},
		{"iam-policy", []string{"iam-policy"}, 0},
		{"e2e", []string{"e2e"}, 0},
		{"e2e --output json", []string{"e2e", "--output", "json"}, 0},
		{"evidence verify", []string{"evidence", "verify", evidenceURL}, 0},
		{"healthcheck", []string{"healthcheck", "--web.url", base}, 1}, // no password: 401
	} {
		args := append(c.args, "--config.file", cfgPath, "--log.level", "debug")
		out, code := runCmd(t, bin, env, args...)
		if code != c.want {
			t.Errorf("socmond %s: exit %d, want %d:\n%s", c.name, code, c.want, out)
		}
		assertClean(t, "socmond "+c.name, out)
	}
	if out, _ := runCmd(t, bin, env, "check-config", "--config.file", cfgPath); strings.Count(out, "<secret>") < 2 {
		t.Errorf("check-config should print both Alertmanager credentials as <secret>:\n%s", out)
	}

	// demo: its own simulator and daemon, for a few seconds.
	demoPort := testenv.FreePort(t)
	out, code := runCmd(t, bin, env, "demo", "--config.file", cfgPath, "--log.level", "debug",
		"--web.listen-address", testenv.Addr(demoPort), "--demo.duration", "6s")
	if code != 0 {
		t.Errorf("socmond demo: exit %d:\n%s", code, out)
	}
	assertClean(t, "socmond demo", out)

	// Last, the daemon's whole log, including its shutdown.
	_ = daemon.Process.Signal(syscall.SIGTERM)
	_ = daemon.Wait()
	for i, line := range testenv.Lines(logs.String()) {
		assertClean(t, fmt.Sprintf("daemon log line %d", i+1), line)
	}
	if !strings.Contains(logs.String(), `"level":"debug"`) {
		t.Errorf("the daemon logged nothing at debug level: the test did not see what debug logs")
	}
	checked.mu.Lock()
	t.Logf("checked %d texts, %d KiB: %d daemon log lines, %d evidence reports, %d and %d Alertmanager requests",
		checked.texts, checked.bytes>>10, len(testenv.Lines(logs.String())), len(evidence), len(basicAM.requests()), len(bearerAM.requests()))
	checked.mu.Unlock()
}

// startSim runs the simulator seeded from cfg, with faults, for the test.
func startSim(t *testing.T, cfg *config.Config, faults ...awssim.Fault) string {
	t.Helper()
	sim, url := awssim.Serve(t, simseed.FromConfig(cfg))
	for _, f := range faults {
		sim.AddFault(f)
	}
	return url
}

// writeConfig is config.example.yaml probing every second, with evidence
// reports on and two Alertmanagers, one with basic auth and one with a
// bearer token.
func writeConfig(t *testing.T, root, dir, basicURL, bearerURL string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "config.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for old, repl := range map[string]string{
		`schedule: "@every 30s"`:                          `schedule: "@every 1s"`,
		"    enabled: false         # the only S3 writes": "    enabled: true          # the only S3 writes",
		"  min_sample_ratio: 0.5":                         "  min_sample_ratio: 0.01",
		"alerting:\n": fmt.Sprintf("alerting:\n  alertmanagers:\n    - url: %s\n      basic_auth:\n        username: %s\n        password: ${SOCMOND_TEST_AM_PASSWORD}\n    - url: %s\n      bearer_token: %s\n",
			basicURL, amUser, bearerURL, amToken),
	} {
		if !strings.Contains(s, old) {
			t.Fatalf("config.example.yaml has no %q to change", old)
		}
		s = strings.Replace(s, old, repl, 1)
	}
	path := filepath.Join(dir, "socmond.yaml")
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeWebConfig is a --web.config.file with the web password's bcrypt hash.
func writeWebConfig(t *testing.T, dir string) string {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(webPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "web.yml")
	if err := os.WriteFile(path, []byte(fmt.Sprintf("basic_auth_users:\n  %s: %s\n", webUser, hash)), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

type answer struct {
	status  httpStatus
	headers string
	body    string
}

type httpStatus int

func (s httpStatus) String() string { return fmt.Sprintf("%d %s", int(s), http.StatusText(int(s))) }

func get(t *testing.T, base, path string, auth bool) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth {
		req.SetBasicAuth(webUser, webPassword)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var h bytes.Buffer
	_ = resp.Header.Write(&h)
	return answer{status: httpStatus(resp.StatusCode), headers: h.String(), body: string(body)}
}

func post(t *testing.T, url string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(webUser, webPassword)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("POST %s: status %d: %s", url, resp.StatusCode, body)
	}
	return fmt.Sprintf("%d\n%s", resp.StatusCode, body)
}

// runCmd runs the binary to completion and returns stdout and stderr
// together with the exit code.
func runCmd(t *testing.T, bin string, env []string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), ee.ExitCode()
	}
	if err != nil {
		t.Fatalf("socmond %v: %v", args, err)
	}
	return out.String(), 0
}

type evidenceObject struct{ key, body string }

// readEvidence waits for the daemon's first evidence report and reads every
// report back from the simulator's audit bucket through the SDK.
func readEvidence(t *testing.T, simURL string, cfg *config.Config) []evidenceObject {
	t.Helper()
	c := s3.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("reader", "reader", "")},
		func(o *s3.Options) { o.BaseEndpoint = aws.String(simURL); o.UsePathStyle = true })
	bucket, prefix := cfg.Pipeline.AuditBucket, cfg.Compliance.Evidence.Prefix
	var keys []string
	testenv.Eventually(t, "an evidence report in "+bucket, func() bool {
		out, err := c.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
		if err != nil {
			return false
		}
		keys = keys[:0]
		for _, o := range out.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
		return len(keys) > 0
	})
	var objs []evidenceObject
	for _, k := range keys {
		out, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(k)})
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(out.Body)
		out.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, evidenceObject{key: k, body: string(b)})
	}
	return objs
}
