// Package wireconn wraps TCP connections so that both ends of a measurement
// (socmond's AWS clients and the simulator) can tell when bytes really left
// and arrived, rather than when a goroutine got round to noticing:
//
//   - wroteAt is the wall time right after the last Write syscall returned,
//     that is when the request was handed to the kernel (net/http's
//     httptrace.WroteRequest fires before its buffer is flushed);
//   - rxAt is the kernel's receive timestamp (SO_TIMESTAMPNS) of the data the
//     last Read returned, that is when the answer arrived, not when the
//     reading goroutine was scheduled.
//
// Only Linux has the kernel timestamps; elsewhere Wrap returns the
// connection unchanged and callers keep their own clocks.
package wireconn

import "time"

// WireTimes is what a wrapped connection offers. A zero time means unknown.
type WireTimes interface {
	WireTimes() (wroteAt, rxAt time.Time)
}

// unixTime turns stored unix nanoseconds back into a time; 0 is unknown.
func unixTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}
