// Package conformance_test keeps socmond's own AWS simulator (internal/awssim)
// honest: every case runs the same probe or SDK call against the simulator and
// against an emulator written by others (local-kms, dynalite), asserts the
// verdict AWS would give, and checks that both backends agree.
//
// Where an emulator itself differs from AWS, aws-api.md is authoritative: the
// case asserts AWS's behaviour and a comment names the emulator's gap, so a
// gap in the emulator is never copied into the simulator.
package conformance_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/socmond/socmond/internal/awsclient"
	"github.com/socmond/socmond/internal/probes"
)

const (
	region       = "us-east-1"
	account      = "123456789012"
	probeTimeout = 5 * time.Second
)

// probeOptions bound every probe run. No slow threshold: emulators under
// -race are slow, and slowness is not what these tests compare.
var probeOptions = probes.Options{Timeout: probeTimeout}

// newClients builds real SDK clients (one attempt, static credentials) for
// one backend.
func newClients(t *testing.T, endpoint string) *awsclient.Clients {
	t.Helper()
	c, err := awsclient.New(t.Context(), awsclient.Options{
		Region:      region,
		Endpoint:    endpoint,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
	})
	if err != nil {
		t.Fatalf("awsclient.New(%s): %v", endpoint, err)
	}
	return c
}

// callCtx bounds one direct SDK call made by a test.
func callCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), probeTimeout)
	t.Cleanup(cancel)
	return ctx
}

// backend is one implementation of an AWS API: the simulator ("sim") or a
// third-party emulator ("local-kms", "dynalite").
type backend interface{ Name() string }

// onEach runs fn against every backend as a subtest named
// "<backend>/<caseName>" and then checks that every backend produced the same
// value. fn asserts what AWS would answer; onEach asserts agreement.
func onEach[B backend, V any](t *testing.T, caseName string, backends []B, fn func(t *testing.T, b B) V) {
	t.Helper()
	got := make(map[string]V, len(backends))
	for _, b := range backends {
		t.Run(b.Name()+"/"+caseName, func(t *testing.T) {
			got[b.Name()] = fn(t, b)
		})
	}
	if len(got) != len(backends) {
		return // a backend failed before answering; its subtest says why
	}
	first := backends[0].Name()
	for _, b := range backends[1:] {
		if !reflect.DeepEqual(got[first], got[b.Name()]) {
			t.Errorf("%s: backends disagree:\n  %-9s %+v\n  %-9s %+v", caseName, first, got[first], b.Name(), got[b.Name()])
		}
	}
}

// verdict is the part of a probe Result that must not depend on which
// backend answered. Detail is kept only for answers that were not errors
// ("KeyState Disabled", "TableStatus CREATING"): an error's detail carries a
// request id and the emulator's own message wording.
type verdict struct {
	Status probes.Status
	Class  probes.Class
	Code   string
	Check  string
	Detail string
}

func verdictOf(r probes.Result) verdict {
	v := verdict{Status: r.Status, Class: r.Class, Code: r.Code, Check: r.Check}
	if r.Code == "" {
		v.Detail = r.Detail
	}
	return v
}

// expect is what a case says AWS answers.
type expect struct {
	Status probes.Status
	Class  probes.Class
	Code   string
	Detail string // "" = do not check
}

// probeOnEach runs a probe built by mk against every backend, checks the
// verdict against want, and checks the backends agree.
func probeOnEach[B backend](t *testing.T, caseName string, backends []B, want expect, mk func(t *testing.T, b B) probes.Probe) {
	t.Helper()
	onEach(t, caseName, backends, func(t *testing.T, b B) verdict {
		r := probes.Run(t.Context(), mk(t, b), probeOptions)
		if r.Status != want.Status || r.Class != want.Class || r.Code != want.Code {
			t.Errorf("got status=%s class=%q code=%q, want status=%s class=%q code=%q\n  detail: %s\n  hint: %s",
				r.Status, r.Class, r.Code, want.Status, want.Class, want.Code, r.Detail, r.Hint)
		}
		if want.Detail != "" && r.Detail != want.Detail {
			t.Errorf("detail = %q, want %q", r.Detail, want.Detail)
		}
		if r.Class != probes.ClassNone && r.Hint == "" {
			t.Errorf("a %s result has no hint", r.Class)
		}
		return verdictOf(r)
	})
}

// rawResponse is a response exactly as it came off the wire.
type rawResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// httpDoer is the SDK's HTTPClient interface, the same for every service.
type httpDoer interface {
	Do(*http.Request) (*http.Response, error)
}

// recorder wraps the SDK's HTTP client and keeps the last raw response, so
// tests can check what the SDK hides (headers, the raw body, checksums).
type recorder struct {
	next httpDoer
	mu   sync.Mutex
	last *rawResponse
}

func (r *recorder) Do(req *http.Request) (*http.Response, error) {
	resp, err := r.next.Do(req)
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	r.mu.Lock()
	r.last = &rawResponse{Status: resp.StatusCode, Header: resp.Header.Clone(), Body: body}
	r.mu.Unlock()
	return resp, nil
}

// Last returns the last response recorded; it fails the test if there was none.
func (r *recorder) Last(t *testing.T) *rawResponse {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last == nil {
		t.Fatal("no HTTP response was recorded")
	}
	return r.last
}
