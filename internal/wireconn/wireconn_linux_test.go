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
// went unstamped in about 1 run in 10. Round trips go on, paced, until
// some are stamped or 5 s pass; every one given must be in order.
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
		if wrote.IsZero() {
			t.Fatalf("round trip %d: no write time", i)
		}
		if rx.IsZero() {
			continue
		}
		if rx.Before(wrote) || now.Before(rx) {
			t.Fatalf("round trip %d: wire times out of order: wrote %v, rx %v, now %v", i, wrote, rx, now)
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
