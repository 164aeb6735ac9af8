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
			}
			return &apiError{Code: "IncompleteSignature", Message: msg, Status: http.StatusBadRequest}
		},
	},
	// Any role may be assumed: there is nothing to create, only the
	// credentials' lifetime to keep.
	seed: func(s *Sim, seed *Seed, names []string) any { return &stsState{} },
}

func (s *Sim) sts() *stsState { return s.state["sts"].(*stsState) }

// writeQueryXML writes an awsQuery answer.
func (c *call) writeQueryXML(status int, body string) {
	c.w.Header().Set("X-Amzn-Requestid", c.requestID)
	c.writeXML(status, "text/xml", []byte(body))
}

// stsState holds what STS needs beyond the simulator's account: how long the
// temporary credentials it issues last.
type stsState struct {
	// lifetime, when set, replaces the requested session duration: tests
	// make credentials expire within seconds so the SDK refreshes them
	// while they watch (SetCredentialLifetime).
	lifetime time.Duration
}

// SetCredentialLifetime makes AssumeRole and AssumeRoleWithWebIdentity issue
// credentials that expire d after they are issued, whatever duration was
// asked for (0 restores the asked-for duration). It stands in for a session
// near its end, so the SDK has to refresh through STS during a test.
func (s *Sim) SetCredentialLifetime(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sts().lifetime = d
}

// sessionExpiry is when credentials issued now for the asked duration end.
func (s *Sim) sessionExpiry(asked time.Duration) string {
	d := asked
	if s.sts().lifetime > 0 {
		d = s.sts().lifetime
	}
	return time.Now().Add(d).UTC().Format(time.RFC3339)
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

func stsGetCallerIdentity(c *call) {
	body := fmt.Sprintf(`<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>%s</Arn><UserId>AIDAAWSSIMEXAMPLE</UserId><Account>%s</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
		c.sim.iamARN("user/socmond"), c.sim.account, c.requestID)
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
	exp := c.sim.sessionExpiry(time.Hour)
	body := fmt.Sprintf(`<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials><AccessKeyId>ASIAAWSSIMEXAMPLE</AccessKeyId><SecretAccessKey>awssim-secret</SecretAccessKey><SessionToken>awssim-session-token</SessionToken><Expiration>%s</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>AROAAWSSIMEXAMPLE:%s</AssumedRoleId><Arn>%s</Arn></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></AssumeRoleResponse>`,
		exp, xmlEscape(session), xmlEscape(assumedRoleARN(role, session)), c.requestID)
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
	duration := time.Hour
	if v := form.Get("DurationSeconds"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 900 || n > 43200 {
			c.writeError(errorf("ValidationError", "1 validation error detected: Value '%s' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200", v))
			return
		}
		duration = time.Duration(n) * time.Second
	}
	body := fmt.Sprintf(`<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult><SubjectFromWebIdentityToken>system:serviceaccount:soc:socmond</SubjectFromWebIdentityToken><Audience>sts.amazonaws.com</Audience><Provider>oidc.awssim.local</Provider><Credentials><AccessKeyId>ASIAAWSSIMWEBIDENTITY</AccessKeyId><SecretAccessKey>awssim-web-identity-secret</SecretAccessKey><SessionToken>awssim-web-identity-session-token</SessionToken><Expiration>%s</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>AROAAWSSIMEXAMPLE:%s</AssumedRoleId><Arn>%s</Arn></AssumedRoleUser></AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></AssumeRoleWithWebIdentityResponse>`,
		c.sim.sessionExpiry(duration), xmlEscape(session), xmlEscape(assumedRoleARN(role, session)), c.requestID)
	c.writeQueryXML(http.StatusOK, body)
}
