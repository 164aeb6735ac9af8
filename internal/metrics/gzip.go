package metrics

import (
	"compress/gzip"
	"strconv"
	"strings"
	"sync"
)

// gzipPool holds the writers the /metrics handler compresses with, at
// gzip.BestSpeed, for clients that accept gzip (Prometheus always does). promhttp compresses at
// the default level, which with 2,000 resources was a third of a scrape;
// BestSpeed costs a fraction of that for an answer somewhat larger, which
// on the short path from socmond to its Prometheus does not matter.
var gzipPool = sync.Pool{New: func() any {
	gz, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed) // a valid level: no error
	return gz
}}

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
