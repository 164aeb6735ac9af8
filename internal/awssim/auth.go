package awssim

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
)

// credentialRe matches the Credential part of a SigV4 Authorization header:
// access key / date / region / service / aws4_request.
var credentialRe = regexp.MustCompile(`^([A-Za-z0-9+/=_-]+)/(\d{8})/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request$`)

var signatureRe = regexp.MustCompile(`^[0-9a-f]{64}$`)

// checkAuth checks the shape of the SigV4 Authorization header and its scope
// (a region the simulator serves, and the service), and works out whose
// credentials signed: an access key STS issued is its role's, in the role's
// account, until it expires; any other key is the default account's. The
// signature itself is not verified: the simulator does not know the secret,
// and the shape check is what catches an unsigned or mis-scoped client.
func (s *Sim) checkAuth(c *call) *apiError {
	if c.signing == "" { // unroutable request: the routing error speaks for itself
		return nil
	}
	h := c.r.Header.Get("Authorization")
	if h == "" {
		return authError(c, authMissing, "")
	}
	alg, rest, _ := strings.Cut(h, " ")
	if alg != "AWS4-HMAC-SHA256" {
		return authError(c, authMalformed, "Unsupported authorization type: "+alg)
	}
	params := map[string]string{}
	for _, p := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok {
			params[k] = v
		}
	}
	for _, k := range []string{"Credential", "SignedHeaders", "Signature"} {
		if params[k] == "" {
			return authError(c, authMalformed, "Authorization header requires '"+k+"' parameter.")
		}
	}
	if !signatureRe.MatchString(params["Signature"]) {
		return authError(c, authMalformed, "Signature must be 64 lowercase hex characters.")
	}
	if !strings.Contains(";"+params["SignedHeaders"]+";", ";host;") {
		return authError(c, authMalformed, "'Host' must be a 'SignedHeader' in the AWS Authorization.")
	}
	if c.r.Header.Get("X-Amz-Date") == "" && c.r.Header.Get("Date") == "" {
		return authError(c, authMalformed, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
	}
	m := credentialRe.FindStringSubmatch(params["Credential"])
	if m == nil {
		return authError(c, authMalformed, "Credential should be of the form AccessKey/yyyyMMdd/region/service/aws4_request.")
	}
	c.accessKey = m[1]
	if !slices.Contains(s.regions, m[3]) {
		return authError(c, authRegion, m[3])
	}
	if m[4] != c.signing {
		return authError(c, authScope, "Credential should be scoped to correct service: '"+c.signing+"'.")
	}
	sess, expired := s.signer(c.accessKey)
	if expired {
		return authError(c, authExpired, "")
	}
	c.account, c.region = s.def.account, m[3]
	if sess != nil {
		c.account, c.role, c.session = sess.account, sess.role, sess
	}
	if signed := c.svc.protocol.signed; signed != nil {
		return signed(c)
	}
	return nil
}

// authKind is what is wrong with a request's signature.
type authKind int

const (
	authMissing   authKind = iota // no Authorization header
	authMalformed                 // an Authorization header of the wrong shape
	authScope                     // scoped to another service
	authRegion                    // scoped to another region; the message is that region
	authExpired                   // signed with temporary credentials that have expired
)

// expiredToken is the message of the JSON and query protocols for expired
// credentials.
const expiredToken = "The security token included in the request is expired"

// authError returns the error the call's protocol answers for a missing,
// malformed or mis-scoped signature.
func authError(c *call, kind authKind, msg string) *apiError {
	return c.svc.protocol.authError(c, kind, msg)
}

// wrongRegion is the message AWS's JSON and query protocols give a request
// scoped to region, which is not the endpoint's.
func wrongRegion(region string) string {
	return "Credential should be scoped to a valid region, not '" + region + "'."
}

// scopeService is the service named in the request's credential scope, if any.
func scopeService(r *http.Request) string {
	_, rest, ok := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	if !ok {
		return ""
	}
	cred, _, _ := strings.Cut(rest, ",")
	parts := strings.Split(cred, "/")
	if len(parts) != 5 {
		return ""
	}
	return parts[3]
}
