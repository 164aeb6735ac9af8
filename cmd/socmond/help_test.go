package main

import (
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// readmeCommands is the README's Commands section up to its first
// subsection: the table and the flags paragraph.
func readmeCommands(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, s, ok := strings.Cut(string(b), "\n## Commands\n")
	if !ok {
		t.Fatal("README has no Commands section")
	}
	if i := strings.Index(s, "\n#"); i >= 0 {
		s = s[:i]
	}
	return s
}

// helpText is what `socmond ARGS --help` prints, its lines joined as
// kingpin wrapped them.
func helpText(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := runCLI(t, append(args, "--help")...)
	if code != exitOK {
		t.Fatalf("%v --help: exit %d: %s", args, code, errOut)
	}
	return strings.Join(strings.Fields(out), " ")
}

var (
	// readmeRow is one row of the Commands table: the command as typed,
	// what it does, its exit codes.
	readmeRow = regexp.MustCompile("(?m)^\\| `socmond ([^`]*)` \\| (.*) \\| ([^|]*) \\|$")
	flagRe    = regexp.MustCompile(`(?:^|[\s\[(` + "`" + `])(--?[a-z][a-z0-9.-]*)`)
	enumRe    = regexp.MustCompile("`(--log\\.[a-z]+)` \\(([a-z, ]+)[;)]")
)

// TestHelpMatchesREADME: the README's Commands table and each command's
// --help say the same: the same commands, each command's flags the table
// shows, and the same exit codes, word for word. It was easy for them to
// drift apart (evidence verify's help left out exit 2).
func TestHelpMatchesREADME(t *testing.T) {
	section := readmeCommands(t)
	rows := readmeRow.FindAllStringSubmatch(section, -1)
	app, _ := newApp(io.Discard, io.Discard)
	var leaves []string
	for _, c := range app.Model().FlattenedCommands() {
		leaves = append(leaves, c.FullCommand)
	}
	var documented []string
	for _, row := range rows {
		usage, codes := row[1], strings.TrimSpace(row[3])
		// The command's words come first; a word in brackets is the
		// default command ("socmond [run]").
		var path []string
		for _, w := range strings.Fields(usage) {
			if strings.HasPrefix(w, "[-") || strings.HasPrefix(w, "-") || strings.Contains(w, "://") {
				break
			}
			path = append(path, strings.Trim(w, "[]"))
		}
		name := strings.Join(path, " ")
		documented = append(documented, name)
		t.Run(name, func(t *testing.T) {
			help := helpText(t, path...)
			if want := "Exit codes: " + codes + "."; !strings.Contains(help, want) {
				t.Errorf("--help and README disagree on the exit codes:\nREADME: %s\nhelp:   %s", want, help)
			}
			for _, m := range flagRe.FindAllStringSubmatch(usage, -1) {
				if f := m[1]; !strings.Contains(help, f+"=") && !strings.Contains(help, f+",") && !strings.Contains(help, "--[no-]"+strings.TrimPrefix(f, "--")) {
					t.Errorf("README shows %s, which --help does not list", f)
				}
			}
		})
	}
	slices.Sort(leaves)
	slices.Sort(documented)
	if !slices.Equal(leaves, documented) {
		t.Errorf("README documents commands %v; socmond has %v", documented, leaves)
	}

	// The flags paragraph below the table: every flag it names exists on
	// the daemon (global flags included), and the values it lists for
	// --log.level and --log.format are the ones the flag accepts.
	_, para, _ := strings.Cut(section, "Global flags:")
	para = strings.Join(strings.Fields(para), " ")
	runHelp := helpText(t, "run")
	for _, m := range flagRe.FindAllStringSubmatch(para, -1) {
		if f := m[1]; !strings.Contains(runHelp, f+"=") && !strings.Contains(runHelp, "--[no-]"+strings.TrimPrefix(f, "--")) {
			t.Errorf("README's flags paragraph names %s, which `socmond run --help` does not list", f)
		}
	}
	enums := enumRe.FindAllStringSubmatch(para, -1)
	if len(enums) != 2 {
		t.Fatalf("README's flags paragraph lists the values of %d of --log.level and --log.format", len(enums))
	}
	for _, m := range enums {
		want := "One of: [" + m[2] + "]"
		if !strings.Contains(runHelp, m[1]+"=") || !strings.Contains(runHelp, want) {
			t.Errorf("README lists %s as (%s); --help has no %q", m[1], m[2], want)
		}
	}
}
