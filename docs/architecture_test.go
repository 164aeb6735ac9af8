package docs

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// row is one line of architecture.md's Packages table.
type row struct {
	path    string   // cmd/socmond, internal/config, …
	imports []string // the "imports of socmond's own" column, as paths
	tests   bool     // the column ends in "(tests)": what its tests import
	any     bool     // "everything": not checked
	line    int
}

// goPackage is what `go list -json` says of a package.
type goPackage struct {
	ImportPath   string
	Imports      []string
	TestImports  []string
	XTestImports []string
	DepOnly      bool
}

// TestArchitectureMatchesGoList: the Packages table of architecture.md and
// `go list` agree on who imports whom, in either direction. Each row's
// "imports of socmond's own" column must be exactly the socmond packages
// its package imports (for a row ending "(tests)", those its tests import);
// every socmond package `go list -deps ./cmd/socmond` finds, and every
// other one in the module, must have a row; and a row must name a package
// that exists. Words in parentheses and after a dash qualify an entry
// ("probes (types)") and are not checked.
func TestArchitectureMatchesGoList(t *testing.T) {
	rows := readTable(t, "architecture.md")
	module := strings.TrimSpace(run(t, "go", "list", "-m"))
	pkgs := map[string]goPackage{}
	for _, p := range goList(t, "-deps", "-test=false", "./cmd/socmond") {
		if rel, ok := own(module, p.ImportPath); ok {
			pkgs[rel] = p
		}
	}
	binary := make([]string, 0, len(pkgs))
	for rel := range pkgs {
		binary = append(binary, rel)
	}
	for _, p := range goList(t, "./...") {
		rel, _ := own(module, p.ImportPath)
		pkgs[rel] = p
	}
	byPath := map[string]row{}
	for _, r := range rows {
		byPath[r.path] = r
	}
	for _, rel := range binary {
		if _, ok := byPath[rel]; !ok {
			t.Errorf("`go list -deps ./cmd/socmond` has %s, which architecture.md's Packages table has no row for", rel)
		}
	}
	for rel := range pkgs {
		if _, ok := byPath[rel]; !ok && !slices.Contains(binary, rel) {
			t.Errorf("the module has package %s, which architecture.md's Packages table has no row for", rel)
		}
	}
	for _, r := range rows {
		p, ok := pkgs[r.path]
		if !ok {
			t.Errorf("architecture.md:%d: row %s names no package of the module", r.line, r.path)
			continue
		}
		if r.any {
			continue
		}
		imports := p.Imports
		what := "imports"
		if r.tests {
			imports = slices.Concat(p.Imports, p.TestImports, p.XTestImports)
			what = "and its tests import"
		}
		var got []string
		for _, imp := range imports {
			if rel, ok := own(module, imp); ok && rel != r.path && !slices.Contains(got, rel) {
				got = append(got, rel)
			}
		}
		slices.Sort(got)
		want := slices.Sorted(slices.Values(r.imports))
		if !slices.Equal(got, want) {
			t.Errorf("architecture.md:%d: %s %s %s; the table says %s", r.line, r.path, what, list(got), list(want))
		}
	}
}

func list(paths []string) string {
	if len(paths) == 0 {
		return "none"
	}
	return strings.Join(paths, ", ")
}

// own returns path relative to the module, if it is the module's.
func own(module, path string) (string, bool) {
	return strings.CutPrefix(path, module+"/")
}

var (
	parens  = regexp.MustCompile(`\([^)]*\)`)
	leading = regexp.MustCompile(`^[a-z0-9/]+`)
)

// readTable parses the Packages table: a path in backticks, what it holds,
// and the socmond packages it imports, named as their last path element.
func readTable(t *testing.T, file string) []row {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []row
	var cells [][]string
	var lines []int
	in := false
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "## "):
			in = line == "## Packages"
		case in && strings.HasPrefix(line, "| `"):
			c := strings.Split(strings.Trim(line, "|"), " | ")
			if len(c) != 3 {
				t.Fatalf("%s:%d: %d cells, want 3 (package, holds, imports)", file, n, len(c))
			}
			cells, lines = append(cells, c), append(lines, n)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(cells) == 0 {
		t.Fatalf("%s: no Packages table", file)
	}
	byName := map[string]string{}
	for _, c := range cells {
		path := strings.Trim(strings.TrimSpace(c[0]), "`")
		name := path[strings.LastIndex(path, "/")+1:]
		if path == "cmd/socmond" {
			continue
		}
		byName[name] = path
	}
	for i, c := range cells {
		r := row{path: strings.Trim(strings.TrimSpace(c[0]), "`"), line: lines[i]}
		col := strings.TrimSpace(c[2])
		col, _, _ = strings.Cut(col, " — ")
		col, r.tests = strings.CutSuffix(strings.TrimSpace(col), "(tests)")
		col = strings.TrimSpace(parens.ReplaceAllString(col, ""))
		switch {
		case col == "everything":
			r.any = true
		case strings.HasPrefix(col, "none"):
		default:
			for _, item := range strings.Split(col, ",") {
				name := leading.FindString(strings.TrimSpace(item))
				path, ok := byName[name]
				if !ok {
					t.Errorf("%s:%d: %s imports %q, which has no row", file, r.line, r.path, strings.TrimSpace(item))
					continue
				}
				r.imports = append(r.imports, path)
			}
		}
		rows = append(rows, r)
	}
	return rows
}

func goList(t *testing.T, args ...string) []goPackage {
	t.Helper()
	out := run(t, "go", append([]string{"list", "-json"}, args...)...)
	var pkgs []goPackage
	dec := json.NewDecoder(strings.NewReader(out))
	for {
		var p goPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// run runs a command at the module's root and returns its stdout.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = ".."
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return string(out)
}
