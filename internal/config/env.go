package config

import (
	"errors"
	"fmt"
	"strings"
)

// envResource maps one environment variable of the pipeline's ECS task
// definition to the service it names a resource of, and the pipeline role
// it records (if any).
type envResource struct {
	name    string
	service string
	role    func(p *Pipeline) *string
}

// envResources is in Targets order within each service.
var envResources = []envResource{
	{"BEDROCK_TEXT_MODEL", ServiceBedrock, nil},
	{"BEDROCK_EMBED_MODEL", ServiceBedrock, nil},
	{"DDB_INVESTIGATIONS_TABLE", ServiceDynamoDB, func(p *Pipeline) *string { return &p.InvestigationsTable }},
	{"DDB_METRICS_TABLE", ServiceDynamoDB, func(p *Pipeline) *string { return &p.MetricsTable }},
	{"ARTIFACTS_BUCKET", ServiceS3, func(p *Pipeline) *string { return &p.ArtifactsBucket }},
	{"AUDIT_BUCKET", ServiceS3, func(p *Pipeline) *string { return &p.AuditBucket }},
	{"KMS_KEY_ID", ServiceKMS, func(p *Pipeline) *string { return &p.KMSKey }},
	{"EVENT_BUS_NAME", ServiceEventBridge, func(p *Pipeline) *string { return &p.EventBus }},
	{"STATE_MACHINE_ARN", ServiceStepFunctions, func(p *Pipeline) *string { return &p.StateMachine }},
	{"LAMBDA_FUNCTIONS", ServiceLambda, nil}, // comma-separated function names
}

// EnvVars lists the variables env-only mode reads resources from.
func EnvVars() []string {
	var out []string
	for _, r := range envResources {
		out = append(out, r.name)
	}
	return out
}

// ErrNoConfig is FromEnv's error when there is neither a config file nor
// any of the pipeline's variables: socmond has nothing to watch, and the
// command line can say how to start.
var ErrNoConfig = errors.New("config: no config file and none of these environment variables is set")

// FromEnv builds a config with no file at all, from the variables the
// pipeline's own ECS task already carries. Every set variable becomes a
// resource of its service with built-in settings. Empty values count as
// unset, since task definitions often pass "" for optional ones. Errors name
// the variable.
func FromEnv(getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	var c Config
	l := &locator{vars: map[string]string{"": "environment"}}

	for _, name := range []string{"AWS_REGION", "AWS_DEFAULT_REGION"} {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			c.Region = v
			l.vars["region"] = name
			break
		}
	}
	if v := strings.TrimSpace(getenv("DEFAULT_TENANT_ID")); v != "" {
		c.Tenant = v
		l.vars["tenant"] = "DEFAULT_TENANT_ID"
	}

	byName := map[string]*Service{}
	for _, ns := range c.Services.list() {
		byName[ns.name] = ns.svc
	}
	for _, er := range envResources {
		v := strings.TrimSpace(getenv(er.name))
		if v == "" {
			continue
		}
		names := []string{v}
		if er.service == ServiceLambda {
			names = splitList(v)
		}
		svc := byName[er.service]
		for _, n := range names {
			l.vars[fmt.Sprintf("services.%s.resources[%d]", er.service, len(svc.Resources))] = er.name
			svc.Resources = append(svc.Resources, Resource{Name: n})
		}
		if er.role != nil {
			*er.role(&c.Pipeline) = v
		}
	}
	if len(c.Targets()) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrNoConfig, strings.Join(EnvVars(), ", "))
	}

	c.applyDefaults(getenv)
	if errs := validate(&c, l); len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	return &c, nil
}

// splitList splits a comma-separated list, dropping blanks so a trailing
// comma is harmless.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
