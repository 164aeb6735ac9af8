package awssim

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// TestServicesAreComplete holds every registered service to each part the
// shared code reads from it, so a new service cannot forget one: routing,
// an error table and protocol, faults (by name, alias and state) and a seed.
func TestServicesAreComplete(t *testing.T) {
	taken := map[string]string{"pipeline": "pipeline faults", "unknown": "unknown targets"}
	var fallbacks []string
	for _, svc := range services {
		for _, n := range svc.names() {
			if n == "" || n != strings.ToLower(n) {
				t.Errorf("service %q: name or alias %q is not lower case", svc.name, n)
			}
			if other, dup := taken[n]; dup {
				t.Errorf("service %q: name or alias %q is already %s's", svc.name, n, other)
			}
			taken[n] = svc.name
		}
		if svc.fallback {
			fallbacks = append(fallbacks, svc.name)
		}
	}
	if len(fallbacks) != 1 {
		t.Errorf("want exactly one fallback service (S3), have %v", fallbacks)
	}

	for _, svc := range services {
		t.Run(svc.name, func(t *testing.T) {
			// Routing: an awsJson target, or a route that something reaches.
			if svc.signing == "" {
				t.Error("no SigV4 signing name")
			}
			switch jsonRouted := svc.target != ""; {
			case jsonRouted && svc.route != nil:
				t.Error("both an X-Amz-Target prefix and a route of its own")
			case jsonRouted && (len(svc.ops) == 0 || svc.resource == nil):
				t.Error("an X-Amz-Target prefix without operations or a resource function")
			case jsonRouted && svc.protocol.jsonContentType == "":
				t.Error("routed by X-Amz-Target but its protocol is not awsJson")
			case !jsonRouted && svc.route == nil:
				t.Error("no routing: set target and ops (awsJson) or route")
			case !jsonRouted && svc.claims == nil && !svc.byScope && !svc.fallback:
				t.Error("a route no request reaches: set claims, byScope or fallback")
			}
			if svc.target != "" {
				for _, other := range services {
					if other != svc && other.target != "" && strings.HasPrefix(other.target, svc.target) {
						t.Errorf("target prefix %q also takes %s's %q", svc.target, other.name, other.target)
					}
				}
			}

			// Errors.
			if len(svc.statuses) == 0 {
				t.Error("no error-code table (statuses)")
			}
			if svc.throttle == "" || ThrottleCode(svc.name) != svc.throttle {
				t.Errorf("throttle code %q: every service says how it throttles", svc.throttle)
			}
			for code, status := range svc.statuses {
				if status < 300 || status > 599 {
					t.Errorf("error %s has status %d", code, status)
				}
			}
			p := svc.protocol
			if p.name == "" || p.writeError == nil || p.writeMalformed == nil || p.authError == nil {
				t.Errorf("incomplete protocol %+v: want name, writeError, writeMalformed and authError", p)
			}

			// Seed: a resource given by name (or alias) is created, and the
			// service keeps its state under its name.
			for _, n := range svc.names() {
				seed := Seed{}
				if err := seed.Add(n, "sim-test-resource"); err != nil {
					t.Fatal(err)
				}
				if got := seed.Resources[svc.name]; !slices.Equal(got, []string{"sim-test-resource"}) {
					t.Errorf("Seed.Add(%q) put %v under %q", n, seed.Resources, svc.name)
				}
				if svc.seed == nil {
					t.Fatal("no seed")
				}
				if _, ok := New(seed).def.state[svc.name]; !ok {
					t.Errorf("seeding %s keeps nothing under its name", n)
				}
			}

			// Faults: accepted under every name, for every state, and
			// recorded under the service's name.
			sim := New(Seed{})
			for _, n := range append(svc.names(), strings.ToUpper(svc.name)) {
				sim.AddFault(Fault{Service: n, Error: "ThrottlingException"})
			}
			for _, st := range svc.states {
				sim.AddFault(Fault{Service: svc.name, State: st})
			}
			for k, check := range svc.settings {
				if check == nil {
					t.Errorf("setting %s has no validator", k)
				}
			}
			for _, f := range sim.Faults() {
				if f.Service != svc.name {
					t.Errorf("fault recorded under %q, want %q", f.Service, svc.name)
				}
			}
		})
	}
}

// TestServiceErrorsNameTheRegistration: error messages that list services
// are built from the registered services, so a new one shows up in them.
func TestServiceErrorsNameTheRegistration(t *testing.T) {
	sim := New(Seed{})
	_, err := sim.normaliseFault(Fault{Service: "nosuch", Error: "X"})
	if err == nil {
		t.Fatal("a fault on an unknown service was accepted")
	}
	for _, svc := range services {
		if !strings.Contains(err.Error(), svc.name) {
			t.Errorf("%q does not name %s", err, svc.name)
		}
	}
	var seed Seed
	if err := seed.Add("nosuch", "x"); err == nil || !strings.Contains(err.Error(), "dynamodb") {
		t.Errorf("Seed.Add of an unknown service: %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Error("New accepted Resources of an unknown service")
		}
	}()
	New(Seed{Resources: map[string][]string{"nosuch": {"x"}}})
}

// TestRequestsReachEachService: a request routed to each awsJson service,
// and to each service that takes requests signed for it, is that service's,
// and an injected error comes back with the status of its table.
func TestRequestsReachEachService(t *testing.T) {
	for _, svc := range services {
		t.Run(svc.name, func(t *testing.T) {
			sim := New(Seed{})
			req := httptest.NewRequest(http.MethodGet, "/sim-test-path/x", nil)
			switch {
			case svc.target != "":
				ops := make([]string, 0, len(svc.ops))
				for op := range svc.ops {
					ops = append(ops, op)
				}
				slices.Sort(ops)
				req = httptest.NewRequest(http.MethodPost, "/", strings.NewReader("{}"))
				req.Header.Set("X-Amz-Target", svc.target+ops[0])
				req.Header.Set("Content-Type", svc.protocol.jsonContentType)
			case svc.protocol.name == "awsQuery": // claimed by its form-encoded POST to /
				req = httptest.NewRequest(http.MethodPost, "/", strings.NewReader("Action=GetCallerIdentity&Version=2011-06-15"))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
			case svc.byScope, svc.fallback:
			default:
				t.Fatalf("no request here reaches %s: add the kind of request it claims", svc.name)
			}
			req.Header.Set("Authorization", authHeader("us-east-1", svc.signing))
			req.Header.Set("X-Amz-Date", "20261127T000000Z")
			req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
			codes := make([]string, 0, len(svc.statuses))
			for c := range svc.statuses {
				codes = append(codes, c)
			}
			slices.Sort(codes)
			code := codes[0]
			sim.AddFault(Fault{Service: svc.name, Error: code})
			rec := httptest.NewRecorder()
			sim.ServeHTTP(rec, req)
			calls := sim.Calls()
			if len(calls) != 1 || calls[0].Service != svc.name {
				t.Fatalf("calls %+v, want one to %s", calls, svc.name)
			}
			if svc.target != "" || svc.fallback || svc.protocol.name == "awsQuery" { // (the others answer an unknown path first)
				if rec.Code != svc.errorStatus(code) || calls[0].Fault != "error:"+code {
					t.Errorf("injected %s answered %d (fault %q), want %d", code, rec.Code, calls[0].Fault, svc.errorStatus(code))
				}
			}
		})
	}
}

// TestSeedResourcesAsFields: resources given through Seed.Resources are
// created as those in the service's own Seed field are.
func TestSeedResourcesAsFields(t *testing.T) {
	var seed Seed
	for _, r := range []struct{ service, name string }{
		{"kms", "alias/by-name"}, {"dynamodb", "by-name"}, {"s3", "by-name"}, {"lambda", "by-name"},
	} {
		if err := seed.Add(r.service, r.name); err != nil {
			t.Fatal(err)
		}
	}
	e := start(t, seed)
	table, err := e.ddb().DescribeTable(ctx(t), &dynamodb.DescribeTableInput{TableName: aws.String("by-name")})
	if err != nil {
		t.Fatal(err)
	}
	keyARN := e.sim.def.kms().firstKeyARN()
	if keyARN == "" || aws.ToString(table.Table.SSEDescription.KMSMasterKeyArn) != keyARN {
		t.Errorf("table encrypted with %v, want the seeded key %s", table.Table.SSEDescription, keyARN)
	}
	if _, err := e.s3().HeadBucket(ctx(t), &s3.HeadBucketInput{Bucket: aws.String("by-name")}); err != nil {
		t.Error(err)
	}
	if _, err := e.lambda().GetFunctionConfiguration(ctx(t), &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("by-name")}); err != nil {
		t.Error(err)
	}
}
