package awssim

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// stsService is STS (awsQuery): the caller's identity and temporary
// credentials.
var stsService = &service{
	name: "sts", signing: "sts",
	route: (*Sim).routeSTS,
	claims: func(r *http.Request) bool {
		return r.URL.EscapedPath() == "/" && r.Method == http.MethodPost &&
			strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded")
	},
	throttle: "Throttling",
	statuses: map[string]int{
		"AccessDenied":               403,
		"InvalidClientTokenId":       403,
		"SignatureDoesNotMatch":      403,
		"MissingAuthenticationToken": 403,
		"ExpiredTokenException":      400,
		"IncompleteSignature":        400,
		"Throttling":                 400,
		"InvalidAction":              400,
		"ValidationError":            400,
		"InternalFailure":            500,
	},
	protocol: protocol{
		name: "awsQuery",
		writeError: func(c *call, status int, e *apiError) {
			typ := "Sender"
			if status >= 500 {
				typ = "Receiver"
			}
			c.writeQueryXML(status, fmt.Sprintf(`<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
				typ, xmlEscape(e.Code), xmlEscape(e.Message), c.requestID))
		},
		// Broken at the root element, which the awsQuery decoder reports as a
		// deserialization error (a break further in comes back as a bare XML error).
		writeMalformed: func(c *call) { c.writeQueryXML(http.StatusOK, `<<GetCallerIdentityResponse>`) },
		authError: func(c *call, kind authKind, msg string) *apiError {
			switch kind {
			case authMissing:
				return &apiError{Code: "MissingAuthenticationToken", Message: "Request is missing Authentication Token", Status: http.StatusForbidden}
			case authRegion:
				return &apiError{Code: "SignatureDoesNotMatch", Message: wrongRegion(msg), Status: http.StatusForbidden}
			case authScope:
				return &apiError{Code: "SignatureDoesNotMatch", Message: msg, Status: http.StatusForbidden}
			case authExpired:
				return &apiError{Code: "ExpiredToken", Message: expiredToken, Status: http.StatusForbidden}
			}
			return &apiError{Code: "IncompleteSignature", Message: msg, Status: http.StatusBadRequest}
		},
	},
	// STS is one for every account and region: what it issued is the
	// simulator's (Sim.sts), not a scope's.
	seed: func(sc *scope, seed *Seed, names []string) any { return nil },
}

// writeQueryXML writes an awsQuery answer.
func (c *call) writeQueryXML(status int, body string) {
	c.w.Header().Set("X-Amzn-Requestid", c.requestID)
	c.writeXML(status, "text/xml", []byte(body))
}

// stsState is what STS grants and has issued.
type stsState struct {
	// lifetime, when set, replaces the requested session duration: tests
	// make credentials expire within seconds so the SDK refreshes them
	// while they watch (SetCredentialLifetime).
	lifetime time.Duration
	// roles are those AssumeRole grants, by ARN (Seed.Roles); nil: any.
	roles map[string]Role
	// sessions are the AssumeRole sessions by their access key id, which
	// is issued counts.
	sessions map[string]*roleSession
	issued   int
}

// roleSession is one AssumeRole session: whose its credentials are, and until when.
type roleSession struct {
	role    string // the role ARN
	arn     string // the assumed-role ARN AWS reports for the session
	userID  string // AROA...:session name
	account string // the role's account
	expires time.Time
}

// grant makes roles the only ones AssumeRole grants (none: any). A malformed
// role ARN is a programming error in the caller and panics.
func (cr *stsState) grant(roles []Role) {
	for _, r := range roles {
		if !roleARNRe.MatchString(r.ARN) {
			panic(fmt.Sprintf("awssim: seed role %q is not a role ARN (arn:aws:iam::<account>:role/<name>)", r.ARN))
		}
		if cr.roles == nil {
			cr.roles = map[string]Role{}
		}
		cr.roles[r.ARN] = r
	}
}

// signer is the AssumeRole session whose credentials the access key is (nil
// for credentials STS did not issue), and whether they have expired.
func (s *Sim) signer(key string) (*roleSession, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.sts.sessions[key]
	return sess, sess != nil && !time.Now().Before(sess.expires)
}

// AssumeRoleCount is how many AssumeRole calls named role (its ARN), granted
// or not, among the recorded calls: a client that caches its credentials
// makes one per session lifetime.
func (s *Sim) AssumeRoleCount(role string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if c.Service == "sts" && c.Operation == "AssumeRole" && c.Resource == role {
			n++
		}
	}
	return n
}

// SetCredentialLifetime makes AssumeRole and AssumeRoleWithWebIdentity issue
// credentials that expire d after they are issued, whatever duration was
// asked for (0 restores the asked-for duration). It stands in for a session
// near its end, so the SDK has to refresh through STS during a test. A call
// signed with AssumeRole credentials past their expiry is refused with the
// service's ExpiredToken error; AssumeRoleWithWebIdentity's are not tracked
// (they are the default account's, and never refused).
func (s *Sim) SetCredentialLifetime(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sts.lifetime = d
}

// sessionExpiry is when credentials issued now for the asked duration end,
// to the second, as the answer carries it.
func (s *Sim) sessionExpiry(asked time.Duration) time.Time {
	d := asked
	if s.sts.lifetime > 0 {
		d = s.sts.lifetime
	}
	return time.Now().Add(d).UTC().Truncate(time.Second)
}

// sessionDuration is the DurationSeconds a request asks for (an hour if none).
func sessionDuration(form url.Values) (time.Duration, *apiError) {
	v := form.Get("DurationSeconds")
	if v == "" {
		return time.Hour, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 900 || n > 43200 {
		return 0, errorf("ValidationError", "1 validation error detected: Value '%s' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200", v)
	}
	return time.Duration(n) * time.Second, nil
}

var roleSessionRe = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)

func (s *Sim) routeSTS(c *call) *apiError {
	form, err := url.ParseQuery(string(c.body))
	if err != nil {
		c.op = "?"
		return errorf("MalformedQueryString", "The query string is malformed: %v", err)
	}
	c.op = form.Get("Action")
	switch c.op {
	case "GetCallerIdentity":
		c.handler = stsGetCallerIdentity
	case "AssumeRole":
		c.resource = form.Get("RoleArn")
		c.handler = func(c *call) { stsAssumeRole(c, form) }
	case "AssumeRoleWithWebIdentity":
		// Unsigned on AWS too: the web identity token is the credential.
		c.signing = ""
		c.resource = form.Get("RoleArn")
		c.handler = func(c *call) { stsAssumeRoleWithWebIdentity(c, form) }
	default:
		return &apiError{Code: "InvalidAction", Message: fmt.Sprintf("Could not find operation %s for version 2011-06-15", c.op), Status: http.StatusBadRequest}
	}
	if form.Get("Version") != "2011-06-15" {
		return errorf("InvalidAction", "Could not find operation %s for version %s", c.op, form.Get("Version"))
	}
	return nil
}

// caller is the ARN and user id of whoever signed c: the assumed role of
// its session, else the default account's user.
func (c *call) caller() (arn, userID string) {
	if c.session != nil {
		return c.session.arn, c.session.userID
	}
	return c.sim.def.iamARN("user/socmond"), "AIDAAWSSIMEXAMPLE"
}

func stsGetCallerIdentity(c *call) {
	arn, userID := c.caller()
	body := fmt.Sprintf(`<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>%s</Arn><UserId>%s</UserId><Account>%s</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
		xmlEscape(arn), xmlEscape(userID), c.sc.account, c.requestID)
	c.writeQueryXML(http.StatusOK, body)
}

// assumedRoleARN turns arn:aws:iam::ACCT:role/path/name into the session ARN
// arn:aws:sts::ACCT:assumed-role/name/session that AWS reports.
func assumedRoleARN(role, session string) string {
	m := roleARNRe.FindStringSubmatch(role)
	name := m[2][strings.LastIndex(m[2], "/")+1:]
	return "arn:aws:sts::" + m[1] + ":assumed-role/" + name + "/" + session
}

var roleARNRe = regexp.MustCompile(`^arn:aws:iam::(\d{12}):role/(.+)$`)

func stsAssumeRole(c *call, form url.Values) {
	role := form.Get("RoleArn")
	session := form.Get("RoleSessionName")
	if !roleARNRe.MatchString(role) {
		c.writeError(errorf("ValidationError", "1 validation error detected: Value '%s' at 'roleArn' failed to satisfy constraint", role))
		return
	}
	if !roleSessionRe.MatchString(session) {
		c.writeError(errorf("ValidationError", "1 validation error detected: Value '%s' at 'roleSessionName' failed to satisfy constraint", session))
		return
	}
	duration, e := sessionDuration(form)
	if e != nil {
		c.writeError(e)
		return
	}
	cr := &c.sim.sts
	if granted, ok := cr.roles[role]; cr.roles != nil && (!ok || granted.ExternalID != "" && granted.ExternalID != form.Get("ExternalId")) {
		caller, _ := c.caller()
		c.writeError(errorf("AccessDenied", "User: %s is not authorized to perform: sts:AssumeRole on resource: %s", caller, role))
		return
	}
	// Each session gets its own key id, of the shape of AWS's (ASIA and 16
	// upper-case letters and digits), by which later calls are the role's.
	cr.issued++
	key := fmt.Sprintf("ASIAAWSSIM%010d", cr.issued)
	sess := &roleSession{role: role, arn: assumedRoleARN(role, session), userID: "AROAAWSSIMEXAMPLE:" + session,
		account: roleARNRe.FindStringSubmatch(role)[1], expires: c.sim.sessionExpiry(duration)}
	if cr.sessions == nil {
		cr.sessions = map[string]*roleSession{}
	}
	cr.sessions[key] = sess
	body := fmt.Sprintf(`<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>awssim-secret</SecretAccessKey><SessionToken>awssim-session-token</SessionToken><Expiration>%s</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>%s</AssumedRoleId><Arn>%s</Arn></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></AssumeRoleResponse>`,
		key, sess.expires.Format(time.RFC3339), xmlEscape(sess.userID), xmlEscape(sess.arn), c.requestID)
	c.writeQueryXML(http.StatusOK, body)
}

// stsAssumeRoleWithWebIdentity trades the token an OIDC provider issued (the
// EKS/ECS projected service-account token) for temporary credentials. The
// token's signature is not checked, only that there is one.
func stsAssumeRoleWithWebIdentity(c *call, form url.Values) {
	role := form.Get("RoleArn")
	session := form.Get("RoleSessionName")
	token := form.Get("WebIdentityToken")
	switch {
	case !roleARNRe.MatchString(role):
		c.writeError(errorf("ValidationError", "1 validation error detected: Value '%s' at 'roleArn' failed to satisfy constraint", role))
		return
	case !roleSessionRe.MatchString(session):
		c.writeError(errorf("ValidationError", "1 validation error detected: Value '%s' at 'roleSessionName' failed to satisfy constraint", session))
		return
	case len(token) < 4:
		c.writeError(errorf("ValidationError", "1 validation error detected: Value at 'webIdentityToken' failed to satisfy constraint: Member must have length greater than or equal to 4"))
		return
	}
	duration, e := sessionDuration(form)
	if e != nil {
		c.writeError(e)
		return
	}
	body := fmt.Sprintf(`<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult><SubjectFromWebIdentityToken>system:serviceaccount:soc:socmond</SubjectFromWebIdentityToken><Audience>sts.amazonaws.com</Audience><Provider>oidc.awssim.local</Provider><Credentials><AccessKeyId>ASIAAWSSIMWEBIDENTITY</AccessKeyId><SecretAccessKey>awssim-web-identity-secret</SecretAccessKey><SessionToken>awssim-web-identity-session-token</SessionToken><Expiration>%s</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>AROAAWSSIMEXAMPLE:%s</AssumedRoleId><Arn>%s</Arn></AssumedRoleUser></AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></AssumeRoleWithWebIdentityResponse>`,
		c.sim.sessionExpiry(duration).Format(time.RFC3339), xmlEscape(session), xmlEscape(assumedRoleARN(role, session)), c.requestID)
	c.writeQueryXML(http.StatusOK, body)
}
