package awsclient

import (
	"context"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// failureHold is how long a failed credential retrieval is remembered.
// The SDK's CredentialsCache caches only successes: while STS refuses,
// every probe would make its own AssumeRole call (hundreds a second at
// scale), adding load to an STS that is already failing and risking its
// throttling. Remembering the failure briefly keeps the probes' verdict
// (auth) without the storm.
const failureHold = 5 * time.Second

// holdFailures wraps a credentials provider so that a failure is returned
// again, without a new retrieval, for hold after it happened.
type holdFailures struct {
	inner aws.CredentialsProvider
	hold  time.Duration
	now   func() time.Time

	mu     sync.Mutex
	err    error
	failed time.Time
}

func (h *holdFailures) Retrieve(ctx context.Context) (aws.Credentials, error) {
	h.mu.Lock()
	if h.err != nil && h.now().Sub(h.failed) < h.hold {
		err := h.err
		h.mu.Unlock()
		return aws.Credentials{}, err
	}
	h.mu.Unlock()

	creds, err := h.inner.Retrieve(ctx)
	h.mu.Lock()
	defer h.mu.Unlock()
	// A cancelled or expired context says nothing about the credentials.
	if err != nil && ctx.Err() == nil {
		h.err, h.failed = err, h.now()
	} else if err == nil {
		h.err = nil
	}
	return creds, err
}
