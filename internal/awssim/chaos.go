package awssim

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"
)

// Chaos kinds break the transport rather than the AWS answer: what a client
// sees when a load balancer, a proxy or the network fails mid-request. Each is
// set with Fault.Chaos and recorded in Call.Fault as "chaos:<kind>".
const (
	// ChaosReset sends the headers and half the body (half the headers of a
	// body-less answer), then resets the connection (TCP RST).
	ChaosReset = "reset"
	// ChaosTruncate sends the headers (with the full Content-Length) and half
	// the body (half the headers of a body-less answer), then closes the
	// connection cleanly.
	ChaosTruncate = "truncate"
	// ChaosNonJSON answers 200 with an HTML page, as a captive proxy or a
	// misrouted load balancer does.
	ChaosNonJSON = "nonjson"
	// ChaosTrickle sends the headers at once and then the body one byte every
	// trickleEvery, so reading it takes longer than any probe deadline.
	// A body-less answer (HEAD) holds its headers back for trickleHold instead.
	ChaosTrickle = "trickle"
	// ChaosRefuse accepts the request and resets the connection without an
	// answer, as an endpoint whose server stopped accepting work does.
	ChaosRefuse = "refuse"
)

var chaosKinds = []string{ChaosReset, ChaosTruncate, ChaosNonJSON, ChaosTrickle, ChaosRefuse}

const (
	trickleEvery = 250 * time.Millisecond
	trickleHold  = 30 * time.Second
)

// trickleFloor pads a short body so trickling it outlasts any probe deadline
// (awsJson bodies may be a few bytes; JSON decoders ignore trailing spaces).
const trickleFloor = 120

// writeChaos answers c the broken way its fault asks for. status, header and
// body are the answer the simulator would otherwise have sent.
func (s *Sim) writeChaos(w http.ResponseWriter, c *call, kind string, status int) {
	body := c.w.body.Bytes()
	if c.r.Method == http.MethodHead {
		body = nil
	}
	switch kind {
	case ChaosNonJSON:
		page := []byte("<html><head><title>502 Bad Gateway</title></head><body>upstream unavailable</body></html>\n")
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Length", strconv.Itoa(len(page)))
		w.WriteHeader(http.StatusOK)
		if c.r.Method != http.MethodHead {
			_, _ = w.Write(page)
		}
	case ChaosTrickle:
		s.trickle(w, c, status, body)
	case ChaosRefuse:
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			resetClose(conn)
		}
	case ChaosReset, ChaosTruncate:
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		if len(body) == 0 {
			// Nothing to cut in a body-less answer (HEAD): cut the headers.
			var head bytes.Buffer
			w := bufio.NewReadWriter(nil, bufio.NewWriter(&head))
			writeRawHead(w, c, status, 0)
			_ = w.Flush()
			_, _ = buf.Write(head.Bytes()[:head.Len()/2])
		} else {
			writeRawHead(buf, c, status, len(body))
			_, _ = buf.Write(body[:len(body)/2])
		}
		_ = buf.Flush()
		if kind == ChaosReset {
			resetClose(conn)
			return
		}
		_ = conn.Close()
	}
}

// trickle writes the answer's headers, then its body a byte at a time until
// it is done, the client gives up or the simulator closes.
func (s *Sim) trickle(w http.ResponseWriter, c *call, status int, body []byte) {
	if len(body) == 0 {
		if !s.wait(c, trickleHold) {
			return
		}
		for k, v := range c.w.header {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
		return
	}
	for len(body) < trickleFloor {
		body = append(body, ' ')
	}
	for k, v := range c.w.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	rc := http.NewResponseController(w)
	for i := range body {
		if _, err := w.Write(body[i : i+1]); err != nil {
			return
		}
		if rc.Flush() != nil || !s.wait(c, trickleEvery) {
			return
		}
	}
}

// wait sleeps d unless the client goes away or the simulator closes first; it
// reports whether the whole d passed.
func (s *Sim) wait(c *call, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.r.Context().Done():
	case <-s.closed:
	}
	return false
}

// writeRawHead writes an HTTP/1.1 status line and headers on a hijacked
// connection, announcing the full body length.
func writeRawHead(buf *bufio.ReadWriter, c *call, status, length int) {
	fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	h := c.w.header.Clone()
	h.Set("Content-Length", strconv.Itoa(length))
	h.Set("Connection", "close")
	_ = h.Write(buf)
	_, _ = buf.WriteString("\r\n")
}

// resetClose closes conn with an RST instead of a FIN, so the peer sees
// "connection reset by peer".
func resetClose(conn net.Conn) {
	// An interface, not *net.TCPConn: Start wraps its connections
	// (internal/wireconn), and the wrapper has SetLinger too.
	if tc, ok := conn.(interface{ SetLinger(sec int) error }); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}
