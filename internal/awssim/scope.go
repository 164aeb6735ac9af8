package awssim

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// scope is one account in one region: what every service holds there. A
// request is served by the scope of the account that signed it (the role
// whose AssumeRole credentials signed it, else the seed's AccountID) and the
// region it was signed for. Resources are per scope, S3 buckets included: on
// AWS a bucket name is global, but a test that gives each account and region
// the same names is simpler to read than one that renames them, and a
// request still reaches only the bucket of its own account and region.
type scope struct {
	account, region string
	// state holds each service's own state by its name, as its seed
	// returned it; each service's file reads its own through an accessor
	// (sc.kms(), sc.ddb(), ...). The map is written only when the scope is
	// made.
	state    map[string]any
	pipeline *Pipeline // what executions write (pipeline.go); nil: nothing
}

type scopeKey struct{ account, region string }

var accountRe = regexp.MustCompile(`^\d{12}$`)

func (sc *scope) arn(service, resource string) string {
	return "arn:aws:" + service + ":" + sc.region + ":" + sc.account + ":" + resource
}

// elsewhere reports whether name is an ARN of another account or region than
// sc's: a resource sc does not hold, whatever its name.
func (sc *scope) elsewhere(name string) bool {
	parts := strings.SplitN(name, ":", 6)
	return len(parts) == 6 && parts[0] == "arn" && (parts[3] != sc.region || parts[4] != sc.account)
}

// iamARN is an IAM ARN of the scope's account (IAM has no region).
func (sc *scope) iamARN(resource string) string {
	return "arn:aws:iam::" + sc.account + ":" + resource
}

// seedScope makes the scope of seed's account and region (their defaults
// when empty) and registers it; its region is served from then on. A scope
// seeded twice is a programming error in the caller and panics.
func (s *Sim) seedScope(seed *Seed, account, region string) *scope {
	account, region = firstNonEmpty(seed.AccountID, account), firstNonEmpty(seed.Region, region)
	if !accountRe.MatchString(account) {
		panic(fmt.Sprintf("awssim: seed account %q is not 12 digits", account))
	}
	if s.scopes[scopeKey{account, region}] != nil {
		panic(fmt.Sprintf("awssim: account %s in %s is seeded twice", account, region))
	}
	if !slices.Contains(s.regions, region) {
		s.regions = append(s.regions, region)
	}
	return s.newScope(seed, account, region)
}

// newScope makes and registers the scope of account and region, holding
// seed's resources.
func (s *Sim) newScope(seed *Seed, account, region string) *scope {
	sc := &scope{account: account, region: region, state: map[string]any{}}
	s.seedServices(sc, seed)
	if seed.Pipeline != nil {
		p := *seed.Pipeline
		p.withDefaults()
		sc.pipeline = &p
	}
	s.scopes[scopeKey{account, region}] = sc
	s.order = append(s.order, sc)
	return sc
}

// scopeOf is the scope serving account in region, which must be a region the
// simulator serves. An account nothing was seeded for there gets an empty
// scope on first use: its resources do not exist, as on AWS. The caller
// holds s.mu.
func (s *Sim) scopeOf(account, region string) *scope {
	if sc := s.scopes[scopeKey{account, region}]; sc != nil {
		return sc
	}
	return s.newScope(&Seed{}, account, region)
}
