package leader_test

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socmond/socmond/internal/leader"
)

// watch samples every elector's Term as singleton work does before each
// write, and keeps per term the first instant it was granted and the
// latest ValidUntil it was granted with: the span in which that replica
// could have written. Spans of different terms must never overlap: that is
// "no two writers in the same instant".
type watch struct {
	mu    sync.Mutex
	spans map[string]*span // by identity/token
	order []string
}

type span struct {
	who        string
	token      int64
	from, till time.Time
	ended      *atomic.Pointer[time.Time] // when the term's Done closed: writes under it are cancelled then
}

func startWatch(t *testing.T, electors map[string]leader.Elector) *watch {
	t.Helper()
	w := &watch{spans: map[string]*span{}}
	electors = maps.Clone(electors) // the test may remove the ones it stops
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			for who, e := range electors {
				now := time.Now()
				if term, ok := e.Term(); ok {
					w.seen(who, term, now)
				}
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return w
}

func (w *watch) seen(who string, term leader.Term, at time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	k := fmt.Sprintf("%s/%d", who, term.Token)
	s := w.spans[k]
	if s == nil {
		s = &span{who: who, token: term.Token, from: at, ended: &atomic.Pointer[time.Time]{}}
		w.spans[k] = s
		w.order = append(w.order, k)
		go func() { <-term.Done(); now := time.Now(); s.ended.CompareAndSwap(nil, &now) }()
	}
	if term.ValidUntil.After(s.till) {
		s.till = term.ValidUntil
	}
}

// check fails the test if two replicas' spans overlap, or a later term has
// a token no greater than an earlier one's. It returns the terms seen.
func (w *watch) check(t *testing.T) []span {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []span
	for _, k := range w.order {
		s := *w.spans[k]
		if e := s.ended.Load(); e != nil && e.Before(s.till) {
			s.till = *e
		}
		out = append(out, s)
	}
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			a, b := out[i], out[j]
			if a.who == b.who {
				continue
			}
			if a.from.Before(b.till) && b.from.Before(a.till) {
				t.Errorf("two writers at once: %s (token %d) could write %s–%s and %s (token %d) %s–%s",
					a.who, a.token, ts(a.from), ts(a.till), b.who, b.token, ts(b.from), ts(b.till))
			}
			if b.from.After(a.till) && b.token <= a.token {
				t.Errorf("fencing token did not grow: %s had %d, then %s got %d", a.who, a.token, b.who, b.token)
			}
		}
	}
	return out
}

func ts(t time.Time) string { return t.Format("15:04:05.000") }

// leaderOf returns who holds a valid term, waiting up to limit.
func leaderOf(t *testing.T, electors map[string]leader.Elector, limit time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		for who, e := range electors {
			if _, ok := e.Term(); ok {
				return who
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no replica leads within %s", limit)
	return ""
}
