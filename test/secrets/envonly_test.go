package secrets

import (
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/socmond/socmond/internal/awssim"
	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/testenv"
)

// TestNoSecretLeaksEnvOnly is the ECS way in: no config file, the
// Alertmanager credentials in ALERTMANAGER_PASSWORD or
// ALERTMANAGER_BEARER_TOKEN as ECS injects them from Secrets Manager, and
// the CloudWatch EMF lines on stdout. Two daemons page — one with basic
// auth to the two Alertmanagers of a comma-separated ALERTMANAGER_URL, one
// with the bearer token — and every log line, EMF line, request and
// command output is scanned; the credentials appear only in the
// Authorization header of their own Alertmanagers.
func TestNoSecretLeaksEnvOnly(t *testing.T) {
	bin := testenv.BuildSocmond(t)
	base := map[string]string{
		"AWS_REGION": "us-east-1", "DEFAULT_TENANT_ID": "hk-demo", "KMS_KEY_ID": "alias/AsiaAgenticSoc",
		"DDB_METRICS_TABLE": "AsiaAgenticSocMetrics-dev", "AUDIT_BUCKET": "asia-agentic-soc-audit-123456789012-dev",
		"SOCMOND_CLOUDWATCH_EMF": "true",
	}
	cfg, err := config.FromEnv(func(k string) string { return base[k] })
	if err != nil {
		t.Fatal(err)
	}
	// A compliance failure pages at socmond's first round, so both
	// daemons send their credentials within seconds.
	simURL := startSim(t, cfg, awssim.Fault{Service: "kms", Set: map[string]string{"KeyRotationEnabled": "false"}})

	env := func(extra map[string]string) []string {
		out := []string{"PATH=" + os.Getenv("PATH"), "AWS_ENDPOINT_URL=" + simURL, "AWS_ACCESS_KEY_ID=" + accessKey,
			"AWS_SECRET_ACCESS_KEY=" + secretKey, "AWS_SESSION_TOKEN=" + sessionToken, "AWS_CONFIG_FILE=/dev/null",
			"AWS_SHARED_CREDENTIALS_FILE=/dev/null", "NO_COLOR=1"}
		for _, m := range []map[string]string{base, extra} {
			for k, v := range m {
				out = append(out, k+"="+v)
			}
		}
		return out
	}
	basic1, basic2, bearer := &amRecorder{}, &amRecorder{}, &amRecorder{}
	var urls []string
	for _, am := range []*amRecorder{basic1, basic2, bearer} {
		srv := httptest.NewServer(am)
		t.Cleanup(srv.Close)
		urls = append(urls, srv.URL)
	}
	basicEnv := env(map[string]string{config.EnvAlertmanagerURL: urls[0] + "," + urls[1],
		config.EnvAlertmanagerUsername: amUser, config.EnvAlertmanagerPassword: amPassword})
	bearerEnv := env(map[string]string{config.EnvAlertmanagerURL: urls[2], config.EnvAlertmanagerBearerToken: amToken})

	var logs []*testenv.Buffer
	var daemons []*exec.Cmd
	for _, e := range [][]string{basicEnv, bearerEnv} {
		daemon := exec.Command(bin, "run", "--web.listen-address", testenv.Addr(testenv.FreePort(t)), "--log.level", "debug",
			"--shutdown.grace-period", "5s")
		daemon.Env = e
		out := &testenv.Buffer{}
		daemon.Stdout, daemon.Stderr = out, out
		if err := daemon.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = daemon.Process.Kill() })
		logs = append(logs, out)
		daemons = append(daemons, daemon)
	}
	testenv.Eventually(t, "notifications at the three Alertmanagers", func() bool {
		return len(basic1.requests()) > 0 && len(basic2.requests()) > 0 && len(bearer.requests()) > 0
	})
	checkAlertmanager(t, "the first basic-auth Alertmanager", basic1, "Basic "+basicAuth(amUser, amPassword))
	checkAlertmanager(t, "the second basic-auth Alertmanager", basic2, "Basic "+basicAuth(amUser, amPassword))
	checkAlertmanager(t, "the bearer-token Alertmanager", bearer, "Bearer "+amToken)

	for _, c := range []struct {
		name string
		env  []string
		args []string
		want int
	}{
		{"check-config (basic auth)", basicEnv, []string{"check-config"}, 0},
		{"check-config (bearer token)", bearerEnv, []string{"check-config"}, 0},
		{"validate", basicEnv, []string{"validate"}, 1}, // the KMS key does not rotate
		{"iam-policy", bearerEnv, []string{"iam-policy"}, 0},
		// A password written into the URL is refused without repeating it.
		{"a URL with credentials", env(map[string]string{config.EnvAlertmanagerURL: fmt.Sprintf("https://%s:%s@am:9093", amUser, amPassword)}),
			[]string{"check-config"}, 2},
		{"a bearer token and a password", env(map[string]string{config.EnvAlertmanagerURL: urls[0], config.EnvAlertmanagerBearerToken: amToken,
			config.EnvAlertmanagerUsername: amUser, config.EnvAlertmanagerPassword: amPassword}), []string{"check-config"}, 2},
	} {
		out, code := runCmd(t, bin, c.env, append(c.args, "--log.level", "debug")...)
		if code != c.want {
			t.Errorf("socmond %s: exit %d, want %d:\n%s", c.name, code, c.want, out)
		}
		assertClean(t, "socmond "+c.name, out)
		if strings.HasPrefix(c.name, "check-config") && !strings.Contains(out, "<secret>") {
			t.Errorf("socmond %s should print the credential as <secret>:\n%s", c.name, out)
		}
	}

	// Last, the daemons' whole output, logs and EMF lines, shutdown included.
	for i, d := range daemons {
		_ = d.Process.Signal(syscall.SIGTERM)
		_ = d.Wait()
		emfLines := 0
		for j, line := range testenv.Lines(logs[i].String()) {
			assertClean(t, fmt.Sprintf("daemon %d output line %d", i+1, j+1), line)
			if strings.HasPrefix(line, `{"_aws":`) {
				emfLines++
			}
		}
		if emfLines == 0 {
			t.Errorf("daemon %d wrote no EMF line: its stdout was not checked", i+1)
		}
	}
}
