package main

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/socmond/socmond/internal/config"
)

// TestREADMEFirstScreen: the README opens with the two commands a new user
// runs, then what they need and how long it takes; the facts it states
// there about the demo and the Go version are the code's.
func TestREADMEFirstScreen(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	if !regexp.MustCompile("^# socmond\n\n```sh\nmake demo +# [^\n]+\nmake test +# [^\n]+\n```\n").MatchString(readme) {
		t.Error("the README must open with a code block of exactly `make demo` and `make test`")
	}
	first, _, _ := strings.Cut(readme, "\n## ")
	for _, want := range []string{"What you need", "How long", "root or `sudo`"} {
		if !strings.Contains(first, want) {
			t.Errorf("the README's first screen does not say %q", want)
		}
	}
	text := strings.Join(strings.Fields(first), " ")

	gomod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(gomod)
	if m == nil || !strings.Contains(text, "Go "+string(m[1])+" or newer") {
		t.Errorf("the first screen does not name go.mod's Go version (%s)", m)
	}
	if want := fmt.Sprintf("every %d s", int(demoCycle.Seconds())); !strings.Contains(text, want) {
		t.Errorf("the first screen does not say the demo's timeline repeats %s", want)
	}
	cfg, err := config.Load(example)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range demoTimeline(cfg)[1:] {
		if want := fmt.Sprintf("+%d s", int(s.after.Seconds())); !strings.Contains(text, want) {
			t.Errorf("the first screen does not place the demo step %q at %s", s.say, want)
		}
	}
}
