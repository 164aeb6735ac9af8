package probes

import (
	"context"
	"net"
	"net/http/httptrace"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/socmond/socmond/internal/awssim"
)

func TestWireTimer(t *testing.T) {
	var w wireTimer
	tr := httptrace.ContextClientTrace(w.trace(context.Background()))
	if tr == nil {
		t.Fatal("no client trace in the context")
	}
	if _, ok := w.took(); ok {
		t.Fatal("wire time before any request")
	}
	tr.WroteRequest(httptrace.WroteRequestInfo{})
	if _, ok := w.took(); ok {
		t.Fatal("wire time before the first response byte")
	}
	tr.GotFirstResponseByte()
	if d, ok := w.took(); !ok || d < 0 {
		t.Fatalf("took = %v, %v after a full exchange", d, ok)
	}
	// A second request (a redirect) counts on its own, not from the first
	// request's answer.
	tr.WroteRequest(httptrace.WroteRequestInfo{})
	if _, ok := w.took(); ok {
		t.Fatal("second request: wire time before its answer")
	}
}

// fakeConn is a connection offering wire times the test sets.
type fakeConn struct {
	net.Conn
	exch  uint64
	sent  time.Time
	last  time.Time
	known bool     // ExchangeTimes knows the exchange asked for
	asked []uint64 // the exchanges ExchangeTimes was asked for
}

func (c *fakeConn) WireTimes() (time.Time, time.Time) { return c.sent, c.last }
func (c *fakeConn) Exchange() uint64                  { return c.exch }
func (c *fakeConn) ExchangeTimes(n uint64) (time.Time, time.Time, bool) {
	c.asked = append(c.asked, n)
	if !c.known {
		return time.Time{}, time.Time{}, false
	}
	return c.sent, c.last, true
}

// The timer takes the connection's wire times only when they are this
// request's and make sense; where they are not, WroteRequest stands in for
// the write and the call's return for the last byte.
func TestWireTimerExchanges(t *testing.T) {
	const onWire = time.Millisecond // what the fake connection says the exchange took
	const (
		wire  = "wire"  // the connection's pair
		hook  = "hook"  // WroteRequest to the connection's last read
		clock = "clock" // WroteRequest to the call's return
	)
	cases := map[string]struct {
		set  func(c *fakeConn)
		want string
	}{
		"this request's exchange":   {func(c *fakeConn) {}, wire},
		"exchange forgotten":        {func(c *fakeConn) { c.known = false }, clock},
		"no read":                   {func(c *fakeConn) { c.last = time.Time{} }, clock},
		"no write":                  {func(c *fakeConn) { c.sent = time.Time{} }, hook},
		"write after the answer":    {func(c *fakeConn) { c.sent = c.last.Add(time.Microsecond) }, hook},
		"write before the request":  {func(c *fakeConn) { c.sent = c.sent.Add(-time.Second) }, hook},
		"answer before the request": {func(c *fakeConn) { c.last = c.sent.Add(-time.Second) }, clock},
		"longer than the call":      {func(c *fakeConn) { c.last = c.sent.Add(time.Hour) }, clock},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var w wireTimer
			tr := httptrace.ContextClientTrace(w.trace(context.Background()))
			c := &fakeConn{exch: 7, known: true}
			tr.GotConn(httptrace.GotConnInfo{Conn: c})
			tr.WroteRequest(httptrace.WroteRequestInfo{})
			c.sent = time.Now().Add(10 * time.Microsecond) // the write begins after WroteRequest
			c.last = c.sent.Add(onWire)
			tc.set(c)
			tr.GotFirstResponseByte()
			// The connection moves on to the next request, as a pooled
			// one does once the answer is read.
			c.exch = 8
			time.Sleep(3 * onWire) // so the clock's span holds the wire's
			d, ok := w.took()
			if !ok {
				t.Fatal("no time for a call that got an answer")
			}
			got := clock
			switch {
			case d == onWire:
				got = wire
			case d > onWire && d < 2*onWire:
				got = hook
			case d < 3*onWire:
				t.Fatalf("took %v: none of the wire's %v, WroteRequest to the last read, or the clock's %v or more", d, onWire, 3*onWire)
			}
			if got != tc.want {
				t.Fatalf("took %v, timed by the %s; want by the %s", d, got, tc.want)
			}
			for _, n := range c.asked {
				if n != 7 {
					t.Fatalf("asked for the times of exchange %d, want the request's own, 7", n)
				}
			}
		})
	}
}

// Through the real SDK, awsclient's transport and the simulator, the timer
// takes its figure from the connection's wire times (on Linux, where the
// kernel timestamps what it receives), and it matches how long the
// simulator held each answer, which it measures from its own kernel
// timestamps (awssim.Call.Held): the two clocks span the same exchange.
// What socmond adds of its own (signing, decoding, a goroutine waiting for
// a CPU) would make the time longer than Held; the typical call (the
// median) must not be. Held itself runs long whenever the simulator's
// goroutine waits for a CPU after its write returned (up to ~2 ms under
// -race on 2 cores), so a time shorter than Held says nothing here; the
// slow-answer tests in timing_test.go hold the other side.
func TestWireTimerOnTheWire(t *testing.T) {
	sim, clients := SimClients(t, awssim.Seed{Tables: []string{"wire"}})
	const calls = 9 // the first on a fresh connection, the others reusing it
	sim.AddFault(awssim.Fault{Service: "dynamodb", Latency: "5ms", Count: calls})
	describe := func(ctx context.Context) (string, error) {
		out, err := clients.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("wire")})
		if err != nil {
			return "", err
		}
		rid, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
		return rid, nil
	}
	took := map[string]time.Duration{} // by request id
	for i := range calls {
		var w wireTimer
		rid, err := describe(w.trace(context.Background()))
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		now := time.Now()
		d, ok := w.took()
		if !ok {
			t.Fatalf("call %d: no wire time", i)
		}
		if w.conn == nil {
			if runtime.GOOS == "linux" {
				t.Fatalf("call %d: the connection offers no wire times", i)
			}
			continue // elsewhere the hooks and the clock stand
		}
		sent, last, ok := w.conn.ExchangeTimes(w.exch)
		if !ok || sent.IsZero() || last.IsZero() || last.Before(sent) || now.Before(last) {
			t.Fatalf("call %d: wire times missing or out of order: sent %v, last read %v, known %v, now %v", i, sent, last, ok, now)
		}
		if d != last.Sub(sent) {
			t.Fatalf("call %d: took %v, want the wire time %v", i, d, last.Sub(sent))
		}
		took[rid] = d
	}
	if len(took) == 0 {
		return
	}
	// The simulator notes an answer's final Held once its write returned,
	// which may be after the answer was read; it has, for all of them, by
	// the time it answers one more call on the same connection.
	if _, err := describe(context.Background()); err != nil {
		t.Fatal(err)
	}
	var off []time.Duration // took minus held, per call
	for rid, d := range took {
		held := heldFor(t, sim, rid)
		off = append(off, d-held)
		t.Logf("took %v, simulator held %v (%+v)", d, held, d-held)
	}
	slices.Sort(off)
	if median := off[len(off)/2]; median > heldBound {
		t.Fatalf("the typical call took %v longer than the simulator held it (all: %v)", median, off)
	}
}

// heldBound is how much longer than the simulator's Held the typical wire
// time may be. make bench measures socmond's own error at tens of µs,
// negative; the hooks and the clock instead of the wire add 50–500 µs.
const heldBound = 50 * time.Microsecond

// heldFor is how long the simulator held the answer with request id rid.
func heldFor(t *testing.T, sim *awssim.Sim, rid string) time.Duration {
	t.Helper()
	for _, c := range sim.Calls() {
		if c.RequestID == rid {
			return c.Held
		}
	}
	t.Fatalf("the simulator served no call with request id %q", rid)
	return 0
}
