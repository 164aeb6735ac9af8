package deploy

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/iampolicy"
)

// update rewrites the generated files instead of comparing them:
// `make manifests` runs `go test ./deploy -run TestGenerated -update`.
var update = flag.Bool("update", false, "rewrite the generated deployment files")

// prometheusRuleGroups reads every rule file in deploy/prometheus (the
// files with top-level groups; promtool test files have rule_files instead),
// decoding strictly into the operator's RuleGroup so a field the operator
// would not carry over fails here.
func prometheusRuleGroups(t *testing.T) []monitoringv1.RuleGroup {
	t.Helper()
	files, err := filepath.Glob("prometheus/*.yml")
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	var groups []monitoringv1.RuleGroup
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var top map[string]any
		if err := yaml.Unmarshal(b, &top); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if _, ok := top["groups"]; !ok {
			continue
		}
		var rf struct {
			Groups []monitoringv1.RuleGroup `json:"groups"`
		}
		if err := yaml.UnmarshalStrict(b, &rf); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		groups = append(groups, rf.Groups...)
	}
	return groups
}

// generatedManifest is a derived manifest: a header saying where it comes
// from, then the object.
func generatedManifest(t *testing.T, source string, obj any) []byte {
	t.Helper()
	b, err := yaml.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	// metav1 writes an empty creationTimestamp; a manifest should not.
	b = bytes.Replace(b, []byte("  creationTimestamp: null\n"), nil, 1)
	return append([]byte("# Generated from "+source+" by `make manifests`; do not edit.\n"), b...)
}

// generated returns every derived file and its content.
func generated(t *testing.T) map[string][]byte {
	t.Helper()
	example, err := os.ReadFile("../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const rulesSource = "deploy/prometheus/*.yml"
	groups := prometheusRuleGroups(t)
	rule := monitoringv1.PrometheusRule{
		TypeMeta: metav1.TypeMeta{APIVersion: "monitoring.coreos.com/v1", Kind: "PrometheusRule"},
		ObjectMeta: metav1.ObjectMeta{Name: "socmond", Labels: map[string]string{
			"app.kubernetes.io/name": "socmond",
		}},
		Spec: monitoringv1.PrometheusRuleSpec{Groups: groups},
	}

	dashboard, err := os.ReadFile("grafana/socmond-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	dashboardCM := corev1.ConfigMap{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Name: "socmond-dashboard", Labels: map[string]string{
			"app.kubernetes.io/name": "socmond",
			dashboardLabel:           "1",
		}},
		Data: map[string]string{dashboardKey: string(dashboard)},
	}

	t.Setenv("AWS_REGION", "us-east-1") // the example's ${AWS_REGION:-us-east-1}
	cfg, err := config.Load("../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// With the DynamoDB lease (ECS's leader election, docs/operations.md):
	// on Kubernetes it grants two calls on a table that need not exist.
	pol, err := iampolicy.Generate(cfg, iampolicy.Options{LeaseTable: "socmond-leases"})
	if err != nil {
		t.Fatal(err)
	}
	polJSON, err := pol.JSON()
	if err != nil {
		t.Fatal(err)
	}

	return map[string][]byte{
		"kubernetes/config.yaml":            example,
		"kubernetes/prometheusrule.yaml":    generatedManifest(t, rulesSource, rule),
		"kubernetes/grafana-dashboard.yaml": generatedManifest(t, "deploy/grafana/socmond-dashboard.json", dashboardCM),
		// The chart reads the same config, rules (as a rule file) and dashboard.
		"helm/socmond/files/config.yaml":            example,
		"helm/socmond/files/socmond-rules.yml":      generatedManifest(t, rulesSource, map[string]any{"groups": groups}),
		"helm/socmond/files/socmond-dashboard.json": dashboard,
		"iam/policy.json":                           polJSON,
	}
}

// TestGeneratedFilesUpToDate fails when a derived file no longer matches its
// source: the Kubernetes ConfigMap input and the chart's default config and
// config.example.yaml, the PrometheusRule and the chart's rule file and
// deploy/prometheus, the dashboard ConfigMap and the chart's copy and
// deploy/grafana, the IAM policy and
// `socmond iam-policy --config.file config.example.yaml`.
func TestGeneratedFilesUpToDate(t *testing.T) {
	for path, want := range generated(t) {
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%v; run `make manifests`", err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("deploy/%s is out of date; run `make manifests`", path)
		}
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
