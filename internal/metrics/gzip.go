package metrics

import (
	"compress/gzip"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// fastGzip compresses the exposition itself, at gzip.BestSpeed, for
// clients that accept gzip (Prometheus always does). promhttp compresses at
// the default level, which with 2,000 resources was a third of a scrape;
// BestSpeed costs a fraction of that for an answer somewhat larger, which
// on the short path from socmond to its Prometheus does not matter. The
// wrapped handler is asked for the identity encoding.
func fastGzip(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !acceptsGzip(r.Header.Values("Accept-Encoding")) {
			next.ServeHTTP(w, r)
			return
		}
		r = r.Clone(r.Context())
		r.Header.Del("Accept-Encoding")
		gz := gzipPool.Get().(*gzip.Writer)
		defer gzipPool.Put(gz)
		gz.Reset(w)
		h := w.Header()
		h.Set("Content-Encoding", "gzip")
		h.Add("Vary", "Accept-Encoding")
		next.ServeHTTP(gzipWriter{ResponseWriter: w, gz: gz}, r)
		// The error is the client's: it went away mid-answer.
		_ = gz.Close()
	})
}

var gzipPool = sync.Pool{New: func() any {
	gz, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed) // a valid level: no error
	return gz
}}

// gzipWriter sends the body through gz. A length set by the handler is the
// uncompressed one, so it is dropped.
type gzipWriter struct {
	http.ResponseWriter
	gz *gzip.Writer
}

func (g gzipWriter) WriteHeader(code int) {
	g.Header().Del("Content-Length")
	g.ResponseWriter.WriteHeader(code)
}

func (g gzipWriter) Write(p []byte) (int, error) {
	g.Header().Del("Content-Length")
	return g.gz.Write(p)
}

// acceptsGzip reads Accept-Encoding: gzip listed, and not with q=0.
func acceptsGzip(values []string) bool {
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			name, params, _ := strings.Cut(part, ";")
			if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
				continue
			}
			q, ok := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q=")
			if !ok {
				return true
			}
			if f, err := strconv.ParseFloat(q, 64); err == nil && f > 0 {
				return true
			}
		}
	}
	return false
}
