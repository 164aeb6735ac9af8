package health

import (
	"sort"
	"sync"
	"time"

	"github.com/socmond/socmond/internal/probes"
)

// Store holds the Window of every resource. It is safe for concurrent use:
// the daemon records into it while the HTTP server reads from it.
type Store struct {
	mu      sync.Mutex
	windows map[probes.Target]*Window
}

// NewStore returns an empty Store.
func NewStore() *Store {
	return &Store{windows: map[probes.Target]*Window{}}
}

// Record adds r to its resource's window, creating the window for a new
// resource and applying o if the window lengths changed. It returns the
// snapshots just before and just after, both taken at r.Start, and whether
// the status changed; the first result of a resource counts as a change.
// prev has no P95 or History: it is only there to compare and log the
// status, and computing them twice cost every probe a sort and an allocation.
func (s *Store) Record(r probes.Result, o Options) (prev, cur Snapshot, changed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, ok := s.windows[r.Target]
	if !ok {
		w = NewWindow(r.Target, o)
		s.windows[r.Target] = w
	} else {
		w.SetOptions(o)
	}
	prev = w.brief(r.Start)
	cur = w.full(w.add(r))
	return prev, cur, !ok || prev.Status != cur.Status
}

// Snapshot returns the health of t at now, and false if t has no results.
func (s *Store) Snapshot(t probes.Target, now time.Time) (Snapshot, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, ok := s.windows[t]
	if !ok {
		return Snapshot{}, false
	}
	return w.Snapshot(now), true
}

// Snapshots returns the health of every resource at now, sorted by service
// then resource.
func (s *Store) Snapshots(now time.Time) []Snapshot {
	s.mu.Lock()
	out := make([]Snapshot, 0, len(s.windows))
	for _, w := range s.windows {
		out = append(out, w.Snapshot(now))
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Service != out[j].Service {
			return out[i].Service < out[j].Service
		}
		return out[i].Resource < out[j].Resource
	})
	return out
}

// Retain drops the windows of resources not in keep (config reload), so a
// removed resource stops being reported.
func (s *Store) Retain(keep map[probes.Target]bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for t := range s.windows {
		if !keep[t] {
			delete(s.windows, t)
		}
	}
}
