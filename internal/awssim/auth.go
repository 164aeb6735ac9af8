package awssim

import (
	"net/http"
	"regexp"
	"strings"
)

// credentialRe matches the Credential part of a SigV4 Authorization header:
// access key / date / region / service / aws4_request.
var credentialRe = regexp.MustCompile(`^([A-Za-z0-9+/=_-]+)/(\d{8})/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request$`)

var signatureRe = regexp.MustCompile(`^[0-9a-f]{64}$`)

// checkAuth checks the shape of the SigV4 Authorization header and its scope
// (region and service). The signature itself is not verified: the simulator
// does not know the secret, and the shape check is what catches an unsigned or
// mis-scoped client.
func checkAuth(c *call, region string) *apiError {
	if c.signing == "" { // unroutable request: the routing error speaks for itself
		return nil
	}
	h := c.r.Header.Get("Authorization")
	if h == "" {
		return authError(c, "missing", "")
	}
	alg, rest, _ := strings.Cut(h, " ")
	if alg != "AWS4-HMAC-SHA256" {
		return authError(c, "malformed", "Unsupported authorization type: "+alg)
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
			return authError(c, "malformed", "Authorization header requires '"+k+"' parameter.")
		}
	}
	if !signatureRe.MatchString(params["Signature"]) {
		return authError(c, "malformed", "Signature must be 64 lowercase hex characters.")
	}
	if !strings.Contains(";"+params["SignedHeaders"]+";", ";host;") {
		return authError(c, "malformed", "'Host' must be a 'SignedHeader' in the AWS Authorization.")
	}
	if c.r.Header.Get("X-Amz-Date") == "" && c.r.Header.Get("Date") == "" {
		return authError(c, "malformed", "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
	}
	m := credentialRe.FindStringSubmatch(params["Credential"])
	if m == nil {
		return authError(c, "malformed", "Credential should be of the form AccessKey/yyyyMMdd/region/service/aws4_request.")
	}
	c.accessKey = m[1]
	if m[3] != region {
		if c.service == "s3" {
			e := authError(c, "malformed", "The authorization header is malformed; the region '"+m[3]+"' is wrong; expecting '"+region+"'")
			c.w.Header().Set("X-Amz-Bucket-Region", region)
			return e
		}
		return authError(c, "scope", "Credential should be scoped to a valid region, not '"+m[3]+"'.")
	}
	if m[4] != c.signing {
		return authError(c, "scope", "Credential should be scoped to correct service: '"+c.signing+"'.")
	}
	if c.service == "s3" && c.r.Header.Get("X-Amz-Content-Sha256") == "" {
		return &apiError{Code: "InvalidRequest", Message: "Missing required header for this request: x-amz-content-sha256", Status: http.StatusBadRequest}
	}
	return nil
}

// authError returns the error each protocol family answers for a missing,
// malformed or mis-scoped signature.
func authError(c *call, kind, msg string) *apiError {
	restJSON := c.service == "bedrock" || c.service == "lambda"
	switch c.service {
	case "s3":
		if kind == "missing" {
			return &apiError{Code: "AccessDenied", Message: "Access Denied", Status: http.StatusForbidden}
		}
		return &apiError{Code: "AuthorizationHeaderMalformed", Message: msg, Status: http.StatusBadRequest}
	case "sts":
		switch kind {
		case "missing":
			return &apiError{Code: "MissingAuthenticationToken", Message: "Request is missing Authentication Token", Status: http.StatusForbidden}
		case "scope":
			return &apiError{Code: "SignatureDoesNotMatch", Message: msg, Status: http.StatusForbidden}
		}
		return &apiError{Code: "IncompleteSignature", Message: msg, Status: http.StatusBadRequest}
	}
	status := http.StatusBadRequest
	if restJSON {
		status = http.StatusForbidden
	}
	switch kind {
	case "missing":
		return &apiError{Code: "MissingAuthenticationTokenException", Message: "Missing Authentication Token", Status: status}
	case "scope":
		return &apiError{Code: "InvalidSignatureException", Message: msg, Status: status}
	}
	return &apiError{Code: "IncompleteSignatureException", Message: msg, Status: status}
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
