package probes

import (
	"context"
	"crypto/tls"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"time"

	"github.com/socmond/socmond/internal/wireconn"
)

// wireTimer measures how long AWS took to answer: from the moment the
// request was fully written to the first byte of the response. Timing the
// whole SDK call instead would add socmond's own costs to what is reported
// as AWS latency: signing, the middleware stack, waiting for a pooled
// connection and, on a busy host, waiting for a CPU to run the goroutine.
//
// The httptrace hooks alone still count some of that: WroteRequest fires
// before net/http flushes the request to the socket, and
// GotFirstResponseByte when the read goroutine gets a CPU, not when the
// answer arrived. A connection dialled by awsclient records both instants
// on the wire (internal/wireconn); when it does, they replace the hooks'.
type wireTimer struct {
	base  time.Time    // monotonic reference; the fields below are offsets from it
	wrote atomic.Int64 // request written, ns after base; 0 = not yet
	first atomic.Int64 // first response byte, ns after base; 0 = not yet

	mu      sync.Mutex
	conn    wireconn.WireTimes // the connection the request went out on, if it offers times
	sent    time.Time          // conn's time after the request's last write
	arrived time.Time          // conn's kernel receive time of the answer's first bytes
}

// trace returns ctx carrying the hooks; the SDK passes ctx to net/http.
func (w *wireTimer) trace(ctx context.Context) context.Context {
	w.base = time.Now()
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: w.gotConn,
		WroteRequest: func(httptrace.WroteRequestInfo) {
			w.first.Store(0) // a second request (a redirect) restarts the pair
			w.wrote.Store(int64(time.Since(w.base)) | 1)
		},
		GotFirstResponseByte: w.gotFirstByte,
	})
}

func (w *wireTimer) gotConn(info httptrace.GotConnInfo) {
	c := info.Conn
	if tc, ok := c.(*tls.Conn); ok {
		// An HTTP/2 connection carries other requests' frames too, so its
		// last read and write need not be this request's.
		if tc.ConnectionState().NegotiatedProtocol == "h2" {
			c = nil
		} else {
			c = tc.NetConn()
		}
	}
	wt, _ := c.(wireconn.WireTimes)
	w.mu.Lock()
	w.conn, w.sent, w.arrived = wt, time.Time{}, time.Time{}
	w.mu.Unlock()
}

// gotFirstByte runs on net/http's read goroutine right after the read that
// brought the answer's first bytes, while the connection is still this
// request's alone: the connection's last write and read are this exchange's.
func (w *wireTimer) gotFirstByte() {
	w.first.Store(int64(time.Since(w.base)) | 1)
	w.mu.Lock()
	if w.conn != nil {
		w.sent, w.arrived = w.conn.WireTimes()
	}
	w.mu.Unlock()
}

// took is the time from request written to first byte, when the call got
// that far; a call that failed before any answer (a timeout, a refused
// connection) has no wire time and is timed as a whole.
func (w *wireTimer) took() (time.Duration, bool) {
	wrote, first := w.wrote.Load(), w.first.Load()
	if wrote == 0 || first == 0 || first < wrote {
		return 0, false
	}
	hooks := time.Duration(first - wrote)
	w.mu.Lock()
	sent, arrived := w.sent, w.arrived
	w.mu.Unlock()
	// The wire times are used only when they make sense: both known, the
	// write this call's (not an earlier request's on a reused connection),
	// in order, and within what the hooks saw (the wire pair lies inside
	// the hooks' pair). Anything else, e.g. a wall clock step, keeps the hooks.
	if sent.IsZero() || arrived.IsZero() || sent.Before(w.base) {
		return hooks, true
	}
	if d := arrived.Sub(sent); d >= 0 && d <= hooks {
		return d, true
	}
	return hooks, true
}
