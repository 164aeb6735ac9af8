package leader_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/rs/zerolog"

	"github.com/socmond/socmond/internal/awsclient"
	"github.com/socmond/socmond/internal/awssim"
	"github.com/socmond/socmond/internal/leader"
)

const leaseTable = "socmond-leases"

// fast is the default timing divided by 25, kept in its proportions.
var fast = leader.Timing{LeaseDuration: 600 * time.Millisecond, RenewDeadline: 400 * time.Millisecond, RetryPeriod: 80 * time.Millisecond}

// simTable serves a simulator holding the lease table and returns a real
// SDK client for it.
func simTable(t *testing.T) (*awssim.Sim, *dynamodb.Client) {
	t.Helper()
	sim, url := awssim.Serve(t, awssim.Seed{Tables: []string{leaseTable}, TableKeys: map[string]string{leaseTable: leader.KeyAttribute}})
	c, err := awsclient.New(t.Context(), awsclient.Options{Region: "us-east-1", Endpoint: url,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDLEADER", "secret", "")})
	if err != nil {
		t.Fatal(err)
	}
	return sim, c.DynamoDB
}

// network stands between one replica and DynamoDB: down, its calls hang
// until their deadline, as in a partition; lossy, its writes land but the
// answers are lost.
type network struct {
	leader.DynamoDBAPI
	down, lossy atomic.Bool
}

func (n *network) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	if n.down.Load() {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return n.DynamoDBAPI.GetItem(ctx, in, o...)
}

func (n *network) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if n.down.Load() {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	out, err := n.DynamoDBAPI.PutItem(ctx, in, o...)
	if err == nil && n.lossy.Load() {
		return nil, errors.New("read tcp: connection reset by peer")
	}
	return out, err
}

type replica struct {
	e      *leader.DynamoDB
	net    *network
	cancel context.CancelFunc
	done   chan struct{}
}

func startReplicas(t *testing.T, client leader.DynamoDBAPI, n int) (map[string]*replica, map[string]leader.Elector) {
	t.Helper()
	rs, es := map[string]*replica{}, map[string]leader.Elector{}
	for i := range n {
		id := fmt.Sprintf("replica-%d", i)
		r := &replica{net: &network{DynamoDBAPI: client}, done: make(chan struct{})}
		var err error
		r.e, err = leader.NewDynamoDB(leader.DynamoDBOptions{Client: r.net, Table: leaseTable, Identity: id, Timing: fast, Logger: zerolog.Nop()})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		r.cancel = cancel
		go func() { defer close(r.done); r.e.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-r.done })
		rs[id], es[id] = r, r.e
	}
	return rs, es
}

// TestDynamoDBOneWriterOverManyElections: three replicas, the leader
// removed again and again — released on shutdown, cut off from DynamoDB,
// its answers lost — and at no instant can two of them write.
func TestDynamoDBOneWriterOverManyElections(t *testing.T) {
	_, client := simTable(t)
	rs, es := startReplicas(t, client, 3)
	w := startWatch(t, es)

	for round := range 9 {
		id := leaderOf(t, es, 10*fast.LeaseDuration)
		r := rs[id]
		switch round % 3 {
		case 0: // cut off: its term must end by itself, then another takes over
			r.net.down.Store(true)
			next := waitOther(t, es, id, 10*fast.LeaseDuration)
			if _, ok := r.e.Term(); ok {
				t.Fatalf("round %d: %s still holds a valid term after %s took over", round, id, next)
			}
			r.net.down.Store(false)
		case 1: // answers lost: the lease stays with it (the writes landed)
			r.net.lossy.Store(true)
			time.Sleep(3 * fast.RetryPeriod)
			r.net.lossy.Store(false)
			time.Sleep(3 * fast.RetryPeriod)
			r.net.down.Store(true) // then cut it off to move on
			waitOther(t, es, id, 10*fast.LeaseDuration)
			r.net.down.Store(false)
		case 2: // a partition that heals before the lease ran out elsewhere
			r.net.down.Store(true)
			time.Sleep(fast.RenewDeadline + fast.RetryPeriod)
			if _, ok := r.e.Term(); ok {
				t.Fatalf("round %d: %s kept a valid term past its renew deadline without renewing", round, id)
			}
			r.net.down.Store(false)
			leaderOf(t, es, 10*fast.LeaseDuration)
		}
	}
	// Rounds 0 and 1 always move the lease; round 2 may give it back to
	// the same replica on its own version (nobody wrote in between).
	if spans := w.check(t); len(spans) < 7 {
		t.Errorf("only %d terms over 9 elections", len(spans))
	}
}

// waitOther waits for a replica other than id to lead.
func waitOther(t *testing.T, es map[string]leader.Elector, id string, limit time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		for who, e := range es {
			if _, ok := e.Term(); ok && who != id {
				return who
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("no replica took over from %s within %s", id, limit)
	return ""
}

// TestDynamoDBPartitionedLeaderStopsFirst: the leader's term ends — its
// Done closed, Term refused — before the other replica's begins, and the
// takeover comes after a lease duration, not sooner.
func TestDynamoDBPartitionedLeaderStopsFirst(t *testing.T) {
	_, client := simTable(t)
	rs, es := startReplicas(t, client, 2)
	id := leaderOf(t, es, 10*fast.LeaseDuration)
	term, _ := rs[id].e.Term()
	var ended atomic.Pointer[time.Time]
	go func() { <-term.Done(); now := time.Now(); ended.Store(&now) }()

	cut := time.Now()
	rs[id].net.down.Store(true)
	next := waitOther(t, es, id, 10*fast.LeaseDuration)
	took := time.Now()
	end := ended.Load()
	switch {
	case end == nil:
		t.Fatalf("%s's term had not ended when %s took over", id, next)
	case !end.Before(took):
		t.Fatalf("%s's term ended at %s, after %s took over at %s", id, ts(*end), next, ts(took))
	case took.Sub(cut) < fast.LeaseDuration-fast.RetryPeriod:
		t.Fatalf("%s took over %s after the cut, sooner than a lease duration (%s)", next, took.Sub(cut), fast.LeaseDuration)
	}
	t.Logf("cut at 0, old term ended at %s, takeover at %s (lease %s, renew deadline %s)",
		end.Sub(cut).Round(time.Millisecond), took.Sub(cut).Round(time.Millisecond), fast.LeaseDuration, fast.RenewDeadline)

	// Healed, the old leader sees the new holder's version and waits.
	rs[id].net.down.Store(false)
	time.Sleep(3 * fast.RetryPeriod)
	if _, ok := rs[id].e.Term(); ok {
		t.Fatalf("%s led again while %s held the lease", id, next)
	}
	if st := rs[id].e.Status(); st.Leader != next || st.Leading {
		t.Errorf("%s's status %+v, want leader %s", id, st, next)
	}
}

// TestDynamoDBReleaseOnShutdown: a leader that stops hands over at once,
// and the token grows.
func TestDynamoDBReleaseOnShutdown(t *testing.T) {
	_, client := simTable(t)
	rs, es := startReplicas(t, client, 2)
	id := leaderOf(t, es, 10*fast.LeaseDuration)
	first, _ := rs[id].e.Term()
	stop := time.Now()
	rs[id].cancel()
	<-rs[id].done
	if _, ok := rs[id].e.Term(); ok {
		t.Fatal("a stopped replica still holds a term")
	}
	delete(es, id)
	next := leaderOf(t, es, fast.LeaseDuration)
	took := time.Since(stop)
	term, _ := rs[next].e.Term()
	if term.Token <= first.Token {
		t.Errorf("token %d after %d", term.Token, first.Token)
	}
	t.Logf("released: %s took over after %s (lease %s)", next, took.Round(time.Millisecond), fast.LeaseDuration)
}

// TestDynamoDBSubscribers: every change is told once, in order.
func TestDynamoDBSubscribers(t *testing.T) {
	_, client := simTable(t)
	e, err := leader.NewDynamoDB(leader.DynamoDBOptions{Client: client, Table: leaseTable, Identity: "solo", Timing: fast, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []bool
	e.Subscribe(func(s leader.Status) { mu.Lock(); got = append(got, s.Leading); mu.Unlock() })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.Run(ctx) }()
	leaderOf(t, map[string]leader.Elector{"solo": e}, 10*fast.LeaseDuration)
	time.Sleep(5 * fast.RetryPeriod) // renewals change nothing a subscriber sees
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(got) != "[true false]" {
		t.Errorf("subscriber saw %v, want [true false]", got)
	}
}

func TestTimingValidate(t *testing.T) {
	for name, tc := range map[string]struct {
		t  leader.Timing
		ok bool
	}{
		"defaults":                     {leader.DefaultTiming, true},
		"renew deadline = lease":       {leader.Timing{LeaseDuration: 10 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: time.Second}, false},
		"retry period = renew":         {leader.Timing{LeaseDuration: 15 * time.Second, RenewDeadline: 2 * time.Second, RetryPeriod: 2 * time.Second}, false},
		"zero retry":                   {leader.Timing{LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second}, false},
		"scaled down in proportion":    {fast, true},
		"renew deadline > lease (bad)": {leader.Timing{LeaseDuration: 5 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: time.Second}, false},
	} {
		if err := tc.t.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v", name, err)
		}
	}
}
