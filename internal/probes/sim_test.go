package probes_test

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/socmond/socmond/internal/awsclient"
	"github.com/socmond/socmond/internal/awssim"
	"github.com/socmond/socmond/internal/probes"
)

// These tests drive the real SDK clients against the wire-level simulator,
// so they check what unit tests with fakes cannot: that the probes read the
// codes, statuses and bodies the SDK actually produces.

const (
	simModel   = "anthropic.claude-3-haiku-20240307-v1:0"
	simEmbed   = "amazon.titan-embed-text-v2:0"
	simTable   = "soc-alerts"
	simBucket  = "soc-audit"
	simKey     = "alias/soc-cmk"
	simBus     = "soc-bus"
	simMachine = "arn:aws:states:us-east-1:123456789012:stateMachine:triage"
	simFunc    = "soc-enrich"
	// simSecret must never show up in a Result.
	simSecret = "sim-secret-key-do-not-print"
)

// clients holds one SDK client per service, all pointed at one endpoint.
type clients struct {
	bedrock  *bedrock.Client
	runtime  *bedrockruntime.Client
	dynamodb *dynamodb.Client
	s3       *s3.Client
	kms      *kms.Client
	events   *eventbridge.Client
	sfn      *sfn.Client
	lambda   *lambda.Client
}

// newClients builds clients the way the factory does, against url only:
// with the SDK's standard retryer, so every case's attempt count checks the
// probe's own single attempt.
func newClients(t *testing.T, url string) clients {
	t.Helper()
	opts := []func(*config.LoadOptions) error{
		config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIDSOCMONDTEST", simSecret, "")),
		config.WithBaseEndpoint(url),
		config.WithHTTPClient(awsclient.NewHTTPClient(0)), // production's transport and connections
		// No shared files: a developer's profile must not redirect or sign these calls.
		config.WithSharedConfigFiles([]string{}),
		config.WithSharedCredentialsFiles([]string{}),
	}
	cfg, err := config.LoadDefaultConfig(context.Background(), opts...)
	if err != nil {
		t.Fatalf("load config: %v", err)
	}
	// As the factory does (after loading, so AWS_CA_BUNDLE still applies).
	cfg.HTTPClient = awsclient.WithMemoryBodies(cfg.HTTPClient)
	// Setting BaseEndpoint on each client as well wins over any
	// AWS_ENDPOINT_URL_* variable, so nothing leaves loopback.
	ep := aws.String(url)
	return clients{
		bedrock:  bedrock.NewFromConfig(cfg, func(o *bedrock.Options) { o.BaseEndpoint = ep }),
		runtime:  bedrockruntime.NewFromConfig(cfg, func(o *bedrockruntime.Options) { o.BaseEndpoint = ep }),
		dynamodb: dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = ep }),
		s3:       s3.NewFromConfig(cfg, func(o *s3.Options) { o.BaseEndpoint = ep; o.UsePathStyle = true }),
		kms:      kms.NewFromConfig(cfg, func(o *kms.Options) { o.BaseEndpoint = ep }),
		events:   eventbridge.NewFromConfig(cfg, func(o *eventbridge.Options) { o.BaseEndpoint = ep }),
		sfn:      sfn.NewFromConfig(cfg, func(o *sfn.Options) { o.BaseEndpoint = ep }),
		lambda:   lambda.NewFromConfig(cfg, func(o *lambda.Options) { o.BaseEndpoint = ep }),
	}
}

func startSim(t *testing.T) (*awssim.Sim, string) {
	t.Helper()
	sim, url := awssim.Serve(t, awssim.Seed{
		Tables:        []string{simTable},
		Buckets:       []string{simBucket},
		Keys:          []string{simKey},
		EventBuses:    []string{simBus},
		StateMachines: []string{simMachine},
		Functions:     []string{simFunc},
		Models:        []string{simModel, simEmbed, "amazon.titan-embed-text-v1", "cohere.embed-english-v3"},
	})
	return sim, url
}

// simProbe is one probe as the simulator sees it.
type simProbe struct {
	service  string                                        // key into services()
	fault    string                                        // the simulator's service name
	resource string                                        // what faults match
	probe    func(c clients, resource string) probes.Probe // built on the real clients
	// inject are the wire codes to inject per class; expect overrides the
	// code the probe should then report (S3 HEAD loses the body's code).
	inject map[probes.Class]string
	expect map[probes.Class]string
	// badState is a State fault and the status it must give; "" means the
	// service has no state to break.
	badState  string
	badStatus probes.Status
	badHint   string
}

func simProbes() map[string]simProbe {
	return map[string]simProbe{
		"bedrock": {service: "bedrock", fault: "bedrock", resource: simModel,
			probe:    func(c clients, r string) probes.Probe { return probes.NewBedrockModel(c.bedrock, r) },
			inject:   map[probes.Class]string{probes.ClassThrottled: "ThrottlingException", probes.ClassAuth: "AccessDeniedException", probes.ClassServer: "InternalServerException"},
			expect:   map[probes.Class]string{probes.ClassThrottled: "ThrottlingException"},
			badState: "LEGACY", badStatus: probes.Degraded, badHint: "LEGACY"},
		"bedrock runtime": {service: "bedrock runtime", fault: "bedrock-runtime", resource: simModel,
			probe:  func(c clients, r string) probes.Probe { return probes.NewBedrockRuntime(c.runtime, r, 1) },
			inject: map[probes.Class]string{probes.ClassThrottled: "ModelNotReadyException", probes.ClassAuth: "AccessDeniedException", probes.ClassServer: "ModelErrorException"},
			// Bedrock runtime answers an unknown model with a 400 ValidationException.
			expect: map[probes.Class]string{probes.ClassNotFound: "ValidationException"}},
		"bedrock runtime embedding": {service: "bedrock runtime", fault: "bedrock-runtime", resource: simEmbed,
			probe:  func(c clients, r string) probes.Probe { return probes.NewBedrockRuntime(c.runtime, r, 1) },
			inject: map[probes.Class]string{probes.ClassThrottled: "ModelNotReadyException", probes.ClassAuth: "AccessDeniedException", probes.ClassServer: "ModelErrorException"},
			expect: map[probes.Class]string{probes.ClassNotFound: "ValidationException"}},
		"dynamodb": {service: "dynamodb", fault: "dynamodb", resource: simTable,
			probe:    func(c clients, r string) probes.Probe { return probes.NewDynamoDBTable(c.dynamodb, r) },
			inject:   map[probes.Class]string{probes.ClassThrottled: "ProvisionedThroughputExceededException", probes.ClassAuth: "AccessDeniedException", probes.ClassServer: "InternalServerError"},
			badState: "INACCESSIBLE_ENCRYPTION_CREDENTIALS", badStatus: probes.Unavailable, badHint: "7 days"},
		"s3": {service: "s3", fault: "s3", resource: simBucket,
			probe:  func(c clients, r string) probes.Probe { return probes.NewS3Bucket(c.s3, r) },
			inject: map[probes.Class]string{probes.ClassThrottled: "SlowDown", probes.ClassAuth: "AccessDenied", probes.ClassServer: "InternalError"},
			// HEAD answers carry no body, so the SDK names the status text.
			expect: map[probes.Class]string{probes.ClassThrottled: "ServiceUnavailable", probes.ClassAuth: "Forbidden", probes.ClassServer: "InternalServerError"}},
		"kms": {service: "kms", fault: "kms", resource: simKey,
			probe:    func(c clients, r string) probes.Probe { return probes.NewKMSKey(c.kms, r) },
			inject:   map[probes.Class]string{probes.ClassThrottled: "ThrottlingException", probes.ClassAuth: "AccessDeniedException", probes.ClassServer: "KMSInternalException"},
			badState: "Disabled", badStatus: probes.Unavailable, badHint: "kms:EnableKey"},
		"eventbridge": {service: "eventbridge", fault: "eventbridge", resource: simBus,
			probe:  func(c clients, r string) probes.Probe { return probes.NewEventBus(c.events, r) },
			inject: map[probes.Class]string{probes.ClassThrottled: "ThrottlingException", probes.ClassAuth: "AccessDeniedException", probes.ClassServer: "InternalException"}},
		"stepfunctions": {service: "stepfunctions", fault: "stepfunctions", resource: simMachine,
			probe:    func(c clients, r string) probes.Probe { return probes.NewStateMachine(c.sfn, r) },
			inject:   map[probes.Class]string{probes.ClassThrottled: "ThrottlingException", probes.ClassAuth: "AccessDeniedException", probes.ClassServer: "InternalFailure"},
			badState: "DELETING", badStatus: probes.Unavailable, badHint: "being deleted"},
		"lambda": {service: "lambda", fault: "lambda", resource: simFunc,
			probe:    func(c clients, r string) probes.Probe { return probes.NewLambdaFunction(c.lambda, r) },
			inject:   map[probes.Class]string{probes.ClassThrottled: "TooManyRequestsException", probes.ClassAuth: "AccessDeniedException", probes.ClassServer: "ServiceException"},
			badState: "Failed", badStatus: probes.Unavailable, badHint: "StateReasonCode"},
	}
}

// refusingURL is an endpoint that refuses connections. The port is bound
// but never listened on, and stays bound until the test ends, so no other
// server can take it over meanwhile (a closed listener's port could be).
func refusingURL(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatalf("socket: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatalf("bind: %v", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatalf("getsockname: %v", err)
	}
	return fmt.Sprintf("http://127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
}

// missing names a resource of the same kind that the simulator does not hold.
func missing(resource string) string {
	if strings.HasPrefix(resource, "arn:") {
		return resource + "-gone"
	}
	if strings.Contains(resource, "embed") { // an embedding model id
		return "amazon.titan-embed-text-v9:0"
	}
	if strings.Contains(resource, ":") { // a model id
		return "anthropic.claude-nonexistent-v9:0"
	}
	if strings.HasPrefix(resource, "alias/") {
		return "alias/gone"
	}
	return resource + "-gone"
}

func TestProbesAgainstSimulator(t *testing.T) {
	closedURL := refusingURL(t)

	// Only lower bounds on time: a slow fault is 4× the threshold and the
	// deadline fault far beyond the deadline, so load cannot flip a result.
	// Cases not about time have no threshold and a deadline that only stops
	// a hang, so a busy machine cannot turn them slow.
	fast := probes.Options{Timeout: 30 * time.Second}
	slowOpts := probes.Options{Timeout: 5 * time.Second, SlowThreshold: 50 * time.Millisecond}
	deadline := probes.Options{Timeout: 200 * time.Millisecond, SlowThreshold: 50 * time.Millisecond}

	for name, sp := range simProbes() {
		svc := services()[sp.service]
		code := func(class probes.Class) string {
			if c, ok := sp.expect[class]; ok {
				return c
			}
			if c, ok := sp.inject[class]; ok {
				return c
			}
			return svc.codes[class]
		}
		hint := func(class probes.Class) []string {
			if h, ok := svc.hints[class]; ok {
				return h
			}
			return commonHints[class]
		}

		type simCase struct {
			fault    *awssim.Fault
			refused  bool
			resource string
			opts     probes.Options
			want     want
			attempts int // calls the simulator must have seen; -1 to skip
		}
		cases := map[string]simCase{
			"healthy":   {want: want{Status: probes.Healthy}, attempts: 1},
			"slow":      {fault: &awssim.Fault{Latency: "200ms"}, opts: slowOpts, want: want{Status: probes.Degraded, Class: probes.ClassSlow, Detail: []string{"over threshold 50ms"}, Hint: []string{"slower than the threshold"}}, attempts: 1},
			"throttled": {fault: &awssim.Fault{Error: sp.inject[probes.ClassThrottled]}, want: want{Status: probes.Degraded, Class: probes.ClassThrottled, Code: code(probes.ClassThrottled), Hint: hint(probes.ClassThrottled)}, attempts: 1},
			"denied":    {fault: &awssim.Fault{Error: sp.inject[probes.ClassAuth]}, want: want{Status: probes.Unavailable, Class: probes.ClassAuth, Code: code(probes.ClassAuth), Hint: hint(probes.ClassAuth)}, attempts: 1},
			"not found": {resource: missing(sp.resource), want: want{Status: probes.Unavailable, Class: probes.ClassNotFound, Code: code(probes.ClassNotFound), Hint: hint(probes.ClassNotFound)}, attempts: 1},
			"server":    {fault: &awssim.Fault{Error: sp.inject[probes.ClassServer]}, want: want{Status: probes.Unavailable, Class: probes.ClassServer, Code: code(probes.ClassServer), Hint: hint(probes.ClassServer)}, attempts: 1},
			"timeout":   {fault: &awssim.Fault{Latency: "30s"}, opts: deadline, want: want{Status: probes.Unavailable, Class: probes.ClassTimeout, Hint: hint(probes.ClassTimeout)}, attempts: -1},
			"refused":   {refused: true, want: want{Status: probes.Unavailable, Class: probes.ClassNetwork, Hint: hint(probes.ClassNetwork)}, attempts: 0},
			"malformed": {fault: &awssim.Fault{Malformed: true}, want: want{Status: probes.Unavailable, Class: probes.ClassServer, Hint: hint(probes.ClassServer)}, attempts: 1},
		}
		if sp.badState != "" {
			cases["bad state"] = simCase{fault: &awssim.Fault{State: sp.badState},
				want: want{Status: sp.badStatus, Class: probes.ClassInvalidState, Detail: []string{sp.badState}, Hint: []string{sp.badHint}}, attempts: 1}
		}

		for cname, tc := range cases {
			t.Run(name+"/"+cname, func(t *testing.T) {
				// A simulator per case: a call abandoned at its deadline
				// is still finishing there and must not count in the next case.
				sim, url := startSim(t)
				if tc.fault != nil {
					f := *tc.fault
					f.Service, f.Resource = sp.fault, sp.resource
					sim.AddFault(f)
				}
				if tc.refused {
					url = closedURL
				}
				cl := newClients(t, url)
				resource := sp.resource
				if tc.resource != "" {
					resource = tc.resource
				}
				opts := fast
				if tc.opts.Timeout != 0 {
					opts = tc.opts
				}

				r := probes.Run(context.Background(), sp.probe(cl, resource), opts)

				assertResult(t, r, tc.want)
				if tc.want.Class != probes.ClassTimeout && tc.want.Class != probes.ClassNetwork && r.RequestID == "" {
					t.Errorf("RequestID is empty; the simulator sends one on every answer")
				}
				if strings.Contains(r.Hint+r.Detail, simSecret) {
					t.Errorf("the secret key leaked into the result: %+v", r)
				}
				if tc.attempts >= 0 {
					if calls := sim.Calls(); len(calls) != tc.attempts {
						t.Errorf("simulator saw %d calls, want %d: %+v", len(calls), tc.attempts, calls)
					}
				}
			})
		}
	}
}

// The runtime probe must find every model it is given healthy: Bedrock
// refuses Converse for an embedding model (the example config's
// amazon.titan-embed-text-v2:0) with a ValidationException, so those are
// invoked with their family's own minimal embedding request instead.
func TestBedrockRuntimeProbeEmbeddingModels(t *testing.T) {
	sim, url := startSim(t)
	c := newClients(t, url)
	for model, op := range map[string]string{
		simModel:                     "Converse",
		simEmbed:                     "InvokeModel",
		"amazon.titan-embed-text-v1": "InvokeModel",
		"cohere.embed-english-v3":    "InvokeModel",
		"us.cohere.embed-english-v3": "InvokeModel", // a cross-region inference profile
	} {
		t.Run(model, func(t *testing.T) {
			sim.ResetCalls()
			r := probes.Run(context.Background(), probes.NewBedrockRuntime(c.runtime, model, 1), probes.Options{Timeout: 30 * time.Second})
			assertResult(t, r, want{Status: probes.Healthy})
			if calls := sim.Calls(); len(calls) != 1 || calls[0].Operation != op {
				t.Errorf("simulator saw %+v, want one %s", calls, op)
			}
		})
	}
}

// S3 answers a bucket in another region with a bodiless 301; the probe must
// call it not found and send the person to the right region.
func TestS3WrongRegionAgainstSimulator(t *testing.T) {
	sim, url := startSim(t)
	c := newClients(t, url)
	sim.AddFault(awssim.Fault{Service: "s3", Resource: simBucket, Error: "MovedPermanently"})
	r := probes.Run(context.Background(), probes.NewS3Bucket(c.s3, simBucket), probes.Options{Timeout: 30 * time.Second})
	assertResult(t, r, want{Status: probes.Unavailable, Class: probes.ClassNotFound, Code: "MovedPermanently", Hint: []string{"region"}})
}
