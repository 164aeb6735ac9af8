package awsclient

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/rs/zerolog"

	"github.com/socmond/socmond/internal/testenv"
)

func TestHoldFailures(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	calls := 0
	fail := true
	h := &holdFailures{hold: 5 * time.Second, now: func() time.Time { return now },
		inner: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			calls++
			if fail {
				return aws.Credentials{}, errors.New("ExpiredTokenException")
			}
			return aws.Credentials{AccessKeyID: "AKID"}, nil
		})}
	ctx := context.Background()
	steps := []struct {
		advance   time.Duration
		fail      bool
		wantErr   bool
		wantCalls int
	}{
		{0, true, true, 1},               // first failure is retrieved
		{time.Second, true, true, 1},     // held: no new STS call
		{4 * time.Second, true, true, 2}, // hold over: retried, fails again
		{5 * time.Second, false, false, 3},
		{0, false, false, 4}, // successes are never held (the SDK's cache does that)
	}
	for i, s := range steps {
		now = now.Add(s.advance)
		fail = s.fail
		_, err := h.Retrieve(ctx)
		if (err != nil) != s.wantErr || calls != s.wantCalls {
			t.Fatalf("step %d: err %v calls %d, want err %v calls %d", i, err, calls, s.wantErr, s.wantCalls)
		}
	}

	// A cancelled context is not remembered as a credentials failure.
	fail = true
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	h2 := &holdFailures{hold: time.Minute, now: func() time.Time { return now },
		inner: aws.CredentialsProviderFunc(func(ctx context.Context) (aws.Credentials, error) { return aws.Credentials{}, ctx.Err() })}
	_, _ = h2.Retrieve(cctx)
	if h2.err != nil {
		t.Fatal("a cancelled retrieval was held as a failure")
	}
}

// TestCheckCredentialsNoneFound: with no credentials anywhere the check
// fails once, says where it looked rather than quoting the metadata
// service's HTTP error, and the SDK's IMDSv1 fallback warning stays below
// the default log level.
func TestCheckCredentialsNoneFound(t *testing.T) {
	testenv.NoAWSCredentials(t)
	var logs testenv.Buffer
	l := zerolog.New(&logs).Level(zerolog.InfoLevel)
	c, err := New(context.Background(), Options{Region: "us-east-1", Logger: &l})
	if err != nil {
		t.Fatal(err)
	}
	err = c.CheckCredentials(context.Background())
	var ce *CredentialsError
	if !errors.As(err, &ce) || !ce.NoneFound() {
		t.Fatalf("err = %v, want a CredentialsError that found none", err)
	}
	if got := ce.Cause(); !strings.HasPrefix(got, "none found (environment variables") || strings.Contains(got, "StatusCode") {
		t.Errorf("cause %q", got)
	}
	if logs.String() != "" {
		t.Errorf("the SDK logged at info or above: %s", logs.String())
	}
}

func TestCheckCredentials(t *testing.T) {
	failing := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{}, errors.New("failed to refresh cached credentials, operation error STS: AssumeRoleWithWebIdentity,\n ExpiredTokenException: token expired")
	})
	c := &Clients{Config: aws.Config{Credentials: failing}}
	var ce *CredentialsError
	if err := c.CheckCredentials(context.Background()); !errors.As(err, &ce) || ce.NoneFound() {
		t.Fatalf("err = %v, want a CredentialsError with a cause", err)
	}
	if want := "operation error STS: AssumeRoleWithWebIdentity, ExpiredTokenException: token expired"; ce.Cause() != want {
		t.Errorf("cause %q, want %q (one line, the cache's wrapper gone)", ce.Cause(), want)
	}
	c.Config.Credentials = credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")
	if err := c.CheckCredentials(context.Background()); err != nil {
		t.Errorf("static credentials: %v", err)
	}
	c.Config.Credentials = nil
	if err := c.CheckCredentials(context.Background()); !errors.As(err, &ce) {
		t.Errorf("no provider: %v", err)
	}
}
