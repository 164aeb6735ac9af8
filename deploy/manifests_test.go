package deploy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
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
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/socmond/socmond/internal/config"
)

// The Grafana sidecar (kube-prometheus-stack's default) loads every
// ConfigMap labelled grafana_dashboard: "1".
const (
	dashboardLabel = "grafana_dashboard"
	dashboardKey   = "socmond-dashboard.json"
)

// resourceTypes are the kinds socmond's manifests may hold, each with the
// upstream Go type it is decoded into. Any other kind is an error.
var resourceTypes = map[string]func() any{
	"v1/Namespace":                             func() any { return &corev1.Namespace{} },
	"v1/ServiceAccount":                        func() any { return &corev1.ServiceAccount{} },
	"v1/ConfigMap":                             func() any { return &corev1.ConfigMap{} },
	"v1/Secret":                                func() any { return &corev1.Secret{} },
	"v1/Service":                               func() any { return &corev1.Service{} },
	"apps/v1/Deployment":                       func() any { return &appsv1.Deployment{} },
	"policy/v1/PodDisruptionBudget":            func() any { return &policyv1.PodDisruptionBudget{} },
	"networking.k8s.io/v1/NetworkPolicy":       func() any { return &networkingv1.NetworkPolicy{} },
	"rbac.authorization.k8s.io/v1/Role":        func() any { return &rbacv1.Role{} },
	"rbac.authorization.k8s.io/v1/RoleBinding": func() any { return &rbacv1.RoleBinding{} },
	"monitoring.coreos.com/v1/ServiceMonitor":  func() any { return &monitoringv1.ServiceMonitor{} },
	"monitoring.coreos.com/v1/PrometheusRule":  func() any { return &monitoringv1.PrometheusRule{} },
}

// object is one decoded resource.
type object struct {
	source          string // file or template it came from
	kind            string // apiVersion/kind
	name, namespace string
	obj             any            // *upstream type
	doc             map[string]any // as written, for comparisons
}

func (o object) String() string { return o.kind + " " + o.namespace + "/" + o.name }

// decodeStream decodes every document of a YAML stream strictly into the
// upstream type of its kind: an unknown field, an unknown kind or a
// document that is not an object fails.
func decodeStream(t *testing.T, source string, b []byte) []object {
	t.Helper()
	var objs []object
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatalf("%s: %v", source, err)
		}
		var m map[string]any
		if err := yaml.Unmarshal(doc, &m); err != nil {
			t.Fatalf("%s: %v", source, err)
		}
		if len(m) == 0 {
			continue // comments only, or an empty template
		}
		kind, _ := m["apiVersion"].(string)
		kind += "/"
		if k, ok := m["kind"].(string); ok {
			kind += k
		}
		newObj, ok := resourceTypes[kind]
		if !ok {
			t.Fatalf("%s: %s is not a kind socmond ships (add it to resourceTypes with its Go type)", source, kind)
		}
		o := object{source: source, kind: kind, obj: newObj(), doc: m}
		if err := yaml.UnmarshalStrict(doc, o.obj); err != nil {
			t.Fatalf("%s: %s: %v", source, kind, err)
		}
		meta, _ := m["metadata"].(map[string]any)
		o.name, _ = meta["name"].(string)
		o.namespace, _ = meta["namespace"].(string)
		if o.name == "" {
			t.Fatalf("%s: %s without a name", source, kind)
		}
		objs = append(objs, o)
	}
}

// manifests are one deployment of socmond, decoded: the kustomize build or
// a rendered chart. Optional objects are nil when not made.
type manifests struct {
	all        []object
	namespace  *corev1.Namespace
	sa         *corev1.ServiceAccount
	deploy     *appsv1.Deployment
	svc        *corev1.Service
	pdb        *policyv1.PodDisruptionBudget
	netpol     *networkingv1.NetworkPolicy
	sm         *monitoringv1.ServiceMonitor
	rule       *monitoringv1.PrometheusRule
	configMaps []*corev1.ConfigMap
	roles      []*rbacv1.Role
	bindings   []*rbacv1.RoleBinding
}

// collect sorts decoded objects by kind; at most one of each singleton.
func collect(t *testing.T, objs []object) manifests {
	t.Helper()
	m := manifests{all: objs}
	for _, o := range objs {
		switch v := o.obj.(type) {
		case *corev1.Namespace:
			setOnce(t, &m.namespace, o)
		case *corev1.ServiceAccount:
			setOnce(t, &m.sa, o)
		case *appsv1.Deployment:
			setOnce(t, &m.deploy, o)
		case *corev1.Service:
			setOnce(t, &m.svc, o)
		case *policyv1.PodDisruptionBudget:
			setOnce(t, &m.pdb, o)
		case *networkingv1.NetworkPolicy:
			setOnce(t, &m.netpol, o)
		case *monitoringv1.ServiceMonitor:
			setOnce(t, &m.sm, o)
		case *monitoringv1.PrometheusRule:
			setOnce(t, &m.rule, o)
		case *corev1.ConfigMap:
			m.configMaps = append(m.configMaps, v)
		case *rbacv1.Role:
			m.roles = append(m.roles, v)
		case *rbacv1.RoleBinding:
			m.bindings = append(m.bindings, v)
		}
	}
	if m.deploy == nil || m.svc == nil {
		t.Fatal("no Deployment or no Service")
	}
	return m
}

func setOnce[T any](t *testing.T, dst **T, o object) {
	t.Helper()
	if *dst != nil {
		t.Fatalf("a second %s", o)
	}
	*dst = o.obj.(*T)
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

// checkManifests holds what must be true of every way socmond is deployed
// on Kubernetes: selectors pick its pods, ports and names refer to each
// other, the pod is hardened and shuts down gracefully, the config is
// mounted and valid, the scrape adds the config's tenant, and the rules and
// dashboard are the ones deploy/prometheus and deploy/grafana hold.
func checkManifests(t *testing.T, m manifests) {
	t.Helper()
	pod := m.deploy.Spec.Template
	podLabels := pod.Labels
	ns := m.deploy.Namespace

	// Every namespaced object lands in one namespace, named in the object.
	for _, o := range m.all {
		if _, isNS := o.obj.(*corev1.Namespace); isNS {
			continue
		}
		if o.namespace == "" || o.namespace != ns {
			t.Errorf("%s: namespace %q, the Deployment's is %q", o, o.namespace, ns)
		}
	}

	// Selectors pick the Deployment's pods.
	if !selects(m.deploy.Spec.Selector.MatchLabels, podLabels) {
		t.Error("Deployment selector does not match its pod template labels")
	}
	if !selects(m.svc.Spec.Selector, podLabels) {
		t.Error("Service selector does not match the pods")
	}
	if m.pdb != nil {
		if !selects(m.pdb.Spec.Selector.MatchLabels, podLabels) {
			t.Error("PodDisruptionBudget selector does not match the pods")
		}
		min, max := m.pdb.Spec.MinAvailable, m.pdb.Spec.MaxUnavailable
		if m.deploy.Spec.Replicas == nil || (min == nil) == (max == nil) ||
			min != nil && min.IntValue() >= int(*m.deploy.Spec.Replicas) || max != nil && max.IntValue() < 1 {
			t.Error("PodDisruptionBudget must allow one of the replicas to be evicted")
		}
	}
	if m.netpol != nil && !selects(m.netpol.Spec.PodSelector.MatchLabels, podLabels) {
		t.Error("NetworkPolicy podSelector does not match the pods")
	}
	for _, c := range pod.Spec.TopologySpreadConstraints {
		if c.LabelSelector == nil || !selects(c.LabelSelector.MatchLabels, podLabels) {
			t.Errorf("topology spread constraint on %s does not select the pods", c.TopologyKey)
		}
	}
	if m.sm != nil {
		if !selects(m.sm.Spec.Selector.MatchLabels, m.svc.Labels) {
			t.Error("ServiceMonitor selector does not match the Service labels")
		}
		if !slices.Contains(m.sm.Spec.NamespaceSelector.MatchNames, ns) {
			t.Errorf("ServiceMonitor looks in %v, not %s", m.sm.Spec.NamespaceSelector.MatchNames, ns)
		}
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
	if m.sm != nil {
		for _, e := range m.sm.Spec.Endpoints {
			if _, ok := svcPorts[e.Port]; !ok {
				t.Errorf("ServiceMonitor endpoint port %q is not a Service port", e.Port)
			}
			if e.Path != "/metrics" {
				t.Errorf("ServiceMonitor path %q", e.Path)
			}
		}
	}
	if m.netpol != nil {
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
	}

	// Identity: the pods run as the service account made for them.
	if m.sa != nil && pod.Spec.ServiceAccountName != m.sa.Name {
		t.Errorf("pods use service account %q, the manifests make %q", pod.Spec.ServiceAccountName, m.sa.Name)
	}

	// RBAC: every binding names a Role made beside it; a pod whose service
	// account is bound to a Role needs its token.
	roles := map[string]bool{}
	for _, r := range m.roles {
		roles[r.Name] = true
	}
	for _, b := range m.bindings {
		if b.RoleRef.Kind != "Role" || !roles[b.RoleRef.Name] {
			t.Errorf("RoleBinding %s binds %s %q, which is not made here", b.Name, b.RoleRef.Kind, b.RoleRef.Name)
		}
		for _, s := range b.Subjects {
			if s.Kind == "ServiceAccount" && s.Name == pod.Spec.ServiceAccountName && s.Namespace == ns &&
				(pod.Spec.AutomountServiceAccountToken == nil || !*pod.Spec.AutomountServiceAccountToken) {
				t.Errorf("RoleBinding %s grants socmond's service account a Role, but its pods get no token", b.Name)
			}
		}
	}

	// Configuration: the ConfigMap is mounted, the file the daemon reads is
	// one of its keys, and it is a valid socmond config.
	mounts := map[string]string{}
	for _, vm := range c.VolumeMounts {
		mounts[vm.Name] = vm.MountPath
	}
	configFile, configText := "", ""
	for _, v := range pod.Spec.Volumes {
		if v.ConfigMap == nil {
			continue
		}
		cm := m.configMap(v.ConfigMap.Name)
		if cm == nil {
			t.Errorf("volume %s mounts ConfigMap %q, which is not made here", v.Name, v.ConfigMap.Name)
			continue
		}
		for _, it := range v.ConfigMap.Items {
			text, ok := cm.Data[it.Key]
			if !ok {
				t.Errorf("volume %s uses key %q, not in ConfigMap %s", v.Name, it.Key, cm.Name)
			}
			configFile, configText = filepath.Join(mounts[v.Name], it.Path), text
		}
	}
	if configFile == "" || !slices.Contains(c.Args, "--config.file="+configFile) {
		t.Errorf("daemon does not read the mounted config %q: args %v", configFile, c.Args)
	}
	cfg := loadConfigText(t, configText)
	if m.sm != nil {
		tenant := ""
		for _, e := range m.sm.Spec.Endpoints {
			for _, r := range e.RelabelConfigs {
				if r.TargetLabel == "tenant" && r.Replacement != nil {
					tenant = *r.Replacement
				}
			}
		}
		// The rules group by tenant and socmond's own alerts carry it.
		if tenant != cfg.Tenant {
			t.Errorf("ServiceMonitor sets tenant %q, the config says %q", tenant, cfg.Tenant)
		}
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

	// The rules are deploy/prometheus's, and the dashboard deploy/grafana's,
	// labelled for Grafana's sidecar.
	if m.rule != nil {
		got, err := yaml.Marshal(m.rule.Spec.Groups)
		if err != nil {
			t.Fatal(err)
		}
		want, err := yaml.Marshal(prometheusRuleGroups(t))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("PrometheusRule %s differs from deploy/prometheus; run `make manifests`", m.rule.Name)
		}
	}
	for _, cm := range m.configMaps {
		d, ok := cm.Data[dashboardKey]
		if !ok {
			continue
		}
		if d != mustRead(t, "grafana/socmond-dashboard.json") {
			t.Errorf("ConfigMap %s differs from deploy/grafana/socmond-dashboard.json; run `make manifests`", cm.Name)
		}
		if cm.Labels[dashboardLabel] != "1" {
			t.Errorf("dashboard ConfigMap %s lacks the label %s: \"1\" Grafana's sidecar looks for", cm.Name, dashboardLabel)
		}
	}
}

func (m manifests) configMap(name string) *corev1.ConfigMap {
	for _, cm := range m.configMaps {
		if cm.Name == name {
			return cm
		}
	}
	return nil
}

// dashboard is the dashboard ConfigMap, or nil.
func (m manifests) dashboard() *corev1.ConfigMap {
	for _, cm := range m.configMaps {
		if _, ok := cm.Data[dashboardKey]; ok {
			return cm
		}
	}
	return nil
}

// loadConfigText validates a config the way socmond does at start.
func loadConfigText(t *testing.T, text string) *config.Config {
	t.Helper()
	f := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(f, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_REGION", "us-east-1") // the example's ${AWS_REGION:-us-east-1}
	cfg, err := config.Load(f)
	if err != nil {
		t.Fatalf("the mounted config is not valid: %v", err)
	}
	return cfg
}
