package health

import (
	"math"
	"slices"
	"time"

	"github.com/socmond/socmond/internal/probes"
)

// Options are a resource's windows and the settings of its alert
// conditions (docs/alerting.md, "Conditions"). Zero windows take the
// defaults; the other fields are used as given (a zero threshold, guard or
// clear_for means exactly that), so callers pass the resolved settings.
type Options struct {
	ErrorWindow        time.Duration // default 5m
	AvailabilityWindow time.Duration // default 1h

	// ErrorRateThreshold: the error ratio breaches above it.
	// AvailabilityThreshold: availability breaches below it.
	ErrorRateThreshold, AvailabilityThreshold float64
	// ErrorMinSamples and AvailabilityMinSamples are the low-traffic
	// guards: the fewest results a window must hold for its ratio to count.
	ErrorMinSamples, AvailabilityMinSamples int
	// ClearFor is how long each condition keeps counting as failing after
	// its last failing result, indexed by Kind.
	ClearFor [NumKinds]time.Duration
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

// Kind is what a result can count against: one kind per alert condition.
type Kind int

// The kinds, in the order of Snapshot.Conditions.
const (
	KindSlow        Kind = iota // a slow success: the slow-response condition
	KindError                   // an error (probes.Result.IsError): the high-error-rate condition
	KindUnavailable             // an UNAVAILABLE result: the low-availability condition
	KindBacklog                 // a result holding undelivered items (probes.ClassBacklog): the backlog condition
	NumKinds
)

// kindNames are the conditions' names: the keys of their rules under
// alerting.rules, and the condition label of socmond_service_failing.
var kindNames = [NumKinds]string{
	KindSlow: "slow_response", KindError: "high_error_rate", KindUnavailable: "low_availability", KindBacklog: "backlog",
}

// String is the condition's name, the key of its rule under alerting.rules.
func (k Kind) String() string {
	if k < 0 || k >= NumKinds {
		return "unknown"
	}
	return kindNames[k]
}

// Is reports whether r counts against k.
func (k Kind) Is(r probes.Result) bool {
	switch k {
	case KindSlow:
		return r.Class == probes.ClassSlow
	case KindError:
		return r.IsError()
	case KindUnavailable:
		return r.Status == probes.Unavailable
	case KindBacklog:
		return r.Class == probes.ClassBacklog
	}
	return false
}

// window is the look-back of k's confirmation: availability's for
// unavailable results, the error-rate window for the others.
func (o Options) window(k Kind) time.Duration {
	if k == KindUnavailable {
		return o.AvailabilityWindow
	}
	return o.ErrorWindow
}

// failing is the part of a condition that says the resource is failing
// now: the latest result counts against the kind and another one in the
// window did too (confirmed: one failed call is never a page), or that was
// so at a result less than clear_for ago (so alternating failure and
// success stays one episode). It keeps three times, as Unix nanoseconds
// (0: none) to keep a Window small.
type failing struct {
	last, prev int64 // starts of the newest two results of the kind
	confirmed  int64 // start of the newest result at which it was confirmed
}

func (f *failing) add(r probes.Result, isKind bool, window time.Duration) {
	if !isKind {
		return
	}
	at := r.Start.UnixNano()
	f.prev, f.last = f.last, at
	if f.prev != 0 && f.prev > at-int64(window) {
		f.confirmed = at
	}
}

// at reports whether the kind is failing as of latest, the start of the
// newest result: a condition changes only when a result arrives, so the
// status page, the metrics and the alerts, read at different moments, agree.
func (f *failing) at(latest time.Time, clearFor time.Duration) bool {
	if f.confirmed == 0 {
		return false
	}
	d := latest.UnixNano() - f.confirmed
	return d == 0 || (d > 0 && d < int64(clearFor))
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
	status      uint8 // statusCode of the status word at the latest result
	since       time.Time
	fails       [NumKinds]failing
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
func (w *Window) Add(r probes.Result) { w.add(r) }

// add is Add returning the brief snapshot at r.Start, which it computes
// anyway for the status word (Store.Record reuses it).
func (w *Window) add(r probes.Result) Snapshot {
	isErr := r.IsError()
	down := r.Status == probes.Unavailable
	w.errs.add(r.Start, isErr, down)
	w.avail.add(r.Start, isErr, down)
	for k := range NumKinds {
		w.fails[k].add(r, k.Is(r), w.opts.window(k))
	}

	w.last = r
	wasSeen := w.seen
	w.seen = true
	if r.Class != probes.ClassNone {
		w.failed = true
		w.lastFailure = r
	}
	b := w.core(r.Start)
	if st := statusCode(b.Status); !wasSeen || st != w.status {
		w.since = r.Start
		b.Since = r.Start
		w.status = st
	}

	w.histStart[w.histNext] = unixNano(r.Start)
	w.histStatus[w.histNext] = statusCode(r.Status)
	w.histNext = (w.histNext + 1) % HistoryLen
	w.histLen = min(w.histLen+1, HistoryLen)

	w.durs[w.dursNext] = r.Duration
	w.dursNext = (w.dursNext + 1) % p95Len
	w.dursLen = min(w.dursLen+1, p95Len)
	return b
}

// SetOptions changes the window lengths (config reload) and keeps the
// samples, as far as the old windows held them (see rebuild): lengthening
// the error window fills it from the availability window's coarser buckets.
func (w *Window) SetOptions(o Options) {
	o = o.withDefaults()
	if o == w.opts {
		return
	}
	old := w.opts
	w.opts = o
	if o.ErrorWindow == old.ErrorWindow && o.AvailabilityWindow == old.AvailabilityWindow {
		return // only the conditions' settings changed
	}
	errs := rebuild(o.ErrorWindow, &w.errs, &w.avail)
	avail := rebuild(o.AvailabilityWindow, &w.errs, &w.avail)
	w.errs, w.avail = errs, avail
}

// Snapshot returns the health at now. Windows are half-open, (now−W, now]:
// a sample taken exactly W ago has just left, one taken at now is in.
func (w *Window) Snapshot(now time.Time) Snapshot { return w.full(w.brief(now)) }

// full adds LastFailure, P95 and History to a core snapshot.
func (w *Window) full(s Snapshot) Snapshot {
	if !w.seen {
		return s
	}
	w.addLastFailure(&s)
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
	s := w.core(now)
	w.addLastFailure(&s)
	return s
}

func (w *Window) addLastFailure(s *Snapshot) {
	if w.failed && s.LastFailure == nil {
		f := w.lastFailure
		s.LastFailure = &f
	}
}

// core is brief without LastFailure, whose copy escapes: what Add needs to
// derive the status word, without an allocation.
func (w *Window) core(now time.Time) Snapshot {
	s := Snapshot{
		Target:       w.target,
		Since:        w.since,
		Availability: 1,
	}
	if !w.seen {
		return s
	}
	s.Last = w.last

	if c := w.errs.sum(now); c.total > 0 {
		s.ErrorSamples = c.total
		s.ErrorRatio = float64(c.errors) / float64(c.total)
	}
	if c := w.avail.sum(now); c.total > 0 {
		s.AvailabilitySamples = c.total
		s.Availability = float64(c.total-c.unavailable) / float64(c.total)
	}
	o := &w.opts
	s.ErrorMinSamples, s.AvailabilityMinSamples = o.ErrorMinSamples, o.AvailabilityMinSamples
	var f [NumKinds]bool
	for k := range NumKinds {
		f[k] = w.fails[k].at(w.last.Start, o.ClearFor[k])
	}
	s.Conditions = [NumKinds]Condition{
		KindSlow: {Failing: f[KindSlow], Active: f[KindSlow]},
		KindError: {Failing: f[KindError], Active: f[KindError] &&
			s.ErrorSamples > 0 && s.ErrorSamples >= o.ErrorMinSamples && s.ErrorRatio > o.ErrorRateThreshold},
		KindUnavailable: {Failing: f[KindUnavailable], Active: f[KindUnavailable] &&
			s.AvailabilitySamples > 0 && s.AvailabilitySamples >= o.AvailabilityMinSamples && s.Availability < o.AvailabilityThreshold},
		// A backlog is no ratio: two results in the window that found one,
		// the latest among them, are the condition.
		KindBacklog: {Failing: f[KindBacklog], Active: f[KindBacklog]},
	}
	s.Status = derivedStatus(w.last.Status, s.Conditions)
	return s
}

// derivedStatus is the status word (docs/alerting.md, "Status"): the
// latest result's status, made worse by the conditions in force, so the
// word never says HEALTHY while an alert on the resource is active.
func derivedStatus(latest probes.Status, c [NumKinds]Condition) probes.Status {
	st := latest
	if (c[KindSlow].Active || c[KindError].Active || c[KindBacklog].Active) && st == probes.Healthy {
		st = probes.Degraded
	}
	if c[KindUnavailable].Active {
		st = probes.Unavailable
	}
	return st
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
