package awsclient

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
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
