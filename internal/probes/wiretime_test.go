package probes

import (
	"context"
	"net/http/httptrace"
	"testing"
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
