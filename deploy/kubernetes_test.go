package deploy

import (
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/socmond/socmond/internal/leader"
)

// kustomization is the part of kustomize's Kustomization (and Component)
// this layout uses; decoding strictly into it catches a misspelt or
// unsupported field.
type kustomization struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace"`
	Labels     []struct {
		Pairs            map[string]string `json:"pairs"`
		IncludeSelectors bool              `json:"includeSelectors"`
	} `json:"labels"`
	Resources          []string `json:"resources"`
	Components         []string `json:"components"`
	ConfigMapGenerator []struct {
		Name    string   `json:"name"`
		Files   []string `json:"files"`
		Options struct {
			Labels map[string]string `json:"labels"`
		} `json:"options"`
	} `json:"configMapGenerator"`
	Images []struct {
		Name    string `json:"name"`
		NewName string `json:"newName"`
		NewTag  string `json:"newTag"`
	} `json:"images"`
	Patches []struct {
		Target struct {
			Group string `json:"group"`
			Kind  string `json:"kind"`
		} `json:"target"`
		Patch string `json:"patch"`
	} `json:"patches"`
}

const k8sDir = "kubernetes"

// The optional components under deploy/kubernetes/components, named in
// kustomization.yaml as commented lines a user uncomments.
var k8sComponents = []string{"kube-prometheus-stack", "kube-prometheus"}

func readKustomization(t *testing.T, dir, kind string) kustomization {
	t.Helper()
	var k kustomization
	if err := yaml.UnmarshalStrict([]byte(mustRead(t, filepath.Join(dir, "kustomization.yaml"))), &k); err != nil {
		t.Fatalf("%s/kustomization.yaml: %v", dir, err)
	}
	if k.Kind != kind {
		t.Fatalf("%s/kustomization.yaml is a %s, want %s", dir, k.Kind, kind)
	}
	return k
}

// TestKubernetesFiles decodes every file of deploy/kubernetes and its
// components strictly, and checks that each is used: listed as a resource
// or generator input. A file kustomize never reads would go stale unseen.
func TestKubernetesFiles(t *testing.T) {
	check := func(dir string, k kustomization, extra ...string) {
		used := slices.Clone(extra)
		used = append(used, "kustomization.yaml")
		for _, r := range k.Resources {
			decodeStream(t, filepath.Join(dir, r), []byte(mustRead(t, filepath.Join(dir, r))))
			used = append(used, r)
		}
		for _, g := range k.ConfigMapGenerator {
			used = append(used, g.Files...)
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if !slices.Contains(used, e.Name()) {
				t.Errorf("%s/%s is neither a listed resource nor generator input", dir, e.Name())
			}
		}
	}
	base := readKustomization(t, k8sDir, "Kustomization")
	check(k8sDir, base, "components")
	for _, c := range k8sComponents {
		dir := filepath.Join(k8sDir, "components", c)
		check(dir, readKustomization(t, dir, "Component"))
	}
	entries, err := os.ReadDir(filepath.Join(k8sDir, "components"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !slices.Contains(k8sComponents, e.Name()) {
			t.Errorf("components/%s is not offered in kustomization.yaml (k8sComponents)", e.Name())
		}
	}
}

// kustomizeEdits are the edits the README and comments tell a user to make
// to deploy/kubernetes: components to uncomment in kustomization.yaml, and
// the commented example rule of networkpolicy.yaml.
type kustomizeEdits struct {
	components     []string
	ingressExample bool
}

// kustomizeBuild runs kustomize, as `kubectl apply -k deploy/kubernetes`
// does, on a copy of deploy/kubernetes with the given edits made, and
// returns the objects, strictly decoded.
func kustomizeBuild(t *testing.T, edits kustomizeEdits) []object {
	t.Helper()
	mem := filesys.MakeFsInMemory()
	const root = "/socmond"
	err := filepath.WalkDir(k8sDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(k8sDir, p)
		if err != nil {
			return err
		}
		switch {
		case rel == "kustomization.yaml" && len(edits.components) > 0:
			b = []byte(uncommentComponents(t, string(b), edits.components))
		case rel == "networkpolicy.yaml" && edits.ingressExample:
			b = []byte(uncommentAfter(t, string(b), "(the chart: networkPolicy.extraIngressFrom):", "    "))
		}
		return mem.WriteFile(path.Join(root, filepath.ToSlash(rel)), b)
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(mem, root)
	if err != nil {
		t.Fatalf("kustomize build %+v: %v", edits, err)
	}
	out, err := res.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	return decodeStream(t, "kustomize build", out)
}

// uncommentComponents turns "# components:" and "#   - components/<c>"
// into live lines, failing when the kustomization no longer offers them.
func uncommentComponents(t *testing.T, text string, components []string) string {
	t.Helper()
	offered := map[string]*regexp.Regexp{}
	for _, c := range components {
		offered[c] = regexp.MustCompile(`^#\s+- components/` + regexp.QuoteMeta(c) + `(\s|$)`)
	}
	lines := strings.Split(text, "\n")
	found := map[string]bool{}
	for i, l := range lines {
		if l == "# components:" {
			lines[i], found[""] = "components:", true
		}
		for c, re := range offered {
			if re.MatchString(l) {
				lines[i], found[c] = l[1:], true
			}
		}
	}
	for _, c := range append([]string{""}, components...) {
		if !found[c] {
			t.Fatalf("kustomization.yaml does not offer component %q as a commented line", c)
		}
	}
	return strings.Join(lines, "\n")
}

// uncommentAfter uncomments the block of lines "<indent># …" that follows
// the line ending in marker.
func uncommentAfter(t *testing.T, text, marker, indent string) string {
	t.Helper()
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if !strings.HasSuffix(l, marker) {
			continue
		}
		n := 0
		for j := i + 1; j < len(lines) && strings.HasPrefix(lines[j], indent+"# "); j++ {
			lines[j], n = indent+strings.TrimPrefix(lines[j], indent+"# "), n+1
		}
		if n == 0 {
			t.Fatalf("no commented block after %q", marker)
		}
		return strings.Join(lines, "\n")
	}
	t.Fatalf("no line ends in %q", marker)
	return ""
}

func TestKubernetesManifests(t *testing.T) {
	k := readKustomization(t, k8sDir, "Kustomization")
	m := collect(t, kustomizeBuild(t, kustomizeEdits{}))
	checkManifests(t, m)

	if m.namespace == nil || m.namespace.Name != k.Namespace || m.deploy.Namespace != k.Namespace {
		t.Errorf("kustomization namespace %q: the Namespace and the Deployment must be in it", k.Namespace)
	} else if m.namespace.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Error("namespace does not enforce the restricted Pod Security Standard")
	}
	if m.sa == nil || !strings.HasPrefix(m.sa.Annotations["eks.amazonaws.com/role-arn"], "arn:aws:iam::") {
		t.Error("ServiceAccount lacks the IRSA role annotation")
	}
	// docs/alerting.md's page times assume a 10 s scrape.
	if m.sm == nil || len(m.sm.Spec.Endpoints) != 1 || m.sm.Spec.Endpoints[0].Interval != "10s" {
		t.Error("the ServiceMonitor must scrape every 10s")
	}
	if m.rule == nil || m.dashboard() == nil || m.netpol == nil || m.pdb == nil {
		t.Error("the PrometheusRule, the dashboard ConfigMap, the NetworkPolicy and the PodDisruptionBudget are all shipped")
	}
	// The image the kustomization sets is the one the container runs.
	if len(k.Images) != 1 {
		t.Fatalf("want one image in kustomization.yaml, got %d", len(k.Images))
	}
	if img := k.Images[0].NewName + ":" + k.Images[0].NewTag; m.deploy.Spec.Template.Spec.Containers[0].Image != img {
		t.Errorf("container image %q, kustomization.yaml sets %q", m.deploy.Spec.Template.Spec.Containers[0].Image, img)
	}
}

// TestKubernetesComponents builds deploy/kubernetes with each optional
// component enabled as the README says, and checks what it adds.
func TestKubernetesComponents(t *testing.T) {
	t.Run("kube-prometheus-stack", func(t *testing.T) {
		m := collect(t, kustomizeBuild(t, kustomizeEdits{components: []string{"kube-prometheus-stack"}}))
		checkManifests(t, m)
		// kube-prometheus-stack's Prometheus selects release=<its release>.
		if m.sm.Labels["release"] == "" || m.rule.Labels["release"] == "" {
			t.Errorf("release label: ServiceMonitor %q, PrometheusRule %q", m.sm.Labels["release"], m.rule.Labels["release"])
		}
	})
	t.Run("kube-prometheus", func(t *testing.T) {
		m := collect(t, kustomizeBuild(t, kustomizeEdits{components: []string{"kube-prometheus"}}))
		checkManifests(t, m)
		checkPrometheusRBAC(t, m, "monitoring", "prometheus-k8s")
	})
}

// checkPrometheusRBAC checks that the Prometheus service account sa in
// namespace ns may discover socmond's endpoints through the Prometheus
// Operator's service discovery (endpoints or endpointslices, services,
// pods: get, list, watch) in socmond's namespace.
func checkPrometheusRBAC(t *testing.T, m manifests, ns, sa string) {
	t.Helper()
	granted := map[string]bool{}
	for _, b := range m.bindings {
		if !slices.ContainsFunc(b.Subjects, func(s rbacv1.Subject) bool {
			return s.Kind == "ServiceAccount" && s.Name == sa && s.Namespace == ns
		}) {
			continue
		}
		for _, r := range m.roles {
			if r.Name != b.RoleRef.Name || r.Namespace != m.deploy.Namespace {
				continue
			}
			for _, rule := range r.Rules {
				for _, g := range rule.APIGroups {
					for _, res := range rule.Resources {
						if slices.Contains(rule.Verbs, "list") && slices.Contains(rule.Verbs, "watch") && slices.Contains(rule.Verbs, "get") {
							granted[g+"/"+res] = true
						}
					}
				}
			}
		}
	}
	for _, want := range []string{"/services", "/endpoints", "/pods", "discovery.k8s.io/endpointslices"} {
		if !granted[want] {
			t.Errorf("%s/%s may not get, list and watch %s in %s", ns, sa, want, m.deploy.Namespace)
		}
	}
}

// TestKubernetesLeaderElection: the Deployment elects through a Lease, its
// pods carry the token to do it, and the RBAC grants the pods' account
// exactly what client-go's leaderelection does on the Lease socmond names
// by default: create (which cannot be limited to a name), get and update
// of that one Lease, and nothing else.
func TestKubernetesLeaderElection(t *testing.T) {
	m := collect(t, kustomizeBuild(t, kustomizeEdits{}))
	checkLeaderElection(t, m)
}

// checkLeaderElection is TestKubernetesLeaderElection's check, for any
// rendering of the manifests.
func checkLeaderElection(t *testing.T, m manifests) {
	t.Helper()
	pod := m.deploy.Spec.Template.Spec
	c := pod.Containers[0]
	if !slices.Contains(c.Args, "--leader-election.backend=kubernetes") {
		t.Fatalf("the Deployment runs %d replicas without --leader-election.backend=kubernetes: %v", *m.deploy.Spec.Replicas, c.Args)
	}
	if pod.AutomountServiceAccountToken == nil || !*pod.AutomountServiceAccountToken {
		t.Error("the pods need their service account token to hold the Lease (automountServiceAccountToken)")
	}
	lease := leader.DefaultLeaseName
	for _, a := range c.Args {
		if v, ok := strings.CutPrefix(a, "--leader-election.lease-name="); ok {
			lease = v
		}
	}
	want := map[string]bool{"create:": true, "get:" + lease: true, "update:" + lease: true}
	got := map[string]bool{}
	var role *rbacv1.Role
	for _, r := range m.roles {
		for _, rule := range r.Rules {
			if !slices.Contains(rule.Resources, "leases") {
				continue
			}
			role = r
			if !slices.Equal(rule.APIGroups, []string{"coordination.k8s.io"}) || !slices.Equal(rule.Resources, []string{"leases"}) {
				t.Errorf("Role rule beyond coordination.k8s.io leases: %+v", rule)
			}
			names := rule.ResourceNames
			if len(names) == 0 {
				names = []string{""}
			}
			for _, v := range rule.Verbs {
				for _, n := range names {
					got[v+":"+n] = true
				}
			}
		}
	}
	if role == nil {
		t.Fatal("no Role grants the leases")
	}
	if !maps.Equal(got, want) {
		t.Errorf("Role grants %v, want %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}
	bound := false
	for _, b := range m.bindings {
		if b.RoleRef.Kind != "Role" || b.RoleRef.Name != role.Name {
			continue
		}
		bound = true
		if len(b.Subjects) != 1 || b.Subjects[0].Kind != "ServiceAccount" || b.Subjects[0].Name != pod.ServiceAccountName {
			t.Errorf("RoleBinding %s subjects %+v, want the pods' ServiceAccount %s", b.Name, b.Subjects, pod.ServiceAccountName)
		}
	}
	if !bound {
		t.Errorf("no RoleBinding binds the Role %s", role.Name)
	}
	api := false
	for _, e := range m.netpol.Spec.Egress {
		for _, p := range e.Ports {
			if p.Port != nil && (p.Port.IntValue() == 443 || p.Port.IntValue() == 6443) && len(e.To) == 0 {
				api = true
			}
		}
	}
	if !api {
		t.Error("the NetworkPolicy lets the pods reach no Kubernetes API port (443, 6443)")
	}
}
