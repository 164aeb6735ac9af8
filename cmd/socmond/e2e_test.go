package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/socmond/socmond/internal/testenv"
)

// TestE2EAgainstSimSubprocess runs `socmond e2e` against `socmond sim`, both
// as the real binary seeded from config.example.yaml unchanged.
func TestE2EAgainstSimSubprocess(t *testing.T) {
	bin := buildBinary(t)
	addr := testenv.Addr(testenv.FreePort(t))
	testenv.Start(t, addr, nil, bin, "sim", "--config.file="+example, "--sim.listen-address="+addr)
	env := append(os.Environ(), "AWS_ENDPOINT_URL=http://"+addr, "AWS_ACCESS_KEY_ID=sim", "AWS_SECRET_ACCESS_KEY=sim",
		"AWS_REGION=us-east-1", "NO_COLOR=1")
	e2e := func(args ...string) (string, int) {
		cmd := exec.Command(bin, append([]string{"e2e", "--config.file=" + example}, args...)...)
		cmd.Env = env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return out.String(), code
	}

	out, code := e2e()
	if code != 0 {
		t.Fatalf("clean run exit %d:\n%s", code, out)
	}
	for i, step := range []string{"put_event", "execution", "lambda_stages", "bedrock_analysis", "investigation_record", "artifact_encrypted", "audit_retention", "compliance_artifact"} {
		want := "[" + string(rune('1'+i)) + "/8] " + step
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if strings.Count(out, " PASS ") != 8 || strings.Contains(out, "\r") || strings.Contains(out, "RUNNING") {
		t.Errorf("piped output should be 8 plain PASS lines:\n%s", out)
	}

	// A failing Lambda stage: exit 1, and the output names the stage.
	resp, err := http.Post("http://"+addr+"/_sim/faults", "application/json",
		strings.NewReader(`{"service":"lambda","resource":"AsiaAgenticSoc-Analyze-dev","error":"ServiceException","count":1}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	out, code = e2e("--output", "json")
	if code != 1 {
		t.Fatalf("stage fault exit %d:\n%s", code, out)
	}
	var rep struct {
		Passed bool
		Steps  []struct{ Name, Status, Reason string }
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	if rep.Passed || len(rep.Steps) != 8 || rep.Steps[2].Status != "fail" || !strings.Contains(rep.Steps[2].Reason, "AsiaAgenticSoc-Analyze-dev") {
		t.Fatalf("want step 3 failing on the Analyze stage: %+v", rep.Steps)
	}
}
