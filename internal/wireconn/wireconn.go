// Package wireconn wraps TCP connections so that both ends of a measurement
// (socmond's AWS clients and the simulator) can tell when bytes really left
// and arrived, rather than when a goroutine got round to noticing:
//
//   - wroteAt is the wall time just before the last Write syscall, whose
//     bytes the kernel takes during the call (net/http's
//     httptrace.WroteRequest fires earlier, before its buffer is flushed).
//     A time taken after the call returns would come late whenever the
//     writing goroutine loses its CPU as the call returns, even after the
//     answer arrived on a fast path; noted before, it is never after the
//     bytes left, and always noted before any answer to them is read;
//   - rxAt is the kernel's receive timestamp (SO_TIMESTAMPNS) of the data the
//     last Read returned, that is when the answer arrived, not when the
//     reading goroutine was scheduled. A read the kernel did not stamp (it
//     turns stamping on for the host in the background, so a host's first
//     reads may come without) has the time it returned instead: later than
//     the arrival, never earlier.
//
// A client connection also numbers its exchanges (a request written, its
// answer read) so that the last read of an answer can still be found after
// net/http has handed the connection to the next request (Exchanges).
//
// Only Linux has the kernel timestamps; elsewhere Wrap returns the
// connection unchanged and callers keep their own clocks.
package wireconn

import "time"

// WireTimes is what a wrapped connection offers. A zero time means unknown.
type WireTimes interface {
	WireTimes() (wroteAt, rxAt time.Time)
}

// Exchanges is what a wrapped connection offers to time a whole exchange
// on it. An exchange starts with the first write after a read (or the
// connection's first write): on an HTTP/1.1 connection, one request and
// its answer. net/http puts a connection back in its pool as soon as an
// answer is read, before the caller has looked at any timing, and the next
// request may be written and answered on it meanwhile; so the connection
// keeps the times of the exchange before the current one too.
type Exchanges interface {
	WireTimes
	// Exchange is the current exchange's number (0 before the first write).
	Exchange() uint64
	// ExchangeTimes are exchange n's wire times, as WireTimes gives them:
	// when its last write began, and when what its last read returned was
	// received (its answer's last bytes, once the answer is read). ok is
	// false when the connection no longer knows them (n is older than the
	// exchange before the current one); a zero time is unknown (no read yet).
	ExchangeTimes(n uint64) (wroteAt, rxAt time.Time, ok bool)
}

// unixTime turns stored unix nanoseconds back into a time; 0 is unknown.
func unixTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}
