package probes

import (
	"context"
	"net/http/httptrace"
	"runtime"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/socmond/socmond/internal/awssim"
)

func TestWireTimer(t *testing.T) {
	var w wireTimer
	tr := httptrace.ContextClientTrace(w.trace(context.Background()))
	if tr == nil {
		t.Fatal("no client trace in the context")
	}
	if _, ok := w.took(); ok {
		t.Fatal("wire time before any request")
	}
	tr.WroteRequest(httptrace.WroteRequestInfo{})
	if _, ok := w.took(); ok {
		t.Fatal("wire time before the first response byte")
	}
	tr.GotFirstResponseByte()
	if d, ok := w.took(); !ok || d < 0 {
		t.Fatalf("took = %v, %v after a full exchange", d, ok)
	}
	// A second request (a redirect) counts on its own, not from the first
	// request's answer.
	tr.WroteRequest(httptrace.WroteRequestInfo{})
	if _, ok := w.took(); ok {
		t.Fatal("second request: wire time before its answer")
	}
}

// Through the real SDK, awsclient's transport and the simulator, the timer
// takes its figure from the connection's wire times (on Linux, where the
// kernel timestamps what it receives), and they are in order. A call may
// fall back to the hooks (the writing goroutine may not have noted its
// write yet when the answer comes), so only some calls must use them; the
// injected latency makes that the rule rather than the exception.
func TestWireTimerOnTheWire(t *testing.T) {
	sim, clients := SimClients(t, awssim.Seed{Tables: []string{"wire"}})
	const calls = 5 // the first on a fresh connection, the others reusing it
	sim.AddFault(awssim.Fault{Service: "dynamodb", Latency: "5ms", Count: calls})
	used := 0
	for i := range calls {
		var w wireTimer
		ctx := w.trace(context.Background())
		if _, err := clients.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("wire")}); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		now := time.Now()
		d, ok := w.took()
		if !ok {
			t.Fatalf("call %d: no wire time", i)
		}
		if w.sent.IsZero() || w.arrived.IsZero() || w.sent.Before(w.base) {
			continue // not this call's write: the hooks stand
		}
		if w.arrived.Before(w.sent) || now.Before(w.arrived) {
			t.Fatalf("call %d: wire times out of order: sent %v, arrived %v, now %v", i, w.sent, w.arrived, now)
		}
		if want := w.arrived.Sub(w.sent); d != want {
			t.Fatalf("call %d: took %v, want the wire time %v", i, d, want)
		}
		used++
	}
	if runtime.GOOS == "linux" && used == 0 {
		t.Fatalf("no call of %d used the connection's wire times", calls)
	}
}
