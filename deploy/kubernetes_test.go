package deploy

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/socmond/socmond/internal/leader"
)

// kustomization is the part of kustomize's Kustomization this layout uses;
// decoding strictly into it catches a misspelt or unsupported field.
type kustomization struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace"`
	Labels     []struct {
		Pairs            map[string]string `json:"pairs"`
		IncludeSelectors bool              `json:"includeSelectors"`
	} `json:"labels"`
	Resources          []string `json:"resources"`
	ConfigMapGenerator []struct {
		Name  string   `json:"name"`
		Files []string `json:"files"`
	} `json:"configMapGenerator"`
	Images []struct {
		Name    string `json:"name"`
		NewName string `json:"newName"`
		NewTag  string `json:"newTag"`
	} `json:"images"`
}

// manifests are the decoded resources of deploy/kubernetes.
type manifests struct {
	kust      kustomization
	namespace corev1.Namespace
	sa        corev1.ServiceAccount
	deploy    appsv1.Deployment
	svc       corev1.Service
	pdb       policyv1.PodDisruptionBudget
	netpol    networkingv1.NetworkPolicy
	sm        monitoringv1.ServiceMonitor
	rule      monitoringv1.PrometheusRule
	role      rbacv1.Role
	binding   rbacv1.RoleBinding
}

const k8sDir = "kubernetes"

// decodeStrict decodes one YAML document, failing on unknown fields and on
// an apiVersion/kind other than the one the Go type stands for.
func decodeStrict(t *testing.T, file, apiVersion, kind string, into any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(k8sDir, file))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("\n---")) {
		t.Fatalf("%s: one resource per file", file)
	}
	if err := yaml.UnmarshalStrict(b, into); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	var tm struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(b, &tm); err != nil {
		t.Fatal(err)
	}
	if tm.APIVersion != apiVersion || tm.Kind != kind {
		t.Fatalf("%s: %s/%s, want %s/%s", file, tm.APIVersion, tm.Kind, apiVersion, kind)
	}
}

func loadManifests(t *testing.T) manifests {
	t.Helper()
	var m manifests
	decodeStrict(t, "kustomization.yaml", "kustomize.config.k8s.io/v1beta1", "Kustomization", &m.kust)
	files := map[string]struct {
		apiVersion, kind string
		into             any
	}{
		"namespace.yaml":                   {"v1", "Namespace", &m.namespace},
		"serviceaccount.yaml":              {"v1", "ServiceAccount", &m.sa},
		"deployment.yaml":                  {"apps/v1", "Deployment", &m.deploy},
		"service.yaml":                     {"v1", "Service", &m.svc},
		"poddisruptionbudget.yaml":         {"policy/v1", "PodDisruptionBudget", &m.pdb},
		"networkpolicy.yaml":               {"networking.k8s.io/v1", "NetworkPolicy", &m.netpol},
		"servicemonitor.yaml":              {"monitoring.coreos.com/v1", "ServiceMonitor", &m.sm},
		"prometheusrule.yaml":              {"monitoring.coreos.com/v1", "PrometheusRule", &m.rule},
		"leader-election-role.yaml":        {"rbac.authorization.k8s.io/v1", "Role", &m.role},
		"leader-election-rolebinding.yaml": {"rbac.authorization.k8s.io/v1", "RoleBinding", &m.binding},
	}
	// Every resource file is listed in the kustomization and vice versa.
	var listed []string
	for _, r := range m.kust.Resources {
		f, ok := files[r]
		if !ok {
			t.Fatalf("kustomization lists %s, which this test does not know", r)
		}
		decodeStrict(t, r, f.apiVersion, f.kind, f.into)
		listed = append(listed, r)
	}
	for name := range files {
		if !slices.Contains(listed, name) {
			t.Errorf("%s is not in kustomization.yaml resources", name)
		}
	}
	entries, err := os.ReadDir(k8sDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		n := e.Name()
		if _, ok := files[n]; !ok && n != "kustomization.yaml" && n != "config.yaml" {
			t.Errorf("%s/%s is neither a listed resource nor generator input", k8sDir, n)
		}
	}
	return m
}

func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false // an empty selector selects everything: never intended here
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func TestKubernetesManifests(t *testing.T) {
	m := loadManifests(t)
	pod := m.deploy.Spec.Template
	podLabels := pod.Labels

	if m.kust.Namespace == "" || m.kust.Namespace != m.namespace.Name {
		t.Errorf("kustomization namespace %q, Namespace resource %q", m.kust.Namespace, m.namespace.Name)
	}
	if m.namespace.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Error("namespace does not enforce the restricted Pod Security Standard")
	}

	// Selectors pick the Deployment's pods.
	if !selects(m.deploy.Spec.Selector.MatchLabels, podLabels) {
		t.Error("Deployment selector does not match its pod template labels")
	}
	if !selects(m.svc.Spec.Selector, podLabels) {
		t.Error("Service selector does not match the pods")
	}
	if !selects(m.pdb.Spec.Selector.MatchLabels, podLabels) {
		t.Error("PodDisruptionBudget selector does not match the pods")
	}
	if !selects(m.netpol.Spec.PodSelector.MatchLabels, podLabels) {
		t.Error("NetworkPolicy podSelector does not match the pods")
	}
	if !selects(m.sm.Spec.Selector.MatchLabels, m.svc.Labels) {
		t.Error("ServiceMonitor selector does not match the Service labels")
	}
	if !slices.Contains(m.sm.Spec.NamespaceSelector.MatchNames, m.kust.Namespace) {
		t.Errorf("ServiceMonitor looks in %v, not %s", m.sm.Spec.NamespaceSelector.MatchNames, m.kust.Namespace)
	}
	if m.pdb.Spec.MinAvailable == nil || m.deploy.Spec.Replicas == nil || m.pdb.Spec.MinAvailable.IntValue() >= int(*m.deploy.Spec.Replicas) {
		t.Error("PodDisruptionBudget must allow one of the replicas to be evicted")
	}

	// Ports: container port ← Service targetPort ← ServiceMonitor port, and the
	// NetworkPolicy admits it.
	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("want one container, got %d", len(pod.Spec.Containers))
	}
	c := pod.Spec.Containers[0]
	cport := map[string]int32{}
	for _, p := range c.Ports {
		cport[p.Name] = p.ContainerPort
	}
	if cport["http"] != 9815 || !slices.Contains(c.Args, "--web.listen-address=:9815") {
		t.Errorf("container must listen on 9815, port %d, args %v", cport["http"], c.Args)
	}
	svcPorts := map[string]corev1.ServicePort{}
	for _, p := range m.svc.Spec.Ports {
		svcPorts[p.Name] = p
		if p.TargetPort.Type == intstr.String && cport[p.TargetPort.StrVal] == 0 {
			t.Errorf("Service port %s targets %q, which the container does not name", p.Name, p.TargetPort.StrVal)
		}
	}
	for _, e := range m.sm.Spec.Endpoints {
		if _, ok := svcPorts[e.Port]; !ok {
			t.Errorf("ServiceMonitor endpoint port %q is not a Service port", e.Port)
		}
		if e.Path != "/metrics" {
			t.Errorf("ServiceMonitor path %q", e.Path)
		}
	}
	admitted := false
	for _, in := range m.netpol.Spec.Ingress {
		for _, p := range in.Ports {
			if p.Port != nil && p.Port.IntValue() == int(cport["http"]) {
				admitted = true
			}
		}
	}
	if !admitted {
		t.Error("NetworkPolicy does not admit the metrics port")
	}

	// Identity: the pods run as the IRSA service account.
	if pod.Spec.ServiceAccountName != m.sa.Name {
		t.Errorf("pods use service account %q, manifest defines %q", pod.Spec.ServiceAccountName, m.sa.Name)
	}
	if !strings.HasPrefix(m.sa.Annotations["eks.amazonaws.com/role-arn"], "arn:aws:iam::") {
		t.Error("ServiceAccount lacks the IRSA role annotation")
	}

	// Configuration: the generated ConfigMap is mounted and the file the
	// daemon reads is one of its keys.
	if len(m.kust.ConfigMapGenerator) != 1 {
		t.Fatal("want one configMapGenerator")
	}
	gen := m.kust.ConfigMapGenerator[0]
	keys := map[string]bool{}
	for _, f := range gen.Files {
		keys[filepath.Base(f)] = true
		if _, err := os.Stat(filepath.Join(k8sDir, f)); err != nil {
			t.Errorf("configMapGenerator file: %v", err)
		}
	}
	mounts := map[string]string{}
	for _, vm := range c.VolumeMounts {
		mounts[vm.Name] = vm.MountPath
	}
	configFile := ""
	for _, v := range pod.Spec.Volumes {
		if v.ConfigMap == nil {
			continue
		}
		if v.ConfigMap.Name != gen.Name {
			t.Errorf("volume %s mounts ConfigMap %q, the generator makes %q", v.Name, v.ConfigMap.Name, gen.Name)
		}
		for _, it := range v.ConfigMap.Items {
			if !keys[it.Key] {
				t.Errorf("volume %s uses key %q, not in the ConfigMap", v.Name, it.Key)
			}
			configFile = filepath.Join(mounts[v.Name], it.Path)
		}
	}
	if configFile == "" || !slices.Contains(c.Args, "--config.file="+configFile) {
		t.Errorf("daemon does not read the mounted config %q: args %v", configFile, c.Args)
	}

	// Hardening.
	psc, sc := pod.Spec.SecurityContext, c.SecurityContext
	switch {
	case psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0:
		t.Error("pod must run as a non-root user")
	case psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault:
		t.Error("pod must use the RuntimeDefault seccomp profile")
	case sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
		t.Error("container root filesystem must be read-only")
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		t.Error("container must not allow privilege escalation")
	case sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0:
		t.Error("container must drop all capabilities")
	}
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := c.Resources.Requests[r]; !ok {
			t.Errorf("no %s request", r)
		}
	}
	if _, ok := c.Resources.Limits[corev1.ResourceMemory]; !ok {
		t.Error("no memory limit")
	}

	// Probes and graceful termination.
	if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet == nil || c.LivenessProbe.HTTPGet.Path != "/-/healthy" {
		t.Error("liveness probe must GET /-/healthy")
	}
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/-/ready" {
		t.Error("readiness probe must GET /-/ready")
	}
	for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe} {
		if p != nil && p.HTTPGet != nil && p.HTTPGet.Port.String() != "http" && p.HTTPGet.Port.IntValue() != int(cport["http"]) {
			t.Errorf("probe port %s is not the container's", p.HTTPGet.Port.String())
		}
	}
	grace := 15 * time.Second // socmond's default --shutdown.grace-period
	for _, a := range c.Args {
		if v, ok := strings.CutPrefix(a, "--shutdown.grace-period="); ok {
			d, err := time.ParseDuration(v)
			if err != nil {
				t.Fatal(err)
			}
			grace = d
		}
	}
	if tg := pod.Spec.TerminationGracePeriodSeconds; tg == nil || time.Duration(*tg)*time.Second <= grace {
		t.Errorf("terminationGracePeriodSeconds must exceed the shutdown grace period %s", grace)
	}

	// The image the kustomization rewrites is the one the container names.
	if len(m.kust.Images) != 1 || m.kust.Images[0].Name != c.Image {
		t.Errorf("kustomization images %v do not rewrite container image %q", m.kust.Images, c.Image)
	}
}

// TestKubernetesLeaderElection: the Deployment elects through a Lease, its
// pods carry the token to do it, and the RBAC grants the pods' account
// exactly what client-go's leaderelection does on the Lease socmond names
// by default: create (which cannot be limited to a name), get and update
// of that one Lease, and nothing else.
func TestKubernetesLeaderElection(t *testing.T) {
	m := loadManifests(t)
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
	for _, r := range m.role.Rules {
		if !slices.Equal(r.APIGroups, []string{"coordination.k8s.io"}) || !slices.Equal(r.Resources, []string{"leases"}) {
			t.Errorf("Role rule beyond coordination.k8s.io leases: %+v", r)
		}
		names := r.ResourceNames
		if len(names) == 0 {
			names = []string{""}
		}
		for _, v := range r.Verbs {
			for _, n := range names {
				got[v+":"+n] = true
			}
		}
	}
	if !maps.Equal(got, want) {
		t.Errorf("Role grants %v, want %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}
	if r := m.binding.RoleRef; r.Kind != "Role" || r.Name != m.role.Name || r.APIGroup != "rbac.authorization.k8s.io" {
		t.Errorf("RoleBinding refers to %+v, not the Role %s", r, m.role.Name)
	}
	if len(m.binding.Subjects) != 1 || m.binding.Subjects[0].Kind != "ServiceAccount" || m.binding.Subjects[0].Name != pod.ServiceAccountName ||
		(m.binding.Subjects[0].Namespace != "" && m.binding.Subjects[0].Namespace != m.kust.Namespace) {
		t.Errorf("RoleBinding subjects %+v, want the pods' ServiceAccount %s", m.binding.Subjects, pod.ServiceAccountName)
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

// TestKubernetesRulesMatchPrometheus checks that the PrometheusRule carries
// exactly the groups of deploy/prometheus (it is generated from them).
func TestKubernetesRulesMatchPrometheus(t *testing.T) {
	m := loadManifests(t)
	want := prometheusRuleGroups(t)
	if len(want) == 0 {
		t.Fatal("deploy/prometheus has no rule groups")
	}
	got, err := yaml.Marshal(m.rule.Spec.Groups)
	if err != nil {
		t.Fatal(err)
	}
	exp, err := yaml.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, exp) {
		t.Fatalf("kubernetes/prometheusrule.yaml differs from deploy/prometheus; run `make manifests`\n%s", fmt.Sprint(string(got)))
	}
}
