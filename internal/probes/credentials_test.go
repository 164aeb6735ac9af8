package probes_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/socmond/socmond/internal/awsclient"
	"github.com/socmond/socmond/internal/awssim"
	"github.com/socmond/socmond/internal/probes"
)

// TestCredentialRefreshFailureIsAuth: when the credential chain fails (an
// expired web identity token, an STS outage behind AssumeRole), the real SDK
// fails before sending anything; the probe must report class auth with a
// hint, not crash and not blame the service.
func TestCredentialRefreshFailureIsAuth(t *testing.T) {
	sent := false
	cfg := aws.Config{
		Region: "us-east-1",
		Credentials: aws.NewCredentialsCache(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{}, errors.New("operation error STS: AssumeRoleWithWebIdentity, ExpiredTokenException: token expired")
		})),
		HTTPClient: &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
			sent = true
			return nil, errors.New("must not be called")
		})},
	}
	p := probes.NewKMSKey(kms.NewFromConfig(cfg), "alias/AsiaAgenticSoc")
	r := probes.Run(context.Background(), p, probes.Options{Timeout: 5 * time.Second})
	if sent {
		t.Fatal("a request was sent without credentials")
	}
	if r.Status != probes.Unavailable || r.Class != probes.ClassAuth {
		t.Fatalf("status %s class %s, want unavailable/auth (%s)", r.Status, r.Class, r.Detail)
	}
	if !strings.Contains(r.Hint, "could not obtain AWS credentials") || !strings.Contains(r.Hint, "STS") {
		t.Fatalf("hint %q does not point at socmond's credentials and STS", r.Hint)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestAssumeRoleRefusalIsAuth: a resource whose account's role cannot be
// assumed is auth, with a hint naming the role and its trust policy, and
// nothing reaches the service; another role's resource stays healthy.
func TestAssumeRoleRefusalIsAuth(t *testing.T) {
	const refused, allowed = "arn:aws:iam::111111111111:role/socmond-a", "arn:aws:iam::222222222222:role/socmond-b"
	// The key is in the allowed role's account: the simulator serves each
	// account its own resources.
	sim, base := roleBase(t, "222222222222", awssim.Fault{Service: "sts", Operation: "AssumeRole", Resource: refused, Error: "AccessDenied"})
	run := func(role string) probes.Result {
		c, err := base.Assume(awsclient.Assumption{RoleARN: role, ExternalID: "ext-id-never-shown"})
		if err != nil {
			t.Fatal(err)
		}
		return probes.Run(context.Background(), probes.NewKMSKey(c.KMS, simKey), probes.Options{Timeout: 5 * time.Second})
	}
	r := run(refused)
	if r.Status != probes.Unavailable || r.Class != probes.ClassAuth {
		t.Fatalf("status %s class %s, want unavailable/auth (%s)", r.Status, r.Class, r.Detail)
	}
	for _, want := range []string{refused, "trust policy", "external id"} {
		if !strings.Contains(r.Hint, want) {
			t.Errorf("hint %q does not say %q", r.Hint, want)
		}
	}
	if strings.Contains(r.Hint+r.Detail, "ext-id-never-shown") || strings.Contains(r.Hint+r.Detail, simSecret) {
		t.Errorf("the result shows a secret: %+v", r)
	}
	if r := run(allowed); r.Status != probes.Healthy {
		t.Errorf("the other role's key: %s %s (%s)", r.Status, r.Class, r.Detail)
	}
	for _, call := range sim.Calls() {
		if call.Service == "kms" && call.Role != allowed {
			t.Errorf("a KMS call was signed by %q, want the allowed role", call.Role)
		}
		if call.Service == "kms" && call.Attempt > 1 {
			t.Errorf("KMS call %+v: one attempt expected", call)
		}
	}
}

// TestAssumeRoleTimeoutIsAuth: an STS that does not answer AssumeRole
// within its deadline leaves the role unassumed, which is auth, with the
// role's hint, like a refusal; the cause (the deadline) is in the detail.
func TestAssumeRoleTimeoutIsAuth(t *testing.T) {
	const hung = "arn:aws:iam::111111111111:role/socmond-a"
	_, base := roleBase(t, "111111111111", awssim.Fault{Service: "sts", Operation: "AssumeRole", Resource: hung, Latency: "1h"})
	c, err := base.Assume(awsclient.Assumption{RoleARN: hung})
	if err != nil {
		t.Fatal(err)
	}
	// A probe deadline past AssumeRole's own (10 s), so the role's failure
	// is what the probe sees.
	r := probes.Run(context.Background(), probes.NewKMSKey(c.KMS, simKey), probes.Options{Timeout: 20 * time.Second})
	if r.Class != probes.ClassAuth || !strings.Contains(r.Hint, hung) || !strings.Contains(r.Detail, "deadline") {
		t.Errorf("class %s, hint %q, detail %q: want auth naming the role, the deadline in the detail", r.Class, r.Hint, r.Detail)
	}
}

// TestPlacedCredentialHint: a placed probe that gives up waiting for its
// account's credentials names the account, not socmond's own identity.
func TestPlacedCredentialHint(t *testing.T) {
	p := probes.Placed(&fakeProbe{obs: probes.Observation{Err: errors.New("operation error KMS: DescribeKey, get identity: get credentials: request canceled, context deadline exceeded")}},
		probes.Place{Tenant: "acme", Account: "111111111111", Region: "eu-west-1"})
	r := probes.Run(context.Background(), p, probes.Options{})
	if !strings.Contains(r.Hint, "account 111111111111 (eu-west-1)") || r.Target.Account != "111111111111" {
		t.Errorf("hint %q, target %+v", r.Hint, r.Target)
	}
}

// roleBase starts a simulator holding the test key in account, with faults
// on, and the base clients roles are assumed from (static credentials).
func roleBase(t *testing.T, account string, faults ...awssim.Fault) (*awssim.Sim, *awsclient.Clients) {
	t.Helper()
	sim, url := awssim.Serve(t, awssim.Seed{Scopes: []awssim.Seed{{AccountID: account, Keys: []string{simKey}}}})
	for _, f := range faults {
		sim.AddFault(f)
	}
	base, err := awsclient.New(context.Background(), awsclient.Options{Region: "us-east-1", Endpoint: url,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDSOCMONDTEST", simSecret, "")})
	if err != nil {
		t.Fatal(err)
	}
	return sim, base
}

// TestPlacedNotFoundHint: a pipeline's key missing in its account, found
// through Run: the hint names the pipeline's account and region.
func TestPlacedNotFoundHint(t *testing.T) {
	_, base := roleBase(t, "111111111111")
	c, err := base.Assume(awsclient.Assumption{RoleARN: "arn:aws:iam::111111111111:role/socmond-a"})
	if err != nil {
		t.Fatal(err)
	}
	place := probes.Place{Tenant: "acme", Account: "111111111111", Region: "us-east-1"}
	r := probes.Run(context.Background(), probes.Placed(probes.NewKMSKey(c.KMS, "alias/gone"), place), probes.Options{Timeout: 30 * time.Second})
	if r.Class != probes.ClassNotFound || strings.Contains(r.Hint, "AWS_REGION") || !strings.Contains(r.Hint, "us-east-1, in account 111111111111: tenant acme's pipeline") {
		t.Errorf("class %s, hint %q: want not found, naming the pipeline's account and region", r.Class, r.Hint)
	}
}
