package metrics

import (
	"cmp"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/socmond/socmond/internal/health"
	"github.com/socmond/socmond/internal/probes"
)

// The per-resource families, 33 series per resource (66,000 at 2,000
// resources; a dead-letter queue has one more), are written by socmond itself in the Prometheus text format
// (text/plain; version=0.0.4), straight from the series state into one
// buffer. Through client_golang's registry each series cost a protobuf
// message, a hash of its labels to check it was unique and a pass through
// expfmt's generic encoder, which kept a scrape of 2,000 resources above
// 100 ms. Here a line is constant text (the name, the label pairs escaped
// once per resource, the other label pair) and a number. The text is the one
// the registry wrote, byte for byte: TestExpositionMatchesRegistry pins it.

// targetFamily is one per-resource family.
type targetFamily struct {
	name, help, typ string
	labels          []string // label names besides resource and service
	head            string   // the HELP and TYPE lines
	// write writes the family's series, in the order the registry sorts
	// them into (by label values, labels by name).
	write func(e *expoWriter, sc *scrape)
}

// targetFamilies are in name order, the order of the exposition: the
// handler interleaves them with the registry's families, sorted the same way.
var targetFamilies = []targetFamily{
	histogramFamily("socmond_probe_duration_seconds",
		"Response time of each probe run: the AWS call on the wire, request written to the last byte of the answer (docs/alerting.md)."),
	perTargetFamily("socmond_probe_errors_total", "counter",
		"Probe runs that count as errors: the call failed or was throttled, or the resource cannot serve (docs/alerting.md).",
		func(r *reading) float64 { return float64(r.errors) }),
	byClassFamily("socmond_probe_failures_total", "counter",
		"Probe runs that did not come back healthy, by failure class (slow is a class of its own).",
		func(r *reading, class int) float64 { return float64(r.failures[class]) }),
	perTargetFamily("socmond_probe_panics_total", "counter", "Probe runs that panicked and were recovered by the scheduler.",
		func(r *reading) float64 { return float64(r.panics) }),
	byStatusFamily("socmond_probes_total", "counter", "Probe runs by resulting status (healthy, degraded, unavailable).",
		func(r *reading, status int) float64 { return float64(r.probes[status]) }),
	perTargetFamily("socmond_scheduler_skipped_total", "counter",
		"Scheduled probe runs skipped because the previous run of the same probe was still going.",
		func(r *reading) float64 { return float64(r.skipped) }),
	perTargetFamily("socmond_service_availability_ratio", "gauge",
		"Share of probe runs in the availability window that were not unavailable (0 to 1).",
		func(r *reading) float64 { return r.availability }),
	perTargetFamily("socmond_service_availability_ratio_threshold", "gauge",
		"The resource's availability threshold: availability below it breaches (thresholds.availability).",
		func(r *reading) float64 { return r.conditions.availThreshold }),
	perTargetFamily("socmond_service_availability_samples", "gauge",
		"Probe runs in the availability window, which socmond_service_availability_ratio is computed from.",
		func(r *reading) float64 { return r.conditions.availSamples }),
	perTargetFamily("socmond_service_availability_samples_min", "gauge",
		"Low-traffic guard: the fewest runs the availability window must hold for its ratio to page (alerting.min_sample_ratio of what the schedule should give).",
		func(r *reading) float64 { return r.conditions.availMin }),
	optionalTargetFamily("socmond_service_backlog", "gauge",
		"Items the resource held at its latest probe that read them and that the pipeline could not deliver: the messages in a dead-letter queue. Only for resources whose probe reads one.",
		func(r *reading) (float64, bool) { return r.backlog, r.hasBacklog }),
	perTargetFamily("socmond_service_error_ratio", "gauge",
		"Share of probe runs in the error-rate window that were errors (0 to 1).",
		func(r *reading) float64 { return r.errorRatio }),
	perTargetFamily("socmond_service_error_ratio_threshold", "gauge",
		"The resource's error-rate threshold: an error ratio above it breaches (thresholds.error_rate).",
		func(r *reading) float64 { return r.conditions.errThreshold }),
	perTargetFamily("socmond_service_error_samples", "gauge",
		"Probe runs in the error-rate window, which socmond_service_error_ratio is computed from.",
		func(r *reading) float64 { return r.conditions.errSamples }),
	perTargetFamily("socmond_service_error_samples_min", "gauge",
		"Low-traffic guard: the fewest runs the error-rate window must hold for its ratio to page (alerting.min_sample_ratio of what the schedule should give).",
		func(r *reading) float64 { return r.conditions.errMin }),
	byConditionFamily("socmond_service_failing", "gauge",
		"1 while the resource is failing by the condition: its latest run and another in the window counted against it, or did so less than clear_for ago (docs/alerting.md).",
		func(r *reading, i int) float64 { return b2f(r.conditions.failing[i]) }),
	perTargetFamily("socmond_service_response_time_threshold_seconds", "gauge",
		"The resource's response-time threshold: a successful run slower than it is slow (thresholds.response_time).",
		func(r *reading) float64 { return r.conditions.rtThreshold }),
	byStatusFamily("socmond_service_status", "gauge", "Current status of a resource: 1 for the status it is in, 0 for the others.",
		func(r *reading, status int) float64 { return b2f(r.status == status) }),
}

// perTargetFamily has one series per target, labelled resource and service.
func perTargetFamily(name, typ, help string, value func(*reading) float64) targetFamily {
	return optionalTargetFamily(name, typ, help, func(r *reading) (float64, bool) { return value(r), true })
}

// optionalTargetFamily is a perTargetFamily whose series only some
// targets have: value's ok says whether this one does.
func optionalTargetFamily(name, typ, help string, value func(*reading) (float64, bool)) targetFamily {
	prefix := name + "{"
	return newFamily(name, typ, help, nil, func(e *expoWriter, sc *scrape) {
		for i, s := range sc.list {
			if v, ok := value(&sc.reads[i]); ok {
				e.line(prefix, s.labels, "} ", v)
			}
		}
	})
}

// byStatusFamily has a series per target and status: labels resource,
// service, status (and account, region before them, tenant after them,
// placed), so targets in order and statuses by name within each; placed
// targets that differ only in tenant take each status in turn.
func byStatusFamily(name, typ, help string, value func(r *reading, status int) float64) targetFamily {
	prefix := name + "{"
	statuses := make([]string, len(statusOrder))
	for i, st := range statusOrder {
		statuses[i] = labelText("status", string(probes.Statuses[st]))
	}
	sameHead := func(a, b *series) bool {
		return a.account == b.account && a.region == b.region && a.resource == b.resource && a.service == b.service
	}
	return newFamily(name, typ, help, []string{"status"}, func(e *expoWriter, sc *scrape) {
		sc.eachRun(sameHead, len(statusOrder), func(k, j int) {
			s := sc.list[k]
			e.line5(prefix, s.head, statuses[j], s.tail, "} ", value(&sc.reads[k], statusOrder[j]))
		})
	})
}

// byLabelFamily has a series per target and value of its own label, which
// sorts first among resource and service and after account placed: so
// values by name and targets in order within each, the placed targets of
// each account after the unplaced ones.
func byLabelFamily(name, typ, help, label string, values []string, order []int, value func(r *reading, i int) float64) targetFamily {
	prefix := name + "{"
	pairs := make([]string, len(order))
	for i, v := range order {
		pairs[i] = labelText(label, values[v])
	}
	sameAccount := func(a, b *series) bool { return a.placed == b.placed && a.account == b.account }
	return newFamily(name, typ, help, []string{label}, func(e *expoWriter, sc *scrape) {
		sc.eachRun(sameAccount, len(order), func(k, j int) {
			s := sc.list[k]
			e.line5(prefix, s.pre, pairs[j], s.post, "} ", value(&sc.reads[k], order[j]))
		})
	})
}

// byClassFamily has a series per target and failure class: labels class,
// resource, service (and account, region, tenant placed).
func byClassFamily(name, typ, help string, value func(r *reading, class int) float64) targetFamily {
	classes := make([]string, len(probes.Classes))
	for i, c := range probes.Classes {
		classes[i] = string(c)
	}
	return byLabelFamily(name, typ, help, "class", classes, classOrder, value)
}

// byConditionFamily has a series per target and alert condition: labels
// condition, resource, service (and account, region, tenant placed).
func byConditionFamily(name, typ, help string, value func(r *reading, condition int) float64) targetFamily {
	return byLabelFamily(name, typ, help, "condition", conditionNames[:], conditionOrder, value)
}

// eachRun calls write(k, j) for each run of series in sc.list that same
// says are alike, in order: for each of n label values j, each series k
// of the run. That is the registry's order when the family's own label
// sorts after the labels same compares and before the others.
func (sc *scrape) eachRun(same func(a, b *series) bool, n int, write func(k, j int)) {
	for i := 0; i < len(sc.list); {
		end := i + 1
		for end < len(sc.list) && same(sc.list[i], sc.list[end]) {
			end++
		}
		for j := range n {
			for k := i; k < end; k++ {
				write(k, j)
			}
		}
		i = end
	}
}

// conditionNames are the condition label values, the names of the
// health.Kinds (the rule keys of alerting.rules), indexed by kind.
var (
	conditionNames = func() (n [health.NumKinds]string) {
		for k := range health.NumKinds {
			n[k] = k.String()
		}
		return n
	}()
	conditionOrder = byValue(conditionNames[:])
)

// histogramFamily is the per-target duration histogram: cumulative buckets
// with le last among the labels, +Inf from the count, then _sum and _count,
// as expfmt writes a histogram.
func histogramFamily(name, help string) targetFamily {
	bucket, sum, count := name+"_bucket{", name+"_sum{", name+"_count{"
	les := make([]string, len(DurationBuckets))
	for i, le := range DurationBuckets {
		les[i] = `,le="` + string(appendFloat(nil, le)) + `"} `
	}
	const inf = `,le="+Inf"} `
	return newFamily(name, "histogram", help, nil, func(e *expoWriter, sc *scrape) {
		for i, s := range sc.list {
			r := &sc.reads[i]
			var cum uint64
			for j := range DurationBuckets {
				cum += r.buckets[j]
				e.line(bucket, s.labels, les[j], float64(cum))
			}
			e.line(bucket, s.labels, inf, float64(r.count))
			e.line(sum, s.labels, "} ", r.sum)
			e.line(count, s.labels, "} ", float64(r.count))
		}
	})
}

// newFamily completes a targetFamily with its HELP and TYPE lines.
func newFamily(name, typ, help string, labels []string, write func(e *expoWriter, sc *scrape)) targetFamily {
	head := "# HELP " + name + " " + helpEscaper.Replace(help) + "\n# TYPE " + name + " " + typ + "\n"
	return targetFamily{name: name, typ: typ, help: help, labels: labels, head: head, write: write}
}

// reservedNames is a collector for the registry that describes the
// per-resource families and collects nothing: registering another collector
// that would export one of their names fails, as it did when they were the
// registry's own.
type reservedNames []*prometheus.Desc

func newReservedNames() reservedNames {
	var r reservedNames
	for _, f := range targetFamilies {
		labels := append(slices.Clone(f.labels), "resource", "service")
		r = append(r, prometheus.NewDesc(f.name, f.help, labels, nil))
	}
	return r
}

func (r reservedNames) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range r {
		ch <- d
	}
}

func (reservedNames) Collect(chan<- prometheus.Metric) {}

// scrape is one exposition's copy of the per-resource state and its output
// buffer, pooled: at 2,000 resources they are about 0.7 MB a scrape.
type scrape struct {
	list   []*series
	reads  []reading
	counts []uint64 // backs every reading's probes, failures and buckets
	buf    []byte
}

// reading is one target's numbers as read at scrape time.
type reading struct {
	probes, failures, buckets []uint64
	sum                       float64
	count                     uint64
	status                    int
	errorRatio, availability  float64
	skipped, panics, errors   uint64
	conditions                conditionState
	backlog                   float64
	hasBacklog                bool
}

var scrapePool = sync.Pool{New: func() any { return &scrape{buf: make([]byte, 0, chunkSize+4<<10)} }}

// read copies the state of every target into sc, ordered by resource then
// service (their label values, in the order the registry sorted series). A
// series is locked only for its copy, so a scrape holds up a probe no longer
// than that.
func (m *Metrics) read(sc *scrape) {
	m.mu.RLock()
	sc.list = sc.list[:0]
	for _, s := range m.targets {
		sc.list = append(sc.list, s)
	}
	m.mu.RUnlock()
	// The registry put series with fewer labels first (unplaced before
	// placed), then sorted by label values, labels by name.
	slices.SortFunc(sc.list, func(a, b *series) int {
		if a.placed != b.placed {
			if a.placed {
				return 1
			}
			return -1
		}
		if c := cmp.Or(strings.Compare(a.account, b.account), strings.Compare(a.region, b.region),
			strings.Compare(a.resource, b.resource), strings.Compare(a.service, b.service),
			strings.Compare(a.tenant, b.tenant)); c != 0 {
			return c
		}
		// Equal label values come only from names that differ in invalid
		// UTF-8; which of them is exported must not depend on map order.
		return cmp.Or(strings.Compare(a.target.Account, b.target.Account), strings.Compare(a.target.Region, b.target.Region),
			strings.Compare(a.target.Resource, b.target.Resource), strings.Compare(a.target.Service, b.target.Service),
			strings.Compare(a.target.Tenant, b.target.Tenant))
	})
	// Two series with the same labels would be a duplicate, which the
	// registry refused; the first is kept.
	sc.list = slices.CompactFunc(sc.list, func(a, b *series) bool {
		return a.resource == b.resource && a.service == b.service && a.placed == b.placed &&
			a.account == b.account && a.region == b.region && a.tenant == b.tenant
	})

	n := len(sc.list)
	ns, nc, nb := len(probes.Statuses), len(probes.Classes), len(DurationBuckets)+1
	stride := ns + nc + nb
	sc.counts = slices.Grow(sc.counts[:0], n*stride)[:n*stride]
	sc.reads = slices.Grow(sc.reads[:0], n)[:n]
	for i, s := range sc.list {
		c := sc.counts[i*stride : (i+1)*stride]
		r := &sc.reads[i]
		r.probes, r.failures, r.buckets = c[:ns], c[ns:ns+nc], c[ns+nc:]
		s.mu.Lock()
		copy(r.probes, s.probes)
		copy(r.failures, s.failures)
		copy(r.buckets, s.buckets)
		r.sum, r.count, r.status = s.sum, s.count, s.status
		r.errorRatio, r.availability = s.errorRatio, s.availability
		r.skipped, r.panics, r.errors = s.skipped, s.panics, s.errors
		r.conditions = s.conditions
		r.backlog, r.hasBacklog = s.backlog, s.hasBacklog
		s.mu.Unlock()
	}
}

// release returns sc to the pool without the series it pointed to, so that
// a forgotten target is not kept alive by an idle buffer.
func (sc *scrape) release() {
	clear(sc.list)
	sc.list = sc.list[:0]
	scrapePool.Put(sc)
}

// statusOrder and classOrder are the indexes of probes.Statuses and
// probes.Classes sorted by label value, the order of the exposition.
var (
	statusOrder = byValue(probes.Statuses)
	classOrder  = byValue(probes.Classes)
)

func byValue[T ~string](values []T) []int {
	idx := make([]int, len(values))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return strings.Compare(string(values[a]), string(values[b])) })
	return idx
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// chunkSize is how much text expoWriter gathers before passing it on.
const chunkSize = 32 << 10

// expoWriter collects the exposition in buf and passes it on to w in chunks
// of about chunkSize bytes: gzip and the connection see few large writes, and
// each line is formatted in place rather than through a writer per value.
// It has the methods expfmt's text encoder looks for (WriteString,
// WriteByte, WriteRune), so the registry's families are written into the
// same buffer without a bufio.Writer of their own.
type expoWriter struct {
	buf []byte
	w   io.Writer
	err error // w's first error; what comes after it is dropped
}

// line writes prefix, labels, suffix, v and a newline.
func (e *expoWriter) line(prefix, labels, suffix string, v float64) {
	b := append(e.buf, prefix...)
	b = append(b, labels...)
	b = append(b, suffix...)
	b = appendFloat(b, v)
	e.buf = append(b, '\n')
	e.spill()
}

// line5 writes a, b, c, d, suffix, v and a newline.
func (e *expoWriter) line5(a, b, c, d, suffix string, v float64) {
	buf := append(e.buf, a...)
	buf = append(buf, b...)
	buf = append(buf, c...)
	buf = append(buf, d...)
	buf = append(buf, suffix...)
	buf = appendFloat(buf, v)
	e.buf = append(buf, '\n')
	e.spill()
}

// spill passes the buffer on once it holds a chunk.
func (e *expoWriter) spill() {
	if len(e.buf) >= chunkSize {
		e.flush()
	}
}

// flush passes on whatever the buffer holds.
func (e *expoWriter) flush() {
	if len(e.buf) > 0 && e.err == nil {
		_, e.err = e.w.Write(e.buf)
	}
	e.buf = e.buf[:0]
}

func (e *expoWriter) Write(p []byte) (int, error) {
	e.buf = append(e.buf, p...)
	e.spill()
	return len(p), e.err
}

func (e *expoWriter) WriteString(s string) (int, error) {
	e.buf = append(e.buf, s...)
	e.spill()
	return len(s), e.err
}

func (e *expoWriter) WriteByte(c byte) error {
	e.buf = append(e.buf, c)
	e.spill()
	return e.err
}

func (e *expoWriter) WriteRune(r rune) (int, error) {
	n := len(e.buf)
	e.buf = utf8.AppendRune(e.buf, r)
	n = len(e.buf) - n
	e.spill()
	return n, e.err
}

// appendFloat formats v as expfmt's text encoder does (its writeFloat):
// strconv's shortest 'g' form, which also spells +Inf, -Inf and NaN the way
// Prometheus reads them, and "0" for -0 as well. 0 and 1, most of the values
// here, skip strconv.
func appendFloat(b []byte, v float64) []byte {
	switch v {
	case 0:
		return append(b, '0')
	case 1:
		return append(b, '1')
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// The text format escapes backslash and newline in HELP, and the double
// quote as well in label values.
var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	valueEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

// labelText is name="value", escaped for the text format.
func labelText(name, value string) string {
	return name + `="` + valueEscaper.Replace(value) + `"`
}
