// Package awsclient is the one place socmond builds AWS SDK clients: region,
// credentials, endpoint overrides, retry policy and the shared HTTP transport
// are decided here, once, so probes never construct clients per call.
package awsclient

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/logging"
	"github.com/rs/zerolog"

	"github.com/socmond/socmond/internal/wireconn"
)

// Options say how to reach AWS.
type Options struct {
	// Region is the AWS region; empty falls back to the SDK's own lookup
	// (AWS_REGION, shared config).
	Region string
	// Endpoint, when set, sends every service to this URL (the simulator in
	// `socmond demo`, LocalStack). When empty the SDK's own
	// AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE> variables apply.
	Endpoint string
	// Credentials, when set, replaces the SDK's default credential chain.
	Credentials aws.CredentialsProvider
	// MaxAttempts is the clients' retry budget. 0 leaves the SDK's standard
	// retryer with its own defaults (3 attempts, DynamoDB 4, and
	// AWS_MAX_ATTEMPTS / AWS_RETRY_MODE where set), so a compliance,
	// workflow, canary or evidence read survives one throttled answer.
	// Probes do not depend on it: each passes aws.NopRetryer per call and
	// makes exactly one attempt, since a retry would hide the very failure
	// it exists to report.
	MaxAttempts int
	// MaxConnsPerHost bounds the keep-alive pool per endpoint. 0 means 64.
	MaxConnsPerHost int
	// Logger receives the SDK's own warnings (a response body it could not
	// drain, a checksum it could not verify) as structured lines instead of
	// bare text on stderr. nil keeps the SDK's default.
	Logger *zerolog.Logger
}

// Clients holds one client per service. They share one set of transport
// options and, without a defaults mode, one transport and keep-alive pool;
// with a defaults mode the SDK derives a transport, and so a pool, per
// service (see serviceHTTPClient).
type Clients struct {
	Config         aws.Config
	Bedrock        *bedrock.Client
	BedrockRuntime *bedrockruntime.Client
	DynamoDB       *dynamodb.Client
	S3             *s3.Client
	KMS            *kms.Client
	EventBridge    *eventbridge.Client
	SFN            *sfn.Client
	Lambda         *lambda.Client
	STS            *sts.Client

	// tune applies the factory's HTTP client and retry policy to a client
	// built outside New (Client); its zero value leaves the SDK's.
	tune Tune
	// pathStyle is whether S3 is addressed path style (an endpoint
	// override), kept for the clients Assume derives.
	pathStyle bool
	// derived holds the clients Assume made and their roles' credentials;
	// New's Clients and every one derived from it share it.
	derived *derived
	// assumption is what Assume made these clients for (zero for New's).
	assumption Assumption
	mu         sync.Mutex
	other      map[string]any
}

// Client returns the SDK client of a service New does not build itself —
// one a probe's descriptor builds — made once per Clients by build, which
// gets the configuration and must call tune in its client options so the
// client shares the factory's connections and retry policy:
//
//	awsclient.Client(c, "example", func(cfg aws.Config, tune awsclient.Tune) *example.Client {
//		return example.NewFromConfig(cfg, func(o *example.Options) {
//			o.HTTPClient, o.Retryer = tune.HTTPClient(o.HTTPClient), tune.Retryer(o.Retryer)
//		})
//	})
func Client[T any](c *Clients, name string, build func(cfg aws.Config, tune Tune) T) T {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.other[name].(T); ok {
		return v
	}
	v := build(c.Config, c.tune)
	if c.other == nil {
		c.other = map[string]any{}
	}
	c.other[name] = v
	return v
}

// Tune is the factory's HTTP client and retry policy, for a client's
// options.
type Tune struct {
	hc func(aws.HTTPClient) aws.HTTPClient
}

// HTTPClient is what the factory makes of the HTTP client the SDK resolved
// for the service.
func (t Tune) HTTPClient(h aws.HTTPClient) aws.HTTPClient {
	if t.hc == nil {
		return h
	}
	return t.hc(h)
}

// Retryer is the factory's retry policy around the SDK's retryer.
func (t Tune) Retryer(r aws.Retryer) aws.Retryer {
	if t.hc == nil {
		return r
	}
	return capped(r)
}

// New builds the clients. It does not call AWS.
func New(ctx context.Context, o Options) (*Clients, error) {
	opts := []func(*config.LoadOptions) error{
		config.WithHTTPClient(NewHTTPClient(o.MaxConnsPerHost)),
	}
	if o.MaxAttempts > 0 {
		opts = append(opts, config.WithRetryMaxAttempts(o.MaxAttempts))
	}
	if o.Region != "" {
		opts = append(opts, config.WithRegion(o.Region))
	}
	if o.Credentials != nil {
		opts = append(opts, config.WithCredentialsProvider(o.Credentials))
	}
	if o.Endpoint != "" {
		opts = append(opts, config.WithBaseEndpoint(o.Endpoint))
	}
	if o.Logger != nil {
		opts = append(opts, config.WithLogger(sdkLogger(*o.Logger)))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Credentials != nil {
		cfg.Credentials = &holdFailures{inner: cfg.Credentials, hold: failureHold, now: time.Now}
	}
	if cfg.Region == "" {
		return nil, fmt.Errorf("no AWS region: set region in the config file or AWS_REGION")
	}
	c := build(cfg, o.Endpoint != "" || endpointFromEnv(os.Getenv, "S3"))
	c.derived = &derived{base: c, cache: refreshBeforeExpiry,
		clients: map[Assumption]*Clients{}, roles: map[role]aws.CredentialsProvider{}}
	return c, nil
}

// build makes one client per service from cfg, each on the factory's HTTP
// client and capped retryer, S3 path style when pathStyle says so. It is
// the one list of New's services, for any Clients made from a configuration.
func build(cfg aws.Config, pathStyle bool) *Clients {
	hc := serviceHTTPClient(cfg.HTTPClient)
	return &Clients{
		tune:           Tune{hc: hc},
		pathStyle:      pathStyle,
		Config:         cfg,
		Bedrock:        bedrock.NewFromConfig(cfg, func(o *bedrock.Options) { o.HTTPClient, o.Retryer = hc(o.HTTPClient), capped(o.Retryer) }),
		BedrockRuntime: bedrockruntime.NewFromConfig(cfg, func(o *bedrockruntime.Options) { o.HTTPClient, o.Retryer = hc(o.HTTPClient), capped(o.Retryer) }),
		DynamoDB:       dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.HTTPClient, o.Retryer = hc(o.HTTPClient), capped(o.Retryer) }),
		S3: s3.NewFromConfig(cfg, func(o *s3.Options) {
			o.Retryer = capped(o.Retryer)
			o.HTTPClient = hc(o.HTTPClient)
			// There is no environment variable for path-style addressing,
			// and against a hostname endpoint virtual-host style dials
			// bucket.localhost, so any endpoint override implies path style.
			o.UsePathStyle = pathStyle
		}),
		KMS:         kms.NewFromConfig(cfg, func(o *kms.Options) { o.HTTPClient, o.Retryer = hc(o.HTTPClient), capped(o.Retryer) }),
		EventBridge: eventbridge.NewFromConfig(cfg, func(o *eventbridge.Options) { o.HTTPClient, o.Retryer = hc(o.HTTPClient), capped(o.Retryer) }),
		SFN:         sfn.NewFromConfig(cfg, func(o *sfn.Options) { o.HTTPClient, o.Retryer = hc(o.HTTPClient), capped(o.Retryer) }),
		Lambda:      lambda.NewFromConfig(cfg, func(o *lambda.Options) { o.HTTPClient, o.Retryer = hc(o.HTTPClient), capped(o.Retryer) }),
		STS:         sts.NewFromConfig(cfg, func(o *sts.Options) { o.HTTPClient, o.Retryer = hc(o.HTTPClient), capped(o.Retryer) }),
	}
}

// serviceHTTPClient returns what each service's client option does to the
// HTTP client the SDK resolved for that service, given the shared one. It
// runs after the SDK's own resolution: with a defaults mode (AWS_DEFAULTS_MODE,
// defaults_mode in the shared config) the SDK derives a client per service
// with WithDialerOptions, which replaces the transport's DialContext and
// with it the wireconn wrapping, so probes silently lost their wire times.
// A derived client gets the wrapping back; the shared one (no defaults
// mode) already has it and is left as it is, so its one pool stays shared.
// Wrapping twice would be harmless anyway: wireconn.Wrap leaves a wrapped
// connection as it is.
func serviceHTTPClient(shared aws.HTTPClient) func(aws.HTTPClient) aws.HTTPClient {
	return func(c aws.HTTPClient) aws.HTTPClient {
		if b, ok := c.(*awshttp.BuildableClient); ok && c != shared {
			c = b.WithTransportOptions(func(t *http.Transport) { t.DialContext = wireDial(t.DialContext) })
		}
		return WithMemoryBodies(c)
	}
}

// WithMemoryBodies puts memoryBodies (body.go) around an SDK HTTP client.
// New uses it in a client option, after the SDK has derived the service's
// own client from the shared one (its defaults-mode and read timeouts need
// the SDK's buildable type, which the wrapper is not). Tests that build SDK
// clients of their own use it too: without it the SDK's body race makes a
// slow answer fail on a loaded machine.
func WithMemoryBodies(c aws.HTTPClient) aws.HTTPClient {
	if c == nil {
		return nil
	}
	return memoryBodies{inner: c}
}

// NewHTTPClient is the HTTP client New gives every service: a keep-alive
// pool of maxConnsPerHost connections per endpoint (0 means 64) whose
// connections record their wire times. Exported for tests that build SDK
// clients their own way but must talk through the same transport.
func NewHTTPClient(maxConnsPerHost int) *awshttp.BuildableClient {
	conns := maxConnsPerHost
	if conns <= 0 {
		conns = 64
	}
	// NewBuildableClient rather than a plain http.Client: with AWS_CA_BUNDLE
	// set, the SDK panics on a client it cannot add the bundle to.
	return awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = conns * 8
		t.MaxIdleConnsPerHost = conns
		t.IdleConnTimeout = 90 * time.Second
		t.DialContext = wireDial(t.DialContext)
	})
}

// wireDial wraps every connection the transport dials so probes can time
// AWS on the wire: when the request left and when the answer arrived,
// by the kernel's clock (internal/wireconn, read in probes/wiretime.go).
func wireDial(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return wireconn.Wrap(c), nil
	}
}

// endpointFromEnv reports whether the SDK will send the service to a custom
// endpoint because of AWS_ENDPOINT_URL or AWS_ENDPOINT_URL_<SERVICE>.
func endpointFromEnv(getenv func(string) string, service string) bool {
	if strings.EqualFold(getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"), "true") {
		return false
	}
	return getenv("AWS_ENDPOINT_URL") != "" || getenv("AWS_ENDPOINT_URL_"+service) != ""
}

// sdkLogger forwards the SDK's log lines to zerolog. The SDK logs request
// and response bodies only when asked to (ClientLogMode), which socmond
// never does, so nothing here carries credentials.
func sdkLogger(l zerolog.Logger) logging.Logger {
	l = l.With().Str("component", "aws-sdk").Logger()
	return logging.LoggerFunc(func(c logging.Classification, format string, v ...any) {
		ev := l.Warn()
		if c == logging.Debug || strings.HasPrefix(format, imdsV1Fallback) {
			ev = l.Debug()
		}
		ev.Msgf(format, v...)
	})
}

// imdsV1Fallback starts the warning the SDK logs whenever its request for an
// instance metadata token fails: off EC2, in a pod whose hop limit stops it,
// in a container, so on most machines socmond runs on and on every laptop
// without credentials. It says nothing a person can act on: when it matters,
// credentials are missing, and that is reported on its own (CheckCredentials,
// and the probes' auth class). Debug keeps it for whoever looks.
const imdsV1Fallback = "falling back to IMDSv1"

// MaxRetryBackoff caps the wait between two attempts of the SDK's standard
// retryer (its own cap is 20 s; a throttled call backs off from 1 s,
// doubling), so that a compliance, workflow or evidence call's retries fit
// in its deadline. Probes are not affected: they make one attempt.
const MaxRetryBackoff = 2 * time.Second

// capped is the service's own retryer (DynamoDB's has its own attempts and
// base delay) with its backoff capped at MaxRetryBackoff, and no retry
// begun that the call's deadline would cut short (withinDeadline).
func capped(r aws.Retryer) aws.Retryer {
	if r == nil {
		return nil
	}
	return withinDeadline{retry.AddWithMaxBackoffDelay(r, MaxRetryBackoff).(aws.RetryerV2)}
}

// withinDeadline declines a retry when the call's deadline is nearer than
// a backoff and an attempt. Otherwise the SDK sleeps into the deadline and
// returns only "context deadline exceeded": the error AWS actually sent —
// the throttling of a compliance read, say — is lost, and the finding reads
// "timeout" where it should read ThrottlingException. Declined, the SDK
// returns that last error.
type withinDeadline struct{ aws.RetryerV2 }

func (w withinDeadline) GetRetryToken(ctx context.Context, opErr error) (func(error) error, error) {
	if d, ok := ctx.Deadline(); ok && time.Until(d) < 2*MaxRetryBackoff {
		return nil, fmt.Errorf("no retry: %s left before the call's deadline", time.Until(d).Round(time.Millisecond))
	}
	return w.RetryerV2.GetRetryToken(ctx, opErr)
}
