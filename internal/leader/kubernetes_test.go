package leader_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/socmond/socmond/internal/leader"
)

// A Lease holds whole seconds; the rest keeps the defaults' proportions.
var kubeTiming = leader.Timing{LeaseDuration: 2 * time.Second, RenewDeadline: 1300 * time.Millisecond, RetryPeriod: 250 * time.Millisecond}

type kubeReplica struct {
	e      *leader.Kubernetes
	cancel context.CancelFunc
	done   chan struct{}
}

// startKube runs n electors on one fake API server, each through its own
// fake clientset onto the first one's object tracker, so a replica can be
// cut off alone: while cut holds its identity, every request it makes
// hangs and fails as if the API server could not be reached.
func startKube(t *testing.T, n int) (*fake.Clientset, map[string]*kubeReplica, map[string]leader.Elector, *atomic.Value) {
	t.Helper()
	server := fake.NewClientset()
	var cut atomic.Value
	cut.Store("")
	occ := &optimisticLeases{tracker: server.Tracker()}
	rs, es := map[string]*kubeReplica{}, map[string]leader.Elector{}
	for i := range n {
		id := fmt.Sprintf("pod-%d", i)
		client := fake.NewClientset()
		client.PrependReactor("*", "*", k8stesting.ObjectReaction(server.Tracker()))
		client.PrependReactor("create", "leases", occ.react)
		client.PrependReactor("update", "leases", occ.react)
		client.PrependReactor("*", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
			if cut.Load().(string) == id {
				// A partition: the request hangs, then times out.
				time.Sleep(kubeTiming.RenewDeadline)
				return true, nil, apierrors.NewServerTimeout(schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}, a.GetVerb(), 1)
			}
			return false, nil, nil
		})
		e, err := leader.NewKubernetes(leader.KubernetesOptions{Client: client, Namespace: "socmond", Identity: id, Timing: kubeTiming, Logger: zerolog.Nop()})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		r := &kubeReplica{e: e, cancel: cancel, done: make(chan struct{})}
		go func() { defer close(r.done); e.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-r.done })
		rs[id], es[id] = r, e
	}
	return server, rs, es, &cut
}

// optimisticLeases gives the fake API server what the real one enforces
// and client-go's fake object tracker does not: optimistic concurrency. A
// Lease write must carry the resourceVersion of the Lease as stored, or it
// is refused with a Conflict; every accepted write gets a new one. Without
// it, a stale replica's write silently overwrote the new holder's, and two
// replicas led at once — something only a fake API server allows.
type optimisticLeases struct {
	tracker k8stesting.ObjectTracker
	mu      sync.Mutex
	rv      int
}

var leasesGVR = coordinationv1.SchemeGroupVersion.WithResource("leases")

func (o *optimisticLeases) react(a k8stesting.Action) (bool, runtime.Object, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	// Create and update actions have the same method set: tell them apart
	// by their verb.
	act, ok := a.(interface{ GetObject() runtime.Object })
	if !ok {
		return false, nil, nil
	}
	obj := act.GetObject().(*coordinationv1.Lease).DeepCopy()
	switch a.GetVerb() {
	case "create":
		o.rv++
		obj.ResourceVersion = strconv.Itoa(o.rv)
		return true, obj, o.tracker.Create(leasesGVR, obj, a.GetNamespace())
	case "update":
		cur, err := o.tracker.Get(leasesGVR, a.GetNamespace(), obj.Name)
		if err != nil {
			return true, nil, err
		}
		if cur.(*coordinationv1.Lease).ResourceVersion != obj.ResourceVersion {
			return true, nil, apierrors.NewConflict(leasesGVR.GroupResource(), obj.Name, fmt.Errorf("the object has been modified"))
		}
		o.rv++
		obj.ResourceVersion = strconv.Itoa(o.rv)
		return true, obj, o.tracker.Update(leasesGVR, obj, a.GetNamespace())
	}
	return false, nil, nil
}

// TestKubernetesCutOffLeaderStopsFirst: client-go's elector on a
// coordination.k8s.io Lease. A leader that cannot renew ends its term before
// the other replica takes over, the token (leaseTransitions) grows, and the
// Lease names the new holder.
func TestKubernetesCutOffLeaderStopsFirst(t *testing.T) {
	client, rs, es, cut := startKube(t, 2)
	w := startWatch(t, es)
	id := leaderOf(t, es, 5*kubeTiming.LeaseDuration)
	term, _ := rs[id].e.Term()
	var ended atomic.Pointer[time.Time]
	go func() { <-term.Done(); now := time.Now(); ended.Store(&now) }()

	at := time.Now()
	cut.Store(id)
	next := waitOther(t, es, id, 5*kubeTiming.LeaseDuration)
	took := time.Now()
	if end := ended.Load(); end == nil || !end.Before(took) {
		t.Fatalf("%s's term had not ended when %s took over", id, next)
	} else {
		t.Logf("cut at 0, old term ended at %s, takeover at %s (lease %s, renew deadline %s)",
			end.Sub(at).Round(time.Millisecond), took.Sub(at).Round(time.Millisecond), kubeTiming.LeaseDuration, kubeTiming.RenewDeadline)
	}
	lease, err := client.CoordinationV1().Leases("socmond").Get(t.Context(), leader.DefaultLeaseName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if h := lease.Spec.HolderIdentity; h == nil || *h != next {
		t.Errorf("Lease holder %v, want %s", h, next)
	}
	cut.Store("")
	time.Sleep(3 * kubeTiming.RetryPeriod)
	if _, ok := rs[id].e.Term(); ok {
		t.Errorf("%s led again while %s held the lease", id, next)
	}
	w.check(t)
}

// TestKubernetesReleaseOnShutdown: a stopping leader releases the Lease
// (ReleaseOnCancel) so the other takes over well within a lease duration.
func TestKubernetesReleaseOnShutdown(t *testing.T) {
	_, rs, es, _ := startKube(t, 2)
	w := startWatch(t, es)
	id := leaderOf(t, es, 5*kubeTiming.LeaseDuration)
	first, _ := rs[id].e.Term()
	stop := time.Now()
	rs[id].cancel()
	<-rs[id].done
	delete(es, id)
	next := leaderOf(t, es, kubeTiming.LeaseDuration)
	t.Logf("%s released; %s took over after %s", id, next, time.Since(stop).Round(time.Millisecond))
	if term, _ := rs[next].e.Term(); term.Token <= first.Token {
		t.Errorf("token %d after %d", term.Token, first.Token)
	}
	w.check(t)
}
