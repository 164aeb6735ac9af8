package config

import (
	"fmt"
	"reflect"

	"github.com/socmond/socmond/internal/awsclient"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/socmond/socmond/internal/probes"
)

// Account is one AWS account socmond watches resources in (accounts:),
// reached through the role it names, or through socmond's own identity
// when it names none.
type Account struct {
	ID          string   `yaml:"id"`                     // 12-digit account id: the account label
	RoleARN     string   `yaml:"role_arn,omitempty"`     // assumed from socmond's own identity; its account is ID
	ExternalID  Secret   `yaml:"external_id,omitempty"`  // sent with AssumeRole; use ${VAR}; never printed
	SessionName string   `yaml:"session_name,omitempty"` // the role session's name in the account's CloudTrail; default "socmond"
	Regions     []string `yaml:"regions,omitempty"`      // where its pipelines may run; default [region]
}

// Tenant is one customer or business unit and where its pipelines run
// (tenants:): the tenant label of its resources' series and alerts.
type Tenant struct {
	Name      string           `yaml:"name"`
	Pipelines []TenantPipeline `yaml:"pipelines"`
}

// TenantPipeline is a tenant's pipeline in one account, in each of some of
// the account's regions.
type TenantPipeline struct {
	Account string   `yaml:"account"`           // an id from accounts:
	Regions []string `yaml:"regions,omitempty"` // a subset of the account's; default all of them
}

// The placeholders a resource name may hold, substituted per pipeline when
// tenants: is set. Environment expansion leaves them alone in resource
// names (expandNodes).
const (
	PlaceholderAccountID = "${account_id}"
	PlaceholderRegion    = "${region}"
	PlaceholderTenant    = "${tenant}"
)

var placeholders = []string{PlaceholderAccountID, PlaceholderRegion, PlaceholderTenant}

// isPlaceholder reports whether a ${...} reference's name is one of the
// per-pipeline placeholders rather than an environment variable.
func isPlaceholder(ref string) bool {
	return slices.Contains(placeholders, "${"+ref+"}")
}

// hasPlaceholder reports whether name holds a per-pipeline placeholder.
func hasPlaceholder(name string) bool {
	for _, p := range placeholders {
		if strings.Contains(name, p) {
			return true
		}
	}
	return false
}

// substitute is a resource name as one pipeline's: its placeholders
// replaced by the pipeline's account, region and tenant.
func substitute(name string, p probes.Place) string {
	if !strings.Contains(name, "${") {
		return name
	}
	return strings.NewReplacer(PlaceholderAccountID, p.Account, PlaceholderRegion, p.Region, PlaceholderTenant, p.Tenant).Replace(name)
}

// Pipelines returns where the services: template is instantiated: one
// Place per tenant, pipeline and region, in file order; none when the
// config has no tenants: (its targets are then the config-wide ones).
func (c *Config) Pipelines() []probes.Place {
	var out []probes.Place
	for _, t := range c.Tenants {
		for _, p := range t.Pipelines {
			regions := p.Regions
			if len(regions) == 0 {
				if a, ok := c.Account(p.Account); ok {
					regions = a.regions(c.Region)
				}
			}
			for _, r := range regions {
				out = append(out, probes.Place{Tenant: t.Name, Account: p.Account, Region: r})
			}
		}
	}
	return out
}

// Places are where the pipeline runs: one per tenant, pipeline and region
// (Pipelines), or the one zero Place of a config without tenants:, whose
// pipeline is the config-wide one. Compliance, the workflow check, the
// canary and evidence run once per Place, on that pipeline's names
// (PipelineAt) and its account's role in its region.
func (c *Config) Places() []probes.Place {
	if p := c.Pipelines(); len(p) > 0 {
		return p
	}
	return []probes.Place{{}}
}

// PipelineAt is the pipeline section as the pipeline at p names its
// resources: each name's placeholders substituted.
func (c *Config) PipelineAt(p probes.Place) Pipeline {
	out := c.Pipeline
	for _, f := range pipelineFields(&out) {
		*f.name = substitute(*f.name, p)
	}
	return out
}

// NameAt is a resource name from the config (a services: template's) as
// the pipeline at p names it: its placeholders substituted. Unlike
// Targets, it names the resources of a disabled service too (the IAM
// policy grants the workflow check the functions the lambda section
// lists, probed or not).
func (c *Config) NameAt(name string, p probes.Place) string { return substitute(name, p) }

// WorkflowRulesAt are workflow.rules as the pipeline at p names them.
func (c *Config) WorkflowRulesAt(p probes.Place) []string {
	if len(c.Workflow.Rules) == 0 {
		return nil
	}
	out := make([]string, len(c.Workflow.Rules))
	for i, r := range c.Workflow.Rules {
		out[i] = substitute(r, p)
	}
	return out
}

// pipelineField is one name of the pipeline section and its key under
// pipeline:.
type pipelineField struct {
	key  string
	name *string
}

// pipelineFields are the names of the pipeline section, in the schema's
// order, each with its key (its yaml tag): the one list PipelineAt,
// placeholderPaths and env-only mode's pipelineRole read.
func pipelineFields(p *Pipeline) []pipelineField {
	v := reflect.ValueOf(p).Elem()
	out := make([]pipelineField, v.NumField())
	for i := range out {
		key, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("yaml"), ",")
		out[i] = pipelineField{key, v.Field(i).Addr().Interface().(*string)}
	}
	return out
}

// ClientsAt are the clients of a place: base itself for the config-wide
// account and region (the zero Place), else those of the place's
// account's role (none: socmond's own identity) in its region, built once
// by base (awsclient.Clients.Assume) and shared by every check there.
func (c *Config) ClientsAt(base *awsclient.Clients, place probes.Place) (*awsclient.Clients, error) {
	if place.IsZero() {
		return base, nil
	}
	a, ok := c.Account(place.Account)
	if !ok {
		return nil, fmt.Errorf("account %s of tenant %s is not under accounts:", place.Account, place.Tenant)
	}
	pc, err := base.Assume(awsclient.Assumption{RoleARN: a.RoleARN, ExternalID: string(a.ExternalID), SessionName: a.SessionName, Region: place.Region})
	if err != nil {
		return nil, fmt.Errorf("clients of account %s in %s: %w", place.Account, place.Region, err)
	}
	return pc, nil
}

// Account returns the account of an id from accounts:.
func (c *Config) Account(id string) (Account, bool) {
	for _, a := range c.Accounts {
		if a.ID == id {
			return a, true
		}
	}
	return Account{}, false
}

// regions are the account's regions, the config-wide one by default.
func (a Account) regions(region string) []string {
	if len(a.Regions) == 0 {
		return []string{region}
	}
	return a.Regions
}

// instantiate returns the targets of the services: template once per
// pipeline (Pipelines), each resource name substituted and its target
// placed; templates as they are when there are no pipelines.
func (c *Config) instantiate(templates []Target) []Target {
	places := c.Pipelines()
	if len(places) == 0 {
		return templates
	}
	out := make([]Target, 0, len(places)*len(templates))
	for _, p := range places {
		for _, t := range templates {
			t.Resource = substitute(t.Resource, p)
			t.Place = p
			out = append(out, t)
		}
	}
	return out
}

var (
	accountIDPattern = regexp.MustCompile(`^[0-9]{12}$`)
	// roleARNPattern is an IAM role ARN in any partition; the account is
	// its first group.
	roleARNPattern     = regexp.MustCompile(`^arn:aws[a-z-]*:iam::([0-9]{12}):role/[\w+=,.@/-]{1,512}$`)
	sessionNamePattern = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
	tenantNamePattern  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
)

// validateAccounts checks accounts: and tenants:, and every resource name
// as each pipeline expands it.
func validateAccounts(c *Config, l *locator) []error {
	var errs []error
	add := func(e *Error) { errs = append(errs, e) }

	if len(c.Tenants) == 0 {
		if len(c.Accounts) > 0 {
			add(l.errorf("accounts", "accounts are watched through the pipelines of tenants:, and there are none: list tenants with pipelines in these accounts"))
		}
		for _, path := range placeholderPaths(c) {
			add(l.errorf(path, "%s, %s and %s are substituted per pipeline, and there are no tenants: list tenants and accounts, or write the name out",
				PlaceholderAccountID, PlaceholderRegion, PlaceholderTenant))
		}
		return errs
	}

	ids := map[string]int{}
	for i, a := range c.Accounts {
		base := fmt.Sprintf("accounts[%d]", i)
		if e := uniqueName(l, base+".id", a.ID, accountIDPattern, ids, i, "the 12-digit AWS account id", "want 12 digits"); e != nil {
			add(e)
		}
		if a.RoleARN != "" {
			m := roleARNPattern.FindStringSubmatch(a.RoleARN)
			switch {
			case m == nil:
				add(l.errorf(base+".role_arn", "invalid role ARN %q: want arn:aws:iam::<account id>:role/<name>", a.RoleARN))
			case accountIDPattern.MatchString(a.ID) && m[1] != a.ID:
				add(l.errorf(base+".role_arn", "the role is in account %s, not %s: a resource's account label must be the account its role reads", m[1], a.ID))
			}
		} else {
			if a.ExternalID != "" {
				add(l.errorf(base+".external_id", "an external id is sent when assuming role_arn, and there is none"))
			}
			if a.SessionName != "" {
				add(l.errorf(base+".session_name", "a session name is that of the role_arn assumed, and there is none"))
			}
		}
		if n := len(a.ExternalID); n > 0 && (n < 2 || n > 1224) {
			// The value is a secret: its length says what is wrong.
			add(l.errorf(base+".external_id", "must be 2 to 1224 characters long, got %d", n))
		}
		if a.SessionName != "" && !sessionNamePattern.MatchString(a.SessionName) {
			add(l.errorf(base+".session_name", "invalid session name %q: want 2 to 64 letters, digits or +=,.@_-", a.SessionName))
		}
		seen := map[string]bool{}
		for j, r := range a.Regions {
			p := fmt.Sprintf("%s.regions[%d]", base, j)
			switch {
			case !regionPattern.MatchString(r):
				add(l.errorf(p, "invalid region %q (expected a name such as us-east-1)", r))
			case seen[r]:
				add(l.errorf(p, "duplicate region %s", r))
			}
			seen[r] = true
		}
	}

	names := map[string]int{}
	where := map[probes.Place]string{} // account and region → the pipeline that has them
	for i, t := range c.Tenants {
		base := fmt.Sprintf("tenants[%d]", i)
		if e := uniqueName(l, base+".name", t.Name, tenantNamePattern, names, i, "the tenant label of its resources and alerts",
			"want 1 to 64 letters, digits or _.- starting with a letter or digit"); e != nil {
			add(e)
		}
		if len(t.Pipelines) == 0 {
			add(l.errorf(base+".pipelines", "required: list the accounts (and regions) the tenant's pipelines run in"))
		}
		for j, p := range t.Pipelines {
			pb := fmt.Sprintf("%s.pipelines[%d]", base, j)
			if p.Account == "" {
				add(l.errorf(pb+".account", "required: an id from accounts:"))
				continue
			}
			a, ok := c.Account(p.Account)
			if !ok {
				add(l.errorf(pb+".account", "account %q is not defined under accounts:", p.Account))
				continue
			}
			have := a.regions(c.Region)
			regions := p.Regions
			if len(regions) == 0 {
				regions = have
			}
			for k, r := range p.Regions {
				if !slices.Contains(have, r) {
					add(l.errorf(fmt.Sprintf("%s.regions[%d]", pb, k), "region %q is not one of account %s's regions (%s)", r, p.Account, strings.Join(have, ", ")))
				}
			}
			for k, r := range regions {
				key := probes.Place{Account: p.Account, Region: r}
				rp := pb + ".account"
				if len(p.Regions) > 0 {
					rp = fmt.Sprintf("%s.regions[%d]", pb, k)
				}
				if other, dup := where[key]; dup {
					add(l.errorf(rp, "account %s in %s is already %s: one pipeline per account and region", p.Account, r, other))
				} else {
					where[key] = fmt.Sprintf("%s's pipeline (%s)", t.Name, pb)
				}
			}
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return validateExpansions(c, l)
}

// uniqueName checks the name at path, the i-th of its list: required (what
// it is), matching re (want says how), and the first of its value (seen
// has the earlier ones, by index).
func uniqueName(l *locator, path, v string, re *regexp.Regexp, seen map[string]int, i int, what, want string) *Error {
	list, key, _ := strings.Cut(path, "[")
	_, key, _ = strings.Cut(key, ".")
	switch {
	case v == "":
		return l.errorf(path, "required: %s", what)
	case !re.MatchString(v):
		return l.errorf(path, "invalid %s %q: %s", strings.TrimSuffix(list, "s")+" "+key, v, want)
	}
	if j, dup := seen[v]; dup {
		return l.errorf(path, "duplicate %s %q (also %s[%d])", strings.TrimSuffix(list, "s"), v, list, j)
	}
	seen[v] = i
	return nil
}

// validateExpansions checks every resource name as each pipeline expands
// it, with its service's descriptor, and that no two of a service's names
// expand alike in one pipeline (they would be one resource): one error per
// template and reason, naming the first pipeline that makes it invalid.
func validateExpansions(c *Config, l *locator) []error {
	var errs []error
	places := c.Pipelines()
	for _, ns := range c.Services.list() {
		d, _ := probes.Lookup(ns.name)
		for i, r := range ns.svc.Resources {
			if !hasPlaceholder(r.Name) {
				continue
			}
			p := fmt.Sprintf("services.%s.resources[%d].name", ns.name, i)
			for _, pl := range places {
				name := substitute(r.Name, pl)
				var err error
				switch {
				case strings.IndexFunc(name, unicode.IsSpace) >= 0:
					err = fmt.Errorf("must not contain spaces")
				case d.Validate != nil:
					err = d.Validate(name)
				}
				if j := slices.IndexFunc(ns.svc.Resources[:i], func(o Resource) bool { return substitute(o.Name, pl) == name }); err == nil && j >= 0 {
					err = fmt.Errorf("the same as services.%s.resources[%d] there", ns.name, j)
				}
				if err != nil {
					errs = append(errs, l.errorf(p, "%q for tenant %s, account %s, region %s is %q: %v", r.Name, pl.Tenant, pl.Account, pl.Region, name, err))
					break
				}
			}
		}
	}
	return errs
}

// placeholderPaths are the key paths of the names holding a per-pipeline
// placeholder: resources', the pipeline section's and the workflow's rules.
func placeholderPaths(c *Config) []string {
	var out []string
	for _, ns := range c.Services.list() {
		for i, r := range ns.svc.Resources {
			if hasPlaceholder(r.Name) {
				out = append(out, fmt.Sprintf("services.%s.resources[%d].name", ns.name, i))
			}
		}
	}
	for _, f := range pipelineFields(&c.Pipeline) {
		if hasPlaceholder(*f.name) {
			out = append(out, "pipeline."+f.key)
		}
	}
	for i, r := range c.Workflow.Rules {
		if hasPlaceholder(r) {
			out = append(out, fmt.Sprintf("workflow.rules[%d]", i))
		}
	}
	return out
}
