// Package report renders one round of checks for people (the PASS/FAIL
// table of `socmond validate`) and for pipelines and auditors (JSON).
// Service probes, compliance checks and workflow steps all arrive as Rows,
// so one renderer serves them all.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/socmond/socmond/internal/probes"
)

// Verdict is a row's outcome.
type Verdict string

const (
	Pass          Verdict = "PASS"
	Fail          Verdict = "FAIL"
	NotApplicable Verdict = "N/A" // does not fail the round
	// Unknown: the check could not read its facts. It is no FAIL, but no
	// pass either, so it fails the round (validate exits 1) and the
	// overall line says UNKNOWN when nothing failed.
	Unknown Verdict = "UNKNOWN"
)

// Row is one checked thing.
type Row struct {
	Name     string        // left column, e.g. "DynamoDB Health", "KMS key rotation"
	Resource string        // e.g. the table name
	Verdict  Verdict       //
	Summary  string        // for a pass: what was seen; for a fail: the reason
	Duration time.Duration // 0 when not measured

	// Machine-readable fields, shown in JSON and, where set, in the text.
	Service   string
	Place     probes.Place // a tenant's pipeline's resource: its tenant, account and region
	Check     string
	Status    string
	Class     string
	Code      string
	RequestID string
	Hint      string
	Detail    string
	Start     time.Time
}

// Section is a titled group of rows, e.g. the service probes or the
// encryption compliance checks.
type Section struct {
	Title string
	Rows  []Row
}

// ProbeRows turns probe results into rows: only healthy passes.
func ProbeRows(results []probes.Result) []Row {
	rows := make([]Row, 0, len(results))
	for _, r := range results {
		row := Row{
			Name: probes.DisplayName(r.Service) + " Health", Resource: r.Resource, Verdict: Fail, Duration: r.Duration,
			Service: r.Service, Place: r.Place, Check: r.Check, Status: string(r.Status), Class: string(r.Class), Code: r.Code,
			RequestID: r.RequestID, Hint: r.Hint, Detail: r.Detail, Start: r.Start,
		}
		if r.Status == probes.Healthy {
			row.Verdict = Pass
			row.Summary = "Response time: " + ms(r.Duration)
		} else {
			what := r.Code
			if what == "" {
				what = r.Detail
			}
			if what == "" {
				what = string(r.Status)
			}
			row.Summary = fmt.Sprintf("%s (%s", what, r.Status)
			if r.Class != "" {
				row.Summary += ", " + string(r.Class)
			}
			row.Summary += ", " + ms(r.Duration) + ")"
			if r.Code != "" && r.Detail != "" {
				row.Summary += " " + r.Detail
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// AllPassed reports whether no row in any section failed or is unknown.
func AllPassed(sections []Section) bool {
	for _, s := range sections {
		for _, r := range s.Rows {
			if r.Verdict == Fail || r.Verdict == Unknown {
				return false
			}
		}
	}
	return true
}

// tally counts the rows that count (not N/A), and of them the failed and
// the unknown ones.
type tally struct{ total, failed, unknown int }

func (t *tally) add(v Verdict) {
	switch v {
	case NotApplicable:
		return
	case Fail:
		t.failed++
	case Unknown:
		t.unknown++
	}
	t.total++
}

const rule = "============================================================"

// Text writes the table. color adds ANSI colours to the verdict words; the
// verdict is always spelled out, so nothing depends on colour alone.
func Text(w io.Writer, title string, sections []Section, color bool) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n %s\n%s\n", rule, title, rule)
	var n tally
	for i, s := range sections {
		if i > 0 {
			b.WriteString("\n")
		}
		if s.Title != "" {
			fmt.Fprintf(&b, "%s\n", s.Title)
		}
		for _, r := range s.Rows {
			n.add(r.Verdict)
			b.WriteString(line(r, color))
			b.WriteString("\n")
		}
	}
	b.WriteString(strings.Repeat("-", len(rule)) + "\n")
	verdict := paint("PASS", green, color)
	switch {
	case n.failed > 0:
		verdict = paint("FAIL", red, color)
	case n.unknown > 0:
		verdict = paint("UNKNOWN", yellow, color)
	}
	unknown := ""
	if n.unknown > 0 {
		unknown = fmt.Sprintf(", %d unknown", n.unknown)
	}
	fmt.Fprintf(&b, "Overall: %s (%d of %d checks passed%s)\n", verdict, n.total-n.failed-n.unknown, n.total, unknown)
	_, err := io.WriteString(w, b.String())
	return err
}

func line(r Row, color bool) string {
	icon, word := "✅", paint("PASS", green, color)
	switch r.Verdict {
	case Fail:
		icon, word = "❌", paint("FAIL", red, color)
	case NotApplicable:
		icon, word = "➖", paint("N/A ", yellow, color)
	case Unknown:
		icon, word = "❔", paint("UNKNOWN", yellow, color)
	}
	res := r.Resource
	if p := r.Place; !p.IsZero() {
		res += " (tenant " + p.Tenant + ", account " + p.Account + ", " + p.Region + ")"
	}
	s := fmt.Sprintf("%s %s %-24s %s: %s", icon, word, r.Name, res, r.Summary)
	if r.Verdict == Fail || r.Verdict == Unknown {
		if r.RequestID != "" {
			s += " [request id " + r.RequestID + "]"
		}
		if r.Hint != "" {
			s += " — " + r.Hint
		}
	}
	return s
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
}

const (
	green  = "\x1b[32m"
	red    = "\x1b[31m"
	yellow = "\x1b[33m"
	reset  = "\x1b[0m"
)

func paint(s, c string, on bool) string {
	if !on {
		return s
	}
	return c + s + reset
}

// JSONRow is one row in the machine-readable report.
type JSONRow struct {
	Section         string  `json:"section"`
	Name            string  `json:"name"`
	Service         string  `json:"service,omitempty"`
	Resource        string  `json:"resource"`
	Tenant          string  `json:"tenant,omitempty"`
	Account         string  `json:"account,omitempty"`
	Region          string  `json:"region,omitempty"`
	Check           string  `json:"check,omitempty"`
	Verdict         Verdict `json:"verdict"`
	Pass            bool    `json:"pass"`
	Status          string  `json:"status,omitempty"`
	Summary         string  `json:"summary,omitempty"`
	DurationSeconds float64 `json:"duration_seconds"`
	Start           string  `json:"start,omitempty"`
	Class           string  `json:"class,omitempty"`
	Code            string  `json:"code,omitempty"`
	RequestID       string  `json:"request_id,omitempty"`
	Hint            string  `json:"hint,omitempty"`
	Detail          string  `json:"detail,omitempty"`
}

// JSONReport is the whole machine-readable report.
type JSONReport struct {
	Title       string    `json:"title"`
	GeneratedAt string    `json:"generated_at"`
	Version     string    `json:"version"`
	Pass        bool      `json:"pass"`
	Total       int       `json:"total"`
	Failed      int       `json:"failed"`
	Unknown     int       `json:"unknown"` // could not read their facts; they fail the round too
	Results     []JSONRow `json:"results"`
	// Error says why the round could not run at all (then Results is
	// empty): a pipeline reading the report learns it without parsing
	// stderr.
	Error *JSONError `json:"error,omitempty"`
}

// JSONError is why a round could not run.
type JSONError struct {
	Class   string `json:"class"` // e.g. "credentials"
	Message string `json:"message"`
	Hint    string `json:"hint"`
}

// JSONAborted writes the report of a round that could not run: no results,
// not passed, and the error.
func JSONAborted(w io.Writer, title, version string, now time.Time, e JSONError) error {
	return encode(w, JSONReport{Title: title, GeneratedAt: now.UTC().Format(time.RFC3339Nano), Version: version,
		Results: []JSONRow{}, Error: &e})
}

func encode(w io.Writer, rep JSONReport) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// JSON writes the same rows as Text, as one JSON document.
func JSON(w io.Writer, title, version string, now time.Time, sections []Section) error {
	rep := JSONReport{Title: title, GeneratedAt: now.UTC().Format(time.RFC3339Nano), Version: version, Results: []JSONRow{}}
	var n tally
	for _, s := range sections {
		for _, r := range s.Rows {
			n.add(r.Verdict)
			jr := JSONRow{
				Section: s.Title, Name: r.Name, Service: r.Service, Resource: r.Resource,
				Tenant: r.Place.Tenant, Account: r.Place.Account, Region: r.Place.Region, Check: r.Check,
				Verdict: r.Verdict, Pass: r.Verdict == Pass || r.Verdict == NotApplicable, Status: r.Status, Summary: r.Summary,
				DurationSeconds: r.Duration.Seconds(), Class: r.Class, Code: r.Code,
				RequestID: r.RequestID, Hint: r.Hint, Detail: r.Detail,
			}
			if !r.Start.IsZero() {
				jr.Start = r.Start.UTC().Format(time.RFC3339Nano)
			}
			rep.Results = append(rep.Results, jr)
		}
	}
	rep.Total, rep.Failed, rep.Unknown = n.total, n.failed, n.unknown
	rep.Pass = n.failed == 0 && n.unknown == 0
	return encode(w, rep)
}
