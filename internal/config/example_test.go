package config

import (
	"github.com/socmond/socmond/internal/probes"
	"go.yaml.in/yaml/v3"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const examplePath = "../../config.example.yaml"

// The shipped example must load with an empty environment and describe the
// real pipeline.
func TestExampleFile(t *testing.T) {
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse("config.example.yaml", data, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "region", c.Region, "us-east-1")
	wantEqual(t, "tenant", c.Tenant, "hk-demo")
	wantEqual(t, "pipeline", c.Pipeline, Pipeline{
		ArtifactsBucket:     "asia-agentic-soc-artifacts-123456789012-dev",
		AuditBucket:         "asia-agentic-soc-audit-123456789012-dev",
		KMSKey:              "alias/AsiaAgenticSoc",
		EventBus:            "AsiaAgenticSocBus",
		StateMachine:        "arn:aws:states:us-east-1:123456789012:stateMachine:AsiaAgenticSocStateMachine",
		InvestigationsTable: "AsiaAgenticSocInvestigations-dev",
		MetricsTable:        "AsiaAgenticSocMetrics-dev",
	})
	// Every resource the file lists, read without socmond's decoder, in
	// the registry's order, with built-in settings but the audit bucket's
	// own schedule: the pipeline's services each have at least one.
	var raw struct {
		Services map[string]struct{ Resources []struct{ Name string } }
	}
	if err := yaml.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	var want []Target
	for _, d := range probes.All() {
		for _, r := range raw.Services[d.Name].Resources {
			tg := builtin(d.Name, r.Name)
			if r.Name == c.Pipeline.AuditBucket {
				tg = with(tg, func(t *Target) { t.Schedule = "@every 1m" })
			}
			want = append(want, tg)
		}
	}
	for _, svc := range []string{"bedrock", "dynamodb", "s3", "kms", "eventbridge", "stepfunctions", "lambda"} {
		if len(raw.Services[svc].Resources) == 0 {
			t.Errorf("the example probes no %s resource", svc)
		}
	}
	if got := c.Targets(); !reflect.DeepEqual(got, want) {
		t.Errorf("Targets():\n got %+v\nwant %+v", got, want)
	}
	if rt := c.RuntimeTargets(); rt != nil {
		t.Errorf("runtime probe must be off in the example, got %+v", rt)
	}

	// The region line uses ${AWS_REGION:-us-east-1}, so the environment wins.
	c, err = Parse("config.example.yaml", data, envMap(map[string]string{"AWS_REGION": "ap-east-1"}))
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "region from env", c.Region, "ap-east-1")
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(good, []byte("services:\n  kms:\n    resources: [{name: k}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("services:\n  kms:\n    resources: [{nme: k}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		path    string
		wantErr string
	}{
		"valid file":   {path: good},
		"invalid file": {path: bad, wantErr: bad + `:3: unknown key "nme" in services.kms.resources[0]`},
		"missing file": {path: filepath.Join(dir, "nope.yaml"), wantErr: "config: open " + filepath.Join(dir, "nope.yaml") + ": no such file or directory"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := Load(tc.path)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error = %v, want %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n := len(c.Targets()); n != 1 {
				t.Errorf("got %d targets, want 1", n)
			}
		})
	}
}

// FuzzParse: whatever the input, Parse must not panic, and must return
// either a usable config or an error that names the file.
func FuzzParse(f *testing.F) {
	example, err := os.ReadFile(examplePath)
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		string(example),
		"",
		"services:\n  kms:\n    resources: [{name: k}]\n",
		"services:\n  kms:\n    tiemout: 5s\n",
		"tenant: ${UNSET}\n",
		"tenant: $${X} ${Y:-z\n",
		"a: &a [*a]\n",
		"defaults: {timeout: -1s, thresholds: {error_rate: .nan}}\n",
		"services:\n  s3:\n    resources:\n      - name: b\n      - {}\n",
		"- x\n---\n- y\n",
		"services: {lambda: {resources: [{name: f}]}, <<: {}}\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.yaml", data, envMap(map[string]string{"SET": "v"}))
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if len(c.Targets()) == 0 {
			t.Fatal("Parse succeeded with no targets")
		}
		if _, err := c.YAML(); err != nil {
			t.Fatalf("YAML() of a parsed config: %v", err)
		}
	})
}
