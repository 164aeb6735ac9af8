package scheduler

import "time"

// A run waits for up to three slots: one of its group's in its partition,
// then (when it has a partition) one of its partition's, then a global one
// — in that order, so runs of a hanging group or partition queue there
// without holding the slots of the levels above. Groups are counted per
// partition: with one service's runs hanging in one region, that service's
// runs elsewhere still have their own group slots, and the hanging region
// holds at most MaxPerPartition global slots. Waiting runs are plain
// values in FIFO queues, not goroutines: at start-up every key is run once
// at the same moment, and with 10,000 keys a goroutine per waiting run was
// 10,000 parked stacks for the few dozen that can run at once. A run's
// goroutine is started only when it holds all of its slots. Everything
// here is guarded by Scheduler.mu.

// pending is a run that was dispatched but has not started.
type pending struct {
	job     Job
	planned time.Time
}

// groupKey names a group's slots: its own in each partition.
type groupKey struct{ partition, group string }

// groupSlots is one concurrency group's state in one partition.
type groupSlots struct {
	running int           // runs holding one of the group's slots, started or waiting for another slot
	waiting fifo[pending] // runs waiting for a group slot
}

// partitionSlots is one partition's state.
type partitionSlots struct {
	running int           // runs holding one of the partition's slots, started or waiting for a global one
	waiting fifo[pending] // runs holding their group slot, waiting for a partition slot
}

// fifo is a first-in, first-out queue. It reuses its backing array, and
// lets a large one go once empty, so a burst of runs costs memory only
// while it waits.
type fifo[T any] struct {
	items []T
	head  int
}

func (q *fifo[T]) len() int { return len(q.items) - q.head }

func (q *fifo[T]) push(v T) {
	// Slide the live items down when the dead prefix is the larger part,
	// so that a queue that never quite drains does not grow without bound.
	if q.head > 0 && q.head >= len(q.items)/2 {
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	q.items = append(q.items, v)
}

// pop moves the oldest item into v. It works through a pointer rather
// than returning the item so that the frames on a run's release path stay
// within a new goroutine's first stack.
func (q *fifo[T]) pop(v *T) bool {
	if q.len() == 0 {
		return false
	}
	*v = q.items[q.head]
	var zero T
	q.items[q.head] = zero // drop the reference for the garbage collector
	q.head++
	if q.head == len(q.items) {
		// Empty: keep a small array for the next run, let a burst's go.
		q.items, q.head = q.items[:0], 0
		if cap(q.items) > 1024 {
			q.items = nil
		}
	}
	return true
}

// admitLocked queues p for its slots and starts it if all are free.
func (s *Scheduler) admitLocked(p pending) {
	k := groupKey{p.job.Partition, p.job.Group}
	g := s.groups[k]
	if g == nil {
		g = &groupSlots{}
		s.groups[k] = g
	}
	if g.running >= s.opts.MaxPerGroup {
		g.waiting.push(p)
		return
	}
	g.running++
	s.enterPartitionLocked(p)
	s.startReadyLocked()
}

// enterPartitionLocked takes p, which holds its group slot, to the global
// queue if its partition has a slot for it (or it has no partition), else
// queues it on its partition.
func (s *Scheduler) enterPartitionLocked(p pending) {
	if p.job.Partition == "" {
		s.ready.push(p)
		return
	}
	ps := s.partitions[p.job.Partition]
	if ps == nil {
		ps = &partitionSlots{}
		s.partitions[p.job.Partition] = ps
	}
	if ps.running >= s.opts.MaxPerPartition {
		ps.waiting.push(p)
		return
	}
	ps.running++
	s.ready.push(p)
}

// startReadyLocked starts the runs that hold their group and partition
// slots, in the order they got them, while global slots are free.
func (s *Scheduler) startReadyLocked() {
	var p pending
	for s.running < s.opts.MaxConcurrent && s.ready.pop(&p) {
		s.running++
		s.inflight.Add(1)
		go s.run(p)
	}
}

// releaseLocked gives back the slots of a run that ended and hands them to
// the runs waiting for them, unless the scheduler is stopped.
func (s *Scheduler) releaseLocked(p pending) {
	delete(s.busy, p.job.Key)
	s.running--
	g := s.groups[groupKey{p.job.Partition, p.job.Group}]
	g.running--
	var ps *partitionSlots
	if p.job.Partition != "" {
		ps = s.partitions[p.job.Partition]
		ps.running--
	}
	if s.stopped {
		return
	}
	var next pending
	// The partition's slot first, to a run already holding its group
	// slot; then the group's slot, whose run may wait for the partition.
	if ps != nil && ps.waiting.pop(&next) {
		ps.running++
		s.ready.push(next)
	}
	if g.waiting.pop(&next) {
		g.running++
		s.enterPartitionLocked(next)
	}
	s.startReadyLocked()
}

// dropWaitingLocked forgets every run that has not started (Stop).
func (s *Scheduler) dropWaitingLocked() {
	var p pending
	for s.ready.pop(&p) {
		s.groups[groupKey{p.job.Partition, p.job.Group}].running--
		if p.job.Partition != "" {
			s.partitions[p.job.Partition].running--
		}
		delete(s.busy, p.job.Key)
	}
	for _, ps := range s.partitions {
		for ps.waiting.pop(&p) {
			s.groups[groupKey{p.job.Partition, p.job.Group}].running--
			delete(s.busy, p.job.Key)
		}
	}
	for _, g := range s.groups {
		for g.waiting.pop(&p) {
			delete(s.busy, p.job.Key)
		}
	}
}
