package awsclient

import (
	"context"
	"errors"
	"strings"
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

// CredentialsError says socmond could not obtain AWS credentials. Nothing
// can be signed then, so every call fails alike, before reaching AWS: a
// command that calls AWS once (validate, e2e, evidence verify) says so once
// rather than once per call, each time blaming a different permission.
type CredentialsError struct {
	Err error
}

func (e *CredentialsError) Error() string { return "no AWS credentials: " + e.Cause() }

func (e *CredentialsError) Unwrap() error { return e.Err }

// noneFound is how the SDK's default chain ends when no link of it has
// credentials: the EC2 instance role, its last link, was not there either.
const noneFound = "no EC2 IMDS role found"

// Cause is why, in one line. When the default chain found nothing at all,
// the SDK's text names only its last link (the EC2 instance metadata
// service, and its HTTP error); the sources it looked in say more.
func (e *CredentialsError) Cause() string {
	msg := e.Err.Error()
	if strings.Contains(msg, noneFound) {
		return "none found (environment variables, shared config files, web identity token, container role, EC2 instance role)"
	}
	msg = strings.TrimPrefix(msg, "failed to refresh cached credentials, ")
	return strings.Join(strings.Fields(msg), " ")
}

// NoneFound reports whether no source had credentials at all, as opposed to
// one that had them but failed (an STS refusal, an expired SSO session).
func (e *CredentialsError) NoneFound() bool { return strings.Contains(e.Err.Error(), noneFound) }

// credentialsTimeout bounds CheckCredentials: off EC2 the chain's last link
// waits for an instance metadata service that may never answer.
const credentialsTimeout = 15 * time.Second

// CheckCredentials obtains credentials once, as the first signed call
// would, and returns a *CredentialsError when it cannot. The credentials
// are cached, so the calls after it do not fetch them again.
func (c *Clients) CheckCredentials(ctx context.Context) error {
	if c.Config.Credentials == nil {
		return &CredentialsError{Err: errors.New("no credentials provider configured")}
	}
	ctx, cancel := context.WithTimeout(ctx, credentialsTimeout)
	defer cancel()
	if _, err := c.Config.Credentials.Retrieve(ctx); err != nil {
		return &CredentialsError{Err: err}
	}
	return nil
}
