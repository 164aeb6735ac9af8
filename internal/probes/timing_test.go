package probes_test

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/socmond/socmond/internal/awsclient"
	"github.com/socmond/socmond/internal/awssim"
	"github.com/socmond/socmond/internal/probes"
)

// These tests check what a Result's Duration means (docs/alerting.md, "What
// response time is"): the whole answer on the wire, from the request
// written to the last byte read, through the real SDK and the daemon's
// transport. The simulator says how long it held each answer (Call.Held);
// durations are compared with that, never with a time budget.

// answerHold is how long the tests hold back the end of an answer: far
// above what a loaded machine adds to a call, so a call timed to its first
// byte cannot pass for one timed to its last.
const answerHold = 300 * time.Millisecond

// heldSlack bounds how far a reported time may stray from what a server in
// the test held the answer for, when that server's own clock starts with
// its handler (httptest) rather than at the request's arrival: the
// handler's goroutine may start late on a busy machine. It is well below
// answerHold, so a duration that took in another call's time cannot pass.
const heldSlack = 50 * time.Millisecond

// Ways slowAnswer holds back the end of an answer.
const (
	splitBody    = "split body"          // the second half of a Content-Length body
	splitChunked = "split chunked body"  // the second half of a chunked body
	lateEnd      = "late closing chunk"  // the whole body at once, the chunked body's end later
	splitHead    = "split HEAD response" // the second half of a body-less answer's headers
)

// slowAnswer serves the simulator's answers with their end held back by
// hold, the way a loaded service or a slow network path delivers them.
type slowAnswer struct {
	sim  http.Handler
	how  string
	hold time.Duration
}

func (h slowAnswer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch h.how {
	case splitHead:
		h.splitHead(w, r)
		return
	case lateEnd:
		h.sim.ServeHTTP(&holdingWriter{ResponseWriter: w, chunked: true}, r)
		_ = http.NewResponseController(w).Flush()
		time.Sleep(h.hold) // net/http writes the closing chunk when this returns
		return
	}
	h.sim.ServeHTTP(&holdingWriter{ResponseWriter: w, chunked: h.how == splitChunked, hold: h.hold}, r)
}

// splitHead records the simulator's answer, then writes it on the raw
// connection in two halves, hold apart, and closes the connection: the
// body-less answer's last byte is the end of its headers.
func (h slowAnswer) splitHead(w http.ResponseWriter, r *http.Request) {
	rec := httptest.NewRecorder()
	h.sim.ServeHTTP(rec, r)
	resp := rec.Result()
	resp.Close = true
	resp.Request = r
	var raw bytes.Buffer
	if err := resp.Write(&raw); err != nil {
		panic(err)
	}
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	half := raw.Len() / 2
	writeFlush(buf, raw.Bytes()[:half])
	time.Sleep(h.hold)
	writeFlush(buf, raw.Bytes()[half:])
}

func writeFlush(buf *bufio.ReadWriter, p []byte) {
	_, _ = buf.Write(p)
	_ = buf.Flush()
}

// holdingWriter sends a body in two halves, hold apart (hold 0: at once),
// and drops Content-Length when chunked so net/http sends the body in
// chunks. The simulator's Held includes the hold: it stops its clock after
// its own write and flush return.
type holdingWriter struct {
	http.ResponseWriter
	chunked bool
	hold    time.Duration
}

func (w *holdingWriter) WriteHeader(status int) {
	if w.chunked {
		w.Header().Del("Content-Length")
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *holdingWriter) Write(p []byte) (int, error) {
	if w.hold == 0 || len(p) < 2 {
		return w.ResponseWriter.Write(p)
	}
	n, err := w.ResponseWriter.Write(p[:len(p)/2])
	if err != nil {
		return n, err
	}
	w.Flush()
	time.Sleep(w.hold)
	m, err := w.ResponseWriter.Write(p[n:])
	return n + m, err
}

func (w *holdingWriter) Flush()                      { _ = http.NewResponseController(w.ResponseWriter).Flush() }
func (w *holdingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// slowClients serves a fresh simulator through slowAnswer and builds the
// daemon's clients against it. settle stops the server once its handlers
// have returned: the simulator notes how long it held an answer only after
// its last write returned, which can be after the client has read it.
func slowClients(t *testing.T, how string) (sim *awssim.Sim, c *awsclient.Clients, settle func()) {
	t.Helper()
	sim = awssim.New(awssim.Seed{Tables: []string{simTable, "other"}, Buckets: []string{simBucket, "other"}})
	srv := httptest.NewServer(slowAnswer{sim: sim, how: how, hold: answerHold})
	t.Cleanup(srv.Close)
	c, err := awsclient.New(context.Background(), awsclient.Options{Region: "us-east-1", Endpoint: srv.URL,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDSLOW", "secret", "")})
	if err != nil {
		t.Fatal(err)
	}
	return sim, c, srv.Close
}

// An answer whose end comes late is as slow as its end: before, a body that
// trickled was timed to its first byte, and a slow answer never looked slow.
func TestSlowAnswerIsTimedToItsLastByte(t *testing.T) {
	for _, how := range []string{splitBody, splitChunked, lateEnd, splitHead} {
		t.Run(how, func(t *testing.T) {
			sim, c, settle := slowClients(t, how)
			p := probes.NewDynamoDBTable(c.DynamoDB, simTable)
			if how == splitHead {
				p = probes.NewS3Bucket(c.S3, simBucket)
			}
			began := time.Now()
			r := probes.Run(context.Background(), p, probes.Options{Timeout: 30 * time.Second})
			whole := time.Since(began)
			if r.Status != probes.Healthy {
				t.Fatalf("status %s, class %s: %s", r.Status, r.Class, r.Detail)
			}
			if r.Duration < answerHold || r.Duration > whole {
				t.Fatalf("Duration = %v; the answer's end was held back %v and the call took %v", r.Duration, answerHold, whole)
			}
			if how == splitBody || how == splitChunked {
				// The simulator's Held spans the hold here.
				settle()
				held := probes.HeldFor(t, sim, r.RequestID)
				if r.Duration < held-heldSlack || r.Duration > held+heldSlack {
					t.Fatalf("Duration = %v, but the simulator held the answer %v", r.Duration, held)
				}
			}
		})
	}
}

// A deadline that passes while the body trickles in is a timeout of at
// least the deadline, not the time to the answer's first byte.
func TestDeadlineMidBodyIsTimedToTheDeadline(t *testing.T) {
	sim, c := probes.SimClients(t, awssim.Seed{Tables: []string{simTable}})
	// The simulator sends the headers at once, then a byte every 250 ms.
	sim.AddFault(awssim.Fault{Service: "dynamodb", Chaos: "trickle", Count: 1})
	const timeout = 600 * time.Millisecond
	r := probes.Run(context.Background(), probes.NewDynamoDBTable(c.DynamoDB, simTable), probes.Options{Timeout: timeout, SlowThreshold: 5 * time.Second})
	if r.Class != probes.ClassTimeout || r.Status != probes.Unavailable {
		t.Fatalf("class %s, status %s, want a timeout: %s", r.Class, r.Status, r.Detail)
	}
	if r.Duration < timeout {
		t.Fatalf("Duration = %v, shorter than the %v deadline the call ran into", r.Duration, timeout)
	}
	if calls := sim.Calls(); len(calls) != 1 || calls[0].Fault != "chaos:trickle" || calls[0].Status != http.StatusOK {
		t.Fatalf("the simulator did not start a trickled 200 answer: %+v", calls)
	}
}

// reusingProbe makes its probe's call and then, before Run reads its
// timing, a second call on the same client: what net/http does when it
// puts a connection back in the pool as soon as an answer is read and
// another probe takes it. The second call is slow; none of its time may
// count towards the first's.
type reusingProbe struct {
	probes.Probe
	t     *testing.T
	again func(ctx context.Context) error
}

func (p reusingProbe) Check(ctx context.Context) probes.Observation {
	var first net.Conn
	obs := p.Probe.Check(httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(i httptrace.GotConnInfo) { first = i.Conn },
	}))
	var reused bool
	// Not ctx: the second call is another probe's, outside this one's trace.
	err := p.again(httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused && i.Conn == first },
	}))
	if err != nil {
		p.t.Errorf("second call: %v", err)
	}
	if !reused {
		p.t.Errorf("the second call did not reuse the first call's connection")
	}
	return obs
}

func TestReusedConnectionKeepsItsOwnTiming(t *testing.T) {
	const slow = 500 * time.Millisecond // the second call's
	cases := map[string]struct {
		clients  func(t *testing.T) (*awssim.Sim, *awsclient.Clients, func())
		probe    func(c *awsclient.Clients, resource string) probes.Probe
		again    func(c *awsclient.Clients) func(ctx context.Context) error
		fault    string        // the simulator's service name
		resource string        // the first call's; the second's is "other"
		least    time.Duration // the first answer's own time on the wire
	}{
		"DescribeTable with a slow body": {
			clients: func(t *testing.T) (*awssim.Sim, *awsclient.Clients, func()) { return slowClients(t, splitBody) },
			probe:   func(c *awsclient.Clients, r string) probes.Probe { return probes.NewDynamoDBTable(c.DynamoDB, r) },
			again: func(c *awsclient.Clients) func(ctx context.Context) error {
				return func(ctx context.Context) error {
					_, err := c.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("other")})
					return err
				}
			},
			fault: "dynamodb", resource: simTable, least: answerHold,
		},
		// net/http returns a body-less answer's connection to the pool
		// before it hands the answer over.
		"HeadBucket": {
			clients: func(t *testing.T) (*awssim.Sim, *awsclient.Clients, func()) {
				sim, c := probes.SimClients(t, awssim.Seed{Buckets: []string{simBucket, "other"}})
				return sim, c, func() {}
			},
			probe: func(c *awsclient.Clients, r string) probes.Probe { return probes.NewS3Bucket(c.S3, r) },
			again: func(c *awsclient.Clients) func(ctx context.Context) error {
				return func(ctx context.Context) error {
					_, err := c.S3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("other")})
					return err
				}
			},
			fault: "s3", resource: simBucket,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			sim, c, settle := tc.clients(t)
			sim.AddFault(awssim.Fault{Service: tc.fault, Resource: "other", Latency: slow.String()})
			p := reusingProbe{Probe: tc.probe(c, tc.resource), t: t, again: tc.again(c)}
			r := probes.Run(context.Background(), p, probes.Options{Timeout: 30 * time.Second})
			if r.Status != probes.Healthy {
				t.Fatalf("status %s: %s", r.Status, r.Detail)
			}
			settle()
			held := probes.HeldFor(t, sim, r.RequestID)
			if r.Duration < tc.least || r.Duration > held+heldSlack {
				t.Fatalf("Duration = %v; the simulator held this answer %v, the next call on its connection %v more", r.Duration, held, slow)
			}
		})
	}
}
