package soak

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/socmond/socmond/internal/awssim"
)

// The daemon gets its credentials the way it does on EKS: a projected web
// identity token traded at STS (the simulator's) for session credentials.
// The simulator makes each session last credentialLifetime, so the SDK
// refreshes through STS every few seconds and an STS fault bites at once.
const (
	credentialLifetime = 4 * time.Second
	soakRoleARN        = "arn:aws:iam::123456789012:role/socmond-soak"
	// stsFaultCode is what STS answers when the projected token has
	// expired (the kubelet stopped rotating it).
	stsFaultCode = "ExpiredTokenException"
)

// webIdentityEnv is the daemon's AWS environment: no static keys, a token
// file and a role, STS through the simulator like every other service.
func webIdentityEnv(t *testing.T, simURL string) []string {
	t.Helper()
	token := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(token, []byte("eyJhbGciOiJSUzI1NiJ9.soak.token"), 0o600); err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	// AWS_ENDPOINT_URL_STS as well: the SDK builds the web identity
	// provider's STS client before it reads the global AWS_ENDPOINT_URL, so
	// without it the token goes to sts.<region>.amazonaws.com.
	return append(env, "AWS_ENDPOINT_URL="+simURL, "AWS_ENDPOINT_URL_STS="+simURL, "AWS_REGION=us-east-1",
		"AWS_WEB_IDENTITY_TOKEN_FILE="+token, "AWS_ROLE_ARN="+soakRoleARN, "AWS_ROLE_SESSION_NAME=socmond-soak",
		// No shared config or credentials file of the machine may win.
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true")
}

// stsFault makes every credential refresh fail for a phase.
var stsFault = awssim.Fault{Service: "sts", Error: stsFaultCode}

// checkCredentialPhase: while STS refuses to refresh the expired session,
// every resource must be unavailable/auth with a hint about credentials,
// and the simulator must show the refreshes it refused.
func checkCredentialPhase(t *testing.T, phase int, res *resources, doc statusDoc, calls []awssim.Call, tally map[string]*kindTally) {
	t.Helper()
	c := &kindTally{}
	tally["sts"] = c
	for _, call := range calls {
		if call.Service == "sts" && call.Operation == "AssumeRoleWithWebIdentity" && call.Fault == "error:"+stsFaultCode {
			c.calls++
		}
	}
	if c.calls == 0 {
		t.Errorf("phase %d: no AssumeRoleWithWebIdentity call was refused: the credentials were never refreshed", phase)
	}
	for _, r := range res.all {
		c.resources++
		x := findResource(doc, r)
		if x == nil {
			t.Errorf("phase %d: %s %s missing from /api/v1/status", phase, r.service, r.name)
			continue
		}
		class, hint := "", ""
		if x.LastError != nil {
			class, hint = x.LastError.Class, x.LastError.Hint
		}
		lh := strings.ToLower(hint)
		if x.Status != "unavailable" || class != "auth" || !strings.Contains(lh, "credential") && !strings.Contains(lh, "role") {
			c.mismatches++
			t.Errorf("phase %d: %s %s under an STS failure: daemon says %s/%s (hint %q), want unavailable/auth with a credentials hint",
				phase, r.service, r.name, x.Status, class, hint)
		}
	}
}
