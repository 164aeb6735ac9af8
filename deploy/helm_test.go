package deploy

import (
	"context"
	"encoding/json"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/lint"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	corev1 "k8s.io/api/core/v1"
)

const chartDir = "helm/socmond"

// chartRelease is how the tests install the chart: release socmond in
// namespace socmond, the names deploy/kubernetes uses.
var chartRelease = common.ReleaseOptions{Name: "socmond", Namespace: "socmond", Revision: 1, IsInstall: true}

// chartValues merges values files of the chart's ci/ directory in order,
// as `helm install -f a -f b` does, then the given overrides.
func chartValues(t *testing.T, files []string, overrides map[string]any) map[string]any {
	t.Helper()
	vals := map[string]any{}
	for _, f := range files {
		v, err := common.ReadValuesFile(filepath.Join(chartDir, "ci", f))
		if err != nil {
			t.Fatal(err)
		}
		vals = loader.MergeMaps(vals, v)
	}
	return loader.MergeMaps(vals, overrides)
}

// renderChart renders the chart as `helm install` would (values checked
// against values.schema.json, templates in strict mode, so a value a
// template names but values.yaml lacks is an error) and decodes every
// object strictly. It returns NOTES.txt apart.
func renderChart(t *testing.T, vals map[string]any) ([]object, string, error) {
	t.Helper()
	ch, err := loader.LoadDir(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	top, err := util.ToRenderValues(ch, vals, chartRelease, nil)
	if err != nil {
		return nil, "", err
	}
	out, err := engine.Engine{Strict: true}.RenderWithContext(context.Background(), ch, top)
	if err != nil {
		return nil, "", err
	}
	names := make([]string, 0, len(out))
	for name := range out {
		names = append(names, name)
	}
	sort.Strings(names)
	var objs []object
	notes := ""
	for _, name := range names {
		switch base := path.Base(name); {
		case base == "NOTES.txt":
			notes = out[name]
		case strings.HasPrefix(base, "_"):
		default:
			objs = append(objs, decodeStream(t, name, []byte(out[name]))...)
		}
	}
	return objs, notes, nil
}

func mustRenderChart(t *testing.T, vals map[string]any) (manifests, string) {
	t.Helper()
	objs, notes, err := renderChart(t, vals)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	return collect(t, objs), notes
}

// ciValues are the chart's values files, each meant for `helm install -f`.
func ciValues(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(chartDir, "ci", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no values files in %s/ci: %v", chartDir, err)
	}
	for i, f := range files {
		files[i] = filepath.Base(f)
	}
	return files
}

// TestHelmChartLint is `helm lint --strict` with the default values and
// with each values file in ci/: Helm's own chart, values-schema and
// template rules, warnings included.
func TestHelmChartLint(t *testing.T) {
	for _, f := range append([]string{""}, ciValues(t)...) {
		name, files := "defaults", []string(nil)
		if f != "" {
			name, files = f, []string{f}
		}
		t.Run(name, func(t *testing.T) {
			res := lint.RunAll(chartDir, chartValues(t, files, nil), chartRelease.Namespace)
			for _, msg := range res.Messages {
				if msg.Severity >= support.WarningSev {
					t.Error(msg)
				} else {
					t.Log(msg)
				}
			}
		})
	}
}

// TestHelmChart renders the chart with its defaults, each ci/ values file
// and the values that change which objects it makes, decodes every object
// strictly and holds it to the same checks as deploy/kubernetes.
func TestHelmChart(t *testing.T) {
	ownConfig := strings.Replace(mustRead(t, "../config.example.yaml"), "tenant: hk-demo", "tenant: acme", 1)
	if !strings.Contains(ownConfig, "tenant: acme") {
		t.Fatal("config.example.yaml no longer says tenant: hk-demo")
	}
	for name, tc := range map[string]struct {
		files  []string
		values map[string]any
		check  func(t *testing.T, m manifests, notes string)
	}{
		"defaults": {check: func(t *testing.T, m manifests, notes string) {
			// The Prometheus Operator's objects need its CRDs: off until asked for.
			if m.sm != nil || m.rule != nil {
				t.Error("ServiceMonitor and PrometheusRule must be off by default")
			}
			if m.dashboard() == nil || m.pdb == nil || m.netpol == nil {
				t.Error("the dashboard ConfigMap, PodDisruptionBudget and NetworkPolicy are on by default")
			}
			// Two replicas by default, so they elect their leader through a
			// Lease (docs/operations.md): the only Kubernetes API socmond calls.
			checkLeaderElection(t, m)
			for _, r := range m.roles {
				for _, rule := range r.Rules {
					if !slices.Equal(rule.Resources, []string{"leases"}) {
						t.Errorf("RBAC beyond the leases by default: %+v", rule)
					}
				}
			}
			if cm := m.configMap(m.deploy.Spec.Template.Spec.Volumes[0].ConfigMap.Name); cm == nil || cm.Data["config.yaml"] != mustRead(t, "../config.example.yaml") {
				t.Error("the default config must be config.example.yaml")
			}
			if !strings.Contains(notes, "enable serviceMonitor and prometheusRule") {
				t.Errorf("NOTES.txt does not say how to alert through Prometheus:\n%s", notes)
			}
		}},
		"kube-prometheus-stack": {files: []string{"kube-prometheus-stack-values.yaml"}, check: func(t *testing.T, m manifests, notes string) {
			if m.sm == nil || m.rule == nil || m.sm.Labels["release"] != "kube-prometheus-stack" || m.rule.Labels["release"] != "kube-prometheus-stack" {
				t.Error("the ServiceMonitor and PrometheusRule must carry release: kube-prometheus-stack")
			}
			if m.sm.Spec.Endpoints[0].Interval != "10s" {
				t.Error("the ServiceMonitor must scrape every 10s")
			}
			if strings.Contains(notes, "release=<its release name>") {
				t.Errorf("NOTES.txt warns about the release label, which is set:\n%s", notes)
			}
		}},
		"kube-prometheus": {files: []string{"kube-prometheus-values.yaml"}, check: func(t *testing.T, m manifests, notes string) {
			checkPrometheusRBAC(t, m, "monitoring", "prometheus-k8s")
			if !strings.Contains(notes, "release=<its release name>") {
				t.Errorf("NOTES.txt does not mention kube-prometheus-stack's release label:\n%s", notes)
			}
		}},
		"no RBAC for kube-prometheus outside its namespaces": {values: map[string]any{"serviceMonitor": map[string]any{"enabled": true}}, check: func(t *testing.T, m manifests, notes string) {
			if !strings.Contains(notes, "prometheusRBAC.create=true") {
				t.Errorf("NOTES.txt does not say socmond's namespace is not scraped by kube-prometheus:\n%s", notes)
			}
		}},
		"kustomize settings": {files: []string{"kustomize-values.yaml"}},
		"no leader election": {values: map[string]any{"replicas": 1, "leaderElection": map[string]any{"enabled": false}}, check: func(t *testing.T, m manifests, _ string) {
			if len(m.roles)+len(m.bindings) != 0 || slices.Contains(m.deploy.Spec.Template.Spec.Containers[0].Args, "--leader-election.backend=kubernetes") {
				t.Error("without leader election socmond calls no Kubernetes API: no RBAC, no backend flag")
			}
		}},
		"leader election": {values: map[string]any{"leaderElection": map[string]any{"enabled": true}}, check: func(t *testing.T, m manifests, _ string) {
			pod := m.deploy.Spec.Template.Spec
			if pod.AutomountServiceAccountToken == nil || !*pod.AutomountServiceAccountToken {
				t.Error("leader election needs the service account token")
			}
			verbs := map[string][]string{} // lease name ("" any) → verbs
			for _, r := range m.roles {
				for _, rule := range r.Rules {
					if !slices.Contains(rule.APIGroups, "coordination.k8s.io") || !slices.Contains(rule.Resources, "leases") {
						continue
					}
					for _, n := range append(rule.ResourceNames, "")[:max(len(rule.ResourceNames), 1)] {
						verbs[n] = append(verbs[n], rule.Verbs...)
					}
				}
			}
			if !slices.Contains(verbs[""], "create") || !slices.Contains(verbs["socmond"], "get") || !slices.Contains(verbs["socmond"], "update") {
				t.Errorf("the Lease socmond must be creatable, readable and updatable: %v", verbs)
			}
			if len(verbs[""]) != 1 {
				t.Errorf("only create may be granted on every lease: %v", verbs[""])
			}
			if len(m.bindings) != 1 || m.bindings[0].Subjects[0].Name != m.sa.Name {
				t.Error("the Role must be bound to socmond's service account")
			}
		}},
		"web config": {values: map[string]any{"webConfig": map[string]any{"config": map[string]any{
			"basic_auth_users": map[string]any{"prometheus": "$2y$10$abcdefghijklmnopqrstuu5Kx4l4uJH0JvJtHZfX3ZXH3Qb1lPQO"},
		}}}, check: func(t *testing.T, m manifests, _ string) {
			c := m.deploy.Spec.Template.Spec.Containers[0]
			if !slices.Contains(c.Args, "--web.config.file=/etc/socmond-web/web-config.yml") {
				t.Errorf("args %v do not name the web config", c.Args)
			}
			var secret *corev1.Secret
			for _, o := range m.all {
				if s, ok := o.obj.(*corev1.Secret); ok {
					secret = s
				}
			}
			if secret == nil || !strings.Contains(secret.StringData["web-config.yml"], "basic_auth_users:") {
				t.Fatal("no Secret holding web-config.yml")
			}
			mounted := false
			for _, v := range m.deploy.Spec.Template.Spec.Volumes {
				mounted = mounted || v.Secret != nil && v.Secret.SecretName == secret.Name
			}
			if !mounted {
				t.Error("the web config Secret is not mounted")
			}
		}},
		"one replica": {values: map[string]any{"replicas": 1}, check: func(t *testing.T, m manifests, _ string) {
			if m.pdb != nil {
				t.Error("a PodDisruptionBudget for one replica would block every node drain")
			}
		}},
		"own config": {values: map[string]any{"config": ownConfig, "serviceMonitor": map[string]any{"enabled": true}}, check: func(t *testing.T, m manifests, _ string) {
			// checkManifests holds the ServiceMonitor's tenant to the config's.
			if cm := m.configMap(m.deploy.Spec.Template.Spec.Volumes[0].ConfigMap.Name); cm == nil || cm.Data["config.yaml"] != ownConfig {
				t.Error("the config value is not what socmond reads")
			}
		}},
	} {
		t.Run(name, func(t *testing.T) {
			m, notes := mustRenderChart(t, chartValues(t, tc.files, tc.values))
			checkManifests(t, m)
			if tc.check != nil {
				tc.check(t, m, notes)
			}
		})
	}
}

// TestHelmChartRefuses checks that values which would deploy something
// broken fail at `helm install`, naming what to fix.
func TestHelmChartRefuses(t *testing.T) {
	for name, tc := range map[string]struct {
		values map[string]any
		want   string
	}{
		"a misspelt value":                       {map[string]any{"serviceMonitor": map[string]any{"enable": true}}, "'enable' not allowed"},
		"a PodDisruptionBudget nothing can pass": {map[string]any{"podDisruptionBudget": map[string]any{"minAvailable": 2}}, "must be below replicas"},
		"a tenant only known at run time": {map[string]any{
			"config":         strings.Replace(mustRead(t, "../config.example.yaml"), "tenant: hk-demo", "tenant: ${TENANT}", 1),
			"serviceMonitor": map[string]any{"enabled": true},
		}, "serviceMonitor.tenant"},
		"a ConfigMap the chart cannot read the tenant from": {map[string]any{
			"existingConfigMap": "mine",
			"serviceMonitor":    map[string]any{"enabled": true},
		}, "serviceMonitor.tenant"},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := renderChart(t, chartValues(t, nil, tc.values))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error naming %q", err, tc.want)
			}
		})
	}
}

// TestHelmChartMatchesKustomize renders the chart with the settings of
// deploy/kubernetes and compares every object with the kustomize build of
// the same: alone, and with each component against its ci/ values file.
// Only what Helm adds is set aside (its labels, the config checksum that
// rolls the pods, as kustomize's ConfigMap name hash does), and the
// Namespace, which a chart does not make.
func TestHelmChartMatchesKustomize(t *testing.T) {
	ingressNginx := map[string]any{"networkPolicy": map[string]any{"extraIngressFrom": []any{
		map[string]any{"namespaceSelector": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": "ingress-nginx"}}},
	}}}
	for name, tc := range map[string]struct {
		edits  kustomizeEdits
		files  []string
		values map[string]any
	}{
		"base":                  {files: []string{"kustomize-values.yaml"}},
		"kube-prometheus-stack": {kustomizeEdits{components: []string{"kube-prometheus-stack"}}, []string{"kustomize-values.yaml", "kube-prometheus-stack-values.yaml"}, nil},
		"kube-prometheus":       {kustomizeEdits{components: []string{"kube-prometheus"}}, []string{"kustomize-values.yaml", "kube-prometheus-values.yaml"}, nil},
		// The commented rule that lets an Ingress controller reach the page.
		"status page ingress": {kustomizeEdits{ingressExample: true}, []string{"kustomize-values.yaml"}, ingressNginx},
	} {
		t.Run(name, func(t *testing.T) {
			kust := kustomizeBuild(t, tc.edits)
			chart, _, err := renderChart(t, chartValues(t, tc.files, tc.values))
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			unhash := kustomizeUnhash(t)
			want := map[string]any{}
			for _, o := range kust {
				if _, isNS := o.obj.(*corev1.Namespace); isNS {
					continue
				}
				want[unhash(o.String())] = normalize(t, o.obj, unhash)
			}
			got := map[string]any{}
			for _, o := range chart {
				got[o.String()] = normalize(t, o.obj, unhash)
			}
			for k, w := range want {
				if g, ok := got[k]; !ok {
					t.Errorf("only kustomize makes %s", k)
				} else if d := cmp.Diff(w, g); d != "" {
					t.Errorf("%s: the chart (+) differs from kustomize (-):\n%s", k, d)
				}
			}
			for k := range got {
				if _, ok := want[k]; !ok {
					t.Errorf("only the chart makes %s", k)
				}
			}
		})
	}
}

// helmOnly are the labels and annotations only the chart sets: Helm's
// recommended labels and the config checksum.
var helmOnly = regexp.MustCompile(`^(helm\.sh/chart|app\.kubernetes\.io/(instance|version|managed-by)|checksum/.*)$`)

// normalize returns an object as generic JSON without what only Helm adds,
// with kustomize's ConfigMap name hashes removed.
func normalize(t *testing.T, obj any, unhash func(string) string) any {
	t.Helper()
	b, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	var walk func(v any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if helmOnly.MatchString(k) {
					delete(x, k)
					continue
				}
				x[k] = walk(e)
				if m, ok := x[k].(map[string]any); ok && len(m) == 0 && (k == "labels" || k == "annotations") {
					delete(x, k)
				}
			}
		case []any:
			for i, e := range x {
				x[i] = walk(e)
			}
		case string:
			return unhash(x)
		}
		return v
	}
	return walk(v)
}

// kustomizeUnhash maps the names configMapGenerator gave (name-<hash>) back
// to the generator's name, in any string.
func kustomizeUnhash(t *testing.T) func(string) string {
	t.Helper()
	var generated []string
	for _, g := range readKustomization(t, k8sDir, "Kustomization").ConfigMapGenerator {
		generated = append(generated, regexp.QuoteMeta(g.Name))
	}
	re := regexp.MustCompile(`\b(` + strings.Join(generated, "|") + `)-[a-z0-9]{10}\b`)
	return func(s string) string { return re.ReplaceAllString(s, "$1") }
}
