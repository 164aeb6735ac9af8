// Package emf writes socmond's core series as CloudWatch Embedded Metric
// Format (EMF) lines: one JSON object per probe result and per compliance
// finding, which CloudWatch Logs turns into metrics when the lines reach it
// (the ECS awslogs driver sends a container's stdout there). It is how a
// deployment without Prometheus — ECS — graphs and alarms on what socmond
// sees; deploy/ecs/cloudwatch-alarms.yaml holds the alarms.
//
// Lines are formatted into a buffer under a mutex, without allocating, on
// the goroutine that produced the result, and written by Run's goroutine:
// a stalled stdout (a log driver in blocking mode that cannot reach
// CloudWatch) costs lines, counted and logged, never a probe.
package emf

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/rs/zerolog"

	"github.com/socmond/socmond/internal/compliance"
	"github.com/socmond/socmond/internal/probes"
)

// The metric names socmond emits: the contract with the CloudWatch alarms
// and dashboards built on them.
const (
	// MetricResponseTime is the response time, in milliseconds, of a call
	// that succeeded (as socmond_probe_duration_seconds measures it). A
	// result that is an error has none: a timeout would otherwise read as
	// a response as slow as its deadline, and fire the slow-response alarm
	// for what the error-rate alarm already covers.
	MetricResponseTime = "ResponseTime"
	// MetricError is 1 for a result that counts as an error
	// (docs/alerting.md), else 0: its average is the error ratio.
	MetricError = "Error"
	// MetricUnavailable is 1 for an UNAVAILABLE result, else 0: one minus
	// its average is the availability.
	MetricUnavailable = "Unavailable"
	// MetricComplianceFailure is 1 while a compliance check FAILs, else 0.
	// An UNKNOWN verdict repeats the last known one (as
	// socmond_compliance_check_passed does), so a check that cannot read
	// its facts neither raises nor clears an alarm.
	MetricComplianceFailure = "ComplianceFailure"
	// MetricBacklog is the items a resource holds that the pipeline could
	// not deliver (a dead-letter queue's messages), on the lines of the
	// resources whose probe reads one (probes.Result.Backlog).
	MetricBacklog = "Backlog"
)

// Metrics lists every metric name socmond emits.
var Metrics = []string{MetricResponseTime, MetricError, MetricUnavailable, MetricComplianceFailure, MetricBacklog}

// The dimensions. Each takes a bounded set of values: the configured
// resources, the compliance checks, the tenants, accounts and regions.
// A line of a tenant's pipeline's resource (probes.Place) has Account and
// Region too, and its pipeline's tenant: the same resource name in two
// accounts or regions is two metrics, as it is two resources. A line of
// the config-wide pipeline has neither, and the Tenant of the config.
const (
	DimService  = "Service"
	DimResource = "Resource"
	DimCheck    = "Check"
	DimTenant   = "Tenant"
	DimAccount  = "Account"
	DimRegion   = "Region"
)

// DefaultNamespace is the CloudWatch namespace the metrics go to.
const DefaultNamespace = "socmond"

// MaxBuffered bounds the lines waiting to be written: a few thousand lines,
// well over what one write takes when stdout is read at all.
const MaxBuffered = 1 << 20

// Writer formats EMF lines and writes them to its output.
type Writer struct {
	out io.Writer
	log zerolog.Logger

	// The directives of each kind of line, rendered once: [0] without a
	// place, [1] with one (Account and Region dimensions).
	probeHead, errorHead, backlogHead, complianceHead [2]string

	mu      sync.Mutex
	buf     []byte // lines not yet written
	tenant  string
	dropped int                 // lines dropped since the last write
	failing map[findingKey]bool // the last known verdict of each (check, resource, place)
	wake    chan struct{}       // signalled when buf stops being empty

	writeMu sync.Mutex // one write to out at a time (Run and Flush)
	spare   []byte     // the buffer being written, swapped with buf
}

// namespaceRe is what CloudWatch accepts as a custom namespace.
var namespaceRe = regexp.MustCompile(`^[0-9A-Za-z.\-_/#: ]{1,255}$`)

// CheckNamespace says why CloudWatch would refuse ns as the namespace of
// custom metrics (the AWS/ prefix is its own services'); nil if it takes it.
func CheckNamespace(ns string) error {
	if !namespaceRe.MatchString(ns) || strings.HasPrefix(ns, "AWS/") {
		return fmt.Errorf("%q: CloudWatch takes 1–255 of 0-9 A-Z a-z . - _ / # : and space, not starting with AWS/", ns)
	}
	return nil
}

// New returns a Writer of lines in namespace (DefaultNamespace when empty)
// for tenant. Run writes them to out.
func New(out io.Writer, namespace, tenant string, log zerolog.Logger) *Writer {
	if namespace == "" {
		namespace = DefaultNamespace
	}
	head := func(dims []string, metrics ...string) string {
		b := []byte(`{"_aws":{"CloudWatchMetrics":[{"Namespace":`)
		b = appendString(b, namespace)
		b = append(b, `,"Dimensions":[[`...)
		for i, d := range dims {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, d)
		}
		b = append(b, `]],"Metrics":[`...)
		for i := 0; i < len(metrics); i += 2 {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"Name":`...)
			b = appendString(b, metrics[i])
			b = append(b, `,"Unit":`...)
			b = appendString(b, metrics[i+1])
			b = append(b, '}')
		}
		return string(append(b, `]}],"Timestamp":`...))
	}
	// heads renders a kind of line's directive without and with a place.
	heads := func(first string, metrics ...string) [2]string {
		return [2]string{
			head([]string{first, DimResource, DimTenant}, metrics...),
			head([]string{first, DimResource, DimTenant, DimAccount, DimRegion}, metrics...),
		}
	}
	return &Writer{
		out: out, log: log, tenant: tenant,
		probeHead:      heads(DimService, MetricResponseTime, "Milliseconds", MetricError, "Count", MetricUnavailable, "Count"),
		errorHead:      heads(DimService, MetricError, "Count", MetricUnavailable, "Count"),
		backlogHead:    heads(DimService, MetricResponseTime, "Milliseconds", MetricError, "Count", MetricUnavailable, "Count", MetricBacklog, "Count"),
		complianceHead: heads(DimCheck, MetricComplianceFailure, "Count"),
		failing:        map[findingKey]bool{},
		wake:           make(chan struct{}, 1),
	}
}

// SetTenant changes the Tenant dimension of the lines to come (a reload).
func (w *Writer) SetTenant(tenant string) {
	w.mu.Lock()
	w.tenant = tenant
	w.mu.Unlock()
}

// Result adds the line of one probe result.
func (w *Writer) Result(r probes.Result) {
	isErr := r.IsError()
	w.mu.Lock()
	defer w.mu.Unlock()
	mark := len(w.buf)
	heads := &w.probeHead
	switch {
	case isErr:
		heads = &w.errorHead
	case r.Backlog != nil:
		heads = &w.backlogHead
	}
	b := w.open(heads, r.Place, r.Start, `},"Service":`, r.Service, r.Resource)
	if !isErr {
		b = append(b, `,"ResponseTime":`...)
		// Microseconds: the precision the wire timing has.
		b = strconv.AppendFloat(b, float64(r.Duration.Microseconds())/1000, 'f', -1, 64)
	}
	b = append(b, `,"Error":`...)
	b = appendBit(b, isErr)
	b = append(b, `,"Unavailable":`...)
	b = appendBit(b, r.Status == probes.Unavailable)
	if heads == &w.backlogHead {
		b = append(b, `,"Backlog":`...)
		b = strconv.AppendInt(b, *r.Backlog, 10)
	}
	// The rest is for people reading the log event (Logs Insights), not
	// metrics: what the probe saw, and the request id for AWS support.
	b = append(b, `,"Status":`...)
	b = appendString(b, string(r.Status))
	b = appendOptional(b, "Class", string(r.Class))
	b = appendOptional(b, "Code", r.Code)
	b = appendOptional(b, "RequestId", r.RequestID)
	w.commit(append(b, "}\n"...), mark)
}

// findingKey is a compliance finding's check, resource and place; not
// Finding.Key: that allocates.
type findingKey struct {
	check, resource string
	place           probes.Place
}

// Finding adds the line of one compliance finding (see
// MetricComplianceFailure for UNKNOWN; a NOT_APPLICABLE check is not
// failing, so a check a reload removed ends at 0).
func (w *Writer) Finding(f compliance.Finding) {
	place := f.Place
	w.mu.Lock()
	defer w.mu.Unlock()
	failed := f.Verdict == compliance.Fail
	key := findingKey{f.Check, f.Resource, place}
	if f.Verdict == compliance.Unknown {
		last, known := w.failing[key]
		if !known {
			return // nothing known to repeat
		}
		failed = last
	} else {
		w.failing[key] = failed
	}
	mark := len(w.buf)
	b := w.open(&w.complianceHead, place, f.Start, `},"Check":`, f.Check, f.Resource)
	b = append(b, `,"ComplianceFailure":`...)
	b = appendBit(b, failed)
	b = append(b, `,"Verdict":`...)
	b = appendString(b, string(f.Verdict))
	w.commit(append(b, "}\n"...), mark)
}

// open appends to the buffer a line's start: its directive (of heads, the
// one with a place's dimensions for a place), timestamp and dimensions (the
// first one's name comes with the text that ends _aws). w.mu is held.
func (w *Writer) open(heads *[2]string, place probes.Place, at time.Time, first, firstValue, resource string) []byte {
	placed := !place.IsZero()
	head := heads[0]
	if placed {
		head = heads[1]
	}
	b := append(w.buf, head...)
	b = strconv.AppendInt(b, at.UnixMilli(), 10)
	b = append(b, first...)
	b = appendString(b, firstValue)
	b = append(b, `,"Resource":`...)
	b = appendString(b, resource)
	b = append(b, `,"Tenant":`...)
	if !placed {
		return appendString(b, w.tenant)
	}
	b = appendString(b, place.Tenant)
	b = append(b, `,"Account":`...)
	b = appendString(b, place.Account)
	b = append(b, `,"Region":`...)
	return appendString(b, place.Region)
}

// commit keeps the line appended to the buffer after mark, or drops it when
// the buffer is full, and wakes Run when the buffer was empty. w.mu is held.
func (w *Writer) commit(b []byte, mark int) {
	if len(b) > MaxBuffered {
		w.buf = b[:mark]
		w.dropped++
		return
	}
	w.buf = b
	if mark == 0 {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// Run writes lines as they come until ctx ends, then what is left.
func (w *Writer) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			w.Flush()
			return
		case <-w.wake:
			w.Flush()
		}
	}
}

// Flush writes every line added so far.
func (w *Writer) Flush() {
	w.writeMu.Lock()
	defer w.writeMu.Unlock()
	w.mu.Lock()
	w.buf, w.spare = w.spare[:0], w.buf
	dropped := w.dropped
	w.dropped = 0
	w.mu.Unlock()
	if dropped > 0 {
		w.log.Warn().Int("lines", dropped).Msg("CloudWatch EMF lines dropped: stdout was not read fast enough")
	}
	if len(w.spare) == 0 {
		return
	}
	if _, err := w.out.Write(w.spare); err != nil {
		w.log.Warn().Err(err).Msg("cannot write CloudWatch EMF lines")
	}
}

func appendBit(b []byte, v bool) []byte {
	if v {
		return append(b, '1')
	}
	return append(b, '0')
}

// appendOptional adds "key":"value" when value is not empty.
func appendOptional(b []byte, key, value string) []byte {
	if value == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return appendString(b, value)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string: quotes, backslashes and control
// characters escaped, invalid UTF-8 replaced, as encoding/json does (less
// its HTML escaping, which a log line does not need).
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
