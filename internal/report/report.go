// Package report renders one round of Results for people (the PASS/FAIL
// table of `socmond validate`) and for pipelines and auditors (JSON).
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/socmond/socmond/internal/probes"
)

// Section is a titled group of results, e.g. the service probes or the
// encryption compliance checks.
type Section struct {
	Title   string
	Results []probes.Result
}

// Passed reports whether a result counts as a pass: only healthy does.
func Passed(r probes.Result) bool { return r.Status == probes.Healthy }

// AllPassed reports whether every result in every section passed.
func AllPassed(sections []Section) bool {
	for _, s := range sections {
		for _, r := range s.Results {
			if !Passed(r) {
				return false
			}
		}
	}
	return true
}

var displayNames = map[string]string{
	probes.ServiceBedrock:       "Amazon Bedrock",
	probes.ServiceDynamoDB:      "DynamoDB",
	probes.ServiceS3:            "Amazon S3",
	probes.ServiceKMS:           "AWS KMS",
	probes.ServiceEventBridge:   "EventBridge",
	probes.ServiceStepFunctions: "Step Functions",
	probes.ServiceLambda:        "AWS Lambda",
}

// DisplayName is the human name of a service label value.
func DisplayName(service string) string {
	if n, ok := displayNames[service]; ok {
		return n
	}
	return service
}

const rule = "============================================================"

// Text writes the table. color adds ANSI colours to the verdict words; the
// verdict is always spelled out, so nothing depends on colour alone.
func Text(w io.Writer, title string, sections []Section, color bool) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n %s\n%s\n", rule, title, rule)
	total, failed := 0, 0
	for i, s := range sections {
		if len(sections) > 1 || s.Title != "" {
			if i > 0 {
				b.WriteString("\n")
			}
			fmt.Fprintf(&b, "%s\n", s.Title)
		}
		for _, r := range s.Results {
			total++
			if !Passed(r) {
				failed++
			}
			b.WriteString(line(r, color))
			b.WriteString("\n")
		}
	}
	b.WriteString(strings.Repeat("-", len(rule)) + "\n")
	verdict := paint("PASS", green, color)
	if failed > 0 {
		verdict = paint("FAIL", red, color)
	}
	fmt.Fprintf(&b, "Overall: %s (%d of %d checks passed)\n", verdict, total-failed, total)
	_, err := io.WriteString(w, b.String())
	return err
}

func line(r probes.Result, color bool) string {
	name := fmt.Sprintf("%-24s", DisplayName(r.Service)+" Health")
	if Passed(r) {
		return fmt.Sprintf("✅ %s %s %s: Response time: %s", paint("PASS", green, color), name, r.Resource, ms(r.Duration))
	}
	what := r.Detail
	if r.Code != "" {
		what = r.Code
	}
	if what == "" {
		what = string(r.Status)
	}
	s := fmt.Sprintf("❌ %s %s %s: %s (%s", paint("FAIL", red, color), name, r.Resource, what, r.Status)
	if r.Class != probes.ClassNone {
		s += ", " + string(r.Class)
	}
	s += ", " + ms(r.Duration) + ")"
	if r.Code != "" && r.Detail != "" {
		s += " " + r.Detail
	}
	if r.RequestID != "" {
		s += " [request id " + r.RequestID + "]"
	}
	if r.Hint != "" {
		s += " — " + r.Hint
	}
	return s
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
}

const (
	green = "\x1b[32m"
	red   = "\x1b[31m"
	reset = "\x1b[0m"
)

func paint(s, c string, on bool) string {
	if !on {
		return s
	}
	return c + s + reset
}

// JSONResult is one result in the machine-readable report.
type JSONResult struct {
	Section         string  `json:"section"`
	Service         string  `json:"service"`
	Resource        string  `json:"resource"`
	Check           string  `json:"check"`
	Pass            bool    `json:"pass"`
	Status          string  `json:"status"`
	DurationSeconds float64 `json:"duration_seconds"`
	Start           string  `json:"start"`
	Class           string  `json:"class,omitempty"`
	Code            string  `json:"code,omitempty"`
	RequestID       string  `json:"request_id,omitempty"`
	Hint            string  `json:"hint,omitempty"`
	Detail          string  `json:"detail,omitempty"`
}

// JSONReport is the whole machine-readable report.
type JSONReport struct {
	Title       string       `json:"title"`
	GeneratedAt string       `json:"generated_at"`
	Version     string       `json:"version"`
	Pass        bool         `json:"pass"`
	Total       int          `json:"total"`
	Failed      int          `json:"failed"`
	Results     []JSONResult `json:"results"`
}

// JSON writes the same results as Text, as one JSON document.
func JSON(w io.Writer, title, version string, now time.Time, sections []Section) error {
	rep := JSONReport{Title: title, GeneratedAt: now.UTC().Format(time.RFC3339Nano), Version: version, Results: []JSONResult{}}
	for _, s := range sections {
		for _, r := range s.Results {
			rep.Total++
			if !Passed(r) {
				rep.Failed++
			}
			rep.Results = append(rep.Results, JSONResult{
				Section: s.Title, Service: r.Service, Resource: r.Resource, Check: r.Check,
				Pass: Passed(r), Status: string(r.Status), DurationSeconds: r.Duration.Seconds(),
				Start: r.Start.UTC().Format(time.RFC3339Nano), Class: string(r.Class), Code: r.Code,
				RequestID: r.RequestID, Hint: r.Hint, Detail: r.Detail,
			})
		}
	}
	rep.Pass = rep.Failed == 0
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}
