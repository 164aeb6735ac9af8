package probes

import (
	"fmt"
	"strings"

	"github.com/socmond/socmond/internal/awsclient"
)

// Service describes one AWS service socmond probes: everything the rest of
// socmond needs to know about it. Each service's file declares its own, and
// registry.go lists them; configuration, the IAM policy, validate's report,
// the status page and the simulator's seed read that list instead of naming
// services, so adding a service is its file and one line in the registry.
type Service struct {
	Name        string // label value and key under services: in the config file
	DisplayName string // what a person reads: "Step Functions"
	Resources   string // what its resources are, for help and errors: "table names or ARNs"
	Example     string // one resource, as a config names it (help, and the tests' sample)
	ARNService  string // the service part of its resources' ARNs when it is not Name: "states" for Step Functions

	// New returns the probe of one resource: one cheap read-only call.
	New func(c *awsclient.Clients, r Resource) Probe
	// Read is what IAM must allow that call.
	Read Access

	// Runtime, when set, is the service's opt-in probe of the whole call
	// path, billed per call (services.<name>.runtime in the config).
	Runtime *Runtime

	// DeadLetter says its resources can be where the pipeline's rule
	// targets send what they cannot deliver, and its functions what they
	// cannot process: the workflow check probes those it finds (by ARN,
	// ForARN), and the IAM policy lets it.
	DeadLetter bool

	// Params are the service's own settings (services.<name>.params in
	// the config), with their defaults.
	Params []Param

	// Validate checks a configured resource name; nil accepts any.
	Validate func(resource string) error
	// Env lists the variables of the pipeline's own task that name this
	// service's resources, for the env-only mode.
	Env []EnvVar
}

// Resource is one resource of a service, as its probe is built for it.
type Resource struct {
	Name   string
	Params Params // every Param of the service, defaults filled in
	// Owner says what the resource serves when socmond found it in the
	// pipeline rather than in the config ("dead-letter queue of rule X's
	// target Y", "of function F"); empty for a configured one.
	Owner string
}

// Params are a service's own settings by key.
type Params map[string]string

// Param is one setting a service's probe takes.
type Param struct {
	Key, Default, Help string
	// Check validates a value; nil accepts any.
	Check func(string) error
}

// Runtime is a service's billed probe, run only on the leader.
type Runtime struct {
	New func(c *awsclient.Clients, resource string, maxTokens int) Probe
	Use Access
}

// Access is an IAM statement's worth of permission on one resource.
type Access struct {
	Sid     string   // statement id, e.g. "ReadDynamoDBTables"
	Actions []string // e.g. dynamodb:DescribeTable
	// ARN is the resource's ARN in scope, or the pattern IAM needs and a
	// condition narrowing it (a KMS alias cannot be an IAM resource).
	ARN func(s Scope, resource string) Grant
}

// Grant is where an Access applies.
type Grant struct {
	Resource  string
	Condition map[string]map[string][]string // nil: none
	SidSuffix string                         // added to the statement id when Condition is set
}

// Scope is where ARNs live: partition, region and account.
type Scope struct{ Partition, Region, Account string }

// ARN is arn:partition:service:region:account:resource.
func (s Scope) ARN(service, resource string) string {
	return "arn:" + s.Partition + ":" + service + ":" + s.Region + ":" + s.Account + ":" + resource
}

// named is the ARN of a resource that may be given by name or ARN.
func (s Scope) named(service, prefix, nameOrARN string) string {
	if strings.HasPrefix(nameOrARN, "arn:") {
		return nameOrARN
	}
	return s.ARN(service, prefix+nameOrARN)
}

// EnvVar is one environment variable naming resources of a service.
type EnvVar struct {
	Name string // e.g. DDB_INVESTIGATIONS_TABLE
	// Role is the pipeline role it also records, as its key under
	// pipeline: in the config ("investigations_table"); empty for none.
	Role string
	List bool // comma-separated names
}

// Lookup returns the descriptor of a service label value.
func Lookup(name string) (Service, bool) {
	for _, s := range services {
		if s.Name == name {
			return s, true
		}
	}
	return Service{}, false
}

// ForARN returns the descriptor of the service an ARN belongs to, so a
// resource the pipeline names by ARN (a target's dead-letter queue) can be
// probed as that service's.
func ForARN(arn string) (Service, bool) {
	p := strings.SplitN(arn, ":", 4)
	if len(p) < 4 || p[0] != "arn" {
		return Service{}, false
	}
	for _, s := range services {
		if s.ARNService == p[2] || (s.ARNService == "" && s.Name == p[2]) {
			return s, true
		}
	}
	return Service{}, false
}

// All returns every service's descriptor, in the registry's order (the
// order of validate's table and of Targets).
func All() []Service { return append([]Service(nil), services...) }

// New returns the probe for one resource of a service.
func New(service string, r Resource, c *awsclient.Clients) (Probe, error) {
	s, ok := Lookup(service)
	if !ok {
		return nil, fmt.Errorf("no probe for service %q (known: %s)", service, strings.Join(Services(), ", "))
	}
	return s.New(c, r.withDefaults(s.Params)), nil
}

// withDefaults fills in the defaults of the params r does not set.
func (r Resource) withDefaults(ps []Param) Resource {
	out := Params{}
	for _, p := range ps {
		out[p.Key] = p.Default
	}
	for k, v := range r.Params {
		out[k] = v
	}
	r.Params = out
	return r
}

// NewRuntime returns a service's billed runtime probe for one resource.
func NewRuntime(service, resource string, c *awsclient.Clients, maxTokens int) (Probe, error) {
	s, ok := Lookup(service)
	if !ok || s.Runtime == nil {
		return nil, fmt.Errorf("no runtime probe for service %q", service)
	}
	return s.Runtime.New(c, resource, maxTokens), nil
}

// Services lists the service label values, in the registry's order.
func Services() []string {
	out := make([]string, 0, len(services))
	for _, s := range services {
		out = append(out, s.Name)
	}
	return out
}

// DisplayName is the name a person reads for a service label value:
// "Step Functions" for stepfunctions. Any other value is returned as it is.
func DisplayName(service string) string {
	if s, ok := Lookup(service); ok {
		return s.DisplayName
	}
	return service
}
