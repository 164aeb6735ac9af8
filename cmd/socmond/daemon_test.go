package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/socmond/socmond/internal/testenv"
)

// buildBinary builds socmond once per test binary run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "socmond")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// fastConfig is the example config probing every second.
func fastConfig(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), `schedule: "@every 30s"`, `schedule: "@every 1s"`, 1)
	path := filepath.Join(t.TempDir(), "fast.yaml")
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

type statusDoc struct {
	Status string `json:"status"`
	Data   struct {
		Resources []struct {
			Service   string `json:"service"`
			Resource  string `json:"resource"`
			Status    string `json:"status"`
			LastError *struct {
				Class     string `json:"class"`
				Code      string `json:"code"`
				RequestID string `json:"request_id"`
				Hint      string `json:"hint"`
			} `json:"last_error"`
		} `json:"resources"`
	} `json:"data"`
}

func getStatus(t *testing.T, base string) statusDoc {
	t.Helper()
	var doc statusDoc
	testenv.GetJSON(t, base+"/api/v1/status", &doc)
	return doc
}

func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestDaemonEndToEnd runs the real binary against the simulator: readiness,
// a fault moving /api/v1/status and /metrics, recovery, a promtool-clean
// exposition, and a graceful exit 0 on SIGTERM.
func TestDaemonEndToEnd(t *testing.T) {
	bin := buildBinary(t)
	promtool := testenv.Tool(t, "promtool")
	simURL := startSim(t)
	port := testenv.FreePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)

	var logs testenv.Buffer
	cmd := exec.Command(bin, "run", "--config.file", fastConfig(t), "--web.listen-address", testenv.Addr(port), "--shutdown.grace-period", "5s")
	cmd.Env = os.Environ() // startSim set AWS_ENDPOINT_URL and fake credentials
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		if t.Failed() {
			t.Logf("daemon log:\n%s", logs.String())
		}
	})

	poll(t, "/-/ready", func() bool {
		resp, err := http.Get(base + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	doc := getStatus(t, base)
	if doc.Status != "success" || len(doc.Data.Resources) != exampleResources(t) {
		t.Fatalf("status doc: %+v", doc)
	}
	for _, r := range doc.Data.Resources {
		if r.Status != "healthy" {
			t.Fatalf("%s/%s is %s before any fault", r.Service, r.Resource, r.Status)
		}
	}

	resp, err := http.Post(simURL+"/_sim/faults", "application/json",
		strings.NewReader(`{"service":"dynamodb","resource":"AsiaAgenticSocMetrics-dev","error":"AccessDeniedException"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	poll(t, "the table to turn unavailable", func() bool {
		for _, r := range getStatus(t, base).Data.Resources {
			if r.Resource == "AsiaAgenticSocMetrics-dev" {
				return r.Status == "unavailable" && r.LastError != nil && r.LastError.Class == "auth" &&
					r.LastError.Code == "AccessDeniedException" && r.LastError.RequestID != "" && r.LastError.Hint != ""
			}
		}
		return false
	})
	metrics := scrape(t, base)
	for _, want := range []string{
		`socmond_probe_failures_total{class="auth",resource="AsiaAgenticSocMetrics-dev",service="dynamodb"}`,
		`socmond_service_status{resource="AsiaAgenticSocMetrics-dev",service="dynamodb",status="unavailable"} 1`,
		`socmond_build_info{`,
	} {
		if !strings.Contains(metrics, want) {
			t.Fatalf("/metrics lacks %s", want)
		}
	}

	// promtool check metrics must report nothing on the real exposition.
	check := exec.Command(promtool, "check", "metrics")
	check.Stdin = strings.NewReader(metrics)
	if out, err := check.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) != 0 {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}

	req, _ := http.NewRequest(http.MethodDelete, simURL+"/_sim/faults", nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
	poll(t, "recovery", func() bool {
		for _, r := range getStatus(t, base).Data.Resources {
			if r.Status != "healthy" {
				return false
			}
		}
		return true
	})
	if !strings.Contains(logs.String(), `"message":"status changed"`) {
		t.Fatalf("no status-change log line:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "secret-example") {
		t.Fatal("the secret access key appeared in the log")
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("daemon did not stop after SIGTERM")
	}
}

func scrape(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
