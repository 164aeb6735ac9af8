package awssim

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/socmond/socmond/internal/awsclient"
)

func describeTable(t *testing.T, e *env, timeout time.Duration) error {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_, err := e.ddb().DescribeTable(c, &dynamodb.DescribeTableInput{TableName: aws.String("soc-alerts")})
	return err
}

// lastFault is the ground truth the simulator recorded for its latest call.
func lastFault(t *testing.T, e *env) string {
	t.Helper()
	calls := e.sim.Calls()
	if len(calls) == 0 {
		t.Fatal("no call recorded")
	}
	return calls[len(calls)-1].Fault
}

// Each chaos kind breaks the transport the way it says, through the real SDK,
// and is recorded as the call's ground truth.
func TestChaosKinds(t *testing.T) {
	e := start(t, testSeed())

	t.Run("reset", func(t *testing.T) {
		e.sim.AddFault(Fault{Service: "dynamodb", Chaos: ChaosReset, Count: 1})
		err := describeTable(t, e, 5*time.Second)
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("want connection reset, got %v", err)
		}
		if f := lastFault(t, e); f != "chaos:reset" {
			t.Fatalf("recorded %q", f)
		}
	})
	t.Run("truncate", func(t *testing.T) {
		e.sim.AddFault(Fault{Service: "dynamodb", Chaos: ChaosTruncate, Count: 1})
		err := describeTable(t, e, 5*time.Second)
		if err == nil || !strings.Contains(err.Error(), "unexpected EOF") {
			t.Fatalf("want an unexpected EOF, got %v", err)
		}
		if f := lastFault(t, e); f != "chaos:truncate" {
			t.Fatalf("recorded %q", f)
		}
	})
	t.Run("nonjson", func(t *testing.T) {
		e.sim.AddFault(Fault{Service: "dynamodb", Chaos: ChaosNonJSON, Count: 1})
		wantDeserializationErr(t, describeTable(t, e, 5*time.Second))
		if f := lastFault(t, e); f != "chaos:nonjson" {
			t.Fatalf("recorded %q", f)
		}
	})
	t.Run("trickle", func(t *testing.T) {
		e.sim.AddFault(Fault{Service: "dynamodb", Chaos: ChaosTrickle, Count: 1})
		// A plain net/http client, so the error is the deadline itself (the
		// SDK's buildable client reports the same hang-up as a closed
		// connection). Wrapped as the daemon wraps its clients: bare, the
		// SDK's request-body race (awsclient/body.go) closed the
		// connection under the trickling answer in ~1 run in 13, and the
		// call failed with "use of closed network connection" instead.
		plain := *e
		plain.cfg.HTTPClient = awsclient.WithMemoryBodies(&http.Client{})
		err := describeTable(t, &plain, time.Second)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("want the deadline to pass while the body trickles, got %v", err)
		}
		if f := lastFault(t, e); f != "chaos:trickle" {
			t.Fatalf("recorded %q", f)
		}
	})
	t.Run("trickle head", func(t *testing.T) {
		e.sim.AddFault(Fault{Service: "s3", Chaos: ChaosTrickle, Count: 1})
		c, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := e.s3().HeadBucket(c, &s3.HeadBucketInput{Bucket: aws.String("soc-data")})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("want the deadline to pass before the headers, got %v", err)
		}
	})
	t.Run("refuse", func(t *testing.T) {
		e.sim.AddFault(Fault{Service: "dynamodb", Chaos: ChaosRefuse, Count: 1})
		err := describeTable(t, e, 5*time.Second)
		var ae smithy.APIError
		if err == nil || errors.As(err, &ae) {
			t.Fatalf("want a transport error, got %v", err)
		}
		if f := lastFault(t, e); f != "chaos:refuse" {
			t.Fatalf("recorded %q", f)
		}
	})
	t.Run("recovers", func(t *testing.T) {
		if err := describeTable(t, e, 5*time.Second); err != nil {
			t.Fatalf("after counted chaos: %v", err)
		}
		if f := lastFault(t, e); f != "" {
			t.Fatalf("recorded %q for a plain answer", f)
		}
	})
	t.Run("error recorded", func(t *testing.T) {
		e.sim.AddFault(Fault{Service: "dynamodb", Error: "ThrottlingException", Latency: "1ms", Count: 1})
		_ = describeTable(t, e, 5*time.Second)
		if f := lastFault(t, e); f != "error:ThrottlingException+latency:1ms" {
			t.Fatalf("recorded %q", f)
		}
	})
}

func TestChaosControlValidation(t *testing.T) {
	e := start(t, testSeed())
	for body, want := range map[string]string{
		`{"service":"dynamodb","chaos":"explode"}`:                             "unknown chaos",
		`{"service":"dynamodb","chaos":"reset","error":"ThrottlingException"}`: "cannot be combined",
		`{"service":"dynamodb","chaos":"trickle","malformed":true}`:            "cannot be combined",
	} {
		if code, got := postFault(t, e.url, body); code != http.StatusBadRequest || !strings.Contains(got, want) {
			t.Errorf("%s: %d %s, want 400 %q", body, code, got, want)
		}
	}
	if code, got := postFault(t, e.url, `{"service":"dynamodb","chaos":"refuse","count":1}`); code != http.StatusCreated {
		t.Fatalf("valid chaos fault: %d %s", code, got)
	}
}

// Oversized bodies are refused with 413, and the simulator keeps serving.
func TestBodyLimits(t *testing.T) {
	e := start(t, testSeed())
	huge := `{"service":"dynamodb","error":"` + strings.Repeat("x", maxControlBody) + `"}`
	if code, got := postFault(t, e.url, huge); code != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized fault: %d %s", code, got)
	}
	req, err := http.NewRequest(http.MethodPost, e.url+"/", &zeroReader{n: maxRequestBody + 1})
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810.DescribeTable")
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("oversized AWS request: %d", resp.StatusCode)
		}
	} // the server may also close the connection mid-upload; either way it must keep serving
	if err := describeTable(t, e, 5*time.Second); err != nil {
		t.Fatalf("after oversized bodies: %v", err)
	}
}

// zeroReader yields n zero bytes without holding them in memory.
type zeroReader struct{ n int }

func (z *zeroReader) Read(p []byte) (int, error) {
	if z.n == 0 {
		return 0, io.EOF
	}
	k := min(len(p), z.n)
	clear(p[:k])
	z.n -= k
	return k, nil
}
