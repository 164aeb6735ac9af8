package config

import (
	"fmt"
	"github.com/socmond/socmond/internal/probes"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/robfig/cron/v3"
)

// scheduleParser accepts what the scheduler will run: five or six fields
// (seconds optional) or a descriptor such as "@every 30s".
var scheduleParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ValidateSchedule reports whether spec is a schedule socmond can run.
func ValidateSchedule(spec string) error {
	_, err := scheduleParser.Parse(spec)
	return err
}

// regionPattern matches every AWS partition's region names (us-east-1,
// us-gov-west-1, cn-north-1, eu-isoe-west-1). A typo here would otherwise
// only show up as DNS failures on every probe.
var regionPattern = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)

// locator turns a key path into a location: a file line or, in env-only
// mode, the variable the value came from. Paths without an entry borrow
// their nearest ancestor's.
type locator struct {
	file  string
	lines map[string]int
	vars  map[string]string
}

func (l *locator) errorf(path, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	for p := path; ; p = parentPath(p) {
		if v, ok := l.vars[p]; ok {
			e := newError(l.file, 0, path, msg)
			e.Var = v
			return e
		}
		if line, ok := l.lines[p]; ok {
			return newError(l.file, line, path, msg)
		}
		if p == "" {
			return newError(l.file, 0, path, msg)
		}
	}
}

func parentPath(p string) string {
	if strings.HasSuffix(p, "]") {
		if i := strings.LastIndexByte(p, '['); i >= 0 {
			return p[:i]
		}
	}
	if i := strings.LastIndexByte(p, '.'); i >= 0 {
		return p[:i]
	}
	return ""
}

// validate checks a decoded config with defaults applied. It returns every
// problem it finds, so one run of check-config shows them all.
func validate(c *Config, l *locator) []error {
	var errs []error
	add := func(e *Error) { errs = append(errs, e) }

	if !regionPattern.MatchString(c.Region) {
		add(l.errorf("region", "invalid region %q (expected a name such as us-east-1)", c.Region))
	}
	if strings.TrimSpace(c.Tenant) == "" {
		add(l.errorf("tenant", "must not be empty"))
	}
	for _, e := range validateSettings(&c.Defaults, "defaults", l) {
		add(e)
	}
	for _, name := range slices.Sorted(maps.Keys(c.Services)) {
		if _, ok := probes.Lookup(name); !ok {
			add(l.errorf("services."+name, "unknown service %q (one of %s)", name, strings.Join(probes.Services(), ", ")))
		}
	}
	for _, ns := range c.Services.list() {
		d, _ := probes.Lookup(ns.name)
		base := "services." + ns.name
		for _, e := range validateSettings(&ns.svc.Settings, base, l) {
			add(e)
		}
		for _, k := range slices.Sorted(maps.Keys(ns.svc.Params)) {
			i := slices.IndexFunc(d.Params, func(p probes.Param) bool { return p.Key == k })
			switch {
			case i < 0 && len(d.Params) == 0:
				add(l.errorf(base+".params."+k, "%s takes no params", d.DisplayName))
			case i < 0:
				var keys []string
				for _, p := range d.Params {
					keys = append(keys, p.Key)
				}
				add(l.errorf(base+".params."+k, "unknown param (one of %s)", strings.Join(keys, ", ")))
			case d.Params[i].Check != nil:
				if err := d.Params[i].Check(ns.svc.Params[k]); err != nil {
					add(l.errorf(base+".params."+k, "%v", err))
				}
			}
		}
		if ns.svc.Enabled != nil && *ns.svc.Enabled && len(ns.svc.Resources) == 0 {
			add(l.errorf(base+".enabled", "service is enabled but has no resources; list them under %s.resources", base))
		}
		seen := map[string]int{}
		for i, r := range ns.svc.Resources {
			rp := fmt.Sprintf("%s.resources[%d]", base, i)
			switch {
			case r.Name == "":
				add(l.errorf(rp+".name", "required"))
			case strings.IndexFunc(r.Name, unicode.IsSpace) >= 0:
				add(l.errorf(rp+".name", "invalid name %q: must not contain spaces", r.Name))
			case hasPlaceholder(r.Name):
				// Checked as each pipeline expands it (validateAccounts).
			case d.Validate != nil:
				if err := d.Validate(r.Name); err != nil {
					add(l.errorf(rp+".name", "%v", err))
				}
			}
			if j, dup := seen[r.Name]; dup && r.Name != "" {
				add(l.errorf(rp+".name", "duplicate resource %q (also %s.resources[%d])", r.Name, base, j))
			} else {
				seen[r.Name] = i
			}
			if r.Schedule != "" {
				if err := ValidateSchedule(r.Schedule); err != nil {
					add(l.errorf(rp+".schedule", "invalid schedule %q: %v", r.Schedule, err))
				}
			}
			if r.Timeout.D() > MaxTimeout {
				add(l.errorf(rp+".timeout", "%s exceeds the maximum of %s", r.Timeout, MaxTimeout))
			}
		}
	}

	for _, ns := range c.Services.list() {
		rt, base := ns.svc.Runtime, "services."+ns.name+".runtime"
		if rt == nil {
			continue
		}
		if d, _ := probes.Lookup(ns.name); d.Runtime == nil {
			add(l.errorf(base, "%s has no runtime probe", d.DisplayName))
			continue
		}
		if err := ValidateSchedule(rt.Schedule); err != nil {
			add(l.errorf(base+".schedule", "invalid schedule %q: %v", rt.Schedule, err))
		}
		if rt.MaxTokens < 1 {
			add(l.errorf(base+".max_tokens", "must be at least 1, got %d", rt.MaxTokens))
		}
		if rt.Enabled && len(ns.svc.Resources) == 0 {
			add(l.errorf(base+".enabled", "the runtime probe needs at least one resource in services.%s.resources", ns.name))
		}
	}
	errs = append(errs, validateAccounts(c, l)...)
	errs = append(errs, validateWindows(c, l)...)
	for _, e := range validateWorkflow(c, l) {
		add(e)
	}
	errs = append(errs, validateAlerting(&c.Alerting, l)...)
	errs = append(errs, validateCompliance(c, l)...)
	if len(errs) == 0 && len(c.Targets()) == 0 {
		add(l.errorf("services", "no resources configured: list at least one under services.<name>.resources (%s)", strings.Join(probes.Services(), ", ")))
	}
	slices.SortStableFunc(errs, func(a, b error) int { return a.(*Error).Line - b.(*Error).Line })
	return errs
}

func validateSettings(s *Settings, base string, l *locator) []*Error {
	var errs []*Error
	if s.Schedule != "" {
		if err := ValidateSchedule(s.Schedule); err != nil {
			errs = append(errs, l.errorf(base+".schedule", "invalid schedule %q: %v", s.Schedule, err))
		}
	}
	if s.Timeout.D() > MaxTimeout {
		errs = append(errs, l.errorf(base+".timeout", "%s exceeds the maximum of %s", s.Timeout, MaxTimeout))
	}
	for key, r := range map[string]*float64{
		"thresholds.error_rate":   s.Thresholds.ErrorRate,
		"thresholds.availability": s.Thresholds.Availability,
	} {
		// Written as a negated range so NaN is rejected too.
		if r != nil && !(*r >= 0 && *r <= 1) {
			errs = append(errs, l.errorf(base+"."+key, "%v is out of range: must be a ratio between 0 and 1", *r))
		}
	}
	// Thresholds no ratio can cross would make a rule that never fires
	// look like one that guards something.
	if r := s.Thresholds.ErrorRate; r != nil && *r == 1 {
		errs = append(errs, l.errorf(base+".thresholds.error_rate", "1 can never be exceeded, so AWSServiceHighErrorRate could never fire; to switch it off set alerting.rules.high_error_rate.enabled: false"))
	}
	if r := s.Thresholds.Availability; r != nil && *r == 0 {
		errs = append(errs, l.errorf(base+".thresholds.availability", "no availability is below 0, so AWSServiceLowAvailability could never fire; to switch it off set alerting.rules.low_availability.enabled: false"))
	}
	// Map iteration order is random; keep messages in a stable order.
	slices.SortFunc(errs, func(a, b *Error) int { return strings.Compare(a.Path, b.Path) })
	return errs
}

// validateWindows rejects a window that cannot hold two results of its
// resource's schedule: a failure is confirmed by a second failing result in
// the window (docs/alerting.md), so such a resource could never page. One
// error per window setting, naming the resources it would silence.
func validateWindows(c *Config, l *locator) []error {
	type key struct{ path, window string }
	short := map[key][]string{}
	var order []key
	for _, t := range c.templateTargets() {
		iv := Interval(t.Schedule)
		if iv <= 0 {
			continue // an invalid schedule is reported on its own
		}
		for _, w := range []struct {
			name, field string
			d           time.Duration
		}{{"error-rate", "error_rate", t.ErrorRateWindow}, {"availability", "availability", t.AvailabilityWindow}} {
			if w.d >= 2*iv {
				continue
			}
			k := key{c.windowPath(t.Service, w.field), w.name}
			if _, seen := short[k]; !seen {
				order = append(order, k)
			}
			short[k] = append(short[k], fmt.Sprintf("%s %s (%q)", t.Service, t.Resource, t.Schedule))
		}
	}
	var errs []error
	for _, k := range order {
		errs = append(errs, l.errorf(k.path, "the %s window is shorter than two probe intervals of %s: it can never hold the two failing results that confirm a failure, so those resources could never page; lengthen the window or probe more often",
			k.window, strings.Join(short[k], ", ")))
	}
	return errs
}

// windowPath is the key that sets a service's window: its own, or the
// defaults'.
func (c *Config) windowPath(service, field string) string {
	for _, ns := range c.Services.list() {
		if ns.name != service {
			continue
		}
		w := ns.svc.Windows.ErrorRate
		if field == "availability" {
			w = ns.svc.Windows.Availability
		}
		if w != 0 {
			return "services." + service + ".windows." + field
		}
	}
	return "defaults.windows." + field
}
