package main

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestLogFormatDefault(t *testing.T) {
	cases := map[string]struct {
		flag     string
		terminal bool
		want     string
	}{
		"a person at a terminal":        {terminal: true, want: "console"},
		"a collector (pipe, file)":      {terminal: false, want: "json"},
		"the flag wins at a terminal":   {flag: "json", terminal: true, want: "json"},
		"the flag wins for a collector": {flag: "logfmt", terminal: false, want: "logfmt"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := logFormat(tc.flag, tc.terminal); got != tc.want {
				t.Errorf("logFormat(%q, %v) = %q, want %q", tc.flag, tc.terminal, got, tc.want)
			}
		})
	}
}

// TestLogFormatLogfmt: --log.format=logfmt, the Prometheus exporters'
// format, is accepted (it used to exit 2) and writes key=value lines.
func TestLogFormatLogfmt(t *testing.T) {
	if code, _, errOut := runCLI(t, "--log.format=logfmt", "check-config", "--config.file", example); code != exitOK {
		t.Fatalf("--log.format=logfmt: exit %d: %s", code, errOut)
	}
	var buf bytes.Buffer
	g := &globals{logLevel: "info", logFormat: "logfmt", stderr: &buf}
	log := g.logger()
	log.Info().Str("grace_period", "15s").Msg("stopping: letting probes in flight finish")
	if !regexp.MustCompile(`^time=\S+ level=info msg="stopping: letting probes in flight finish" grace_period=15s\n$`).MatchString(buf.String()) {
		t.Errorf("logfmt line %q", buf.String())
	}
	buf.Reset()
	g.logFormat = ""
	log = g.logger()
	log.Info().Msg("x")
	if !strings.HasPrefix(buf.String(), `{"level":"info"`) {
		t.Errorf("not a terminal: want JSON, got %q", buf.String())
	}
}

// TestNoUnitlessDurationsLogged: zerolog's Dur writes a bare number of
// milliseconds ("grace_period":15000), which a reader takes for seconds
// or cannot read at all. A duration is logged as a string with its unit
// (d.String(): "15s") or as a number whose key names the unit
// ("duration_seconds").
func TestNoUnitlessDurationsLogged(t *testing.T) {
	bare := regexp.MustCompile(`\.(Dur|Durs|TimeDiff)\(`)
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != "../.." || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(b), "\n") {
			if bare.MatchString(line) {
				t.Errorf("%s:%d logs a duration without its unit: %s", path, i+1, strings.TrimSpace(line))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
