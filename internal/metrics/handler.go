package metrics

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/rs/zerolog"
)

// textFormat is the one format /metrics answers in, whatever the Accept
// header prefers (Prometheus may ask for OpenMetrics or protobuf first): the
// Prometheus text format 0.0.4, which every Prometheus reads, and the only
// one the per-resource families are written in. The escaping parameter is
// the one promhttp announced; socmond's names need no escaping.
var textFormat = expfmt.NewFormat(expfmt.TypeTextPlain).WithEscapingScheme(model.UnderscoreEscaping)

// maxInFlight bounds the work a burst of scrapes can cause.
const maxInFlight = 4

// Handler serves /metrics: the registry's families (Go runtime, process,
// build info, scheduler lag, and what other packages registered) through
// expfmt, and the per-resource families written by socmond's own encoder,
// interleaved in name order in one answer, gzip-compressed when the client
// accepts it. Like promhttp's handler it counts its scrapes as
// promhttp_metric_handler_requests_total and its errors as
// promhttp_metric_handler_errors_total, and honours name[] filters; errors
// are logged on log.
func (m *Metrics) Handler(log zerolog.Logger) http.Handler {
	errs := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "promhttp_metric_handler_errors_total",
		Help: "Total number of internal errors encountered by the promhttp metric handler.",
	}, []string{"cause"})
	if err := m.reg.Register(errs); err != nil {
		// A second handler on the same registry shares the counter.
		are := prometheus.AlreadyRegisteredError{}
		if !errors.As(err, &are) {
			panic(err) // a collector of that name with other labels: a bug
		}
		errs = are.ExistingCollector.(*prometheus.CounterVec)
	}
	h := &handler{
		m: m, log: log,
		gatherErrors: errs.WithLabelValues("gathering"),
		sendErrors:   errs.WithLabelValues("encoding"),
		inFlight:     make(chan struct{}, maxInFlight),
	}
	return promhttp.InstrumentMetricHandler(m.reg, h)
}

type handler struct {
	m                        *Metrics
	log                      zerolog.Logger
	gatherErrors, sendErrors prometheus.Counter
	inFlight                 chan struct{}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	select {
	case h.inFlight <- struct{}{}:
		defer func() { <-h.inFlight }()
	default:
		http.Error(w, fmt.Sprintf("Limit of concurrent requests reached (%d), try again later.", maxInFlight),
			http.StatusServiceUnavailable)
		return
	}

	mfs, err := h.m.reg.Gather()
	if err != nil {
		// A collector that fails costs its own series, not the scrape:
		// Gather still returns every family it could collect, and losing
		// all of socmond's metrics (a "target down" for the whole SOC
		// monitor) over one bad series would page for the wrong thing.
		h.log.Error().Err(err).Msg("gathering metrics: serving the rest")
		h.gatherErrors.Inc()
	}
	if mfs, err = dropReserved(mfs); err != nil {
		h.log.Error().Err(err).Msg("gathering metrics: serving socmond's own family")
		h.gatherErrors.Inc()
	}

	sc := scrapePool.Get().(*scrape)
	defer sc.release()
	h.m.read(sc)

	hdr := w.Header()
	hdr.Set("Content-Type", string(textFormat))
	hdr.Add("Vary", "Accept-Encoding")
	var out io.Writer = w
	var gz *gzip.Writer
	if acceptsGzip(r.Header.Values("Accept-Encoding")) {
		gz = gzipPool.Get().(*gzip.Writer)
		gz.Reset(w)
		hdr.Set("Content-Encoding", "gzip")
		out = gz
	}
	e := expoWriter{buf: sc.buf[:0], w: out}
	err = writeText(&e, mfs, sc, nameFilter(r))
	sc.buf = e.buf
	if gz != nil {
		if cerr := gz.Close(); err == nil {
			err = cerr
		}
		gz.Reset(io.Discard) // not to keep the connection's writer alive in the pool
		gzipPool.Put(gz)
	}
	if err != nil {
		// The client went away or timed out mid-answer.
		h.log.Warn().Err(err).Msg("cannot send /metrics")
		h.sendErrors.Inc()
	}
}

// writeText writes the registry's families mfs (sorted by name, as Gather
// returns them) and the per-resource families of sc, interleaved in name
// order, keeping only the names in only (nil: every name).
func writeText(e *expoWriter, mfs []*dto.MetricFamily, sc *scrape, only map[string]bool) error {
	enc := expfmt.NewEncoder(e, textFormat)
	var ours []targetFamily
	if len(sc.list) > 0 {
		// A family without series is not exported at all, as the
		// registry did not.
		ours = targetFamilies
	}
	writeOurs := func(f *targetFamily) {
		// After a write error (the client went away) there is no one to
		// format the rest for.
		if e.err == nil && (only == nil || only[f.name]) {
			_, _ = e.WriteString(f.head) // an error stays in e.err
			f.write(e, sc)
		}
	}
	for _, mf := range mfs {
		for len(ours) > 0 && ours[0].name < mf.GetName() {
			writeOurs(&ours[0])
			ours = ours[1:]
		}
		if only != nil && !only[mf.GetName()] {
			continue
		}
		if err := enc.Encode(mf); err != nil {
			return err
		}
	}
	for i := range ours {
		writeOurs(&ours[i])
	}
	e.flush()
	return e.err
}

// dropReserved removes a registry family with the name of a per-resource
// family, which would otherwise be in the answer twice; socmond's own
// stands. reservedNames makes registering one fail; this catches a collector
// that describes nothing. The error names what was dropped.
func dropReserved(mfs []*dto.MetricFamily) ([]*dto.MetricFamily, error) {
	var err error
	kept := mfs[:0]
	for _, mf := range mfs {
		if slices.ContainsFunc(targetFamilies, func(f targetFamily) bool { return f.name == mf.GetName() }) {
			err = errors.Join(err, fmt.Errorf("a collector exports %s, a family socmond writes itself: its series are dropped", mf.GetName()))
			continue
		}
		kept = append(kept, mf)
	}
	return kept, err
}

// nameFilter is the set of names asked for as name[]=… (as promhttp reads
// them), nil when none is: every family is served.
func nameFilter(r *http.Request) map[string]bool {
	if r.URL == nil {
		return nil
	}
	names := r.URL.Query()["name[]"]
	if len(names) == 0 {
		return nil
	}
	only := make(map[string]bool, len(names))
	for _, n := range names {
		only[n] = true
	}
	return only
}
