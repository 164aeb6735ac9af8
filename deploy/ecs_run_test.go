package deploy

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"golang.org/x/crypto/bcrypt"

	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/emf"
	"github.com/socmond/socmond/internal/testenv"
)

// The credentials Secrets Manager would hand the task.
const (
	ecsAMUser     = "socmond"
	ecsAMPassword = "ecs-run-am-password-7c2e"
)

// TestECSTaskPagesAndWritesEMF runs the shipped ECS task as ECS would: the
// real binary with the container's command, environment and secrets (the
// secrets resolved to known values) and no config file, against the
// simulator seeded from that same environment, paging a real Alertmanager
// that requires those credentials. A compliance failure and a denied table
// must reach the Alertmanager's receiver as a page, stdout must hold only
// EMF lines that follow the specification, one per probe result and
// compliance finding, stderr only logs, and every metric the CloudWatch
// alarms query must be among the lines, with the dimensions they query.
func TestECSTaskPagesAndWritesEMF(t *testing.T) {
	td := loadTaskDefinition(t)
	c := td.ContainerDefinitions[0]
	bin := testenv.BuildSocmond(t)
	dir := t.TempDir()

	taskEnv := map[string]string{}
	for _, kv := range c.Environment {
		taskEnv[aws.ToString(kv.Name)] = aws.ToString(kv.Value)
	}
	resolved := map[string]string{config.EnvAlertmanagerUsername: ecsAMUser, config.EnvAlertmanagerPassword: ecsAMPassword}
	for _, s := range c.Secrets {
		v, ok := resolved[aws.ToString(s.Name)]
		if !ok {
			t.Fatalf("secret %s: the test has no value for it", aws.ToString(s.Name))
		}
		taskEnv[aws.ToString(s.Name)] = v
	}
	cfg, err := config.FromEnv(func(k string) string { return taskEnv[k] })
	if err != nil {
		t.Fatal(err)
	}

	// The simulator, seeded from the task's environment (`socmond sim`
	// without a config file reads it too), with the faults in place before
	// socmond's first round: the KMS key's rotation off (a compliance
	// failure, which pages at once) and the metrics table denied.
	envList := func(extra ...string) []string {
		var out []string
		for k, v := range taskEnv {
			out = append(out, k+"="+v)
		}
		return append(out, extra...)
	}
	simAddr := testenv.Addr(testenv.FreePort(t))
	testenv.Start(t, simAddr, envList(), bin, "sim", "--sim.listen-address", simAddr)
	simURL := "http://" + simAddr
	const deniedTable = "AsiaAgenticSocMetrics-dev"
	if taskEnv["DDB_METRICS_TABLE"] != deniedTable {
		t.Fatalf("DDB_METRICS_TABLE is %q; the test denies %q", taskEnv["DDB_METRICS_TABLE"], deniedTable)
	}
	for _, f := range []string{
		`{"service":"kms","set":{"KeyRotationEnabled":"false"}}`,
		fmt.Sprintf(`{"service":"dynamodb","resource":%q,"operation":"DescribeTable","error":"AccessDeniedException"}`, deniedTable),
	} {
		resp, err := http.Post(simURL+"/_sim/faults", "application/json", strings.NewReader(f))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("fault %s: %s", f, resp.Status)
		}
	}

	// A real Alertmanager that refuses requests without the credentials.
	hook := &ecsReceiver{}
	hookSrv := httptest.NewServer(hook)
	t.Cleanup(hookSrv.Close)
	hash, err := bcrypt.GenerateFromPassword([]byte(ecsAMPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "web.yml"), fmt.Sprintf("basic_auth_users:\n  %s: %s\n", ecsAMUser, hash))
	writeFile(t, filepath.Join(dir, "am.yml"), fmt.Sprintf(`route:
  receiver: hook
  group_by: [alertname, resource]
  group_wait: 1s
  group_interval: 1s
receivers:
  - name: hook
    webhook_configs: [{url: %q}]
`, hookSrv.URL))
	amAddr := testenv.Addr(testenv.FreePort(t))
	testenv.Start(t, amAddr, nil, testenv.Tool(t, "prometheus-alertmanager"), "--config.file="+filepath.Join(dir, "am.yml"),
		"--web.config.file="+filepath.Join(dir, "web.yml"), "--storage.path="+filepath.Join(dir, "am"),
		"--web.listen-address="+amAddr, "--cluster.listen-address=")

	// socmond as the container runs it, listening on loopback.
	webAddr := testenv.Addr(testenv.FreePort(t))
	var args []string
	for _, a := range c.Command {
		if strings.HasPrefix(a, "--web.listen-address=") {
			a = "--web.listen-address=" + webAddr
		}
		args = append(args, a)
	}
	taskEnv[config.EnvAlertmanagerURL] = "http://" + amAddr // the shipped one is a placeholder host
	cmd := exec.Command(bin, args...)
	// Only the task's variables and the simulator's: nothing of the
	// machine's environment (a SOCMOND_CONFIG_FILE, AWS profiles) leaks in.
	cmd.Env = envList("AWS_ENDPOINT_URL="+simURL, "AWS_ACCESS_KEY_ID=AKIDECSRUNTEST", "AWS_SECRET_ACCESS_KEY=ecs-run-secret",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "PATH="+os.Getenv("PATH"))
	var stdout, stderr testenv.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("socmond stderr:\n%s", stderr.String())
		}
	})

	start := time.Now()
	page := hook.wait(t, func(a ecsAlert) bool {
		return a.Status == "firing" && a.Labels["alertname"] == "ComplianceViolation" && a.Labels["check"] == "kms_key_rotation"
	})
	t.Logf("socmond start → page at the Alertmanager's receiver: %s", time.Since(start).Round(time.Millisecond))
	for k, v := range map[string]string{"tenant": taskEnv["DEFAULT_TENANT_ID"], "severity": "page", "resource": taskEnv["KMS_KEY_ID"]} {
		if page.Labels[k] != v {
			t.Errorf("page label %s=%q, want %q (%v)", k, page.Labels[k], v, page.Labels)
		}
	}
	if !strings.Contains(page.Annotations["hint"], "enable-key-rotation") {
		t.Errorf("the page does not say how to fix it: %v", page.Annotations)
	}
	// Every target's first result is in once socmond is ready.
	testenv.Eventually(t, "socmond ready", func() bool {
		resp, err := http.Get("http://" + webAddr + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		stopped = true
		if err != nil {
			t.Errorf("socmond exited: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("socmond did not stop on SIGTERM")
	}

	for _, out := range []string{stdout.String(), stderr.String()} {
		if strings.Contains(out, ecsAMPassword) {
			t.Error("socmond's output holds the Alertmanager password")
		}
	}
	// stderr: logs only, none of which CloudWatch could read as metrics.
	for _, l := range testenv.Lines(stderr.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil || m["level"] == nil || m["_aws"] != nil {
			t.Errorf("stderr line is not a JSON log line without _aws: %s", l)
		}
	}
	docs := checkEMFLines(t, stdout.String())

	// One line per target, with the values the alarms read.
	type key struct{ service, resource string }
	probeLines := map[key][]testenv.EMF{}
	failures := map[string]float64{}
	for _, d := range docs {
		if d.String("Service") != "" {
			k := key{d.String("Service"), d.String("Resource")}
			probeLines[k] = append(probeLines[k], d)
		}
		if v, ok := d.Value(emf.MetricComplianceFailure); ok {
			failures[d.String("Check")+" "+d.String("Resource")] = v
		}
		if d.String("Tenant") != taskEnv["DEFAULT_TENANT_ID"] {
			t.Errorf("line of tenant %q", d.String("Tenant"))
		}
	}
	for _, tg := range cfg.Targets() {
		lines := probeLines[key{tg.Service, tg.Resource}]
		if len(lines) == 0 {
			t.Errorf("no EMF line for %s %s", tg.Service, tg.Resource)
			continue
		}
		last := lines[len(lines)-1]
		errV, _ := last.Value(emf.MetricError)
		unavailV, _ := last.Value(emf.MetricUnavailable)
		_, hasRT := last.Value(emf.MetricResponseTime)
		denied := tg.Resource == deniedTable
		if (errV == 1) != denied || (unavailV == 1) != denied || hasRT == denied {
			t.Errorf("%s %s: Error %v Unavailable %v ResponseTime present %v (denied: %v)", tg.Service, tg.Resource, errV, unavailV, hasRT, denied)
		}
	}
	if v, ok := failures["kms_key_rotation "+taskEnv["KMS_KEY_ID"]]; !ok || v != 1 {
		t.Errorf("ComplianceFailure of kms_key_rotation: %v (present %v), want 1; all: %v", v, ok, failures)
	}

	// Every metric an alarm queries is written, with the dimensions and in
	// the namespace the alarm queries.
	written := writtenMetrics(t, docs)
	tpl := loadAlarms(t)
	for _, q := range alarmQueries(t, tpl) {
		if q.Placed {
			continue // the env-only task has no tenants' pipelines: TestCloudWatchAlarms
		}
		if k := tpl.Parameters["Namespace"].Default + " " + q.Metric + " " + strings.Join(q.Dimensions, ","); !written[k] {
			t.Errorf("%s queries %s by %v, which socmond did not write (it wrote %v)", q.Alarm, q.Metric, q.Dimensions, written)
		}
	}
	t.Logf("%d EMF lines, %d log lines; sample:\n%s", len(docs), len(testenv.Lines(stderr.String())), sampleLines(stdout.String()))
}

// checkEMFLines parses every line of stdout against the EMF specification.
func checkEMFLines(t *testing.T, stdout string) []testenv.EMF {
	t.Helper()
	var docs []testenv.EMF
	for _, l := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
		d, err := testenv.ParseEMF([]byte(l))
		if err != nil {
			t.Errorf("stdout line is not valid EMF: %v\n%s", err, l)
			continue
		}
		docs = append(docs, d)
	}
	if len(docs) == 0 {
		t.Fatal("no EMF lines on stdout")
	}
	return docs
}

// sampleLines is a probe line and a compliance line, for the test log.
func sampleLines(stdout string) string {
	var out []string
	for _, want := range []string{`"Service":`, `"Check":`} {
		for _, l := range strings.Split(stdout, "\n") {
			if strings.Contains(l, want) {
				out = append(out, l)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}

// ecsReceiver is the webhook behind the Alertmanager.
type ecsReceiver struct {
	mu  sync.Mutex
	got []ecsAlert
}

type ecsAlert struct {
	Status      string            `json:"status"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

func (r *ecsReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var msg struct {
		Alerts []ecsAlert `json:"alerts"`
	}
	if err := json.NewDecoder(req.Body).Decode(&msg); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.got = append(r.got, msg.Alerts...)
	r.mu.Unlock()
}

func (r *ecsReceiver) wait(t *testing.T, match func(ecsAlert) bool) ecsAlert {
	t.Helper()
	var found ecsAlert
	testenv.Eventually(t, "the page at the Alertmanager's receiver", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, a := range r.got {
			if match(a) {
				found = a
				return true
			}
		}
		return false
	})
	return found
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
