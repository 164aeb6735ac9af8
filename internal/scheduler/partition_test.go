package scheduler

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestHangingPartitionLeavesOthersTheirSlots: the runs of one partition
// (a region whose endpoints hang) are dispatched first and never finish;
// the other partitions' runs, dispatched after them, still all run, round
// after round, none skipped, while the hanging partitions hold no more than
// their bounds. Without the partition bound the hanging runs take every
// global slot and the others never start (recv's bound fails the test).
func TestHangingPartitionLeavesOthersTheirSlots(t *testing.T) {
	type batch struct {
		partition, group string
		n                int
	}
	tests := map[string]struct {
		opts   Options
		hung   []batch // dispatched first; they never finish
		others []batch // dispatched after the hung ones; must all run
		// holding is how many hung runs hold slots, per partition: the
		// rest wait for their partition's or their group's.
		holding map[string]int
	}{
		"one hung region, the same service elsewhere": {
			opts:    Options{MaxConcurrent: 4, MaxPerPartition: 2},
			hung:    []batch{{"eu-west-1", "dynamodb", 6}},
			others:  []batch{{"us-east-1", "dynamodb", 6}},
			holding: map[string]int{"eu-west-1": 2},
		},
		"the hung region's service at its group bound keeps only its own group slots": {
			opts:    Options{MaxConcurrent: 4, MaxPerGroup: 1, MaxPerPartition: 3},
			hung:    []batch{{"eu-west-1", "dynamodb", 6}},
			others:  []batch{{"us-east-1", "dynamodb", 6}},
			holding: map[string]int{"eu-west-1": 1},
		},
		"two hung regions each hold their share": {
			opts:    Options{MaxConcurrent: 6, MaxPerPartition: 2},
			hung:    []batch{{"eu-west-1", "s3", 3}, {"ap-south-1", "s3", 3}},
			others:  []batch{{"us-east-1", "s3", 4}, {"us-east-1", "sqs", 4}},
			holding: map[string]int{"eu-west-1": 2, "ap-south-1": 2},
		},
		"jobs without a partition beside a hung region": {
			opts:    Options{MaxConcurrent: 4, MaxPerPartition: 2},
			hung:    []batch{{"eu-west-1", "dynamodb", 6}},
			others:  []batch{{"", "dynamodb", 6}},
			holding: map[string]int{"eu-west-1": 2},
		},
		"the default bound is half the global one": {
			opts:    Options{MaxConcurrent: 6},
			hung:    []batch{{"eu-west-1", "lambda", 10}},
			others:  []batch{{"us-east-1", "lambda", 10}},
			holding: map[string]int{"eu-west-1": 3},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			release := make(chan struct{})
			defer close(release)
			var mu sync.Mutex
			skipped := map[string]int{}
			tc.opts.OnSkip = func(key string) {
				mu.Lock()
				skipped[key]++
				mu.Unlock()
			}
			s, clock := newTest(t, tc.opts)
			var hungKeys, otherKeys []string
			add := func(bs []batch, run func(context.Context)) (keys []string) {
				for _, b := range bs {
					for i := range b.n {
						k := fmt.Sprintf("%s/%s/%d", b.group, b.partition, i)
						mustAdd(t, s, Job{Key: k, Group: b.group, Partition: b.partition, Schedule: "@every 1m", Run: run})
						keys = append(keys, k)
					}
				}
				return keys
			}
			hungKeys = add(tc.hung, func(context.Context) { <-release })
			done := make(chan struct{}, 64)
			otherKeys = add(tc.others, func(context.Context) { done <- struct{}{} })
			s.Start()
			for _, k := range append(append([]string(nil), hungKeys...), otherKeys...) {
				if !s.RunNow(k) {
					t.Fatalf("RunNow(%s) refused", k)
				}
			}
			for range otherKeys {
				recv(t, done, "a run of another partition while one hangs")
			}
			s.mu.Lock()
			for p, want := range tc.holding {
				if got := s.partitions[p].running; got != want {
					t.Errorf("%s: %d hung runs hold slots, want %d", p, got, want)
				}
			}
			s.mu.Unlock()

			// The next round: every other key runs again, none skipped; the
			// hung keys are still going, so theirs are skipped.
			waitReleased(t, s, otherKeys)
			clock.Advance(time.Minute)
			for range otherKeys {
				recv(t, done, "a second-round run of another partition")
			}
			waitReleased(t, s, otherKeys)
			mu.Lock()
			defer mu.Unlock()
			for _, k := range otherKeys {
				if skipped[k] != 0 {
					t.Errorf("%s skipped %d times while another partition hung", k, skipped[k])
				}
			}
			for _, k := range hungKeys {
				if skipped[k] != 1 {
					t.Errorf("hung %s skipped %d times in the second round, want 1", k, skipped[k])
				}
			}
		})
	}
}

// waitReleased waits until no run of keys is going or waiting: a run's
// slots are given back just after its function returns.
func waitReleased(t *testing.T, s *Scheduler, keys []string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.mu.Lock()
		busy := ""
		for _, k := range keys {
			if s.busy[k] {
				busy = k
				break
			}
		}
		s.mu.Unlock()
		if busy == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never released its slots", busy)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestPartitionQueueOrder: runs over their partition's bound wait in the
// order they came and start as its slots free; jobs without a partition
// use every global slot.
func TestPartitionQueueOrder(t *testing.T) {
	t.Run("partitioned", func(t *testing.T) {
		started := make(chan string, 8)
		release := map[string]chan struct{}{}
		s, _ := newTest(t, Options{MaxConcurrent: 4, MaxPerPartition: 2, OnStart: func(k string, _, _ time.Time) { started <- k }})
		keys := []string{"a", "b", "c", "d"}
		for _, k := range keys {
			ch := make(chan struct{})
			release[k] = ch
			mustAdd(t, s, Job{Key: k, Group: "g", Partition: "p", Schedule: "@every 1m", Run: func(context.Context) { <-ch }})
		}
		s.Start()
		for _, k := range keys {
			s.RunNow(k)
		}
		first := map[string]bool{recv(t, started, "a first run"): true, recv(t, started, "a second run"): true}
		if !first["a"] || !first["b"] {
			t.Fatalf("started %v first, want a and b", first)
		}
		close(release["b"])
		if k := recv(t, started, "the run waiting first"); k != "c" {
			t.Errorf("%s started when b ended, want c (first in line)", k)
		}
		close(release["a"])
		if k := recv(t, started, "the last run"); k != "d" {
			t.Errorf("%s started when a ended, want d", k)
		}
		close(release["c"])
		close(release["d"])
	})
	t.Run("no partition", func(t *testing.T) {
		started := make(chan string, 8)
		release := make(chan struct{})
		defer close(release)
		s, _ := newTest(t, Options{MaxConcurrent: 4, MaxPerPartition: 1, OnStart: func(k string, _, _ time.Time) { started <- k }})
		for i := range 4 {
			mustAdd(t, s, Job{Key: fmt.Sprint(i), Group: "g", Schedule: "@every 1m", Run: func(context.Context) { <-release }})
		}
		s.Start()
		for i := range 4 {
			s.RunNow(fmt.Sprint(i))
		}
		for range 4 {
			recv(t, started, "one of four unpartitioned runs on four global slots")
		}
	})
}
