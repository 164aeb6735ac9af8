package probes_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

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
