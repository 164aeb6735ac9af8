package scheduler

import (
	"hash/fnv"
	"time"

	"github.com/robfig/cron/v3"
)

// MaxStagger caps a job's start offset, so that an hourly job is spread over
// the first minute of its slot rather than delayed by up to an hour.
const MaxStagger = time.Minute

// Offset is the deterministic start offset of the job key on a schedule that
// fires every interval: a hash of the key, in whole milliseconds, in
// [0, min(interval, MaxStagger)). Like cloudprober's per-target jitter it
// keeps a key at the same phase across restarts, so its samples stay evenly
// spaced, while different keys spread over the interval.
func Offset(key string, interval time.Duration) time.Duration {
	span := min(interval, MaxStagger).Milliseconds()
	if span <= 0 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(key))
	return time.Duration(h.Sum64()%uint64(span)) * time.Millisecond
}

// interval estimates how often sched fires from two successive activations
// after from. Irregular cron specs get the gap that follows from; that is
// good enough because the offset is capped at MaxStagger anyway.
func interval(sched cron.Schedule, from time.Time) time.Duration {
	if every, ok := sched.(cron.ConstantDelaySchedule); ok {
		return every.Delay
	}
	n1 := sched.Next(from)
	if n1.IsZero() {
		return 0
	}
	n2 := sched.Next(n1)
	if n2.IsZero() {
		return 0
	}
	return n2.Sub(n1)
}

// staggered shifts a schedule by a fixed offset.
type staggered struct {
	inner cron.Schedule
	off   time.Duration
}

// Next for a cron spec is the inner activation shifted by the offset
// ("*/30 * * * * *" with offset 7.3s fires at :07.3 and :37.3). An @every
// schedule is relative to when it is asked, so shifting it would change
// nothing; it is instead laid on a grid anchored at the Unix epoch and
// shifted by the offset, which gives every key its own fixed phase.
func (s staggered) Next(t time.Time) time.Time {
	if every, ok := s.inner.(cron.ConstantDelaySchedule); ok && every.Delay > 0 {
		d := int64(every.Delay)
		n := t.UnixNano() - int64(s.off)
		k := n / d
		if n < 0 && n%d != 0 {
			k-- // floor division before the epoch
		}
		return time.Unix(0, (k+1)*d+int64(s.off)).In(t.Location())
	}
	next := s.inner.Next(t.Add(-s.off))
	if next.IsZero() {
		return next
	}
	return next.Add(s.off)
}
