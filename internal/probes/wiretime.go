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

// wireTimer measures how long AWS took over a call: from the moment the
// request was written to the last byte of the answer (docs/alerting.md,
// "What response time is"). Timing the whole SDK call instead would add
// socmond's own costs to what is reported as AWS latency: signing, the
// middleware stack, waiting for a pooled connection, decoding and, on a
// busy host, waiting for a CPU to run the goroutine. Timing only to the
// first byte (as before) missed a body that trickled in.
//
// A connection dialled by awsclient records both ends on the wire
// (internal/wireconn): when its last write began (the kernel takes the
// bytes during it), and the kernel's receive time of what each read
// returned. Which exchange on the connection is this request's is taken
// when the answer's first byte arrives, while the connection is still this
// request's alone; the times are read after the call returned, when the
// SDK has read the answer to its end. By then net/http has put the
// connection back in its pool and another probe may already have sent its
// request on it, so the connection is asked for this exchange's times,
// which it still knows during the next one (wireconn.Exchanges). Where
// they cannot be had, the httptrace hooks and the clock stand in:
// WroteRequest for the write, the call's return for the last byte; each a
// little off the truth, always towards longer.
type wireTimer struct {
	base  time.Time    // monotonic reference; the fields below are offsets from it
	wrote atomic.Int64 // request written, ns after base; 0 = not yet
	first atomic.Int64 // first response byte, ns after base; 0 = not yet

	mu   sync.Mutex
	conn wireconn.Exchanges // the connection the request went out on, if it offers times
	exch uint64             // the request's exchange on conn; 0 = not known yet
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
		// reads and writes need not be this request's.
		if tc.ConnectionState().NegotiatedProtocol == "h2" {
			c = nil
		} else {
			c = tc.NetConn()
		}
	}
	x, _ := c.(wireconn.Exchanges)
	w.mu.Lock()
	w.conn, w.exch = x, 0
	w.mu.Unlock()
}

// gotFirstByte runs on net/http's read goroutine right after the read that
// brought the answer's first bytes, while the connection is still this
// request's alone: its current exchange is this request's.
func (w *wireTimer) gotFirstByte() {
	w.first.Store(int64(time.Since(w.base)) | 1)
	w.mu.Lock()
	if w.conn != nil {
		w.exch = w.conn.Exchange()
	}
	w.mu.Unlock()
}

// took is the time from request written to the answer's last byte, when an
// answer began; call it once the call has returned. A call that got no
// answer (a refused connection, a deadline before any byte) has no wire
// time and is timed as a whole by Run.
func (w *wireTimer) took() (time.Duration, bool) {
	wrote, first := w.wrote.Load(), w.first.Load()
	if wrote == 0 || first == 0 || first < wrote {
		return 0, false
	}
	// The hooks and the clock: WroteRequest (just before the request is
	// flushed) to now, the call's return.
	hooks := time.Since(w.base) - time.Duration(wrote)
	w.mu.Lock()
	conn, exch := w.conn, w.exch
	w.mu.Unlock()
	if conn == nil {
		return hooks, true
	}
	sent, last, ok := conn.ExchangeTimes(exch)
	if !ok || last.IsZero() {
		return hooks, true
	}
	// The write is the start unless it cannot be this request's: none, one
	// after the answer came (a request still being sent when an early
	// answer began), or one before the request was even flushed (a wall
	// clock step). Then the start is WroteRequest's, a few µs before the
	// truth, never after.
	if hook := w.base.Add(time.Duration(wrote)); sent.IsZero() || last.Before(sent) || sent.Before(hook) {
		sent = hook
	}
	// The wire pair lies inside the hooks' pair (the last byte arrives
	// before the call returns); one that does not, e.g. across a wall clock
	// step, is not trusted.
	if d := last.Sub(sent); d >= 0 && d <= hooks {
		return d, true
	}
	return hooks, true
}
