package awssim

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// stsState is empty: STS answers from the simulator's account and the caller's
// access key, which is all a credential check needs.
type stsState struct{}

var roleSessionRe = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)

func (s *Sim) routeSTS(c *call) *apiError {
	c.service, c.signing = "sts", "sts"
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
	c.writeXML(http.StatusOK, "text/xml", []byte(body))
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
	exp := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	body := fmt.Sprintf(`<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials><AccessKeyId>ASIAAWSSIMEXAMPLE</AccessKeyId><SecretAccessKey>awssim-secret</SecretAccessKey><SessionToken>awssim-session-token</SessionToken><Expiration>%s</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>AROAAWSSIMEXAMPLE:%s</AssumedRoleId><Arn>%s</Arn></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></AssumeRoleResponse>`,
		exp, xmlEscape(session), xmlEscape(assumedRoleARN(role, session)), c.requestID)
	c.writeXML(http.StatusOK, "text/xml", []byte(body))
}
