//go:build linux

package wireconn

import (
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// maxRW caps one read as internal/poll does for stream sockets.
const maxRW = 1 << 30

// Conn is a *net.TCPConn that records its wire times (see the package doc).
type Conn struct {
	*net.TCPConn
	raw   syscall.RawConn
	wrote atomic.Int64 // unix ns as the last Write began; 0 none
	rx    atomic.Int64 // unix ns the kernel received the last Read's data; 0 unknown
	// stamped says rx came from the kernel, not from the clock after the
	// read (tests use it to check the kernel's stamps are read at all).
	stamped atomic.Bool

	// The exchanges (see Exchanges). read says a Read returned data since
	// the last Write, so the next Write starts an exchange; xmu makes that
	// switch and ExchangeTimes's look-up one step each.
	read      atomic.Bool
	xmu       sync.Mutex
	exch      uint64 // the current exchange
	prevWrote int64  // wrote and rx as exchange exch-1 left them
	prevRx    int64

	// One read at a time (as net's own fd lock does). The state lives here
	// rather than in a closure so a Read allocates nothing.
	mu     sync.Mutex
	recvFn func(fd uintptr) bool
	p      []byte
	n      int
	ts     int64
	err    error
	oob    [64]byte // room for one SCM_TIMESTAMPNS message
	iov    unix.Iovec
	msg    unix.Msghdr
}

var _ Exchanges = (*Conn)(nil)

// Wrap returns c wrapped when it is a TCP connection whose kernel agrees to
// timestamp what it receives; anything else comes back unchanged.
func Wrap(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
	}); err != nil || serr != nil {
		return c
	}
	w := &Conn{TCPConn: tc, raw: raw}
	w.recvFn = w.recv
	w.read.Store(true) // the first write starts exchange 1
	return w
}

// ReadFrom and WriteTo hide the *net.TCPConn's (splice, sendfile), which
// would move bytes without passing through Write and Read.
func (c *Conn) ReadFrom(r io.Reader) (int64, error) { return io.Copy(writerOnly{c}, r) }
func (c *Conn) WriteTo(w io.Writer) (int64, error)  { return io.Copy(w, readerOnly{c}) }

type writerOnly struct{ io.Writer }
type readerOnly struct{ io.Reader }

// WireTimes reports the last write's and the last read's wire times.
func (c *Conn) WireTimes() (wroteAt, rxAt time.Time) {
	return unixTime(c.wrote.Load()), unixTime(c.rx.Load())
}

// Exchange implements Exchanges.
func (c *Conn) Exchange() uint64 {
	c.xmu.Lock()
	defer c.xmu.Unlock()
	return c.exch
}

// ExchangeTimes implements Exchanges. Under xmu no exchange can start,
// and one that started after n was numbered before its request was
// written, so nothing of it can be taken for n's.
func (c *Conn) ExchangeTimes(n uint64) (wroteAt, rxAt time.Time, ok bool) {
	c.xmu.Lock()
	defer c.xmu.Unlock()
	switch {
	case n == 0:
		return time.Time{}, time.Time{}, false
	case n == c.exch:
		return unixTime(c.wrote.Load()), unixTime(c.rx.Load()), true
	case n+1 == c.exch:
		return unixTime(c.prevWrote), unixTime(c.prevRx), true
	}
	return time.Time{}, time.Time{}, false
}

func (c *Conn) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return c.TCPConn.Write(p)
	}
	// The new exchange is numbered before its bytes leave, so nothing its
	// answer brings can be taken for the previous exchange's.
	if c.read.Load() {
		c.xmu.Lock()
		if c.read.Swap(false) {
			// rx is cleared so that the new exchange has no read until
			// its answer brings one.
			c.prevWrote, c.prevRx = c.wrote.Load(), c.rx.Swap(0)
			c.exch++
		}
		c.xmu.Unlock()
	}
	// Noted before the write, not after: see wroteAt in the package doc.
	c.wrote.Store(time.Now().UnixNano())
	return c.TCPConn.Write(p)
}

// Read reads with recvmsg to get the kernel's receive timestamp. Errors are
// the ones net's own Read returns (a *net.OpError around the errno, io.EOF,
// the deadline error), so callers classify them the same way.
func (c *Conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return c.TCPConn.Read(p)
	}
	if len(p) > maxRW {
		p = p[:maxRW]
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.p, c.n, c.ts, c.err = p, 0, 0, nil
	// RawConn.Read waits in the netpoller while recv returns false, and
	// honours read deadlines and Close while waiting.
	err := c.raw.Read(c.recvFn)
	n, ts := c.n, c.ts
	if err == nil {
		err = c.err
	}
	c.p, c.err = nil, nil
	switch {
	case err != nil:
		return n, c.opError(err)
	case n == 0:
		return 0, io.EOF
	}
	c.stamped.Store(ts != 0)
	if ts == 0 {
		ts = time.Now().UnixNano() // see rxAt in the package doc
	}
	c.rx.Store(ts)
	c.read.Store(true)
	return n, nil
}

// recv is one recvmsg attempt; false asks the netpoller to wait.
func (c *Conn) recv(fd uintptr) bool {
	for {
		n, oobn, err := c.recvmsg(fd)
		switch err {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		case nil:
			c.n, c.ts = n, timestamp(c.oob[:oobn])
		default:
			c.err = os.NewSyscallError("recvmsg", err)
		}
		return true
	}
}

// recvmsg is unix.Recvmsg without its source-address buffer, which costs
// an allocation per read; a connected socket has no use for it.
func (c *Conn) recvmsg(fd uintptr) (n, oobn int, err error) {
	c.iov = unix.Iovec{Base: &c.p[0]}
	c.iov.SetLen(len(c.p))
	c.msg = unix.Msghdr{Iov: &c.iov, Control: &c.oob[0]}
	c.msg.SetIovlen(1)
	c.msg.SetControllen(len(c.oob))
	r, _, errno := unix.Syscall(unix.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&c.msg)), 0)
	if errno != 0 {
		return 0, 0, errno
	}
	return int(r), int(c.msg.Controllen), nil
}

// opError shapes err as net's own Read does. The netpoller's errors (a
// deadline, a closed connection) come from RawConn.Read as an OpError of
// op "raw-read"; their cause is kept.
func (c *Conn) opError(err error) error {
	if oe, ok := err.(*net.OpError); ok {
		err = oe.Err
	}
	return &net.OpError{Op: "read", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}

// timestamp finds the SCM_TIMESTAMPNS message in oob and returns it as unix
// nanoseconds, 0 when there is none. It parses by hand because
// unix.ParseSocketControlMessage allocates.
func timestamp(oob []byte) int64 {
	hdr := unix.CmsgLen(0)
	for len(oob) >= hdr {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(h.Len)
		if l < hdr || l > len(oob) {
			return 0
		}
		if h.Level == unix.SOL_SOCKET && h.Type == unix.SCM_TIMESTAMPNS {
			var ts unix.Timespec
			data := oob[hdr:l]
			if len(data) < int(unsafe.Sizeof(ts)) {
				return 0
			}
			copy(unsafe.Slice((*byte)(unsafe.Pointer(&ts)), unsafe.Sizeof(ts)), data)
			return ts.Nano()
		}
		next := unix.CmsgSpace(l - hdr)
		if next > len(oob) {
			return 0
		}
		oob = oob[next:]
	}
	return 0
}
