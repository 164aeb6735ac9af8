package health

import (
	"math"
	"time"
)

// nBuckets is how many buckets a window is cut into. 60 keeps the error
// made at the window's old edge (one bucket) under 2 % of the window.
const nBuckets = 60

// counts is what a bucket, or a whole window, holds.
type counts struct {
	total, errors, unavailable int
}

// ring counts results in fixed-width time buckets, so a resource probed
// every second costs the same memory as one probed hourly.
//
// Bucket b holds samples taken in (b·width, (b+1)·width] since the Unix
// epoch. The window at now is the nBuckets buckets ending with the one that
// holds now. When now falls on a bucket boundary that is exactly
// (now−W, now]; otherwise the old edge is rounded up to the next boundary,
// so a sample leaves the window up to one bucket width (W/60) early, but a
// sample older than W is never counted.
//
// The slots are parallel fixed arrays of 32-bit counters, and which bucket
// of time a slot holds follows from head (the slots hold the nBuckets
// buckets ending with head) instead of being stored per slot: every
// resource holds two rings, and at 10,000 resources the earlier layout
// (an int64 index and three ints per slot) was 38 MB of live heap.
type ring struct {
	width time.Duration
	head  int64 // the newest bucket added to; meaningful once used
	used  bool
	total [nBuckets]uint32
	errs  [nBuckets]uint32
	down  [nBuckets]uint32
}

func newRing(window time.Duration) ring {
	return ring{width: max(window/nBuckets, 1)}
}

func (r *ring) index(t time.Time) int64 {
	n := t.UnixNano() - 1
	i := n / int64(r.width)
	if n < 0 && n%int64(r.width) != 0 {
		i-- // floor before the epoch
	}
	return i
}

func slot(idx int64) int {
	return int((idx%nBuckets + nBuckets) % nBuckets)
}

func (r *ring) add(t time.Time, isErr, down bool) {
	r.addCounts(r.index(t), counts{total: 1, errors: b2i(isErr), unavailable: b2i(down)})
}

func (r *ring) addCounts(idx int64, c counts) {
	switch {
	case !r.used:
		r.head, r.used = idx, true
	case idx > r.head:
		// Time moved on: empty the slots of the buckets between the old
		// head and idx, which now stand for newer time.
		for k := r.head + 1; k <= idx && k <= r.head+nBuckets; k++ {
			i := slot(k)
			r.total[i], r.errs[i], r.down[i] = 0, 0, 0
		}
		r.head = idx
	case idx <= r.head-nBuckets:
		return // older than every slot: this sample is out of every window
	}
	i := slot(idx)
	r.total[i] = sat32(r.total[i], c.total)
	r.errs[i] = sat32(r.errs[i], c.errors)
	r.down[i] = sat32(r.down[i], c.unavailable)
}

// at returns the counts of slot i.
func (r *ring) at(i int) counts {
	return counts{total: int(r.total[i]), errors: int(r.errs[i]), unavailable: int(r.down[i])}
}

// idxOf is the bucket slot i holds: the one of the nBuckets ending with
// head that falls in it.
func (r *ring) idxOf(i int) int64 {
	return r.head - int64((slot(r.head)-i+nBuckets)%nBuckets)
}

// sum adds up the buckets in the window ending at now.
func (r *ring) sum(now time.Time) counts {
	last := r.index(now)
	var c counts
	for i := range nBuckets {
		if idx := r.idxOf(i); r.total[i] > 0 && idx > last-nBuckets && idx <= last {
			c.total += int(r.total[i])
			c.errors += int(r.errs[i])
			c.unavailable += int(r.down[i])
		}
	}
	return c
}

// rebuild makes a ring for a new window length from the two rings of the
// old configuration, which count the same results at different
// resolutions: fine (the shorter window) for the time it still covers,
// coarse for the time before that. Each old bucket lands in the new bucket
// that holds its end, so a sample may shift by up to one old bucket width;
// a coarse bucket straddling the start of fine's cover is dropped rather
// than counted twice.
func rebuild(window time.Duration, fine, coarse *ring) ring {
	if coarse.width < fine.width {
		fine, coarse = coarse, fine
	}
	out := newRing(window)
	latest, found := fine.latest()
	coverStart := int64(math.MaxInt64) // no fine data: take everything from coarse
	if found {
		coverStart = (latest - nBuckets + 1) * int64(fine.width)
	}
	for i := range nBuckets {
		idx := coarse.idxOf(i)
		if end := (idx + 1) * int64(coarse.width); coarse.total[i] > 0 && end <= coverStart {
			out.addCounts(out.index(time.Unix(0, end)), coarse.at(i))
		}
	}
	for i := range nBuckets {
		idx := fine.idxOf(i)
		if fine.total[i] > 0 && idx > latest-nBuckets {
			end := (idx + 1) * int64(fine.width)
			out.addCounts(out.index(time.Unix(0, end)), fine.at(i))
		}
	}
	return out
}

// latest returns the index of the newest bucket holding data: head, which
// is only ever set by adding to it.
func (r *ring) latest() (int64, bool) {
	return r.head, r.used
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// sat32 adds n to v, stopping at the largest uint32 rather than wrapping:
// a bucket would need four billion results to reach it.
func sat32(v uint32, n int) uint32 {
	if s := uint64(v) + uint64(n); s < math.MaxUint32 {
		return uint32(s)
	}
	return math.MaxUint32
}
