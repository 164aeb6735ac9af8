// Package config holds socmond's configuration: the types, loading from a
// YAML file (environment expansion, strict decoding, validation), the
// env-only mode for containers without a file, and the built-in defaults.
//
// Everything else in socmond consumes the resolved Targets rather than the
// raw tree, so the inheritance rules (resource > service > defaults >
// built-in) live in exactly one place.
package config

import (
	"bytes"
	"fmt"
	"github.com/socmond/socmond/internal/probes"
	"maps"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Built-in defaults, used when neither the resource, its service nor the
// defaults section sets a value.
const (
	DefaultRegion                = "us-east-1"
	DefaultTenant                = "default"
	DefaultSchedule              = "@every 30s"
	DefaultTimeout               = 10 * time.Second
	DefaultResponseTimeThreshold = 5 * time.Second
	DefaultErrorRateThreshold    = 0.05
	DefaultAvailabilityThreshold = 0.99
	DefaultErrorRateWindow       = 5 * time.Minute
	DefaultAvailabilityWindow    = time.Hour
	DefaultRuntimeSchedule       = "@every 15m"
	DefaultRuntimeMaxTokens      = 1

	// MaxTimeout caps a probe deadline: a probe that needs longer than this
	// is telling us something is wrong, and a long deadline would hold a
	// scheduler slot.
	MaxTimeout = 5 * time.Minute
)

// Config is the whole configuration. New top-level sections are added as new
// fields with a yaml tag; the strict decoder picks them up by reflection.
type Config struct {
	Region string `yaml:"region"` // default: $AWS_REGION, else $AWS_DEFAULT_REGION, else us-east-1
	Tenant string `yaml:"tenant"` // label value on alerts, default "default"; a placed resource's alerts carry its own tenant's

	// Accounts and Tenants, when set, make services: a template: its
	// resources are watched in each tenant's pipelines, one account and
	// region each (accounts.go).
	Accounts []Account `yaml:"accounts,omitempty"`
	Tenants  []Tenant  `yaml:"tenants,omitempty"`

	Defaults Settings `yaml:"defaults"` // apply to every service unless overridden
	Services Services `yaml:"services"`
	Pipeline Pipeline `yaml:"pipeline,omitempty"`
	Alerting Alerting `yaml:"alerting,omitempty"` // in-daemon alert rules and Alertmanager (alerting.go)
	Workflow Workflow `yaml:"workflow,omitempty"` // passive workflow health (workflow.go)
	Canary   Canary   `yaml:"canary,omitempty"`   // synthetic end-to-end canary (workflow.go)

	Compliance Compliance `yaml:"compliance,omitempty"` // encryption compliance checks and evidence (compliance.go)
}

// Settings are the tunables shared by defaults and services. Every field is
// optional; the zero value means "inherit".
type Settings struct {
	Schedule   string     `yaml:"schedule,omitempty"` // robfig/cron/v3 spec with optional seconds, or descriptor; default "@every 30s"
	Timeout    Duration   `yaml:"timeout,omitempty"`  // per probe deadline, default 10s, at most 5m
	Thresholds Thresholds `yaml:"thresholds,omitempty"`
	Windows    Windows    `yaml:"windows,omitempty"`
}

// Thresholds decide when a resource counts as degraded or unavailable.
// The ratios are pointers because 0 is a meaningful value for them.
type Thresholds struct {
	ResponseTime Duration `yaml:"response_time,omitempty"` // default 5s; slower → degraded
	ErrorRate    *float64 `yaml:"error_rate,omitempty"`    // ratio 0..1, default 0.05
	Availability *float64 `yaml:"availability,omitempty"`  // ratio 0..1, default 0.99
}

// Windows are the look-back periods the thresholds are evaluated over.
type Windows struct {
	ErrorRate    Duration `yaml:"error_rate,omitempty"`   // default 5m
	Availability Duration `yaml:"availability,omitempty"` // default 1h
}

// Services are the probed AWS services by name, the keys under services:
// in the file. Which names exist, in what order Targets lists them, and what
// each accepts come from the services' descriptors (probes.All).
type Services map[string]*Service

// Get returns a service's settings; a service the file does not mention
// has none (a zero Service, not nil).
func (s Services) Get(name string) *Service {
	if svc := s[name]; svc != nil {
		return svc
	}
	return &Service{}
}

// Ensure returns a service's settings, adding them if the file has none.
func (s *Services) Ensure(name string) *Service {
	if *s == nil {
		*s = Services{}
	}
	if (*s)[name] == nil {
		(*s)[name] = &Service{}
	}
	return (*s)[name]
}

// Service is one AWS service and the resources of it to probe.
type Service struct {
	Enabled   *bool             `yaml:"enabled,omitempty"` // default true when it has resources
	Settings  `yaml:",inline"`  // service-level overrides of defaults
	Resources []Resource        `yaml:"resources,omitempty"` // what names a resource is the service's own: table names, bucket names, ...
	Runtime   *Runtime          `yaml:"runtime,omitempty"`   // only services with a runtime probe (Bedrock's)
	Params    map[string]string `yaml:"params,omitempty"`    // the service's own settings, as its descriptor lists them
}

// Resource is one thing to probe, with optional per-resource overrides.
type Resource struct {
	Name     string   `yaml:"name"`
	Schedule string   `yaml:"schedule,omitempty"`
	Timeout  Duration `yaml:"timeout,omitempty"`
}

// Runtime configures a service's runtime probe — Bedrock's invokes each
// configured model with a one-token budget (embedding models with a one-word
// request). It is billed per call, hence its own, slower schedule and off by
// default.
type Runtime struct {
	Enabled   bool   `yaml:"enabled"`
	Schedule  string `yaml:"schedule,omitempty"`   // default "@every 15m"
	MaxTokens int    `yaml:"max_tokens,omitempty"` // default 1
}

// Pipeline records which configured resources play which role in the SOC
// pipeline, for the compliance and workflow checks. The names are stored as
// given and not cross-checked against services.
type Pipeline struct {
	ArtifactsBucket     string `yaml:"artifacts_bucket,omitempty"`
	AuditBucket         string `yaml:"audit_bucket,omitempty"`
	KMSKey              string `yaml:"kms_key,omitempty"`
	EventBus            string `yaml:"event_bus,omitempty"`
	StateMachine        string `yaml:"state_machine,omitempty"`
	InvestigationsTable string `yaml:"investigations_table,omitempty"`
	MetricsTable        string `yaml:"metrics_table,omitempty"`
}

// Duration is a time.Duration written in YAML as Go duration text ("5s",
// "1m30s"). Bare numbers are rejected because their unit would be a guess.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats d like time.Duration does.
func (d Duration) String() string { return time.Duration(d).String() }

// UnmarshalYAML parses duration text. Zero is rejected as well as negatives:
// in this schema zero means "inherit", so writing it can only be a mistake.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("expected a duration such as \"30s\", got %s", kindName(n))
	}
	v, err := time.ParseDuration(strings.TrimSpace(n.Value))
	if err != nil {
		return fmt.Errorf("invalid duration %q", n.Value)
	}
	if v <= 0 {
		return fmt.Errorf("invalid duration %q: must be greater than 0", n.Value)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes d back as duration text so YAML() output re-parses.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// Target is one (service, resource) with every setting resolved
// (resource > service > defaults > built-in defaults).
type Target struct {
	Service, Resource                         string       // Service is a descriptor's Name (probes.All)
	Place                                     probes.Place // the pipeline's tenant, account and region; zero for the config-wide ones
	Schedule                                  string
	Timeout                                   time.Duration
	ResponseTimeThreshold                     time.Duration
	ErrorRateThreshold, AvailabilityThreshold float64
	ErrorRateWindow, AvailabilityWindow       time.Duration

	Params ParamSet // the service's params as written (the probe fills in defaults)
	Owner  string   // what a discovered resource serves (DiscoveredTarget); empty when configured

	// The alert conditions' settings (docs/alerting.md, "Conditions"): the
	// low-traffic guard of each window on this schedule, and how long each
	// condition keeps failing after its last failing result (clear_for).
	ErrorMinSamples, AvailabilityMinSamples                            int
	SlowClearFor, ErrorClearFor, AvailabilityClearFor, BacklogClearFor time.Duration
}

// namedService pairs a service with its YAML name.
type namedService struct {
	name string
	svc  *Service
}

// list returns the services the file configures, in Targets order (the
// registry's).
func (s Services) list() []namedService {
	var out []namedService
	for _, d := range probes.All() {
		if svc := s[d.Name]; svc != nil {
			out = append(out, namedService{d.Name, svc})
		}
	}
	return out
}

// IsEnabled reports whether the service is probed: explicitly enabled, or
// left unset and given at least one resource.
func (s *Service) IsEnabled() bool {
	if s.Enabled != nil {
		return *s.Enabled
	}
	return len(s.Resources) > 0
}

// Targets returns every resource of every enabled service with its settings
// resolved, services in the order of Services and resources in file order;
// with tenants:, once per pipeline (Pipelines), in their order, each with
// its name substituted and its Place. It works on a Config built by hand
// too, since built-in defaults are applied here rather than relied on from
// Load.
func (c *Config) Targets() []Target { return c.instantiate(c.templateTargets()) }

// templateTargets are the targets of services: as written, unplaced.
func (c *Config) templateTargets() []Target {
	var out []Target
	for _, ns := range c.Services.list() {
		if !ns.svc.IsEnabled() {
			continue
		}
		for _, r := range ns.svc.Resources {
			out = append(out, c.resolve(ns.name, ns.svc, r))
		}
	}
	return out
}

// RuntimeTargets returns the Bedrock Converse probe targets: one per
// configured model, on the runtime schedule, when both Bedrock and its
// runtime probe are enabled. They are kept out of Targets because each run
// costs money and has its own schedule.
func (c *Config) RuntimeTargets() []Target {
	var out []Target
	for _, ns := range c.Services.list() {
		rt := ns.svc.Runtime
		if !ns.svc.IsEnabled() || rt == nil || !rt.Enabled {
			continue
		}
		schedule := firstString(rt.Schedule, DefaultRuntimeSchedule)
		for _, r := range ns.svc.Resources {
			r.Schedule = schedule
			t := c.resolve(ns.name, ns.svc, r)
			// A rare, billed probe: its windows hold at least four of its
			// runs, or they could never hold the two failures that confirm a
			// failure (docs/alerting.md).
			iv := Interval(schedule)
			t.ErrorRateWindow = max(t.ErrorRateWindow, RuntimeWindowIntervals*iv)
			t.AvailabilityWindow = max(t.AvailabilityWindow, RuntimeWindowIntervals*iv)
			c.resolveConditions(&t)
			out = append(out, t)
		}
	}
	return c.instantiate(out)
}

// RuntimeWindowIntervals is the fewest runs of the Bedrock runtime probe
// its windows hold.
const RuntimeWindowIntervals = 4

// DiscoveredTarget is a resource the workflow check found in the pipeline
// (a Lambda function in the state machine's definition): probed on the
// workflow's schedule, with its service's settings, like a configured one.
func (c *Config) DiscoveredTarget(service, resource, owner string) Target {
	t := c.resolve(service, c.Services.Get(service), Resource{Name: resource, Schedule: c.Workflow.Schedule})
	t.Owner = owner
	return t
}

// ID is the resource the target is: what its results, windows, series
// and alerts are keyed by.
func (t Target) ID() probes.Target {
	return probes.Target{Service: t.Service, Resource: t.Resource, Place: t.Place}
}

// Probe is what the target's probe is built for.
func (t Target) Probe() probes.Resource {
	return probes.Resource{Name: t.Resource, Params: t.Params.Map(), Owner: t.Owner}
}

// ParamSet is a service's params in a comparable form, so Targets compare
// with == (a reload keeps an equal one's windows).
type ParamSet struct{ enc string }

func paramSet(m map[string]string) ParamSet {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(m)) {
		b.WriteString(k + "\x00" + m[k] + "\x00")
	}
	return ParamSet{b.String()}
}

// Map returns the params by key (nil when none are set).
func (p ParamSet) Map() probes.Params {
	if p.enc == "" {
		return nil
	}
	f := strings.Split(strings.TrimSuffix(p.enc, "\x00"), "\x00")
	out := probes.Params{}
	for i := 0; i+1 < len(f); i += 2 {
		out[f[i]] = f[i+1]
	}
	return out
}

// RuntimeMaxTokens is the resolved max_tokens of a service's runtime probe.
func (c *Config) RuntimeMaxTokens(service string) int {
	if rt := c.Services.Get(service).Runtime; rt != nil && rt.MaxTokens > 0 {
		return rt.MaxTokens
	}
	return DefaultRuntimeMaxTokens
}

func (c *Config) resolve(service string, svc *Service, r Resource) Target {
	d, s := &c.Defaults, &svc.Settings
	t := Target{
		Service:               service,
		Resource:              r.Name,
		Schedule:              firstString(r.Schedule, s.Schedule, d.Schedule, DefaultSchedule),
		Timeout:               firstDuration(r.Timeout, s.Timeout, d.Timeout, Duration(DefaultTimeout)),
		ResponseTimeThreshold: firstDuration(s.Thresholds.ResponseTime, d.Thresholds.ResponseTime, Duration(DefaultResponseTimeThreshold)),
		ErrorRateThreshold:    firstRatio(DefaultErrorRateThreshold, s.Thresholds.ErrorRate, d.Thresholds.ErrorRate),
		AvailabilityThreshold: firstRatio(DefaultAvailabilityThreshold, s.Thresholds.Availability, d.Thresholds.Availability),
		ErrorRateWindow:       firstDuration(s.Windows.ErrorRate, d.Windows.ErrorRate, Duration(DefaultErrorRateWindow)),
		AvailabilityWindow:    firstDuration(s.Windows.Availability, d.Windows.Availability, Duration(DefaultAvailabilityWindow)),
		Params:                paramSet(svc.Params),
	}
	c.resolveConditions(&t)
	return t
}

// resolveConditions fills in t's alert conditions' settings from its
// schedule, windows and the alerting section.
func (c *Config) resolveConditions(t *Target) {
	ratio := DefaultMinSampleRatio
	if r := c.Alerting.MinSampleRatio; r != nil {
		ratio = *r
	}
	iv := Interval(t.Schedule)
	t.ErrorMinSamples = MinSamples(ratio, t.ErrorRateWindow, iv)
	t.AvailabilityMinSamples = MinSamples(ratio, t.AvailabilityWindow, iv)
	t.SlowClearFor = c.Alerting.Rule(RuleSlowResponse, t.Service, iv).ClearFor
	t.ErrorClearFor = c.Alerting.Rule(RuleHighErrorRate, t.Service, iv).ClearFor
	t.AvailabilityClearFor = c.Alerting.Rule(RuleLowAvailability, t.Service, iv).ClearFor
	t.BacklogClearFor = c.Alerting.Rule(RuleBacklog, t.Service, iv).ClearFor
}

func firstString(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

func firstDuration(vs ...Duration) time.Duration {
	for _, v := range vs {
		if v != 0 {
			return time.Duration(v)
		}
	}
	return 0
}

func firstRatio(def float64, vs ...*float64) float64 {
	for _, v := range vs {
		if v != nil {
			return *v
		}
	}
	return def
}

// applyDefaults fills the built-in defaults into the defaults section, the
// region and tenant, and each service's enabled flag, so YAML() shows the
// effective configuration. Service-level settings stay as written: they are
// overrides, and Targets resolves them.
func (c *Config) applyDefaults(getenv func(string) string) {
	if c.Region == "" {
		c.Region = firstString(getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION"), DefaultRegion)
	}
	if c.Tenant == "" {
		c.Tenant = DefaultTenant
	}
	d := &c.Defaults
	if d.Schedule == "" {
		d.Schedule = DefaultSchedule
	}
	if d.Timeout == 0 {
		d.Timeout = Duration(DefaultTimeout)
	}
	if d.Thresholds.ResponseTime == 0 {
		d.Thresholds.ResponseTime = Duration(DefaultResponseTimeThreshold)
	}
	if d.Thresholds.ErrorRate == nil {
		v := DefaultErrorRateThreshold
		d.Thresholds.ErrorRate = &v
	}
	if d.Thresholds.Availability == nil {
		v := DefaultAvailabilityThreshold
		d.Thresholds.Availability = &v
	}
	if d.Windows.ErrorRate == 0 {
		d.Windows.ErrorRate = Duration(DefaultErrorRateWindow)
	}
	if d.Windows.Availability == 0 {
		d.Windows.Availability = Duration(DefaultAvailabilityWindow)
	}
	// Every known service appears, so YAML() shows all of them and what
	// each could be set to.
	for _, d := range probes.All() {
		svc := c.Services.Ensure(d.Name)
		if svc.Enabled == nil {
			v := svc.IsEnabled()
			svc.Enabled = &v
		}
		if d.Runtime != nil {
			if svc.Runtime == nil {
				svc.Runtime = &Runtime{}
			}
			if svc.Runtime.Schedule == "" {
				svc.Runtime.Schedule = DefaultRuntimeSchedule
			}
			if svc.Runtime.MaxTokens == 0 {
				svc.Runtime.MaxTokens = DefaultRuntimeMaxTokens
			}
		}
	}
	c.applyComplianceDefaults() // first: the canary's retention defaults to compliance's
	c.applyWorkflowDefaults()
	c.Alerting.applyDefaults()
}

// YAML renders the effective configuration (defaults filled in) for
// `socmond check-config`. Every "$" in a value is written as "$$" so the
// output loads back unchanged instead of being expanded a second time.
func (c *Config) YAML() ([]byte, error) {
	var root yaml.Node
	if err := root.Encode(c); err != nil {
		return nil, fmt.Errorf("config: render: %w", err)
	}
	escapeDollars(&root, false)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&root); err != nil {
		return nil, fmt.Errorf("config: render: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("config: render: %w", err)
	}
	return buf.Bytes(), nil
}

// escapeDollars doubles "$" in value scalars, the inverse of expansion,
// which only touches values.
func escapeDollars(n *yaml.Node, isKey bool) {
	switch n.Kind {
	case yaml.ScalarNode:
		if !isKey && strings.Contains(n.Value, "$") {
			n.Value = strings.ReplaceAll(n.Value, "$", "$$")
		}
	case yaml.MappingNode:
		for i := range n.Content {
			escapeDollars(n.Content[i], i%2 == 0)
		}
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			escapeDollars(c, false)
		}
	}
}
