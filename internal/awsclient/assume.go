package awsclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
)

// Assumption names the identity and region of a set of clients derived
// from New's (Clients.Assume).
type Assumption struct {
	// RoleARN is the IAM role to assume; empty keeps the task's own
	// identity (another region of the same account).
	RoleARN string
	// ExternalID is sent with AssumeRole when the role's trust policy asks
	// for one (an sts:ExternalId condition). It is never logged.
	ExternalID string
	// SessionName names the role session in the account's CloudTrail;
	// empty means DefaultSessionName.
	SessionName string
	// Region is the AWS region of the clients; empty means New's.
	Region string
}

// DefaultSessionName is the role session name when an Assumption gives none.
const DefaultSessionName = "socmond"

// Assume returns the clients of another role or region, derived from the
// Clients New built from the task's own identity (IRSA, the ECS task role,
// the environment): the same HTTP client and keep-alive pool, retry policy,
// endpoint override, S3 addressing and logger, in a.Region, with a.RoleARN's
// credentials. It does not call AWS, and asked again for the same
// Assumption it returns the same *Clients (until Retain drops them). Called on derived clients, it
// derives from New's all the same: roles are assumed from the task's
// identity, never chained through another role.
//
// A role's credentials come from STS AssumeRole, called with New's own STS
// client: the task's credentials, at the STS endpoint of New's region (the
// SDK always uses regional STS endpoints: sts.<region>.amazonaws.com, or
// the VPC endpoint that a task in a private subnet reaches it by); the
// credentials a regional endpoint issues are valid in every region. They are cached once
// per role, external id and session name, shared by every region's clients
// of the role, and refreshed before they expire (refreshBeforeExpiry): one
// AssumeRole per role per credential lifetime however many regions,
// services and probes use it. A role that cannot be assumed fails its
// callers with an *AssumeRoleError, held for a while (holdFailures) so
// every probe does not call STS again; other roles neither share its
// cache nor wait on it. A caller whose own deadline passes while STS has
// not answered gets an *AssumeRoleError too (not held: the AssumeRole goes
// on, under its own bound, for the callers after it).
func (c *Clients) Assume(a Assumption) (*Clients, error) {
	d := c.derived
	if d == nil {
		return nil, errors.New("awsclient: Assume needs clients built by New")
	}
	base := d.base
	if a.Region == "" {
		a.Region = base.Config.Region
	}
	if err := a.check(base.Config.Region); err != nil {
		return nil, err
	}
	if a.RoleARN != "" && a.SessionName == "" {
		a.SessionName = DefaultSessionName
	}
	if a.RoleARN == "" && a.Region == base.Config.Region {
		return base, nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if cl, ok := d.clients[a]; ok {
		return cl, nil
	}
	cfg := base.Config
	cfg.Region = a.Region
	if a.RoleARN != "" {
		cfg.Credentials = d.credentials(a)
	}
	cl := build(cfg, base.pathStyle)
	cl.derived, cl.assumption = d, a
	d.clients[a] = cl
	return cl, nil
}

// Retain drops the derived clients other than keep, and the credentials
// of every role none of the kept clients uses: a reload that changed an
// account's role, external id, session name or regions leaves the old
// ones behind, and without this each such reload would keep another set
// of clients and another role session for as long as the process runs.
// Clients already handed out go on working (they hold their credentials);
// asked for again, Assume builds them anew, with a new role session. Kept
// clients a Retain before dropped (built for a config whose checks were
// not yet in force) are Assume's again, so it hands out the ones in use.
func (c *Clients) Retain(keep ...*Clients) {
	d := c.derived
	if d == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	clients := map[Assumption]*Clients{}
	roles := map[role]aws.CredentialsProvider{}
	for _, k := range keep {
		if k.derived != d || k == d.base {
			continue
		}
		a := k.assumption
		clients[a] = k
		if a.RoleARN != "" {
			roles[role{a.RoleARN, a.ExternalID, a.SessionName}] = k.Config.Credentials
		}
	}
	d.clients, d.roles = clients, roles
}

// Assumptions are those whose clients Assume holds now, each with its
// region and session name filled in, in no order.
func (c *Clients) Assumptions() []Assumption {
	d := c.derived
	if d == nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]Assumption, 0, len(d.clients))
	for a := range d.clients {
		out = append(out, a)
	}
	return out
}

var (
	roleARNRe     = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$`)
	sessionNameRe = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
	regionRe      = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`)
)

// check says what is wrong with an Assumption whose region is filled in;
// New's region is taken as it is.
func (a Assumption) check(baseRegion string) error {
	switch {
	case a.Region != baseRegion && !regionRe.MatchString(a.Region):
		return fmt.Errorf("region %q is not an AWS region name (like eu-west-1)", a.Region)
	case a.RoleARN == "" && (a.ExternalID != "" || a.SessionName != ""):
		return errors.New("an external id or session name needs a role ARN to assume")
	case a.RoleARN != "" && !roleARNRe.MatchString(a.RoleARN):
		return fmt.Errorf("role %q is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)", a.RoleARN)
	case a.SessionName != "" && !sessionNameRe.MatchString(a.SessionName):
		return fmt.Errorf("session name %q: want 2 to 64 letters, digits or +=,.@_-", a.SessionName)
	case len(a.ExternalID) > 0 && (len(a.ExternalID) < 2 || len(a.ExternalID) > 1224):
		return errors.New("the external id must be 2 to 1224 characters long")
	}
	return nil
}

// derived is what New's Clients and those derived from it share: the
// derived clients by Assumption and each role's credentials.
type derived struct {
	base *Clients
	// cache sets the options of each role's credentials cache.
	cache func(*aws.CredentialsCacheOptions)

	mu      sync.Mutex
	clients map[Assumption]*Clients
	roles   map[role]aws.CredentialsProvider
}

// role is what one set of assumed-role credentials is for: the same role
// with another external id or session name is another session.
type role struct{ arn, externalID, session string }

// credentials returns the role's credentials provider, made on first use;
// d.mu is held. Making it calls nothing: STS is called by the first signed
// request, under the provider's own locks, never under d.mu.
func (d *derived) credentials(a Assumption) aws.CredentialsProvider {
	k := role{a.RoleARN, a.ExternalID, a.SessionName}
	if p, ok := d.roles[k]; ok {
		return p
	}
	assume := stscreds.NewAssumeRoleProvider(d.base.STS, a.RoleARN, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = a.SessionName
		if a.ExternalID != "" {
			o.ExternalID = aws.String(a.ExternalID)
		}
		o.Duration = roleSessionDuration
	})
	cache := aws.NewCredentialsCache(roleProvider{assume, assumeRoleTimeout, time.Now}, d.cache)
	p := &holdFailures{inner: assumeRoleErrors{cache, a.RoleARN, a.ExternalID != ""}, hold: failureHold, now: time.Now}
	d.roles[k] = p
	return p
}

// roleSessionDuration is the lifetime asked of a role session: an hour is
// what every role allows (its MaxSessionDuration is at least that, and a
// longer one would be refused), and the fewest AssumeRole calls it allows.
const roleSessionDuration = time.Hour

// refreshBeforeExpiry sets a role's credentials cache to refresh the
// credentials 4 to 5 minutes before an hour's session expires (a shorter
// one's in the same last twelfth of its life: roleProvider.AdjustExpiresBy):
// early enough that a probe never signs with credentials that expire on the
// way, jittered so that the roles assumed at start-up do not all call STS
// again at once.
func refreshBeforeExpiry(o *aws.CredentialsCacheOptions) {
	o.ExpiryWindow = 5 * time.Minute
	o.ExpiryWindowJitterFrac = 0.2
}

// assumeRoleTimeout bounds one AssumeRole, retries included. The SDK's
// credentials cache calls its provider without the caller's deadline (so
// one caller giving up does not fail the others waiting on the same
// refresh); without a bound of its own, an STS that never answers would
// keep the role's refresh, and every caller of the role, waiting for ever
// instead of failing, held, as a refusal is.
const assumeRoleTimeout = 10 * time.Second

// roleProvider is a role's AssumeRole provider as its credentials cache
// sees it: each retrieval bounded by a deadline of its own, and the
// refresh window scaled to the credentials' lifetime.
type roleProvider struct {
	inner   aws.CredentialsProvider
	timeout time.Duration
	now     func() time.Time
}

func (p roleProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	return p.inner.Retrieve(ctx)
}

// AdjustExpiresBy is how the cache moves the credentials' expiry earlier
// by its (jittered) window, by (negative). Credentials that live less than
// the hour asked for (roleSessionDuration) have the window shrunk in
// proportion: a fixed 5 minutes would be all of a 4-minute session's
// life, and the cache would call STS for every request signed with it —
// one AssumeRole per probe. An hour's session is refreshed 4 to 5 minutes
// before it ends, a 60 s one 4 to 5 s before.
func (p roleProvider) AdjustExpiresBy(creds aws.Credentials, by time.Duration) (aws.Credentials, error) {
	if !creds.CanExpire {
		return creds, nil
	}
	if life := creds.Expires.Sub(p.now()); life < roleSessionDuration {
		by = time.Duration(float64(by) * float64(max(life, 0)) / float64(roleSessionDuration))
	}
	creds.Expires = creds.Expires.Add(by)
	return creds, nil
}

// assumeRoleErrors makes a failed retrieval of a role's credentials an
// *AssumeRoleError, unless its caller was cancelled.
type assumeRoleErrors struct {
	inner      aws.CredentialsProvider
	role       string
	externalID bool
}

// Retrieve: a caller whose deadline passes while the role's AssumeRole is still
// unanswered (a probe's deadline shorter than assumeRoleTimeout) gets an
// *AssumeRoleError too, saying STS did not answer: which deadline fired
// first does not change what is wrong, so the probe says the same as when
// AssumeRole's own bound fires. A caller that was cancelled (shutdown,
// a test) gets its cancellation: that says nothing about the role.
func (a assumeRoleErrors) Retrieve(ctx context.Context) (aws.Credentials, error) {
	creds, err := a.inner.Retrieve(ctx)
	switch {
	case err == nil || errors.Is(ctx.Err(), context.Canceled):
		return creds, err
	case ctx.Err() != nil:
		err = fmt.Errorf("STS did not answer AssumeRole before the call's deadline: %w", err)
	}
	return creds, &AssumeRoleError{Role: a.role, ExternalID: a.externalID, Err: err}
}

// AssumeRoleError says socmond could not assume a role: nothing of the
// clients derived for it could be signed, so every call with them fails
// alike, before reaching the account. Its text names the role and what to
// check; it never holds the external id.
type AssumeRoleError struct {
	Role string
	// ExternalID is whether an external id was sent.
	ExternalID bool
	Err        error
}

func (e *AssumeRoleError) Error() string {
	return "cannot assume role " + e.Role + ": " + (&CredentialsError{Err: e.Err}).Cause() + "; " + e.Hint()
}

func (e *AssumeRoleError) Unwrap() error { return e.Err }

// Hint is what to check, in one sentence.
func (e *AssumeRoleError) Hint() string {
	if e.NoAnswer() {
		return "STS did not answer socmond's AssumeRole for role " + e.Role + " in time: check that STS is reachable from " +
			"socmond (its VPC endpoint or NAT route, proxy, security groups) and the AWS Health Dashboard for STS; the role's " +
			"trust policy is not in question until STS answers"
	}
	id := "whether it requires an external id (an sts:ExternalId condition; none is configured)"
	if e.ExternalID {
		id = "that the external id configured for it matches its sts:ExternalId condition"
	}
	return "check that the trust policy of role " + e.Role + " lets socmond's own identity (the IRSA role, the ECS task role " +
		"or the profile it runs under) call sts:AssumeRole, " + id + ", that the policies of socmond's identity allow " +
		"sts:AssumeRole on the role, and that STS is reachable from socmond"
}

// NoAnswer reports whether STS did not answer in time (AssumeRole's own
// bound, or the caller's deadline), as opposed to refusing the role.
func (e *AssumeRoleError) NoAnswer() bool {
	var ne net.Error
	return errors.Is(e.Err, context.DeadlineExceeded) || errors.As(e.Err, &ne) && ne.Timeout()
}
