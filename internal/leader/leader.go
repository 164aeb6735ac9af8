// Package leader elects the one replica of socmond that does the singleton
// work — the scheduled canary, compliance evidence writes and the billed
// Bedrock runtime probe — through an existing coordination engine: a
// Kubernetes coordination.k8s.io Lease (client-go's leaderelection), or a
// lease item in a DynamoDB table written with conditional writes and a
// fencing token (ECS, where there is no such API). Probing and metrics never
// ask it: every replica probes and serves /metrics.
//
// Both backends follow client-go's rules. A contender takes a lease over
// only after the record has not changed for a whole lease duration on its
// own clock; the holder counts its lease as valid for the renew deadline
// (shorter) from the start of its last successful renewal, and its term
// ends then, by a timer and in every Term check, whatever the backend's own
// loop is doing. So a leader that is paused, partitioned or slow stops its
// singleton work before anyone else can start it: the gap between the renew
// deadline and the lease duration (5 s at the defaults) covers clock-rate
// differences and a write in flight.
package leader

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// Defaults, as in client-go and the Kubernetes control plane.
const (
	DefaultLeaseDuration = 15 * time.Second
	DefaultRenewDeadline = 10 * time.Second
	DefaultRetryPeriod   = 2 * time.Second
	DefaultLeaseName     = "socmond"
)

// Timing is how long a lease lasts and how it is kept.
type Timing struct {
	// LeaseDuration is how long a contender waits, after it last saw the
	// lease change, before it takes the lease over.
	LeaseDuration time.Duration
	// RenewDeadline is how long the holder's lease counts as valid after
	// the start of its last successful renewal; its term ends then.
	RenewDeadline time.Duration
	// RetryPeriod is how often the holder renews and contenders look.
	RetryPeriod time.Duration
}

// DefaultTiming is client-go's 15s/10s/2s.
var DefaultTiming = Timing{LeaseDuration: DefaultLeaseDuration, RenewDeadline: DefaultRenewDeadline, RetryPeriod: DefaultRetryPeriod}

// Validate holds the timing to what makes hand-over safe: the holder's term
// must end before a contender may take over, and it must be able to renew
// at least once in between.
func (t Timing) Validate() error {
	switch {
	case t.RetryPeriod <= 0 || t.RenewDeadline <= 0 || t.LeaseDuration <= 0:
		return fmt.Errorf("leader election: lease duration, renew deadline and retry period must be positive")
	case t.RenewDeadline >= t.LeaseDuration:
		return fmt.Errorf("leader election: the renew deadline (%s) must be shorter than the lease duration (%s), or a paused leader could still work when another takes over", t.RenewDeadline, t.LeaseDuration)
	case t.RetryPeriod >= t.RenewDeadline:
		return fmt.Errorf("leader election: the retry period (%s) must be shorter than the renew deadline (%s)", t.RetryPeriod, t.RenewDeadline)
	}
	return nil
}

// defaults fills in a backend's lease name and timing and validates them.
func defaults(name *string, t *Timing) error {
	if *name == "" {
		*name = DefaultLeaseName
	}
	if *t == (Timing{}) {
		*t = DefaultTiming
	}
	return t.Validate()
}

// Status is what a replica knows of the election.
type Status struct {
	Backend  string `json:"backend"`  // none, kubernetes, dynamodb
	Identity string `json:"identity"` // this replica
	// Leader is the holder as this replica last saw it; "" when none is
	// known (a released or never-held lease).
	Leader  string `json:"leader"`
	Leading bool   `json:"leading"`
	// Token is the fencing token of this replica's term while it leads:
	// it grows with every acquisition, so reports written under a term can
	// be told apart from those of the one before.
	Token int64     `json:"token,omitempty"`
	Since time.Time `json:"since"` // when Leading last changed
}

// Term is a replica's current hold of the lease.
type Term struct {
	Token int64
	// ValidUntil is when the lease stops being valid unless renewed
	// (zero: never, the none backend).
	ValidUntil time.Time
	done       <-chan struct{}
}

// Done is closed when the term ends: the lease was lost, not renewed by
// the renew deadline, or released.
func (t Term) Done() <-chan struct{} { return t.done }

// ErrLost is the cause of a context bound to a term that ended.
var ErrLost = errors.New("leader election: this replica's term ended")

// Context bounds a write to the term: it ends at ValidUntil or when the
// term ends, whichever is first. A write done under it either completes
// while the lease is valid or is cancelled.
func (t Term) Context(parent context.Context) (context.Context, context.CancelFunc) {
	if t.ValidUntil.IsZero() {
		return t.Bind(parent)
	}
	ctx, cancel := context.WithDeadline(parent, t.ValidUntil)
	bound, unbind := t.Bind(ctx)
	return bound, func() { unbind(); cancel() }
}

// Bind ends ctx (with the cause ErrLost) when the term ends, without a
// deadline: for long work (the canary waits minutes for the pipeline) that
// must stop when leadership does but may outlive one renewal.
func (t Term) Bind(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(parent)
	go func() {
		select {
		case <-t.done:
			cancel(ErrLost)
		case <-ctx.Done():
		}
	}()
	return ctx, func() { cancel(context.Canceled) }
}

// Elector is one replica's part in the election.
type Elector interface {
	// Run campaigns until ctx ends, then steps down and releases the
	// lease so another replica can take over at once.
	Run(ctx context.Context)
	// Status is what this replica knows now.
	Status() Status
	// Term returns this replica's term if it holds a valid lease at this
	// instant. Singleton work asks immediately before it writes.
	Term() (Term, bool)
	// Subscribe calls fn after every change of Status (leading or not,
	// the leader seen), in order, one call at a time.
	Subscribe(fn func(Status))
}

// DefaultIdentity names this replica: the hostname (the pod's name on
// Kubernetes, the task's on ECS) and a random suffix, so a process restarted
// in the same pod is a new contender rather than a holder that never left,
// as kube-controller-manager does.
func DefaultIdentity() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "socmond"
	}
	return host + "_" + randomHex(4)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// state is what both backends share: the term, its expiry timer, and the
// subscribers.
type state struct {
	backend, identity string
	validFor          time.Duration // the renew deadline
	now               func() time.Time

	mu        sync.Mutex
	leading   bool
	leader    string
	token     int64
	renewedAt time.Time // start of the last successful renewal
	since     time.Time
	done      chan struct{} // closed when the current term ends
	expiry    *time.Timer

	notifyMu sync.Mutex // one delivery at a time, in order
	subs     []func(Status)
	told     *Status // the last Status delivered
}

func newState(backend, identity string, validFor time.Duration, now func() time.Time) *state {
	if now == nil {
		now = time.Now
	}
	return &state{backend: backend, identity: identity, validFor: validFor, now: now, since: now(), done: closed()}
}

func closed() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

func (s *state) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.statusLocked()
}

func (s *state) statusLocked() Status {
	st := Status{Backend: s.backend, Identity: s.identity, Leader: s.leader, Leading: s.leading, Since: s.since}
	if s.leading {
		st.Token = s.token
	}
	return st
}

// Term checks validity against the clock, not only the flag: a process
// resumed from SIGSTOP sees an expired lease here before any timer runs.
func (s *state) Term() (Term, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.leading {
		return Term{}, false
	}
	t := Term{Token: s.token, done: s.done}
	if s.validFor > 0 {
		t.ValidUntil = s.renewedAt.Add(s.validFor)
		if !s.now().Before(t.ValidUntil) {
			return Term{}, false
		}
	}
	return t, true
}

func (s *state) Subscribe(fn func(Status)) {
	s.notifyMu.Lock()
	defer s.notifyMu.Unlock()
	s.subs = append(s.subs, fn)
}

// renewed records a successful acquisition or renewal that started at
// start, under token.
func (s *state) renewed(start time.Time, token int64) {
	s.mu.Lock()
	if !s.leading || s.token != token {
		s.endLocked()
		s.leading, s.token, s.since = true, token, s.now()
		s.done = make(chan struct{})
	}
	s.leader = s.identity
	s.renewedAt = start
	if s.validFor > 0 {
		wait := start.Add(s.validFor).Sub(s.now())
		if s.expiry != nil {
			s.expiry.Stop()
		}
		done := s.done
		s.expiry = time.AfterFunc(wait, func() { s.expire(done) })
	}
	s.mu.Unlock()
	s.notify()
}

// expire ends the term whose done channel is done if it was not renewed
// in time.
func (s *state) expire(done chan struct{}) {
	s.mu.Lock()
	if !s.leading || s.done != done || s.now().Before(s.renewedAt.Add(s.validFor)) {
		s.mu.Unlock()
		return
	}
	s.endLocked()
	s.mu.Unlock()
	s.notify()
}

// lost ends the term now; leader is who holds the lease instead ("" none
// known).
func (s *state) lost(leader string) {
	s.mu.Lock()
	s.endLocked()
	s.leader = leader
	s.mu.Unlock()
	s.notify()
}

// observe records who leads, as a contender sees it.
func (s *state) observe(leader string) {
	s.mu.Lock()
	if s.leading || s.leader == leader {
		s.mu.Unlock()
		return
	}
	s.leader = leader
	s.mu.Unlock()
	s.notify()
}

func (s *state) endLocked() {
	if !s.leading {
		return
	}
	s.leading = false
	s.since = s.now()
	if s.leader == s.identity {
		s.leader = ""
	}
	if s.expiry != nil {
		s.expiry.Stop()
		s.expiry = nil
	}
	close(s.done)
}

// notify tells subscribers the current status if it changed since the last
// delivery. Reading it under notifyMu keeps deliveries in order even when
// the backend's loop and the expiry timer change it at once.
func (s *state) notify() {
	s.notifyMu.Lock()
	defer s.notifyMu.Unlock()
	st := s.Status()
	if s.told != nil && st.Leading == s.told.Leading && st.Leader == s.told.Leader && st.Token == s.told.Token {
		return
	}
	s.told = &st
	for _, fn := range s.subs {
		fn(st)
	}
}

// None is the backend of a single instance: it always leads.
type None struct{ *state }

// NewNone returns an elector that leads from the start and never expires:
// today's behaviour of one socmond, and what `--leader-election.backend=none`
// gives every replica (so run only one).
func NewNone(identity string) *None {
	s := newState("none", identity, 0, nil)
	s.leading, s.leader, s.done = true, identity, make(chan struct{})
	return &None{s}
}

// Run waits for ctx; there is nothing to campaign for.
func (n *None) Run(ctx context.Context) {
	<-ctx.Done()
	n.lost("")
}

var (
	_ Elector = (*None)(nil)
	_ Elector = (*DynamoDB)(nil)
	_ Elector = (*Kubernetes)(nil)
)
