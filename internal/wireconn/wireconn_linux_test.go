//go:build linux

package wireconn

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// pair returns a wrapped client connection and the plain server side of a
// loopback TCP connection.
func pair(t *testing.T) (*Conn, *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	w, ok := Wrap(c).(*Conn)
	if !ok {
		t.Fatal("Wrap did not wrap a TCP connection")
	}
	t.Cleanup(func() { w.Close(); s.Close() })
	return w, s.(*net.TCPConn)
}

// The kernel turns receive timestamps on for the whole host in the
// background when the first socket asks (a static key flipped from a work
// queue), so the first packets may come without one: 20 quick round trips
// went unstamped in about 1 run in 10; those have the time their read
// returned. Round trips go on, paced, until some are stamped or 5 s pass;
// every stamped one must be in order.
func TestWireTimes(t *testing.T) {
	c, s := pair(t)
	if wrote, rx := c.WireTimes(); !wrote.IsZero() || !rx.IsZero() {
		t.Fatalf("wire times before any traffic: %v, %v", wrote, rx)
	}
	stamped := 0
	buf := make([]byte, 4)
	give := time.Now().Add(5 * time.Second)
	for i := 0; i < 20 || (stamped == 0 && time.Now().Before(give)); i++ {
		if i >= 20 {
			time.Sleep(time.Millisecond)
		}
		if _, err := c.Write([]byte("ping")); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(s, buf); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Write([]byte("pong")); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "pong" {
			t.Fatalf("read %q, %v", buf, err)
		}
		now := time.Now()
		wrote, rx := c.WireTimes()
		if wrote.IsZero() || rx.IsZero() {
			t.Fatalf("round trip %d: wire times missing: wrote %v, rx %v", i, wrote, rx)
		}
		if now.Before(rx) {
			t.Fatalf("round trip %d: received %v, after the read returned (%v)", i, rx, now)
		}
		if !c.stamped.Load() {
			continue // rx is the clock's after the read; it may follow wrote by any order
		}
		if rx.Before(wrote) {
			t.Fatalf("round trip %d: wire times out of order: wrote %v, rx %v", i, wrote, rx)
		}
		stamped++
	}
	if stamped == 0 {
		t.Fatal("no read came with a kernel receive timestamp")
	}
}

// The errors must be net's own, so probes classify them as before.
func TestReadErrorsLikeNet(t *testing.T) {
	t.Run("eof", func(t *testing.T) {
		c, s := pair(t)
		s.Close()
		if n, err := c.Read(make([]byte, 8)); n != 0 || err != io.EOF {
			t.Fatalf("Read = %d, %v; want 0, io.EOF", n, err)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		c, _ := pair(t)
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
		_, err := c.Read(make([]byte, 8))
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Read after the deadline = %v; want a timeout", err)
		}
		assertOp(t, err)
	})
	t.Run("reset", func(t *testing.T) {
		c, s := pair(t)
		_ = s.SetLinger(0)
		s.Close()
		_, err := c.Read(make([]byte, 8))
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("Read after a reset = %v; want ECONNRESET", err)
		}
		assertOp(t, err)
	})
	t.Run("closed", func(t *testing.T) {
		c, _ := pair(t)
		c.Close()
		_, err := c.Read(make([]byte, 8))
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Read after Close = %v; want net.ErrClosed", err)
		}
		assertOp(t, err)
	})
}

func assertOp(t *testing.T, err error) {
	t.Helper()
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != "read" || oe.Net != "tcp" || oe.Addr == nil || oe.Source == nil {
		t.Fatalf("error %#v is not net's read OpError", err)
	}
}

// An exchange's times stay known while the next exchange runs on the
// connection, as net/http reuses a connection as soon as an answer is read,
// and are given up after that rather than confused with a later one's.
func TestExchanges(t *testing.T) {
	c, s := pair(t)
	if n := c.Exchange(); n != 0 {
		t.Fatalf("exchange %d before any write", n)
	}
	buf := make([]byte, 16)
	type times struct{ wrote, rx time.Time }
	// roundTrip writes a request in parts and reads its answer, also in
	// parts, returning the times of the last write and the last read.
	roundTrip := func(parts int) (x times) {
		for range parts {
			if _, err := c.Write([]byte("q")); err != nil {
				t.Fatal(err)
			}
			x.wrote, _ = c.WireTimes()
		}
		if _, err := io.ReadFull(s, buf[:parts]); err != nil {
			t.Fatal(err)
		}
		for range parts {
			if _, err := s.Write([]byte("a")); err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadFull(c, buf[:1]); err != nil {
				t.Fatal(err)
			}
			_, x.rx = c.WireTimes()
			time.Sleep(time.Millisecond) // parts arrive apart, so their times differ
		}
		return x
	}
	check := func(n uint64, want times) {
		t.Helper()
		wrote, rx, ok := c.ExchangeTimes(n)
		if !ok || !wrote.Equal(want.wrote) || !rx.Equal(want.rx) || wrote.IsZero() {
			t.Fatalf("ExchangeTimes(%d) = %v, %v, %v during exchange %d; want %v, %v", n, wrote, rx, ok, c.Exchange(), want.wrote, want.rx)
		}
	}
	x1 := roundTrip(2)
	if n := c.Exchange(); n != 1 {
		t.Fatalf("exchange %d after one request written in two parts, want 1", n)
	}
	check(1, x1)
	x2 := roundTrip(3)
	if n := c.Exchange(); n != 2 {
		t.Fatalf("exchange %d after the second request, want 2", n)
	}
	check(1, x1)
	check(2, x2)
	roundTrip(1)
	if wrote, rx, ok := c.ExchangeTimes(1); ok {
		t.Fatalf("ExchangeTimes(1) = %v, %v two exchanges later; want unknown", wrote, rx)
	}
	check(2, x2)
	if _, _, ok := c.ExchangeTimes(0); ok {
		t.Fatal("ExchangeTimes(0) is known; 0 is no exchange")
	}
	// A request not answered yet has no read: not the last exchange's.
	if _, err := c.Write([]byte("q")); err != nil {
		t.Fatal(err)
	}
	if wrote, rx, ok := c.ExchangeTimes(4); !ok || wrote.IsZero() || !rx.IsZero() {
		t.Fatalf("ExchangeTimes(4) = %v, %v, %v before its answer; want its write and no read", wrote, rx, ok)
	}
}
