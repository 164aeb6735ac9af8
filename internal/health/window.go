package health

import (
	"math"
	"slices"
	"time"

	"github.com/socmond/socmond/internal/probes"
)

// Options sets the lengths of the windows. Zero fields take the defaults.
type Options struct {
	ErrorWindow        time.Duration // default 5m
	AvailabilityWindow time.Duration // default 1h
}

// Default window lengths.
const (
	DefaultErrorWindow        = 5 * time.Minute
	DefaultAvailabilityWindow = time.Hour
)

func (o Options) withDefaults() Options {
	if o.ErrorWindow <= 0 {
		o.ErrorWindow = DefaultErrorWindow
	}
	if o.AvailabilityWindow <= 0 {
		o.AvailabilityWindow = DefaultAvailabilityWindow
	}
	return o
}

// p95Len is how many recent durations P95 is computed over.
const p95Len = 100

// Window is the health state of one resource. Its memory is fixed whatever
// the probe schedule: counts live in time buckets, and only the last
// HistoryLen points and p95Len durations are kept. A Window is not safe for
// concurrent use; Store adds the locking.
type Window struct {
	target probes.Target
	opts   Options
	errs   ring // over opts.ErrorWindow
	avail  ring // over opts.AvailabilityWindow

	seen        bool
	last        probes.Result
	since       time.Time
	failed      bool          // lastFailure holds a result
	lastFailure probes.Result // kept by value so Add never allocates

	// The history strip is stored column-wise and compactly (Unix
	// nanoseconds, a status code) instead of as Points, whose time.Time
	// and string status cost 48 bytes each; its durations are the newest
	// histLen entries of durs, which are kept anyway for P95.
	histStart  [HistoryLen]int64
	histStatus [HistoryLen]uint8 // see statusCode
	histLen    int
	histNext   int

	durs     [p95Len]time.Duration
	dursLen  int
	dursNext int
}

// NewWindow returns an empty Window for t.
func NewWindow(t probes.Target, o Options) *Window {
	o = o.withDefaults()
	return &Window{
		target: t,
		opts:   o,
		errs:   newRing(o.ErrorWindow),
		avail:  newRing(o.AvailabilityWindow),
	}
}

// Add records r, taking r.Start as its sample time. Results are expected in
// the order they were taken (the scheduler never overlaps two runs of one
// resource): the latest added is the current status.
func (w *Window) Add(r probes.Result) {
	isErr := r.IsError()
	down := r.Status == probes.Unavailable
	w.errs.add(r.Start, isErr, down)
	w.avail.add(r.Start, isErr, down)

	if !w.seen || r.Status != w.last.Status {
		w.since = r.Start
	}
	w.seen = true
	w.last = r
	if r.Class != probes.ClassNone {
		w.failed = true
		w.lastFailure = r
	}

	w.histStart[w.histNext] = unixNano(r.Start)
	w.histStatus[w.histNext] = statusCode(r.Status)
	w.histNext = (w.histNext + 1) % HistoryLen
	w.histLen = min(w.histLen+1, HistoryLen)

	w.durs[w.dursNext] = r.Duration
	w.dursNext = (w.dursNext + 1) % p95Len
	w.dursLen = min(w.dursLen+1, p95Len)
}

// SetOptions changes the window lengths (config reload) and keeps the
// samples, as far as the old windows held them (see rebuild): lengthening
// the error window fills it from the availability window's coarser buckets.
func (w *Window) SetOptions(o Options) {
	o = o.withDefaults()
	if o == w.opts {
		return
	}
	w.opts = o
	errs := rebuild(o.ErrorWindow, &w.errs, &w.avail)
	avail := rebuild(o.AvailabilityWindow, &w.errs, &w.avail)
	w.errs, w.avail = errs, avail
}

// Snapshot returns the health at now. Windows are half-open, (now−W, now]:
// a sample taken exactly W ago has just left, one taken at now is in.
func (w *Window) Snapshot(now time.Time) Snapshot {
	s := w.brief(now)
	if !w.seen {
		return s
	}
	s.P95 = p95(w.durs[:w.dursLen])

	s.History = make([]Point, 0, w.histLen)
	first := (w.histNext - w.histLen + HistoryLen) % HistoryLen
	firstDur := (w.dursNext - w.histLen + p95Len) % p95Len
	for i := range w.histLen {
		h := (first + i) % HistoryLen
		s.History = append(s.History, Point{
			Start:    fromUnixNano(w.histStart[h]),
			Status:   statusOf(w.histStatus[h]),
			Duration: w.durs[(firstDur+i)%p95Len],
		})
	}
	return s
}

// brief is Snapshot without P95 and History, the two parts that cost a
// sort and an allocation: enough to tell whether a result changed the status.
func (w *Window) brief(now time.Time) Snapshot {
	s := Snapshot{
		Target:       w.target,
		Status:       w.last.Status,
		Since:        w.since,
		Availability: 1,
	}
	if !w.seen {
		return s
	}
	s.Last = w.last
	if w.failed {
		f := w.lastFailure
		s.LastFailure = &f
	}

	if c := w.errs.sum(now); c.total > 0 {
		s.ErrorSamples = c.total
		s.ErrorRatio = float64(c.errors) / float64(c.total)
	}
	if c := w.avail.sum(now); c.total > 0 {
		s.AvailabilitySamples = c.total
		s.Availability = float64(c.total-c.unavailable) / float64(c.total)
	}
	return s
}

// p95 is the nearest-rank 95th percentile: the smallest duration that at
// least 95 % of the samples do not exceed.
func p95(durs []time.Duration) time.Duration {
	if len(durs) == 0 {
		return 0
	}
	// Sorted in a copy on the stack: this runs for every probe result,
	// and a heap copy per result was a sixth of socmond's allocations.
	var buf [p95Len]time.Duration
	sorted := buf[:copy(buf[:], durs)]
	slices.Sort(sorted)
	rank := (95*len(sorted) + 99) / 100 // ceil(0.95 n), at least 1
	return sorted[rank-1]
}

// zeroTime stands for the zero time.Time, whose Unix nanoseconds do not fit
// in an int64.
const zeroTime = math.MinInt64

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return zeroTime
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == zeroTime {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// statusCode is st's position in probes.Statuses plus one; 0 stands for
// any other status (the empty one of a result that never classified).
func statusCode(st probes.Status) uint8 {
	for i, v := range probes.Statuses {
		if v == st {
			return uint8(i + 1)
		}
	}
	return 0
}

func statusOf(c uint8) probes.Status {
	if c == 0 || int(c) > len(probes.Statuses) {
		return ""
	}
	return probes.Statuses[c-1]
}
