package awsclient

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// TestKeepAliveReusedAcrossCalls: back-to-back calls through the SDK must
// share one keep-alive connection. Before memoryBodies a few percent of
// calls lost the race between the SDK closing its body wrapper and
// net/http's post-write check of it, and dialled anew.
func TestKeepAliveReusedAcrossCalls(t *testing.T) {
	var conns atomic.Int32
	var mu sync.Mutex
	var bad []string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if string(body) != `{"TableName":"t"}` || r.ContentLength != int64(len(body)) || r.Header.Get("Authorization") == "" {
			mu.Lock()
			bad = append(bad, string(body))
			mu.Unlock()
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		_, _ = w.Write([]byte(`{"Table":{"TableName":"t","TableStatus":"ACTIVE"}}`))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c, err := New(context.Background(), Options{Region: "us-east-1", Endpoint: srv.URL,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")})
	if err != nil {
		t.Fatal(err)
	}
	const calls = 300
	for range calls {
		if _, err := c.DynamoDB.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String("t")}); err != nil {
			t.Fatal(err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for %d sequential calls, want 1", n, calls)
	}
	if len(bad) > 0 {
		t.Errorf("%d requests arrived with another body or no signature, e.g. %q", len(bad), bad[0])
	}
}

// doerFunc is an aws.HTTPClient for testing memoryBodies alone.
type doerFunc func(*http.Request) (*http.Response, error)

func (f doerFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }

type closeSpy struct {
	io.Reader
	closed bool
}

func (c *closeSpy) Close() error { c.closed = true; return nil }

func TestMemoryBodies(t *testing.T) {
	t.Run("sent from memory, caller's request untouched", func(t *testing.T) {
		orig := &closeSpy{Reader: strings.NewReader("hello")}
		req, _ := http.NewRequest(http.MethodPost, "http://example.invalid/", orig)
		req.ContentLength = 5
		var got []byte
		var sentBody io.ReadCloser
		resp, err := memoryBodies{inner: doerFunc(func(r *http.Request) (*http.Response, error) {
			sentBody = r.Body
			got, _ = io.ReadAll(r.Body)
			return &http.Response{Request: r, Body: http.NoBody}, nil
		})}.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != "hello" {
			t.Errorf("sent %q, want hello", got)
		}
		if req.Body != io.ReadCloser(orig) || sentBody == io.ReadCloser(orig) {
			t.Error("the caller's request was changed, or its stream was sent as is")
		}
		if !orig.closed {
			t.Error("the original body was not closed")
		}
		if resp.Request != req {
			t.Error("resp.Request is not the caller's request")
		}
	})
	t.Run("short body keeps its error", func(t *testing.T) {
		boom := errors.New("boom")
		req, _ := http.NewRequest(http.MethodPost, "http://example.invalid/", io.MultiReader(strings.NewReader("he"), errReader{boom}))
		req.ContentLength = 5
		var got []byte
		var readErr error
		_, _ = memoryBodies{inner: doerFunc(func(r *http.Request) (*http.Response, error) {
			got, readErr = io.ReadAll(r.Body)
			return &http.Response{Body: http.NoBody}, nil
		})}.Do(req)
		if string(got) != "he" || !errors.Is(readErr, boom) {
			t.Errorf("net/http would see %q then %v, want he then boom", got, readErr)
		}
	})
	t.Run("large and unknown lengths pass through", func(t *testing.T) {
		for _, n := range []int64{-1, maxMemoryBody + 1} {
			body := io.NopCloser(bytes.NewReader(make([]byte, 10)))
			req, _ := http.NewRequest(http.MethodPut, "http://example.invalid/", body)
			req.ContentLength = n
			var same bool
			_, _ = memoryBodies{inner: doerFunc(func(r *http.Request) (*http.Response, error) {
				same = r == req
				return &http.Response{Body: http.NoBody}, nil
			})}.Do(req)
			if !same {
				t.Errorf("Content-Length %d: request not passed through as is", n)
			}
		}
	})
}
