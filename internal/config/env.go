package config

import (
	"errors"
	"fmt"
	"github.com/socmond/socmond/internal/probes"
	"strings"
)

// envResource is one environment variable of the pipeline's ECS task
// definition naming resources of a service (the services' descriptors list
// them, in Targets order).
type envResource struct {
	probes.EnvVar
	service string
}

func envResources() []envResource {
	var out []envResource
	for _, d := range probes.All() {
		for _, v := range d.Env {
			out = append(out, envResource{v, d.Name})
		}
	}
	return out
}

// pipelineRole is the Pipeline field whose key under pipeline: is key.
func pipelineRole(p *Pipeline, key string) *string {
	for _, f := range pipelineFields(p) {
		if f.key == key {
			return f.name
		}
	}
	panic("config: no pipeline role " + key) // a descriptor's mistake, caught by the tests
}

// The variables that make an env-only socmond page: the Alertmanagers to
// POST alerts to, and the credentials every one of them is sent. In ECS the
// credentials come from Secrets Manager through the task definition's
// `secrets`, so they never appear in the task definition itself.
const (
	EnvAlertmanagerURL         = "ALERTMANAGER_URL" // comma-separated base URLs
	EnvAlertmanagerBearerToken = "ALERTMANAGER_BEARER_TOKEN"
	EnvAlertmanagerUsername    = "ALERTMANAGER_USERNAME"
	EnvAlertmanagerPassword    = "ALERTMANAGER_PASSWORD"
)

// EnvVars lists the variables env-only mode reads resources from.
func EnvVars() []string {
	var out []string
	for _, r := range envResources() {
		out = append(out, r.Name)
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

	for _, er := range envResources() {
		v := strings.TrimSpace(getenv(er.Name))
		if v == "" {
			continue
		}
		names := []string{v}
		if er.List {
			names = splitList(v)
		}
		svc := c.Services.Ensure(er.service)
		for _, n := range names {
			l.vars[fmt.Sprintf("services.%s.resources[%d]", er.service, len(svc.Resources))] = er.Name
			svc.Resources = append(svc.Resources, Resource{Name: n})
		}
		if er.Role != "" {
			*pipelineRole(&c.Pipeline, er.Role) = v
		}
	}
	if len(c.Targets()) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrNoConfig, strings.Join(EnvVars(), ", "))
	}
	envErrs := alertmanagersFromEnv(getenv, &c.Alerting, l)

	c.applyDefaults(getenv)
	if errs := append(envErrs, validate(&c, l)...); len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	return &c, nil
}

// alertmanagersFromEnv adds one Alertmanager per URL in ALERTMANAGER_URL,
// each with the credentials the other variables give, and records which
// variable each setting came from so validation errors name it. What only
// the environment can get wrong (credentials without a URL, half of a
// basic-auth pair, credentials written into the URL) is reported here;
// the rest by the validation a file gets.
func alertmanagersFromEnv(getenv func(string) string, a *Alerting, l *locator) []error {
	urls := splitList(getenv(EnvAlertmanagerURL))
	// Credentials are taken as given: a token or password with a space at
	// either end is that token or password.
	token := getenv(EnvAlertmanagerBearerToken)
	user := strings.TrimSpace(getenv(EnvAlertmanagerUsername))
	password := getenv(EnvAlertmanagerPassword)
	var errs []error
	envError := func(name, msg string) {
		errs = append(errs, &Error{Var: name, Path: "alerting.alertmanagers", Msg: msg})
	}
	if len(urls) == 0 {
		for _, name := range []string{EnvAlertmanagerBearerToken, EnvAlertmanagerUsername, EnvAlertmanagerPassword} {
			if getenv(name) != "" {
				envError(name, "is set but "+EnvAlertmanagerURL+" is not: set the Alertmanager to send alerts to")
			}
		}
		return errs
	}
	credsOK := false // a conflict is reported once, here, not again by validate
	switch {
	case token != "" && (user != "" || password != ""):
		envError(EnvAlertmanagerBearerToken, "set either it or "+EnvAlertmanagerUsername+"/"+EnvAlertmanagerPassword+", not both")
	case user != "" && password == "":
		// In ECS a secret that failed to resolve stops the task, so an
		// empty password is a variable left out, not a password.
		envError(EnvAlertmanagerPassword, "is empty but "+EnvAlertmanagerUsername+" is set: basic auth needs both")
	case user == "" && password != "":
		envError(EnvAlertmanagerUsername, "is empty but "+EnvAlertmanagerPassword+" is set: basic auth needs both")
	default:
		credsOK = true
	}
	for i, u := range urls {
		// The notifier logs an Alertmanager's URL; credentials in it would
		// be logged too. Any "@" is refused without repeating the URL, even
		// where url.Parse would not see a user (no scheme): an invalid-URL
		// message quotes the URL.
		if strings.Contains(u, "@") {
			envError(EnvAlertmanagerURL, fmt.Sprintf("URL %d of %d carries credentials: socmond logs Alertmanager URLs, so put them in %s/%s or %s instead",
				i+1, len(urls), EnvAlertmanagerUsername, EnvAlertmanagerPassword, EnvAlertmanagerBearerToken))
			continue
		}
		p := fmt.Sprintf("alerting.alertmanagers[%d]", len(a.Alertmanagers))
		l.vars[p] = EnvAlertmanagerURL
		l.vars[p+".bearer_token"] = EnvAlertmanagerBearerToken
		l.vars[p+".basic_auth.username"] = EnvAlertmanagerUsername
		l.vars[p+".basic_auth.password"] = EnvAlertmanagerPassword
		am := Alertmanager{URL: u}
		switch {
		case !credsOK:
		case token != "":
			am.BearerToken = Secret(token)
		case user != "":
			am.BasicAuth = &BasicAuth{Username: user, Password: Secret(password)}
		}
		a.Alertmanagers = append(a.Alertmanagers, am)
	}
	return errs
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
