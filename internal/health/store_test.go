package health

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/socmond/socmond/internal/probes"
)

func TestStoreRecordChange(t *testing.T) {
	other := probes.Target{Service: probes.ServiceKMS, Resource: "alias/soc"}
	type step struct {
		target  probes.Target
		status  probes.Status
		prev    probes.Status
		changed bool
	}
	tests := map[string][]step{
		"first result is a change, repeats are not": {
			{tgt, probes.Healthy, "", true},
			{tgt, probes.Healthy, probes.Healthy, false},
			{tgt, probes.Degraded, probes.Healthy, true},
			{tgt, probes.Degraded, probes.Degraded, false},
			{tgt, probes.Unavailable, probes.Degraded, true},
			{tgt, probes.Healthy, probes.Unavailable, true},
		},
		"resources are independent": {
			{tgt, probes.Unavailable, "", true},
			{other, probes.Unavailable, "", true},
			{other, probes.Unavailable, probes.Unavailable, false},
			{tgt, probes.Healthy, probes.Unavailable, true},
		},
	}
	for name, steps := range tests {
		t.Run(name, func(t *testing.T) {
			s := NewStore()
			for i, st := range steps {
				r := ok(t0.Add(time.Duration(i) * time.Minute))
				r.Target, r.Status = st.target, st.status
				prev, cur, changed := s.Record(r, Options{})
				if prev.Status != st.prev || cur.Status != st.status || changed != st.changed {
					t.Errorf("step %d: prev %q cur %q changed %v, want %q %q %v",
						i, prev.Status, cur.Status, changed, st.prev, st.status, st.changed)
				}
				if cur.Target != st.target || !cur.Last.Start.Equal(r.Start) {
					t.Errorf("step %d: cur is %v at %v", i, cur.Target, cur.Last.Start)
				}
			}
		})
	}
}

func TestStoreRecordAppliesOptions(t *testing.T) {
	s := NewStore()
	for i := range 10 {
		s.Record(ok(t0.Add(time.Duration(i-9)*time.Minute)), Options{})
	}
	_, cur, _ := s.Record(ok(t0), Options{ErrorWindow: 10 * time.Minute})
	// Ten results in (t0-10m, t0] after the reload, counting t0 twice.
	if cur.ErrorSamples != 11 {
		t.Errorf("ErrorSamples = %d after lengthening the window, want 11", cur.ErrorSamples)
	}
}

func TestStoreSnapshotsAndRetain(t *testing.T) {
	targets := []probes.Target{
		{Service: probes.ServiceS3, Resource: "soc-archive"},
		{Service: probes.ServiceBedrock, Resource: "model-b"},
		{Service: probes.ServiceS3, Resource: "soc-alerts"},
		{Service: probes.ServiceBedrock, Resource: "model-a"},
	}
	s := NewStore()
	for _, tg := range targets {
		r := ok(t0)
		r.Target = tg
		s.Record(r, Options{})
	}
	var got []string
	for _, snap := range s.Snapshots(t0) {
		got = append(got, snap.Target.String())
	}
	want := []string{"bedrock/model-a", "bedrock/model-b", "s3/soc-alerts", "s3/soc-archive"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Snapshots order %v, want %v", got, want)
	}

	s.Retain(map[probes.Target]bool{targets[0]: true, targets[3]: true})
	tests := map[string]struct {
		target probes.Target
		found  bool
	}{
		"kept":    {targets[0], true},
		"kept 2":  {targets[3], true},
		"dropped": {targets[1], false},
		"never":   {probes.Target{Service: probes.ServiceLambda, Resource: "x"}, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			snap, found := s.Snapshot(tc.target, t0)
			if found != tc.found || (found && snap.Target != tc.target) {
				t.Errorf("Snapshot(%v) = %v, %v", tc.target, snap.Target, found)
			}
		})
	}
	if n := len(s.Snapshots(t0)); n != 2 {
		t.Errorf("%d snapshots after Retain, want 2", n)
	}
	// A dropped resource that comes back starts afresh: its first result
	// is a change again.
	r := ok(t0.Add(time.Minute))
	r.Target = targets[1]
	if _, cur, changed := s.Record(r, Options{}); !changed || cur.AvailabilitySamples != 1 {
		t.Errorf("re-added resource: changed %v, %d samples; want a fresh window", changed, cur.AvailabilitySamples)
	}
}

// TestStoreConcurrent is for the race detector: the daemon records while
// the HTTP server reads.
func TestStoreConcurrent(t *testing.T) {
	s := NewStore()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				r := ok(t0.Add(time.Duration(i) * time.Second))
				r.Resource = fmt.Sprintf("table-%d", g)
				s.Record(r, Options{})
				s.Snapshots(r.Start)
			}
		})
	}
	wg.Wait()
	for _, snap := range s.Snapshots(t0.Add(200 * time.Second)) {
		if snap.ErrorSamples != 200 {
			t.Errorf("%v: %d samples, want 200", snap.Target, snap.ErrorSamples)
		}
	}
}
