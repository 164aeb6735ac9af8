package probes_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/socmond/socmond/internal/probes"
)

// handListing is how many services one list may name before it counts as a
// list of the services: two are a feature's (compliance reads tables and
// buckets), three are a copy of the registry.
const handListing = 3

// TestNoPackageListsServicesByHand: the descriptors in this package are the
// one list of services. Production code elsewhere that lists them itself —
// a composite literal, a switch or a string naming three or more — goes
// stale the day a service is added, so it fails here. The simulator keeps
// its own registration (it shares nothing with the probes), and tests may
// name the services they exercise.
func TestNoPackageListsServicesByHand(t *testing.T) {
	names := probes.Services()
	idents := serviceIdents(t, names)
	word := regexp.MustCompile(`\b(` + strings.Join(names, "|") + `)\b`)

	root := filepath.Join("..", "..")
	var checked int
	err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if e.IsDir() {
			switch rel {
			case filepath.Join("internal", "probes"), filepath.Join("internal", "awssim"), ".git", ".tools", "node_modules":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, src, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		checked++
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CompositeLit, *ast.SwitchStmt:
				if got := named(n, idents, names); len(got) >= handListing {
					t.Errorf("%s: lists %d services by hand (%s): take them from probes.All()", fset.Position(n.Pos()), len(got), strings.Join(got, ", "))
					return false
				}
			case *ast.BasicLit:
				if n.Kind == token.STRING {
					s, _ := strconv.Unquote(n.Value)
					if got := distinct(word.FindAllString(s, -1)); len(got) >= handListing {
						t.Errorf("%s: a string lists %d services by hand (%s): build it from probes.Services()", fset.Position(n.Pos()), len(got), strings.Join(got, ", "))
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("checked only %d files: is the walk rooted at the repository?", checked)
	}
}

// named lists the services a node names: as string literals equal to a
// service name, or as the probes package's identifiers for them.
func named(n ast.Node, idents map[string]string, names []string) []string {
	var found []string
	ast.Inspect(n, func(m ast.Node) bool {
		switch m := m.(type) {
		case *ast.BasicLit:
			if s, err := strconv.Unquote(m.Value); err == nil && m.Kind == token.STRING && slices.Contains(names, s) {
				found = append(found, s)
			}
		case *ast.SelectorExpr:
			if x, ok := m.X.(*ast.Ident); ok && x.Name == "probes" {
				if s, ok := idents[m.Sel.Name]; ok {
					found = append(found, s)
				}
			}
		}
		return true
	})
	return distinct(found)
}

func distinct(ss []string) []string {
	slices.Sort(ss)
	return slices.Compact(ss)
}

// serviceIdents maps this package's identifiers for services to their
// names, read from its source: the label constants (ServiceDynamoDB) and
// the descriptors' variables (DynamoDB).
func serviceIdents(t *testing.T, names []string) map[string]string {
	t.Helper()
	consts, idents := map[string]string{}, map[string]string{}
	var descs []*ast.ValueSpec
	for _, f := range packageSource(t) {
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok {
				continue
			}
			for _, sp := range g.Specs {
				vs, ok := sp.(*ast.ValueSpec)
				if !ok || len(vs.Values) != 1 {
					continue
				}
				if lit, ok := vs.Values[0].(*ast.BasicLit); ok && g.Tok == token.CONST {
					if v, err := strconv.Unquote(lit.Value); err == nil && slices.Contains(names, v) {
						consts[vs.Names[0].Name] = v
					}
				}
				if cl, ok := vs.Values[0].(*ast.CompositeLit); ok && g.Tok == token.VAR {
					if id, ok := cl.Type.(*ast.Ident); ok && id.Name == "Service" {
						descs = append(descs, vs)
					}
				}
			}
		}
	}
	for k, v := range consts {
		idents[k] = v
	}
	for _, vs := range descs {
		for _, el := range vs.Values[0].(*ast.CompositeLit).Elts {
			if kv, ok := el.(*ast.KeyValueExpr); ok && fmt.Sprint(kv.Key) == "Name" {
				if id, ok := kv.Value.(*ast.Ident); ok {
					idents[vs.Names[0].Name] = consts[id.Name]
				}
			}
		}
	}
	if len(idents) != 2*len(names) {
		t.Fatalf("found %d identifiers for %d services in the source (%v): want a Service<X> constant and a descriptor variable each", len(idents), len(names), idents)
	}
	return idents
}

// TestDescriptorsAreWhole: every part the rest of socmond reads from a
// descriptor is there, so a new service cannot forget one.
func TestDescriptorsAreWhole(t *testing.T) {
	seen := map[string]bool{}
	scope := probes.Scope{Partition: "aws", Region: "ap-east-1", Account: "111122223333"}
	for _, d := range probes.All() {
		if d.Name == "" || d.Name != strings.ToLower(d.Name) || seen[d.Name] {
			t.Errorf("service %q: its name must be unique and lower case (a label value and a config key)", d.Name)
		}
		seen[d.Name] = true
		if d.DisplayName == "" || d.Resources == "" || d.Example == "" || d.New == nil {
			t.Errorf("%s: display name %q, resources %q, example %q, probe constructor set %v: all are needed", d.Name, d.DisplayName, d.Resources, d.Example, d.New != nil)
		}
		if d.Validate != nil {
			if err := d.Validate(d.Example); err != nil {
				t.Errorf("%s: its own example does not validate: %v", d.Name, err)
			}
		}
		accesses := []probes.Access{d.Read}
		if d.Runtime != nil {
			if d.Runtime.New == nil {
				t.Errorf("%s: a runtime without a constructor", d.Name)
			}
			accesses = append(accesses, d.Runtime.Use)
		}
		for _, a := range accesses {
			if a.Sid == "" || len(a.Actions) == 0 || a.ARN == nil {
				t.Errorf("%s: IAM access %+v lacks a statement id, actions or an ARN form", d.Name, a)
				continue
			}
			g := a.ARN(scope, "resource-1")
			if !strings.HasPrefix(g.Resource, "arn:aws:") {
				t.Errorf("%s: ARN of resource-1 is %q", d.Name, g.Resource)
			}
			if got, ok := probes.ForARN(g.Resource); !ok || got.Name != d.Name {
				t.Errorf("%s: ForARN(%q) = %q, %v", d.Name, g.Resource, got.Name, ok)
			}
			for _, act := range a.Actions {
				if !strings.Contains(act, ":") || strings.Contains(act, "*") {
					t.Errorf("%s: action %q: want one service:Action, no wildcard", d.Name, act)
				}
			}
		}
		if got := probes.DisplayName(d.Name); got != d.DisplayName {
			t.Errorf("DisplayName(%q) = %q", d.Name, got)
		}
	}
	if got := probes.Services(); len(got) != len(seen) {
		t.Errorf("Services() = %v", got)
	}
}
