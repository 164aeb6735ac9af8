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

	"github.com/socmond/socmond/internal/awssim"
	"github.com/socmond/socmond/internal/probes"
)

// Every probe makes exactly one attempt, on the factory's clients, whose
// own default is the SDK's standard retryer (compliance, workflow, canary
// and evidence reads retry): a retry would hide the very failure a probe
// exists to report and add load to a throttled service. Throttling is what
// the standard retryer retries most readily. Every service's probe and
// runtime probe is built as the daemon builds it, from its descriptor, on
// the descriptor's example resource, and throttled the way the simulator
// says the service throttles; every exported constructor must be one a
// descriptor uses, so none escapes this test.
func TestEveryProbeMakesOneAttempt(t *testing.T) {
	used := descriptorConstructors(t)
	for _, name := range exportedProbeConstructors(t) {
		if !used[name] {
			t.Errorf("constructor %s is not used by any service's descriptor: build probes through descriptors (service.go)", name)
		}
	}

	var seed awssim.Seed
	for _, d := range probes.All() {
		if err := seed.Add(d.Name, d.Example); err != nil {
			t.Fatalf("%s: %v", d.Name, err)
		}
	}
	sim, c := probes.SimClients(t, seed)
	for _, d := range probes.All() {
		builds := map[string]func() (probes.Probe, error){
			d.Name: func() (probes.Probe, error) { return probes.New(d.Name, probes.Resource{Name: d.Example}, c) },
		}
		if d.Runtime != nil {
			builds[d.Name+" runtime"] = func() (probes.Probe, error) { return probes.NewRuntime(d.Name, d.Example, c, 1) }
		}
		for name, build := range builds {
			t.Run(name, func(t *testing.T) {
				p, err := build()
				if err != nil {
					t.Fatal(err)
				}
				code := awssim.ThrottleCode(d.Name)
				if code == "" {
					t.Fatalf("the simulator has no %s", d.Name)
				}
				sim.ClearFaults()
				sim.ResetCalls()
				sim.AddFault(awssim.Fault{Service: d.Name, Resource: d.Example, Error: code})
				r := probes.Run(context.Background(), p, probes.Options{Timeout: 30 * time.Second})
				if r.Class != probes.ClassThrottled {
					t.Errorf("class %q, want throttled (%s: %s)", r.Class, r.Code, r.Detail)
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
}

// packageSource is this package's non-test source, parsed.
func packageSource(t *testing.T) []*ast.File {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var out []*ast.File
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	if len(out) == 0 {
		t.Fatal("found no source files in the package")
	}
	return out
}

// descriptorConstructors are the functions this package's descriptors
// (composite literals of type Service) call, read from its source.
func descriptorConstructors(t *testing.T) map[string]bool {
	t.Helper()
	used := map[string]bool{}
	for _, f := range packageSource(t) {
		ast.Inspect(f, func(n ast.Node) bool {
			cl, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			if id, ok := cl.Type.(*ast.Ident); !ok || id.Name != "Service" {
				return true
			}
			ast.Inspect(cl, func(m ast.Node) bool {
				if call, ok := m.(*ast.CallExpr); ok {
					if id, ok := call.Fun.(*ast.Ident); ok {
						used[id.Name] = true
					}
				}
				return true
			})
			return false
		})
	}
	return used
}

// exportedProbeConstructors lists this package's exported functions that
// return a Probe, from its source.
func exportedProbeConstructors(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, f := range packageSource(t) {
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || !fn.Name.IsExported() || fn.Name.Name == "New" || fn.Name.Name == "NewRuntime" ||
				fn.Name.Name == "Placed" /* wraps a probe New built; calls nothing itself */ || fn.Type.Results == nil {
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
