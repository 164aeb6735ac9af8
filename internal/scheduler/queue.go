package scheduler

import "container/heap"

// queue orders the scheduled entries by their next firing time, so the
// loop finds the earliest one and the due ones without walking every entry:
// with 10,000 jobs each staggered to its own millisecond, a scan per wake-up
// cost more than the probes it started.
type queue []*entry

var _ heap.Interface = (*queue)(nil)

func (q queue) Len() int           { return len(q) }
func (q queue) Less(i, j int) bool { return q[i].next.Before(q[j].next) }

func (q queue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index = i
	q[j].index = j
}

func (q *queue) Push(x any) {
	e := x.(*entry)
	e.index = len(*q)
	*q = append(*q, e)
}

func (q *queue) Pop() any {
	old := *q
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	e.index = -1
	return e
}

// requeue puts e where its next firing time belongs: in the queue when it
// has one, out of it when it has none (not started, or a schedule that never
// fires again).
func (q *queue) requeue(e *entry) {
	switch {
	case e.next.IsZero() && e.index >= 0:
		heap.Remove(q, e.index)
	case e.next.IsZero():
	case e.index >= 0:
		heap.Fix(q, e.index)
	default:
		heap.Push(q, e)
	}
}

// remove takes e out of the queue if it is in it.
func (q *queue) remove(e *entry) {
	if e.index >= 0 {
		heap.Remove(q, e.index)
	}
}
