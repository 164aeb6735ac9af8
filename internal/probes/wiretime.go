package probes

import (
	"context"
	"net/http/httptrace"
	"sync/atomic"
	"time"
)

// wireTimer measures how long AWS took to answer: from the moment the
// request was fully written to the first byte of the response. Timing the
// whole SDK call instead would add socmond's own costs to what is reported
// as AWS latency: signing, the middleware stack, waiting for a pooled
// connection and, on a busy host, waiting for a CPU to run the goroutine.
type wireTimer struct {
	base  time.Time    // monotonic reference; the fields below are offsets from it
	wrote atomic.Int64 // request written, ns after base; 0 = not yet
	first atomic.Int64 // first response byte, ns after base; 0 = not yet
}

// trace returns ctx carrying the hooks; the SDK passes ctx to net/http.
func (w *wireTimer) trace(ctx context.Context) context.Context {
	w.base = time.Now()
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) {
			w.first.Store(0) // a second request (a redirect) restarts the pair
			w.wrote.Store(int64(time.Since(w.base)) | 1)
		},
		GotFirstResponseByte: func() { w.first.Store(int64(time.Since(w.base)) | 1) },
	})
}

// took is the time from request written to first byte, when the call got
// that far; a call that failed before any answer (a timeout, a refused
// connection) has no wire time and is timed as a whole.
func (w *wireTimer) took() (time.Duration, bool) {
	wrote, first := w.wrote.Load(), w.first.Load()
	if wrote == 0 || first == 0 || first < wrote {
		return 0, false
	}
	return time.Duration(first - wrote), true
}
