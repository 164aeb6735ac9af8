// Package awssim is a wire-level simulator of the AWS services socmond watches
// (Bedrock, DynamoDB, S3, KMS, EventBridge, Step Functions, Lambda and STS):
// each is one file whose service value the list in service.go registers.
//
// It speaks the real protocols (awsJson, restJson, restXml, awsQuery), so the
// unmodified aws-sdk-go-v2 clients can be pointed at it with BaseEndpoint, and
// it lets tests and demos inject faults (errors, latency, state changes,
// malformed bodies) through a small JSON control API under /_sim/.
//
// It shares no code with socmond's probes, on purpose: an independent reading
// of aws-api.md is what lets the simulator catch the probes' mistakes.
package awssim

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/socmond/socmond/internal/wireconn"
)

// Seed lists the resources the simulator starts with, in its default
// account and region: those a request signed with plain credentials for that
// region reaches. Scopes seeds other accounts and regions.
type Seed struct {
	Region    string // default DefaultRegion
	AccountID string // default DefaultAccount

	// Scopes seeds more accounts and regions, each as this Seed seeds the
	// default one: its AccountID and Region (defaults: the default
	// scope's) name the scope, the rest its resources; its own Scopes and
	// Roles must be empty. The simulator serves the regions of all its
	// scopes; a request signed for another region is refused as on a
	// single-region endpoint. A request reaches the scope of its signing
	// region and of the account whose role's AssumeRole credentials signed
	// it (plain credentials: the default account); an account or region
	// with nothing seeded is served empty, as an AWS account without those
	// resources.
	Scopes []Seed
	// Roles are the roles AssumeRole grants; any other, or one asked for
	// without its external id, is AccessDenied. Empty: any role may be
	// assumed.
	Roles []Role

	// Resources lists resource names by service (a service's name or alias,
	// as in a Fault; Add checks it), for any service. Each service seeds
	// them as it does the names in its own field below; those fields are
	// a shorthand for the first services, and a new service needs none.
	Resources map[string][]string

	Tables        []string // DynamoDB table names
	Buckets       []string // S3 bucket names
	AuditBuckets  []string // S3 buckets with Object Lock (COMPLIANCE, 7 years default retention); may also appear in Buckets
	Keys          []string // KMS key ids or aliases ("alias/AsiaAgenticSoc"); "alias/aws/..." makes an AWS-managed key
	EventBuses    []string
	StateMachines []string // state machine ARNs, or names (the ARN is built from region/account)
	Functions     []string // Lambda function names
	Models        []string // Bedrock foundation model ids

	// TableKeys names the partition key attribute (type S) of a table; tables
	// not listed use "pk". Real tables always have a key schema and PutItem and
	// GetItem are validated against it.
	TableKeys map[string]string
	// Rules are EventBridge rules. PutEvents delivers each matching event to
	// the rule's state machine targets (StartExecution with the event
	// envelope as input).
	Rules []Rule
	// Definitions replace the default definition (one Lambda task per seeded
	// function) of state machines, by name or ARN (pipeline.go).
	Definitions map[string]string
	// Pipeline says what executions write when they succeed (pipeline.go).
	Pipeline *Pipeline
	// FunctionDeadLetters gives seeded functions, by name or ARN, the ARN
	// of the queue or topic they send the asynchronous invocations they
	// could not process to (GetFunctionConfiguration's DeadLetterConfig;
	// a fault's Set TargetArn overrides it, "NONE" removes it).
	FunctionDeadLetters map[string]string
}

// Role is a role for Seed.Roles: its ARN
// (arn:aws:iam::<account>:role/<name>), and the external id AssumeRole must
// name, if any.
type Role struct {
	ARN        string
	ExternalID string
}

// Rule is an EventBridge rule for Seed.Rules.
type Rule struct {
	Name         string
	EventBus     string   // default "default"
	EventPattern string   // JSON; default matches source "socmond.probe"
	State        string   // default "ENABLED"
	Targets      []string // target ARNs (e.g. a state machine ARN)
	DeadLetter   string   // ARN of the queue every target sends what it cannot deliver to; "" for none
}

// Call is one AWS operation the simulator served.
type Call struct {
	Service   string `json:"service"`
	Operation string `json:"operation"`
	Resource  string `json:"resource,omitempty"`
	Attempt   int    `json:"attempt"`
	Status    int    `json:"status"`
	// Fault is the ground truth of what the simulator did to this call
	// (see effect.describe); empty for a plain answer.
	Fault string `json:"fault,omitempty"`
	// RequestID is the x-amzn-RequestId (or S3 request id) it answered with.
	RequestID string `json:"request_id,omitempty"`
	// Held is how long the simulator took over the call, from the kernel's
	// receipt of the request (the start of its handler when the connection
	// cannot tell) to the answer handed to the network, injected latency
	// included as actually slept (a busy host wakes a timer late). A
	// prober's reported response time minus Held is the prober's own error
	// plus loopback; a prober timing on the wire sees slightly less than
	// Held (its write and the simulator's write return after the peer's
	// kernel already has the bytes).
	Held time.Duration `json:"held_ns,omitempty"`
	// At is when the simulator began to serve the call, and AccessKey the
	// access key id it was signed with: tests that run several clients
	// (replicas of socmond) tell whose call it was and in what order.
	At        time.Time `json:"at"`
	AccessKey string    `json:"access_key,omitempty"`
	// Account and Region are the scope that served the call: the signer's
	// account and the signing region (empty where the signature was not
	// accepted). Role is the ARN of the role whose AssumeRole credentials
	// signed it, empty for plain credentials.
	Account string `json:"account,omitempty"`
	Region  string `json:"region,omitempty"`
	Role    string `json:"role,omitempty"`
}

// Sim is the simulator. It is an http.Handler; Start serves it on a listener.
type Sim struct {
	def      *scope     // the seed's own account and region
	regions  []string   // the regions served: the seeded scopes'; written only by New
	services []*service // the registered services (service.go)

	mu     sync.Mutex // guards everything below and all service state
	faults []activeFault
	calls  []Call
	// scopes holds the state of each account in each region (scope.go):
	// the seeded ones, and those made empty on first use; order lists
	// them as they were made.
	scopes map[scopeKey]*scope
	order  []*scope
	sts    stsState // what STS granted and issued (sts.go)

	srv       *http.Server
	closed    chan struct{}
	closeOnce sync.Once
}

// The region and account of a seed that names none.
const (
	DefaultRegion  = "us-east-1"
	DefaultAccount = "123456789012"
)

// New builds a simulator holding the seeded resources. Every table and bucket
// is encrypted with the first seeded KMS key (SSE-KMS, bucket key enabled), so
// compliance checks pass against a fresh simulator.
//
// Seed.Scopes with Scopes or Roles of their own, a scope seeded twice, a
// malformed account or role ARN are programming errors in the caller and
// panic.
func New(seed Seed) *Sim {
	s := &Sim{services: services, scopes: map[scopeKey]*scope{}, closed: make(chan struct{})}
	s.def = s.seedScope(&seed, DefaultAccount, DefaultRegion)
	for i := range seed.Scopes {
		sub := &seed.Scopes[i]
		if len(sub.Scopes) > 0 || len(sub.Roles) > 0 {
			panic("awssim: a seed's Scopes have no Scopes or Roles of their own")
		}
		s.seedScope(sub, s.def.account, s.def.region)
	}
	s.sts.grant(seed.Roles)
	return s
}

// Start listens on addr (use "127.0.0.1:0") and serves in the background until
// Close. It returns the base URL, e.g. "http://127.0.0.1:40123".
func (s *Sim) Start(addr string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return "", errors.New("awssim: already started")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("awssim: listen %s: %w", addr, err)
	}
	// No WriteTimeout: injected latency and trickling bodies are meant to
	// outlast the client's deadline, and the client's own hang-up ends them.
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, IdleTimeout: 2 * time.Minute,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if wt, ok := c.(wireconn.WireTimes); ok {
				return context.WithValue(ctx, connKey{}, wt)
			}
			return ctx
		}}
	go func() { _ = s.srv.Serve(wireListener{ln}) }()
	return "http://" + ln.Addr().String(), nil
}

// Close stops the listener and releases requests waiting on injected latency.
func (s *Sim) Close() error {
	s.closeOnce.Do(func() { close(s.closed) })
	s.mu.Lock()
	srv := s.srv
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	return srv.Close()
}

// Calls returns every AWS operation served so far, in order.
func (s *Sim) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// ResetCalls forgets the recorded calls.
func (s *Sim) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
}

// call is one request in flight. Handlers write into a buffered response so
// they can run under s.mu without a slow client blocking the simulator.
type call struct {
	sim       *Sim
	r         *http.Request
	w         *bufferedResponse
	svc       *service // set by route: the service answering
	service   string   // svc.name, the fault/service name (Call.Service)
	signing   string   // SigV4 signing name the request must be scoped to
	op        string
	resource  string
	body      []byte
	handler   func(c *call)
	state     string // resource state override from a fault
	requestID string
	attempt   int
	fault     string // what the matching faults did (Call.Fault)
	accessKey string // from the SigV4 credential scope (Call.AccessKey)
	// account and region are the scope the signature names (Call.Account,
	// Call.Region), role the role whose credentials signed (Call.Role) and
	// session its session; sc is the scope serving the call, set once the
	// signature is accepted.
	account, region, role string
	session               *roleSession
	sc                    *scope
	chaos                 string // transport breakage to apply when answering (chaos.go)

	set map[string]string // setting overrides from faults (overrides.go)
}

type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }
func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}
func (b *bufferedResponse) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}

// maxRequestBody bounds one AWS request body: S3 PutObject of an evidence
// report is the largest thing socmond sends, far below this.
const maxRequestBody = 64 << 20

// ServeHTTP answers one AWS request (or a /_sim/ control request).
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_sim/") {
		s.serveControl(w, r)
		return
	}
	start := time.Now()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBody))
	start = arrival(r, start)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		http.Error(w, fmt.Sprintf("request body over %d bytes", maxRequestBody), http.StatusRequestEntityTooLarge)
		return
	}
	if err != nil {
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	c := &call{
		sim: s, r: r, body: body,
		w:         &bufferedResponse{header: http.Header{}},
		requestID: newUUID(),
		attempt:   parseAttempt(r.Header.Get("Amz-Sdk-Request")),
	}
	s.serve(c)

	status := c.w.status
	if status == 0 {
		status = http.StatusOK
	}
	// The call is recorded before it is answered, so whoever got the answer
	// finds it in Calls; Held is then corrected to the moment the answer was
	// actually handed to the network.
	s.mu.Lock()
	s.calls = append(s.calls, Call{Service: c.service, Operation: c.op, Resource: c.resource, Attempt: c.attempt,
		Status: status, Fault: c.fault, RequestID: c.requestID, Held: time.Since(start), At: start, AccessKey: c.accessKey,
		Account: c.account, Region: c.region, Role: c.role})
	idx := len(s.calls) - 1
	s.mu.Unlock()
	if c.chaos != "" {
		s.writeChaos(w, c, c.chaos, status)
		return
	}

	for k, v := range c.w.header {
		w.Header()[k] = v
	}
	// An explicit length lets the answer go out whole on Flush, as net/http
	// would have sent it after the handler returned, instead of chunked.
	if r.Method != http.MethodHead && bodyAllowed(status) && w.Header().Get("Content-Length") == "" {
		w.Header().Set("Content-Length", strconv.Itoa(c.w.body.Len()))
	}
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(c.w.body.Bytes())
	}
	if f, ok := w.(http.Flusher); ok { // net/http's own writer; httptest's too
		f.Flush()
	}
	held := time.Since(start)
	s.mu.Lock()
	if idx < len(s.calls) && s.calls[idx].RequestID == c.requestID { // not reset meanwhile
		s.calls[idx].Held = held
	}
	s.mu.Unlock()
}

// bodyAllowed reports whether an answer with status may carry a body
// (RFC 9110: not 1xx, 204 or 304).
func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

type connKey struct{}

// wireListener wraps each accepted connection so the simulator can start
// Held when the request arrived, not when the server's goroutine got a CPU
// to parse it.
type wireListener struct{ net.Listener }

func (l wireListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return wireconn.Wrap(c), nil
}

// arrival is when the kernel received the end of r (the data of the last
// read, made for r's head or body), or handlerStart when that is unknown or
// makes no sense (after it).
func arrival(r *http.Request, handlerStart time.Time) time.Time {
	wt, ok := r.Context().Value(connKey{}).(wireconn.WireTimes)
	if !ok {
		return handlerStart
	}
	_, rx := wt.WireTimes()
	if rx.IsZero() || rx.After(time.Now()) {
		return handlerStart
	}
	return rx
}

func (s *Sim) serve(c *call) {
	routeErr := s.route(c)
	if e := s.checkAuth(c); e != nil {
		c.writeError(e)
		return
	}
	if routeErr != nil {
		c.writeError(routeErr)
		return
	}
	if c.region == "" { // unsigned (AssumeRoleWithWebIdentity): the default scope
		c.account, c.region = s.def.account, s.def.region
	}
	s.mu.Lock()
	c.sc = s.scopeOf(c.account, c.region)
	s.mu.Unlock()
	f := s.takeFaults(c.sc, c.service, c.op, c.resource)
	c.fault, c.chaos = f.describe(), f.chaos
	if f.latency > 0 {
		t := time.NewTimer(f.latency)
		select {
		case <-t.C:
		case <-c.r.Context().Done():
		case <-s.closed:
		}
		t.Stop()
	}
	switch {
	case f.err != "":
		c.writeError(&apiError{Code: f.err, Message: "injected fault: " + f.err})
		return
	case f.malformed:
		writeMalformed(c)
		return
	}
	c.state, c.set = f.state, f.set
	s.mu.Lock()
	defer s.mu.Unlock()
	c.handler(c)
}

// route works out service, operation and resource. Unknown operations and
// undecodable bodies come back as an error that is answered after the
// authentication check, as AWS does.
func (s *Sim) route(c *call) *apiError {
	r := c.r
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		return s.routeJSON(c, target)
	}
	svc := s.restService(r)
	c.svc, c.service, c.signing = svc, svc.name, svc.signing
	return svc.route(s, c)
}

// restService finds the service of a request without X-Amz-Target: the one
// claiming its path, else, as services with their own hosts on AWS (Bedrock,
// Lambda) are told apart from S3 here, the one it is signed for, else the
// fallback.
func (s *Sim) restService(r *http.Request) *service {
	for _, svc := range s.services {
		if svc.claims != nil && svc.claims(r) {
			return svc
		}
	}
	scope := scopeService(r)
	for _, svc := range s.services {
		if svc.byScope && svc.signing == scope {
			return svc
		}
	}
	for _, svc := range s.services {
		if svc.fallback {
			return svc
		}
	}
	panic("awssim: no fallback service") // TestServicesAreComplete
}

func parseAttempt(h string) int {
	for _, part := range strings.Split(h, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok && k == "attempt" {
			n, err := strconv.Atoi(v)
			if err == nil {
				return n
			}
		}
	}
	return 0
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// epoch renders a time the way awsJson protocols carry timestamps.
func epoch(t time.Time) float64 {
	return float64(t.UnixMilli()) / 1000
}
