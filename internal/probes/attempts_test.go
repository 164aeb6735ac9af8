package probes_test

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/socmond/socmond/internal/awsclient"
	"github.com/socmond/socmond/internal/awssim"
	"github.com/socmond/socmond/internal/probes"
)

// probeConstructors is every way socmond builds a probe, each with how the
// simulator throttles its service. The registry's services are built as the
// daemon builds them (probes.New); registry "" marks a constructor the
// daemon calls itself.
var probeConstructors = []struct {
	constructor string // the exported constructor in this package
	registry    string // its service in the registry, or ""
	build       func(c *awsclient.Clients) probes.Probe
	fault       awssim.Fault // a throttling answer for it; Service and Resource also say what it probes
}{
	{"NewBedrockModel", probes.ServiceBedrock, nil, awssim.Fault{Service: "bedrock", Resource: simModel, Error: "ThrottlingException"}},
	{"NewBedrockRuntime", "", func(c *awsclient.Clients) probes.Probe {
		return probes.NewBedrockRuntime(c.BedrockRuntime, simModel, 1)
	},
		awssim.Fault{Service: "bedrock-runtime", Resource: simModel, Error: "ThrottlingException"}},
	{"NewDynamoDBTable", probes.ServiceDynamoDB, nil, awssim.Fault{Service: "dynamodb", Resource: simTable, Error: "ProvisionedThroughputExceededException"}},
	{"NewS3Bucket", probes.ServiceS3, nil, awssim.Fault{Service: "s3", Resource: simBucket, Error: "SlowDown"}},
	{"NewKMSKey", probes.ServiceKMS, nil, awssim.Fault{Service: "kms", Resource: simKey, Error: "ThrottlingException"}},
	{"NewEventBus", probes.ServiceEventBridge, nil, awssim.Fault{Service: "eventbridge", Resource: simBus, Error: "ThrottlingException"}},
	{"NewStateMachine", probes.ServiceStepFunctions, nil, awssim.Fault{Service: "stepfunctions", Resource: simMachine, Error: "ThrottlingException"}},
	{"NewLambdaFunction", probes.ServiceLambda, nil, awssim.Fault{Service: "lambda", Resource: simFunc, Error: "TooManyRequestsException"}},
}

// Every probe makes exactly one attempt, on the factory's clients, whose
// own default is the SDK's standard retryer (compliance, workflow, canary
// and evidence reads retry): a retry would hide the very failure a probe
// exists to report and add load to a throttled service. Throttling is what
// the standard retryer retries most readily. A probe added to the registry,
// or a constructor added beside it, fails here until it is listed above.
func TestEveryProbeMakesOneAttempt(t *testing.T) {
	listed := map[string]bool{}
	inRegistry := map[string]bool{}
	for _, pc := range probeConstructors {
		listed[pc.constructor] = true
		inRegistry[pc.registry] = true
	}
	for _, name := range exportedProbeConstructors(t) {
		if !listed[name] {
			t.Errorf("constructor %s is not in probeConstructors: list it with a throttling fault", name)
		}
	}
	for _, svc := range probes.Services() {
		if !inRegistry[svc] {
			t.Errorf("registry service %q is not in probeConstructors: list its constructor with a throttling fault", svc)
		}
	}

	sim, c := probes.SimClients(t, awssim.Seed{Tables: []string{simTable}, Buckets: []string{simBucket}, Keys: []string{simKey},
		EventBuses: []string{simBus}, StateMachines: []string{simMachine}, Functions: []string{simFunc}, Models: []string{simModel}})
	for _, pc := range probeConstructors {
		t.Run(pc.constructor, func(t *testing.T) {
			p := probeFor(t, c, pc.registry, pc.fault.Resource, pc.build)
			sim.ClearFaults()
			sim.ResetCalls()
			sim.AddFault(pc.fault)
			r := probes.Run(context.Background(), p, probes.Options{Timeout: 30 * time.Second})
			if r.Class != probes.ClassThrottled {
				t.Errorf("class %q, want throttled (%s)", r.Class, r.Detail)
			}
			calls := sim.Calls()
			if len(calls) != 1 {
				t.Fatalf("the simulator saw %d attempts, want exactly 1: %+v", len(calls), calls)
			}
			// The SDK numbers its attempts (amz-sdk-request); a first
			// attempt that says it may be followed by more would also be
			// wrong, but the SDK only sends max= with a retryer that has one.
			if calls[0].Attempt > 1 {
				t.Errorf("the one call was attempt %d", calls[0].Attempt)
			}
		})
	}
}

// probeFor builds a probe the way the daemon does: through the registry
// when the service is in it, else with its own constructor.
func probeFor(t *testing.T, c *awsclient.Clients, service, resource string, build func(*awsclient.Clients) probes.Probe) probes.Probe {
	t.Helper()
	if build != nil {
		return build(c)
	}
	p, err := probes.New(service, probes.Resource{Name: resource}, c)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// exportedProbeConstructors lists this package's exported functions that
// return a Probe, from its source.
func exportedProbeConstructors(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || !fn.Name.IsExported() || fn.Name.Name == "New" || fn.Name.Name == "NewRuntime" || fn.Type.Results == nil {
				continue
			}
			for _, res := range fn.Type.Results.List {
				if id, ok := res.Type.(*ast.Ident); ok && id.Name == "Probe" {
					out = append(out, fn.Name.Name)
				}
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("found no probe constructors in the package source")
	}
	return out
}
