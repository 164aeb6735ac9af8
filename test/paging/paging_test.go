// Package paging proves docs/alerting.md end to end: socmond against its
// AWS simulator, with the shipped Prometheus rules and scrape settings in a
// real Prometheus and the shipped Alertmanager routing in a real
// Alertmanager, both receivers pointed at the test's webhook. Every
// scenario asserts which pages arrive, on which receiver, how many, how
// soon, and when they resolve — on each path: socmond paging directly
// (with Prometheus running too, whose rules must stand down: both paths
// into one Alertmanager) and the Prometheus rules alone.
//
// Time is compressed by -paging.scale (10: 30 s probes run every 3 s); the
// test logs what each measurement is at the shipped timings. Run the
// shipped timings as they are with -paging.scale=1 (about 40 minutes).
package paging

import (
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/socmond/socmond/internal/awssim"
)

// The example pipeline's resources the scenarios break.
const (
	investigations = "AsiaAgenticSocInvestigations-dev"
	metricsTable   = "AsiaAgenticSocMetrics-dev"
	artifacts      = "asia-agentic-soc-artifacts-123456789012-dev"
	audit          = "asia-agentic-soc-audit-123456789012-dev"
	key            = "alias/AsiaAgenticSoc"
	analyze        = "AsiaAgenticSoc-Analyze-dev"
	haiku          = "anthropic.claude-3-haiku-20240307-v1:0"
	deadLetters    = "https://sqs.us-east-1.amazonaws.com/123456789012/AsiaAgenticSocAlerts-DLQ-dev"
)

// scenario is one fault and the notifications it must cause.
type scenario struct {
	name   string
	faults []awssim.Fault
	// group is the Alertmanager group its notification goes to (the
	// service label; the tenant is the example's), receiver "pager" or
	// "tickets"; "" for a fault that must notify nobody.
	group, receiver string
	// alerts are the alertnames the firing notification holds.
	alerts []string
	// page and resolve are the documented bounds at the shipped timings,
	// fault → first notification and recovery → resolved
	// (docs/alerting.md), for the direct path; the Prometheus path adds a
	// scrape and an evaluation.
	page, resolve time.Duration
	// quiet, for a fault that must notify nobody, says which alerts of
	// which resource must not appear on any receiver.
	quiet func(a alert) bool
	// tenant, account and region, for a fault in a tenant's pipeline
	// (tenants: in the config): the group is that tenant's, every alert of
	// the page carries all three, and no other receiver hears of it.
	tenant, account, region string
}

const (
	probe      = 30 * time.Second // the example's schedule
	auditProbe = time.Minute      // the audit bucket's
	complRound = 30 * time.Second // compliance.schedule
	groupWait  = 10 * time.Second // the shipped Alertmanager routing
	groupIntvl = 30 * time.Second
	scrapeEval = 20 * time.Second // Prometheus: a 10 s scrape and a 10 s evaluation
)

// The phases run their scenarios together: each scenario's group is its
// own, so what one causes cannot hide or add to another's.
var phases = [][]scenario{{
	{name: "throttled table", faults: []awssim.Fault{{Service: "dynamodb", Resource: investigations, Operation: "DescribeTable", Error: "ThrottlingException"}},
		group: "dynamodb", receiver: "pager", alerts: []string{"AWSServiceHighErrorRate"},
		page: 2*probe + groupWait, resolve: 2*probe + groupIntvl},
	{name: "table UPDATING for several windows (normal work: no page)",
		faults: []awssim.Fault{{Service: "dynamodb", Resource: metricsTable, State: "UPDATING"}},
		quiet:  func(a alert) bool { return a.Labels["resource"] == metricsTable }},
	{name: "failed Lambda (error rate and availability: one page)",
		faults: []awssim.Fault{{Service: "lambda", Resource: analyze, State: "Failed"}},
		group:  "lambda", receiver: "pager", alerts: []string{"AWSServiceHighErrorRate"},
		page: 2*probe + groupWait, resolve: 2*probe + groupIntvl},
	{name: "Bedrock at 6 s (slow: a ticket, not a page)",
		faults: []awssim.Fault{{Service: "bedrock", Resource: haiku, Latency: "6s"}},
		group:  "bedrock", receiver: "tickets", alerts: []string{"AWSServiceSlowResponse"},
		// The second slow answer takes its 6 s to arrive.
		page: 2*probe + 6*time.Second + groupWait, resolve: 2*probe + groupIntvl},
	{name: "KMS rotation disabled", faults: []awssim.Fault{{Service: "kms", Resource: key, Set: map[string]string{"KeyRotationEnabled": "false"}}},
		group: "compliance", receiver: "pager", alerts: []string{"ComplianceViolation"},
		page: complRound + groupWait, resolve: complRound + groupIntvl},
	{name: "alerts in the dead-letter queue (a backlog: one page, no error alerts)",
		faults: []awssim.Fault{{Service: "sqs", Resource: deadLetters, Set: map[string]string{"ApproximateNumberOfMessages": "2"}}},
		group:  "sqs", receiver: "pager", alerts: []string{"AWSServiceBacklog"},
		page: 2*probe + groupWait, resolve: 2*probe + groupIntvl},
	{name: "audit bucket on @every 1m failing", faults: []awssim.Fault{{Service: "s3", Resource: audit, Operation: "HeadBucket", Error: "InternalError"}},
		group: "s3", receiver: "pager", alerts: []string{"AWSServiceHighErrorRate"},
		page: 2*auditProbe + groupWait, resolve: 2*auditProbe + groupIntvl},
}, {
	{name: "artifacts bucket encryption switched to AES256", faults: []awssim.Fault{{Service: "s3", Resource: artifacts, Set: map[string]string{"SSEAlgorithm": "AES256"}}},
		group: "compliance", receiver: "pager", alerts: []string{"ComplianceViolation"},
		page: complRound + groupWait, resolve: complRound + groupIntvl},
}}

func TestPaging(t *testing.T) {
	for _, direct := range []bool{true, false} {
		name := map[bool]string{true: "direct and Prometheus into one Alertmanager", false: "Prometheus rules"}[direct]
		t.Run(name, func(t *testing.T) {
			s := startStack(t, direct)
			var figures []string
			for i, phase := range phases {
				figures = append(figures, s.runPhase(i+1, phase)...)
			}
			figures = append(figures, s.complianceReadFailures()...)
			figures = append(figures, s.selfAlerts()...)
			sort.Strings(figures)
			t.Logf("%s, at the shipped timings (measured × %g):\n%s", name, s.k, strings.Join(figures, "\n"))
		})
	}
}

// slack absorbs what does not compress: process wake-ups, HTTP round trips,
// a loaded test machine. It is not the bound: the bound is the documented
// one, scaled.
const slack = 4 * time.Second

// runPhase plays one phase: its faults together, then their recovery.
func (s *stack) runPhase(p int, phase []scenario) []string {
	t := s.t
	extra := time.Duration(0)
	if !s.direct {
		extra = scrapeEval
	}
	evidenceBefore := s.evidenceWrites()
	faultAt := time.Now()
	for _, sc := range phase {
		for _, f := range sc.faults {
			if f.Latency != "" {
				f.Latency = scaleScalar(f.Latency, s.k) // a latency is a shipped duration too
			}
			s.sim.AddFault(f)
		}
	}
	var figures []string
	longest := time.Duration(0)
	for _, sc := range phase {
		longest = max(longest, sc.page, sc.resolve)
	}
	// Every page arrives within its bound, on its receiver.
	first := map[string]notification{}
	for _, sc := range phase {
		if sc.receiver == "" {
			continue
		}
		bound := s.shipped(sc.page+extra) + slack
		got0, ok := s.hook.wait(faultAt, bound, s.firing(sc))
		if !ok {
			t.Errorf("phase %d, %s: no %s notification for group %s within %s (%s shipped)", p, sc.name, sc.receiver, sc.group, bound, sc.page+extra)
			continue
		}
		first[sc.name] = got0
		got := time.Duration(float64(got0.At.Sub(faultAt)) * s.k).Round(time.Second)
		figures = append(figures, fmt.Sprintf("  %-62s fault → %s  %5s (bound %s)", sc.name, sc.receiver, got, sc.page+extra))
	}
	// Hold the faults for two more group intervals and the longest bound:
	// a second notification now would be a second page for one incident.
	time.Sleep(s.shipped(2*groupIntvl + longest))
	for _, sc := range phase {
		if sc.receiver == "" {
			s.checkQuiet(p, sc, faultAt)
			continue
		}
		s.checkOnePage(p, sc, faultAt, first[sc.name])
	}
	if w := s.evidenceWrites() - evidenceBefore; w == 0 && slices.ContainsFunc(phase, func(sc scenario) bool { return sc.group == "compliance" }) {
		t.Errorf("phase %d: a compliance FAIL wrote no evidence report (the count the read-failure check relies on is broken)", p)
	}

	// Recovery: every page resolves once, within its bound, and nothing
	// pages again.
	clearAt := time.Now()
	s.sim.ClearFaults()
	for _, sc := range phase {
		if sc.receiver == "" {
			continue
		}
		bound := s.shipped(sc.resolve+extra) + slack
		r, ok := s.hook.wait(clearAt, bound, s.resolved(sc))
		if !ok {
			t.Errorf("phase %d, %s: not resolved within %s (%s shipped) of the recovery", p, sc.name, bound, sc.resolve+extra)
			continue
		}
		got := time.Duration(float64(r.At.Sub(clearAt)) * s.k).Round(time.Second)
		figures = append(figures, fmt.Sprintf("  %-62s recovery → resolved %5s (bound %s)", sc.name, got, sc.resolve+extra))
	}
	time.Sleep(s.shipped(3*groupIntvl + 2*auditProbe))
	for _, sc := range phase {
		if sc.receiver == "" {
			continue
		}
		if again := s.hook.since(clearAt, func(n notification) bool {
			return s.firing(sc)(n) && pagesIn([]notification{n}) > 0 && slices.ContainsFunc(n.Alerts, func(a alert) bool { return a.Status == "firing" })
		}); len(again) > 0 {
			t.Errorf("phase %d, %s: paged again after recovery: %s", p, sc.name, describe(again))
		}
		if r := s.hook.since(clearAt, s.resolved(sc)); len(r) > 1 {
			t.Errorf("phase %d, %s: %d resolve notifications, want 1: %s", p, sc.name, len(r), describe(r))
		}
	}
	return figures
}

// firing matches a notification of sc's group on its receiver with a
// firing alert; resolved one whose alerts have all resolved.
func (s *stack) firing(sc scenario) func(notification) bool {
	return func(n notification) bool {
		return n.Receiver == sc.receiver && inGroup(sc, n) && n.Status == "firing"
	}
}

func (s *stack) resolved(sc scenario) func(notification) bool {
	return func(n notification) bool {
		return n.Receiver == sc.receiver && inGroup(sc, n) && n.Status == "resolved"
	}
}

// inGroup: n is a notification of sc's group, its service's (and its
// tenant's, for a tenant's pipeline: the shipped routing groups by tenant,
// account, region and service).
func inGroup(sc scenario, n notification) bool {
	if sc.tenant != "" && (n.GroupLabels["tenant"] != sc.tenant || n.GroupLabels["account"] != sc.account || n.GroupLabels["region"] != sc.region) {
		return false
	}
	return n.GroupLabels["service"] == sc.group
}

// checkOnePage: one page for the incident, holding the expected alerts,
// from the expected path. A page is what a pager integration opens an
// incident for: a firing notification whose firing alerts are not the
// ones the group last notified. A later notification of the same firing
// alerts (Prometheus keeps re-sending an alert that resolved earlier, for
// 15 minutes, and Alertmanager then lists it beside the firing one) updates
// the incident under its group key; it pages nobody.
func (s *stack) checkOnePage(phase int, sc scenario, faultAt time.Time, first notification) {
	t := s.t
	all := s.hook.since(faultAt, s.firing(sc))
	if pages := pagesIn(all); pages != 1 {
		t.Errorf("phase %d, %s: %d pages to %s, want 1: %s", phase, sc.name, pages, sc.receiver, describe(all))
	}
	if len(all) == 0 {
		return
	}
	var names []string
	for _, a := range first.Alerts {
		if a.Status != "firing" {
			continue
		}
		names = append(names, a.Labels["alertname"])
		// The Prometheus path's alerts carry the scrape's job label;
		// socmond's do not. With socmond paging directly, the rules stand
		// down, so every alert must be socmond's.
		if fromProm := a.Labels["job"] != ""; fromProm == s.direct {
			t.Errorf("phase %d, %s: alert %v came from the wrong path (direct=%v)", phase, sc.name, a.Labels, s.direct)
		}
		for _, l := range []string{"alertname", "service", "resource", "severity", "tenant"} {
			if a.Labels[l] == "" {
				t.Errorf("phase %d, %s: alert without %s: %v", phase, sc.name, l, a.Labels)
			}
		}
		if sc.tenant != "" && (a.Labels["tenant"] != sc.tenant || a.Labels["account"] != sc.account || a.Labels["region"] != sc.region) {
			t.Errorf("phase %d, %s: alert of tenant %q account %q region %q, want %s, %s, %s: %v", phase, sc.name,
				a.Labels["tenant"], a.Labels["account"], a.Labels["region"], sc.tenant, sc.account, sc.region, a.Labels)
		}
		for _, an := range []string{"summary", "description", "hint", "runbook_url"} {
			if a.Annotations[an] == "" {
				t.Errorf("phase %d, %s: alert %s without annotation %s", phase, sc.name, a.Labels["alertname"], an)
			}
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	if !slices.Equal(names, sc.alerts) {
		t.Errorf("phase %d, %s: the notification holds %v, want %v", phase, sc.name, names, sc.alerts)
	}
	if sc.tenant != "" {
		// Only the tenant's receiver is paged for its pipeline. (Its
		// tickets — the error-budget burn an outage leaves — go to the
		// shared ticket queue, as the shipped routing says.)
		elsewhere := s.hook.since(faultAt, func(n notification) bool {
			return n.Receiver != sc.receiver && slices.ContainsFunc(n.Alerts, func(a alert) bool {
				return a.Labels["tenant"] == sc.tenant && (n.Receiver != "tickets" || a.Labels["severity"] != "ticket")
			})
		})
		if len(elsewhere) > 0 {
			t.Errorf("phase %d, %s: tenant %s's alerts reached another receiver than %s (or the ticket queue): %s", phase, sc.name, sc.tenant, sc.receiver, describe(elsewhere))
		}
	}
	if sc.receiver == "tickets" {
		if pages := s.hook.since(faultAt, func(n notification) bool { return n.Receiver == "pager" && n.GroupLabels["service"] == sc.group }); len(pages) > 0 {
			t.Errorf("phase %d, %s: a ticket-level fault paged: %s", phase, sc.name, describe(pages))
		}
	}
}

// pagesIn counts the notifications whose set of firing alerts differs from
// the one before.
func pagesIn(ns []notification) int {
	pages, last := 0, ""
	for _, n := range ns {
		var firing []string
		for _, a := range n.Alerts {
			if a.Status == "firing" {
				firing = append(firing, a.Labels["alertname"]+"/"+a.Labels["resource"]+"/"+a.Labels["check"])
			}
		}
		slices.Sort(firing)
		if set := strings.Join(firing, ","); set != last {
			pages, last = pages+1, set
		}
	}
	return pages
}

// checkQuiet: a fault the definition does not page for reaches no receiver,
// and socmond still shows it (DEGRADED) on the status page.
func (s *stack) checkQuiet(phase int, sc scenario, faultAt time.Time) {
	t := s.t
	if got := s.hook.since(faultAt, func(n notification) bool { return slices.ContainsFunc(n.Alerts, sc.quiet) }); len(got) > 0 {
		t.Errorf("phase %d, %s: notified: %s", phase, sc.name, describe(got))
	}
	f := sc.faults[0]
	if st := s.status(f.Service, f.Resource); st != "degraded" {
		t.Errorf("phase %d, %s: status %q, want degraded", phase, sc.name, st)
	}
}

// complianceReadFailures: a compliance read that fails is not a violation.
// Throttled once, the SDK's retry reads it (no alert, no evidence);
// failing for good, the verdict is UNKNOWN: never a ComplianceViolation,
// never an evidence report, and a ticket after 5 minutes.
func (s *stack) complianceReadFailures() []string {
	t := s.t
	evidenceBefore, callsBefore := s.evidenceWrites(), len(s.sim.Calls())
	faultAt := time.Now()
	s.sim.AddFault(awssim.Fault{Service: "s3", Resource: artifacts, Operation: "GetBucketEncryption", Error: "SlowDown", Count: 1})
	s.sim.AddFault(awssim.Fault{Service: "s3", Resource: audit, Operation: "GetObjectLockConfiguration", Error: "SlowDown"})
	extra := time.Duration(0)
	if !s.direct {
		extra = scrapeEval
	}
	unknownBound := 5*time.Minute + complRound + groupWait + extra
	ticket, ok := s.hook.wait(faultAt, s.shipped(unknownBound)+slack, func(n notification) bool {
		return n.Receiver == "tickets" && n.GroupLabels["service"] == "compliance" && n.Status == "firing"
	})
	var figures []string
	if !ok {
		t.Errorf("a compliance read failing for good raised no ComplianceCheckUnknown ticket within %s (shipped)", unknownBound)
	} else {
		if !slices.ContainsFunc(ticket.Alerts, func(a alert) bool {
			return a.Labels["alertname"] == "ComplianceCheckUnknown" && a.Labels["check"] == "s3_object_lock_retention"
		}) {
			t.Errorf("the compliance ticket is not ComplianceCheckUnknown for the Object Lock check: %s", describe([]notification{ticket}))
		}
		figures = append(figures, fmt.Sprintf("  %-62s read fails → ticket %5s (bound %s)", "compliance read failing for good",
			time.Duration(float64(ticket.At.Sub(faultAt))*s.k).Round(time.Second), unknownBound))
	}
	if pages := s.hook.since(faultAt, func(n notification) bool { return n.Receiver == "pager" }); len(pages) > 0 {
		t.Errorf("a failed compliance read paged: %s", describe(pages))
	}
	if w := s.evidenceWrites() - evidenceBefore; w != 0 {
		t.Errorf("a failed compliance read wrote %d evidence reports to the Object-Lock bucket, want none", w)
	}
	// The throttled read and its retry, the SDK's second attempt of the
	// same call, answered: the round read the facts.
	throttled, retried := 0, 0
	for _, c := range s.sim.Calls()[callsBefore:] {
		if c.Operation == "GetBucketEncryption" && c.Resource == artifacts {
			switch {
			case strings.Contains(c.Fault, "SlowDown") && c.Attempt == 1:
				throttled++
			case throttled > 0 && c.Attempt == 2 && c.Status == 200:
				retried++
			}
		}
	}
	if throttled != 1 || retried != 1 {
		t.Errorf("the throttled-once read: %d throttled and %d retried; want the compliance read throttled once and read on the SDK's retry", throttled, retried)
	}
	s.sim.ClearFaults()
	return figures
}

// evidenceWrites counts the evidence reports written to the audit bucket.
func (s *stack) evidenceWrites() int {
	n := 0
	for _, c := range s.sim.Calls() {
		if c.Service == "s3" && c.Operation == "PutObject" && c.Resource == audit && c.Status == 200 {
			n++
		}
	}
	return n
}

func describe(ns []notification) string {
	var b strings.Builder
	for _, n := range ns {
		fmt.Fprintf(&b, "\n    %s %s %s group=%v:", n.At.Format("15:04:05.000"), n.Receiver, n.Status, n.GroupLabels)
		for _, a := range n.Alerts {
			fmt.Fprintf(&b, " [%s %s %s/%s %s job=%q tenant=%q account=%q region=%q]", a.Status, a.Labels["alertname"], a.Labels["service"], a.Labels["resource"],
				a.Labels["check"], a.Labels["job"], a.Labels["tenant"], a.Labels["account"], a.Labels["region"])
		}
	}
	return b.String()
}

// selfAlerts: the alerts about socmond itself, which only Prometheus can
// raise, from every replica: the Watchdog reaches the dead man's switch and
// nobody else; a reload both replicas reject is one ticket, resolved once
// the file is fixed; both replicas stopped is one page.
func (s *stack) selfAlerts() []string {
	t := s.t
	var figures []string
	watchdog := func(n notification) bool {
		return slices.ContainsFunc(n.Alerts, func(a alert) bool { return a.Labels["alertname"] == "Watchdog" })
	}
	if _, ok := s.hook.wait(time.Time{}, slack, func(n notification) bool { return n.Receiver == "deadmansswitch" && watchdog(n) }); !ok {
		t.Error("the Watchdog never reached the dead man's switch")
	}
	if got := s.hook.since(time.Time{}, func(n notification) bool { return n.Receiver != "deadmansswitch" && watchdog(n) }); len(got) > 0 {
		t.Errorf("the Watchdog reached on-call: %s", describe(got))
	}

	reload := func(want int) {
		for _, u := range s.socURLs {
			resp, err := http.Post(u+"/-/reload", "text/plain", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("POST %s/-/reload: %d, want %d", u, resp.StatusCode, want)
			}
		}
	}
	self := func(status, receiver, name string) func(notification) bool {
		return func(n notification) bool {
			return n.Receiver == receiver && n.Status == status && n.GroupLabels["service"] == "socmond" &&
				slices.ContainsFunc(n.Alerts, func(a alert) bool { return a.Labels["alertname"] == name })
		}
	}
	write(t, filepath.Dir(s.cfgPath), filepath.Base(s.cfgPath), s.cfgText+"\nno_such_key: 1\n")
	brokeAt := time.Now()
	reload(http.StatusInternalServerError)
	bound := 5*time.Minute + scrapeEval + groupWait
	if n, ok := s.hook.wait(brokeAt, s.shipped(bound)+slack, self("firing", "tickets", "SocmondConfigReloadFailed")); !ok {
		t.Errorf("a rejected reload raised no SocmondConfigReloadFailed ticket within %s (shipped)", bound)
	} else {
		figures = append(figures, fmt.Sprintf("  %-62s reload fails → ticket %5s (bound %s)", "config reload rejected by every replica",
			time.Duration(float64(n.At.Sub(brokeAt))*s.k).Round(time.Second), bound))
	}
	write(t, filepath.Dir(s.cfgPath), filepath.Base(s.cfgPath), s.cfgText)
	fixedAt := time.Now()
	reload(http.StatusOK)
	if _, ok := s.hook.wait(fixedAt, s.shipped(scrapeEval+groupIntvl)+slack, self("resolved", "tickets", "SocmondConfigReloadFailed")); !ok {
		t.Error("SocmondConfigReloadFailed did not resolve after a reload succeeded")
	}
	if got := s.hook.since(brokeAt, self("firing", "tickets", "SocmondConfigReloadFailed")); len(got) != 1 {
		t.Errorf("%d SocmondConfigReloadFailed notifications for one rejected reload, want 1: %s", len(got), describe(got))
	}

	stoppedAt := time.Now()
	for _, p := range s.replicas {
		_ = p.Process.Kill()
	}
	bound = time.Minute + scrapeEval + groupWait
	if n, ok := s.hook.wait(stoppedAt, s.shipped(bound)+slack, self("firing", "pager", "SocmondDown")); !ok {
		t.Errorf("no SocmondDown page within %s (shipped) of stopping every replica", bound)
	} else {
		figures = append(figures, fmt.Sprintf("  %-62s stop → page %5s (bound %s)", "every socmond replica stopped",
			time.Duration(float64(n.At.Sub(stoppedAt))*s.k).Round(time.Second), bound))
	}
	return figures
}
