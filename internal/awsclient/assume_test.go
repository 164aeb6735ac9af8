package awsclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/socmond/socmond/internal/awssim"
	"github.com/socmond/socmond/internal/testenv"
)

const (
	roleA = "arn:aws:iam::111111111111:role/socmond-a"
	roleB = "arn:aws:iam::222222222222:role/socmond-b"
	// baseKey signs the task's own calls, AssumeRole among them.
	baseKey = "AKIDSIM"
)

// regionSims is one simulator per region behind one endpoint. With an
// endpoint override every region's clients send to the same URL, where on
// AWS each region has its own host; the front routes each request by the
// region of its SigV4 credential scope to that region's simulator, which
// refuses a request scoped to another region. A call recorded by a region's
// simulator was therefore signed for that region.
//
// The front gives each role's AssumeRole answer a key of its own (roleKey),
// so a simulator's recorded calls (Call.AccessKey) say whose credentials
// signed them in whichever region's simulator they reach. Those keys are
// not the simulator's own, so it serves their calls from its default
// account, where the seed is.
type regionSims struct {
	sims map[string]*awssim.Sim
	url  string
	// assuming hears the role of each AssumeRole as it arrives, before the
	// simulator answers it.
	assuming chan string
}

func serveRegions(t *testing.T, seed awssim.Seed, regions ...string) *regionSims {
	t.Helper()
	rs := &regionSims{sims: map[string]*awssim.Sim{}, assuming: make(chan string, 64)}
	urls := map[string]string{}
	for _, r := range regions {
		s := seed
		s.Region = r
		sim, u := awssim.Serve(t, s)
		rs.sims[r], urls[r] = sim, u
	}
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target, ok := urls[scopeRegion(r)]
		if !ok {
			http.Error(w, "no simulator for the region of "+r.Header.Get("Authorization"), http.StatusBadGateway)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		role := ""
		if form, err := url.ParseQuery(string(body)); err == nil && form.Get("Action") == "AssumeRole" {
			role = form.Get("RoleArn")
			rs.assuming <- role
		}
		out, err := http.NewRequestWithContext(r.Context(), r.Method, target+r.URL.RequestURI(), bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		out.Header = r.Header.Clone()
		resp, err := tr.RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		answer, err := io.ReadAll(resp.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		if role != "" {
			answer = accessKeyRe.ReplaceAll(answer, []byte("<AccessKeyId>"+roleKey(role)+"<"))
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		if r.Method != http.MethodHead {
			w.Header().Set("Content-Length", strconv.Itoa(len(answer)))
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(answer)
	}))
	// An AssumeRole a test left hanging holds its connection until the
	// role's own timeout; closing the connections ends it with the test.
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close() })
	rs.url = srv.URL
	return rs
}

var accessKeyRe = regexp.MustCompile(`<AccessKeyId>[^<]*<`)

var scopeRe = regexp.MustCompile(`Credential=[^/]+/\d{8}/([a-z0-9-]+)/`)

// scopeRegion is the region a request is signed for.
func scopeRegion(r *http.Request) string {
	if m := scopeRe.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		return m[1]
	}
	return ""
}

// roleKey is the access key the front gives a role's credentials.
func roleKey(role string) string {
	return "ASIA" + strings.ToUpper(strings.NewReplacer("-", "", "_", "").Replace(role[strings.LastIndex(role, "/")+1:]))
}

// baseClients are New's clients in us-east-1 against endpoint, signed with
// the static key baseKey.
func baseClients(t *testing.T, endpoint string) *Clients {
	t.Helper()
	c, err := New(context.Background(), Options{Region: "us-east-1", Endpoint: endpoint,
		Credentials: credentials.NewStaticCredentialsProvider(baseKey, "secret", "")})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func assume(t *testing.T, c *Clients, a Assumption) *Clients {
	t.Helper()
	d, err := c.Assume(a)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

var seeded = awssim.Seed{Tables: []string{"findings"}, Buckets: []string{"evidence"}, Keys: []string{"alias/k"}}

// probeCalls are calls on seeded resources through four services, each of
// which must succeed.
var probeCalls = []func(ctx context.Context, c *Clients) error{
	func(ctx context.Context, c *Clients) error {
		_, err := c.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("findings")})
		return err
	},
	func(ctx context.Context, c *Clients) error {
		_, err := c.S3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("evidence")})
		return err
	},
	func(ctx context.Context, c *Clients) error {
		_, err := c.KMS.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/k")})
		return err
	},
	func(ctx context.Context, c *Clients) error {
		_, err := c.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		return err
	},
}

// calls counts what a simulator recorded, by access key, apart from
// AssumeRole, which it lists by role with the key that signed it.
func calls(sim *awssim.Sim) (byKey map[string]int, assumed []string) {
	byKey = map[string]int{}
	for _, c := range sim.Calls() {
		if c.Operation == "AssumeRole" {
			assumed = append(assumed, c.Resource+" signed by "+c.AccessKey)
			continue
		}
		byKey[c.AccessKey]++
	}
	return byKey, assumed
}

// Two roles in two regions, 200 calls at once through four services: each
// role is assumed once, from the task's own identity at its region's STS,
// and every call reaches the region it was made for, signed with its
// role's credentials.
func TestAssumeOneSessionPerRoleAcrossRegions(t *testing.T) {
	t.Setenv("AWS_DEFAULTS_MODE", "") // a defaults mode makes a pool per client (serviceHTTPClient)
	rs := serveRegions(t, seeded, "us-east-1", "eu-west-1")
	base := baseClients(t, rs.url)
	type pair struct{ role, region string }
	pairs := []pair{{roleA, "us-east-1"}, {roleA, "eu-west-1"}, {roleB, "us-east-1"}, {roleB, "eu-west-1"}}
	const perPair = 50
	start := make(chan struct{})
	errs := make(chan error, len(pairs)*perPair)
	var wg sync.WaitGroup
	for _, p := range pairs {
		c := assume(t, base, Assumption{RoleARN: p.role, Region: p.region})
		for i := range perPair {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if err := probeCalls[i%len(probeCalls)](context.Background(), c); err != nil {
					errs <- fmt.Errorf("%s in %s: %w", p.role, p.region, err)
				}
			}()
		}
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	// The task's own identity in the other region: no role, its own key,
	// and, new as they are, its clients' first call goes out on a
	// connection the others left in the one pool.
	own := assume(t, base, Assumption{Region: "eu-west-1"})
	var reused bool
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }})
	for i, call := range probeCalls {
		if err := call(ctx, own); err != nil {
			t.Errorf("own identity in eu-west-1: %v", err)
		}
		if i == 0 && !reused {
			t.Error("new clients dialled a connection of their own: they do not share the pool")
		}
	}

	us, usAssumed := calls(rs.sims["us-east-1"])
	eu, euAssumed := calls(rs.sims["eu-west-1"])
	if want := []string{roleA + " signed by " + baseKey, roleB + " signed by " + baseKey}; !sameSet(usAssumed, want) || len(euAssumed) != 0 {
		t.Errorf("AssumeRole calls: us-east-1 %q, eu-west-1 %q; want one per role, in us-east-1, signed by the task's identity %q",
			usAssumed, euAssumed, want)
	}
	wantUS := map[string]int{roleKey(roleA): perPair, roleKey(roleB): perPair}
	wantEU := map[string]int{roleKey(roleA): perPair, roleKey(roleB): perPair, baseKey: len(probeCalls)}
	if fmt.Sprint(us) != fmt.Sprint(wantUS) || fmt.Sprint(eu) != fmt.Sprint(wantEU) {
		t.Errorf("calls by key: us-east-1 %v, eu-west-1 %v; want %v and %v", us, eu, wantUS, wantEU)
	}
}

// sameSet reports whether a and b hold the same strings, in any order.
func sameSet(a, b []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}

// A role's credentials are refreshed through STS before they expire, once,
// while the calls go on: the simulator issues credentials that live 6 s,
// whose window (shrunk with their lifetime) opens within 6 s.
func TestAssumeRefreshesBeforeExpiry(t *testing.T) {
	// The simulator serves roleA's calls from roleA's account, and refuses
	// them once its credentials have expired.
	inA := seeded
	inA.AccountID = "111111111111"
	sim, url := awssim.Serve(t, inA)
	base := baseClients(t, url)
	var opts aws.CredentialsCacheOptions
	refreshBeforeExpiry(&opts)
	if opts.ExpiryWindow < time.Minute || opts.ExpiryWindowJitterFrac <= 0 || opts.ExpiryWindowJitterFrac >= 1 {
		t.Fatalf("expiry window %s, jitter %v: want minutes, jittered", opts.ExpiryWindow, opts.ExpiryWindowJitterFrac)
	}
	// Without the jitter the window's start is known: the credentials'
	// lifetime less the whole window.
	base.derived.cache = func(o *aws.CredentialsCacheOptions) { refreshBeforeExpiry(o); o.ExpiryWindowJitterFrac = 0 }
	const lifetime = 6 * time.Second
	sim.SetCredentialLifetime(lifetime)
	c := assume(t, base, Assumption{RoleARN: roleA})

	assumeRoles := func() []awssim.Call {
		var out []awssim.Call
		for _, call := range sim.Calls() {
			if call.Operation == "AssumeRole" {
				out = append(out, call)
			}
		}
		return out
	}
	made := 0
	testenv.Eventually(t, "a second AssumeRole", func() bool {
		for _, call := range probeCalls {
			if err := call(context.Background(), c); err != nil {
				t.Fatal(err)
			}
			made++
		}
		return len(assumeRoles()) == 2
	})
	for range 5 { // the new credentials serve the calls after the refresh
		for _, call := range probeCalls {
			if err := call(context.Background(), c); err != nil {
				t.Fatal(err)
			}
			made++
		}
	}
	got := assumeRoles()
	if len(got) != 2 {
		t.Fatalf("%d AssumeRole calls for %d calls signed: want the first and one refresh", len(got), made)
	}
	// Before expiry: the simulator refuses an expired key, and the calls
	// above ran back to back throughout, so a late refresh would have
	// failed one of them. Not long before it either: the window is the
	// last twelfth of the credentials' life, so no earlier than half of it.
	if gap := got[1].At.Sub(got[0].At); gap < lifetime/2 {
		t.Errorf("refreshed %s after the first AssumeRole, credentials living %s: the window is the last twelfth of their life", gap, lifetime)
	}
}

// A role that cannot be assumed fails its calls in every region at once,
// with an error naming the role and what to check, from one AssumeRole
// held for every later call; another role's calls are not touched.
func TestAssumeRoleRefused(t *testing.T) {
	rs := serveRegions(t, seeded, "us-east-1", "eu-west-1")
	rs.sims["us-east-1"].AddFault(awssim.Fault{Service: "sts", Operation: "AssumeRole", Resource: roleA, Error: "AccessDenied"})
	base := baseClients(t, rs.url)
	const externalID = "ext-7c1e-never-shown"
	for _, region := range []string{"us-east-1", "eu-west-1"} {
		a := assume(t, base, Assumption{RoleARN: roleA, ExternalID: externalID, Region: region})
		for _, call := range probeCalls {
			err := call(context.Background(), a)
			var are *AssumeRoleError
			if !errors.As(err, &are) || are.Role != roleA || !are.ExternalID {
				t.Fatalf("%s: err = %v, want an AssumeRoleError for %s with an external id", region, err, roleA)
			}
			msg := err.Error()
			for _, want := range []string{roleA, "trust policy", "external id", "AccessDenied"} {
				if !strings.Contains(msg, want) {
					t.Errorf("%q does not say %q", msg, want)
				}
			}
			if strings.Contains(msg, externalID) {
				t.Errorf("%q shows the external id", msg)
			}
		}
		b := assume(t, base, Assumption{RoleARN: roleB, Region: region})
		for _, call := range probeCalls {
			if err := call(context.Background(), b); err != nil {
				t.Errorf("%s in %s: %v", roleB, region, err)
			}
		}
	}
	us, usAssumed := calls(rs.sims["us-east-1"])
	eu, _ := calls(rs.sims["eu-west-1"])
	if want := []string{roleA + " signed by " + baseKey, roleB + " signed by " + baseKey}; !sameSet(usAssumed, want) {
		t.Errorf("AssumeRole calls %q, want one per role (%s's refusal held): %q", usAssumed, roleA, want)
	}
	if us[roleKey(roleA)]+eu[roleKey(roleA)] != 0 || us[roleKey(roleB)] != len(probeCalls) || eu[roleKey(roleB)] != len(probeCalls) {
		t.Errorf("calls by key: us-east-1 %v, eu-west-1 %v; want none of %s's, all of %s's", us, eu, roleA, roleB)
	}
}

// While STS does not answer for one role, the other roles' calls, and the
// task's own, go through: no lock is held across an AssumeRole but the
// waiting role's own.
func TestAssumeHangingRoleBlocksNoOther(t *testing.T) {
	rs := serveRegions(t, seeded, "us-east-1", "eu-west-1")
	rs.sims["us-east-1"].AddFault(awssim.Fault{Service: "sts", Operation: "AssumeRole", Resource: roleA, Latency: "1h"})
	base := baseClients(t, rs.url)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hung := make(chan error, 1)
	a := assume(t, base, Assumption{RoleARN: roleA, Region: "eu-west-1"})
	go func() { hung <- probeCalls[0](ctx, a) }()
	select {
	case role := <-rs.assuming:
		if role != roleA {
			t.Fatalf("STS was asked for %s first", role)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("role A's AssumeRole never reached STS")
	}

	for _, region := range []string{"eu-west-1", "us-east-1"} {
		for _, c := range []*Clients{assume(t, base, Assumption{RoleARN: roleB, Region: region}), assume(t, base, Assumption{Region: region})} {
			for _, call := range probeCalls {
				if err := call(context.Background(), c); err != nil {
					t.Errorf("in %s while %s's AssumeRole hangs: %v", region, roleA, err)
				}
			}
		}
	}
	select {
	case err := <-hung:
		t.Fatalf("role A's call returned (%v) before its AssumeRole was answered", err)
	default:
	}
	cancel()
	err := <-hung
	var are *AssumeRoleError
	if !errors.Is(err, context.Canceled) || errors.As(err, &are) {
		t.Errorf("err = %v, want the caller's cancellation, not an AssumeRoleError", err)
	}
}

// Assume builds a (role, region)'s clients once, on New's transport, and
// each role's credentials once for all its regions.
func TestAssumeCachesClients(t *testing.T) {
	base := baseClients(t, "http://127.0.0.1:1")
	if c, err := base.Assume(Assumption{}); err != nil || c != base {
		t.Errorf("no role, no region: %p, %v; want New's clients %p", c, err, base)
	}
	a := assume(t, base, Assumption{RoleARN: roleA, Region: "eu-west-1"})
	if again := assume(t, base, Assumption{RoleARN: roleA, Region: "eu-west-1"}); again != a {
		t.Error("the same role and region built again")
	}
	if fromDerived := assume(t, a, Assumption{RoleARN: roleA, Region: "eu-west-1", SessionName: DefaultSessionName}); fromDerived != a {
		t.Error("asked of derived clients, the same role and region built again")
	}
	home := assume(t, base, Assumption{RoleARN: roleA})
	if home.Config.Region != "us-east-1" || home.Config.Credentials != a.Config.Credentials {
		t.Errorf("role A in New's region: region %s, same credentials %v; want us-east-1 and the eu-west-1 clients' credentials",
			home.Config.Region, home.Config.Credentials == a.Config.Credentials)
	}
	other := assume(t, base, Assumption{RoleARN: roleA, Region: "eu-west-1", SessionName: "audit"})
	if other == a || other.Config.Credentials == a.Config.Credentials {
		t.Error("another session name shares the session")
	}
	own := assume(t, base, Assumption{Region: "eu-west-1"})
	if own.Config.Credentials != base.Config.Credentials {
		t.Error("the task's identity in another region has other credentials")
	}
	if a.Config.HTTPClient != base.Config.HTTPClient || !a.pathStyle {
		t.Error("derived clients have another HTTP client or S3 addressing")
	}

	builds := 0
	build := func(cfg aws.Config, tune Tune) *dynamodb.Client {
		builds++
		if cfg.Region != "eu-west-1" || tune.hc == nil {
			t.Errorf("built for %s, tuned %v", cfg.Region, tune.hc != nil)
		}
		return dynamodb.NewFromConfig(cfg)
	}
	if x, y := Client(a, "other", build), Client(a, "other", build); x != y || builds != 1 {
		t.Errorf("a descriptor's client built %d times on derived clients", builds)
	}

	for _, bad := range []Assumption{
		{Region: "Europe"},
		{RoleARN: "socmond-a"},
		{RoleARN: "arn:aws:iam::111111111111:user/socmond"},
		{ExternalID: "x-1"},
		{RoleARN: roleA, SessionName: "has space"},
	} {
		if _, err := base.Assume(bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	if _, err := (&Clients{}).Assume(Assumption{RoleARN: roleA}); err == nil {
		t.Error("clients not built by New derived others")
	}
}

// The SDK sends STS to the region's own endpoint, us-east-1 included (its
// endpoint rules use the global one only when asked to): AssumeRole goes
// through New's STS client to New's region, and a derived client's STS
// calls to its region.
func TestAssumeUsesRegionalSTSEndpoints(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_ENDPOINT_URL_STS", "")
	base := baseClients(t, "")
	for _, tc := range []struct {
		c    *Clients
		want string
	}{
		{base, "sts.us-east-1.amazonaws.com"}, // the client of every role's AssumeRole
		{assume(t, base, Assumption{RoleARN: roleA, Region: "eu-west-1"}), "sts.eu-west-1.amazonaws.com"},
	} {
		var host string
		stop := errors.New("stopped before sending")
		_, err := tc.c.STS.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{}, func(o *sts.Options) {
			o.Credentials = credentials.NewStaticCredentialsProvider(baseKey, "secret", "")
			o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
				return s.Finalize.Add(middleware.FinalizeMiddlewareFunc("host", func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
					host = in.Request.(*smithyhttp.Request).URL.Host
					return middleware.FinalizeOutput{}, middleware.Metadata{}, stop
				}), middleware.After)
			})
		})
		if !errors.Is(err, stop) || host != tc.want {
			t.Errorf("STS in %s: host %q (%v), want %s", tc.c.Config.Region, host, err, tc.want)
		}
	}
}

// The cache's refresh window is 4 to 5 minutes of an hour's session, and
// the same share of a shorter one's: credentials that live less than the
// window are not refreshed on every call.
func TestRoleRefreshWindowScalesWithLifetime(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	p := roleProvider{now: func() time.Time { return now }}
	for _, tc := range []struct {
		life, by, want time.Duration // want: how long the adjusted credentials last
	}{
		{time.Hour, -5 * time.Minute, 55 * time.Minute},
		{time.Hour, -4 * time.Minute, 56 * time.Minute},
		{12 * time.Hour, -5 * time.Minute, 12*time.Hour - 5*time.Minute}, // longer: the window as it is
		{60 * time.Second, -5 * time.Minute, 55 * time.Second},
		{6 * time.Second, -4 * time.Minute, 5600 * time.Millisecond},
		{-time.Second, -5 * time.Minute, -time.Second}, // already expired: nothing to move
	} {
		creds := aws.Credentials{CanExpire: true, Expires: now.Add(tc.life)}
		got, err := p.AdjustExpiresBy(creds, tc.by)
		if err != nil || got.Expires.Sub(now) != tc.want {
			t.Errorf("lifetime %s, window %s: adjusted to last %s (%v), want %s", tc.life, -tc.by, got.Expires.Sub(now), err, tc.want)
		}
	}
	var _ aws.AdjustExpiresByCredentialsCacheStrategy = roleProvider{} // the cache asks the provider it wraps
	if got, _ := p.AdjustExpiresBy(aws.Credentials{}, -time.Minute); got.CanExpire || !got.Expires.IsZero() {
		t.Errorf("credentials that do not expire adjusted to %v", got)
	}
}

// A call whose own deadline passes while its role's AssumeRole is
// unanswered fails with an AssumeRoleError saying STS did not answer, as
// when AssumeRole's own bound passes first: which fires first does not
// change what is wrong. A cancelled call stays a cancellation
// (TestAssumeHangingRoleBlocksNoOther).
func TestAssumeCallerDeadlineBeforeSTSAnswers(t *testing.T) {
	sim, url := awssim.Serve(t, seeded)
	sim.AddFault(awssim.Fault{Service: "sts", Operation: "AssumeRole", Resource: roleA, Latency: "1h"})
	base := baseClients(t, url)
	a := assume(t, base, Assumption{RoleARN: roleA, ExternalID: "ext-secret-1"})
	for range 2 { // the second waits on the same unanswered AssumeRole
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		err := probeCalls[0](ctx, a)
		cancel()
		var are *AssumeRoleError
		if !errors.As(err, &are) || are.Role != roleA || !are.NoAnswer() || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want an AssumeRoleError for %s that STS did not answer, wrapping the deadline", err, roleA)
		}
		for _, want := range []string{roleA, "did not answer", "reachable"} {
			if !strings.Contains(are.Hint(), want) {
				t.Errorf("hint %q does not say %q", are.Hint(), want)
			}
		}
		if strings.Contains(err.Error(), "ext-secret-1") {
			t.Errorf("%q shows the external id", err)
		}
	}
	// A refusal is not "no answer": its hint is the trust policy's.
	refused := &AssumeRoleError{Role: roleA, Err: errors.New("api error AccessDenied: not authorized")}
	if refused.NoAnswer() || !strings.Contains(refused.Hint(), "trust policy") {
		t.Errorf("a refusal: NoAnswer %v, hint %q", refused.NoAnswer(), refused.Hint())
	}
}

// Retain keeps the clients and role sessions of what is still configured
// and drops the rest: clients of a changed external id or another role are
// built anew, with a new AssumeRole, and however many such changes there
// are, Assume holds only those kept.
func TestAssumeRetain(t *testing.T) {
	rs := serveRegions(t, seeded, "us-east-1", "eu-west-1")
	sim := rs.sims["us-east-1"] // STS's region
	base := baseClients(t, rs.url)
	use := func(c *Clients) {
		t.Helper()
		if err := probeCalls[3](context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	bEU := assume(t, base, Assumption{RoleARN: roleB, Region: "eu-west-1"})
	bUS := assume(t, base, Assumption{RoleARN: roleB, Region: "us-east-1"})
	use(bEU)
	for i := range 20 { // twenty reloads, each with another external id for role A
		a := assume(t, base, Assumption{RoleARN: roleA, ExternalID: fmt.Sprintf("ext-%d", i), Region: "eu-west-1"})
		use(a)
		base.Retain(a, bEU, bUS, base)
		if got := base.Assumptions(); len(got) != 3 {
			t.Fatalf("reload %d: Assume holds %d clients, want 3: %+v", i, len(got), got)
		}
		if n := len(base.derived.roles); n != 2 {
			t.Fatalf("reload %d: %d role sessions held, want 2", i, n)
		}
		if again := assume(t, base, Assumption{RoleARN: roleA, ExternalID: fmt.Sprintf("ext-%d", i), Region: "eu-west-1"}); again != a {
			t.Fatalf("reload %d: kept clients built again", i)
		}
	}
	if n, m := sim.AssumeRoleCount(roleA), sim.AssumeRoleCount(roleB); n != 20 || m != 1 {
		t.Errorf("AssumeRole: %d of role A, %d of role B; want one per external id, and B's once", n, m)
	}
	// Role B dropped: its clients go on working, on their session; asked
	// for again, they are new, on a new one.
	base.Retain()
	use(bEU)
	if len(base.Assumptions()) != 0 || len(base.derived.roles) != 0 {
		t.Errorf("after Retain(): %d clients, %d roles held", len(base.Assumptions()), len(base.derived.roles))
	}
	fresh := assume(t, base, Assumption{RoleARN: roleB, Region: "eu-west-1"})
	use(fresh)
	if fresh == bEU || sim.AssumeRoleCount(roleB) != 2 {
		t.Errorf("role B asked for again: same clients %v, %d AssumeRole calls; want new clients and a new session", fresh == bEU, sim.AssumeRoleCount(roleB))
	}
	// Kept clients a Retain dropped are Assume's again.
	base.Retain(bUS)
	if again := assume(t, base, Assumption{RoleARN: roleB, Region: "us-east-1"}); again != bUS || bUS.Config.Credentials != base.derived.roles[role{roleB, "", DefaultSessionName}] {
		t.Error("clients kept after being dropped are not the ones Assume hands out")
	}
}
