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

type bucket struct {
	idx int64 // which bucket of time this slot currently holds
	counts
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
type ring struct {
	width   time.Duration
	buckets [nBuckets]bucket
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
	b := &r.buckets[slot(idx)]
	if b.idx != idx {
		if b.idx > idx && b.total > 0 {
			return // the slot already holds newer time: this sample is out of every window
		}
		*b = bucket{idx: idx}
	}
	b.total += c.total
	b.errors += c.errors
	b.unavailable += c.unavailable
}

// sum adds up the buckets in the window ending at now.
func (r *ring) sum(now time.Time) counts {
	last := r.index(now)
	var c counts
	for _, b := range r.buckets {
		if b.total > 0 && b.idx > last-nBuckets && b.idx <= last {
			c.total += b.total
			c.errors += b.errors
			c.unavailable += b.unavailable
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
	for _, b := range coarse.buckets {
		if end := (b.idx + 1) * int64(coarse.width); b.total > 0 && end <= coverStart {
			out.addCounts(out.index(time.Unix(0, end)), b.counts)
		}
	}
	for _, b := range fine.buckets {
		if b.total > 0 && b.idx > latest-nBuckets {
			end := (b.idx + 1) * int64(fine.width)
			out.addCounts(out.index(time.Unix(0, end)), b.counts)
		}
	}
	return out
}

// latest returns the index of the newest bucket holding data.
func (r *ring) latest() (int64, bool) {
	var idx int64
	found := false
	for _, b := range r.buckets {
		if b.total > 0 && (!found || b.idx > idx) {
			idx, found = b.idx, true
		}
	}
	return idx, found
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
