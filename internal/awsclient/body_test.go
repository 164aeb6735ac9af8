package awsclient

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// gatedConn forces the interleaving that breaks the SDK on a loaded host:
// once a request body has gone out in a Write of its own (headers flushed
// first), that Write does not return until the client has started reading
// the response body, so the SDK has already closed its request-body wrapper
// when net/http's write loop finishes with the body.
type gatedConn struct {
	net.Conn
	writes, reads atomic.Int32
	bodyRead      chan struct{}
	once          sync.Once
}

func (c *gatedConn) Read(p []byte) (int, error) {
	if c.reads.Add(1) == 2 { // 1: the response head; 2: its body
		c.once.Do(func() { close(c.bodyRead) })
	}
	return c.Conn.Read(p)
}

func (c *gatedConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if c.writes.Add(1) == 2 {
		select {
		case <-c.bodyRead:
		case <-time.After(5 * time.Second): // never hang the test
		}
	}
	return n, err
}

// slowBodyServer answers one DescribeTable per connection: the head at once,
// the body only once the client has closed its side or 300 ms have passed.
func slowBodyServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	body := `{"Table":{"TableName":"t","TableStatus":"ACTIVE"}}`
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				br := bufio.NewReader(conn)
				req, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				_, _ = io.Copy(io.Discard, req.Body)
				fmt.Fprintf(conn, "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\n"+
					"X-Amzn-Requestid: r1\r\nContent-Length: %d\r\n\r\n", len(body))
				closed := make(chan struct{})
				go func() { _, _ = br.ReadByte(); close(closed) }() // EOF when the client closes
				select {
				case <-closed:
				case <-time.After(300 * time.Millisecond):
				}
				_, _ = io.WriteString(conn, body)
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

func describeThroughGate(t *testing.T, wrap func(aws.HTTPClient) aws.HTTPClient) error {
	t.Helper()
	base := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &gatedConn{Conn: c, bodyRead: make(chan struct{})}, nil
		}
	})
	client := dynamodb.New(dynamodb.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(slowBodyServer(t)),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		HTTPClient:       wrap(base),
		RetryMaxAttempts: 1,
	})
	_, err := client.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String("t")})
	return err
}

// TestOwnBodiesSurviveEarlyAnswer: with ownBodies a slow answer that
// arrives while net/http is still finishing the request is read whole.
func TestOwnBodiesSurviveEarlyAnswer(t *testing.T) {
	err := describeThroughGate(t, func(c aws.HTTPClient) aws.HTTPClient { return ownBodies{inner: c} })
	if err != nil {
		t.Fatalf("DescribeTable through ownBodies: %v", err)
	}
	// The same interleaving without the wrapper shows the SDK's race. Only
	// logged: if a later SDK no longer fails here, ownBodies may go.
	if err := describeThroughGate(t, func(c aws.HTTPClient) aws.HTTPClient { return c }); err != nil {
		t.Logf("without ownBodies the same call fails: %v", err)
	} else {
		t.Logf("without ownBodies the same call now succeeds: the SDK race may be fixed")
	}
}

func TestNewInstallsOwnBodies(t *testing.T) {
	c, err := New(context.Background(), Options{Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Config.HTTPClient.(ownBodies); !ok {
		t.Fatalf("Config.HTTPClient is %T, want ownBodies", c.Config.HTTPClient)
	}
}
