package leader

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// KubernetesOptions configure a Kubernetes elector.
type KubernetesOptions struct {
	// Client talks to the API server; nil builds one from the pod's
	// service account (rest.InClusterConfig).
	Client    kubernetes.Interface
	Namespace string // default: the pod's own (ServiceAccountNamespace)
	Name      string // the Lease's name, default DefaultLeaseName
	Identity  string
	Timing    Timing
	Logger    zerolog.Logger
	Now       func() time.Time
}

// Kubernetes holds a coordination.k8s.io/v1 Lease through client-go's
// leaderelection package, the elector every Kubernetes controller uses.
// client-go ends its own term only when a renewal has failed for the renew
// deadline, after the retry period that follows the last success, and only
// after it tried to release the lease (up to another renew deadline): so
// this elector does not rely on its callbacks to stop the singleton work.
// It notes the start of every Create or Update of the Lease that succeeded
// for this replica, and its term ends at that instant plus the renew
// deadline, as the DynamoDB backend's does.
type Kubernetes struct {
	*state
	o    KubernetesOptions
	lock *timedLock
}

// ServiceAccountNamespace is where a pod's namespace is mounted.
const ServiceAccountNamespace = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// NewKubernetes returns an elector on the Lease o.Namespace/o.Name.
func NewKubernetes(o KubernetesOptions) (*Kubernetes, error) {
	if err := defaults(&o.Name, &o.Timing); err != nil {
		return nil, err
	}
	if o.Timing.LeaseDuration%time.Second != 0 {
		// A Lease holds whole seconds: 1.5s would be written as 1s and
		// other replicas would take over early.
		return nil, fmt.Errorf("leader election: a Kubernetes lease duration is whole seconds, not %s", o.Timing.LeaseDuration)
	}
	if o.Identity == "" {
		return nil, fmt.Errorf("leader election: the kubernetes backend needs an identity")
	}
	if o.Namespace == "" {
		b, err := os.ReadFile(ServiceAccountNamespace)
		if err != nil {
			return nil, fmt.Errorf("leader election: no --leader-election.namespace and not in a pod (%w)", err)
		}
		o.Namespace = strings.TrimSpace(string(b))
	}
	if o.Client == nil {
		cfg, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("leader election: Kubernetes API: %w (the pod needs its service account token: automountServiceAccountToken)", err)
		}
		if o.Client, err = kubernetes.NewForConfig(cfg); err != nil {
			return nil, fmt.Errorf("leader election: Kubernetes client: %w", err)
		}
	}
	k := &Kubernetes{state: newState("kubernetes", o.Identity, o.Timing.RenewDeadline, o.Now), o: o}
	k.lock = &timedLock{Interface: &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: o.Namespace, Name: o.Name},
		Client:     o.Client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: o.Identity},
	}, k: k}
	return k, nil
}

// Run campaigns until ctx ends. client-go's elector returns when it loses
// the lease; it is started again, as a contender, until ctx ends. Then the
// Lease is given up, if this replica still holds it (releaseIfHeld).
func (k *Kubernetes) Run(ctx context.Context) {
	defer k.releaseIfHeld()
	for ctx.Err() == nil {
		le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock:          k.lock,
			LeaseDuration: k.o.Timing.LeaseDuration,
			RenewDeadline: k.o.Timing.RenewDeadline,
			RetryPeriod:   k.o.Timing.RetryPeriod,
			// Not client-go's release: after a renewal failed (a partition)
			// it reads the Lease, which refreshes the resourceVersion its
			// write carries, but decides from the holder it last saw —
			// itself — so it clears the Lease the new leader just took,
			// and a third replica can take it while the new leader still
			// leads. releaseIfHeld decides from what it reads.
			ReleaseOnCancel: false,
			Name:            k.o.Name,
			Callbacks: leaderelection.LeaderCallbacks{
				// The term starts with the successful write (timedLock),
				// which is earlier than this callback.
				OnStartedLeading: func(context.Context) {},
				OnStoppedLeading: func() { k.lost("") },
				OnNewLeader: func(id string) {
					if id != k.identity {
						k.lost(id)
					}
				},
			},
		})
		if err != nil {
			k.o.Logger.Error().Err(err).Msg("leader election: cannot start")
			return
		}
		le.Run(ctx)
	}
}

// releaseIfHeld gives the Lease up when socmond stops, so another replica
// takes over at once rather than after the lease duration; only if the
// Lease, as read now, still names this replica, and with the
// resourceVersion of that read, so a takeover in between makes the write a
// Conflict rather than a theft.
func (k *Kubernetes) releaseIfHeld() {
	ctx, cancel := context.WithTimeout(context.Background(), k.o.Timing.RenewDeadline)
	defer cancel()
	rec, _, err := k.lock.Get(ctx)
	if err != nil || rec.HolderIdentity != k.identity {
		return
	}
	now := metav1.NewTime(k.now())
	if err := k.lock.Update(ctx, resourcelock.LeaderElectionRecord{LeaderTransitions: rec.LeaderTransitions,
		LeaseDurationSeconds: 1, RenewTime: now, AcquireTime: now}); err != nil {
		k.o.Logger.Warn().Err(err).Msg("leader election: the Lease was not released; another replica takes over when it expires")
	}
}

// timedLock is client-go's LeaseLock that also tells the elector when a
// write that makes or keeps this replica the holder succeeded, and under
// which token (the Lease's leaseTransitions plus one: client-go increments
// it at every change of holder).
type timedLock struct {
	resourcelock.Interface
	k  *Kubernetes
	mu sync.Mutex // Create and Update come from one elector at a time; this keeps the race detector sure
}

func (l *timedLock) Create(ctx context.Context, r resourcelock.LeaderElectionRecord) error {
	return l.write(ctx, r, l.Interface.Create)
}

func (l *timedLock) Update(ctx context.Context, r resourcelock.LeaderElectionRecord) error {
	return l.write(ctx, r, l.Interface.Update)
}

func (l *timedLock) write(ctx context.Context, r resourcelock.LeaderElectionRecord,
	f func(context.Context, resourcelock.LeaderElectionRecord) error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	start := l.k.now()
	if r.HolderIdentity != l.k.identity {
		// A release (holder ""): the term ends before the lease is given up.
		l.k.lost("")
		return f(ctx, r)
	}
	if err := f(ctx, r); err != nil {
		return err
	}
	// leaseTransitions starts at 0; tokens start at 1 on both backends.
	l.k.renewed(start, int64(r.LeaderTransitions)+1)
	return nil
}
