package server

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/socmond/socmond/internal/health"
	"github.com/socmond/socmond/internal/probes"
)

func TestStatusPageRendersWhatOnCallNeeds(t *testing.T) {
	t0 := fixedNow.Add(-20 * time.Minute)
	fail := probes.Result{
		Target: probes.Target{Service: probes.ServiceDynamoDB, Resource: "soc<alerts>"},
		Check:  "DescribeTable", Start: fixedNow.Add(-time.Minute), Duration: 1200 * time.Millisecond,
		Status: probes.Unavailable, Class: probes.ClassAuth, Code: "AccessDeniedException", RequestID: "REQ-9",
		Hint: "grant dynamodb:DescribeTable", Detail: "denied",
	}
	src := &fakeSource{snaps: []health.Snapshot{
		{Target: probes.Target{Service: probes.ServiceS3, Resource: "bucket"}, Status: probes.Healthy, Since: t0,
			Last:         probes.Result{Start: fixedNow.Add(-5 * time.Second), Duration: 40 * time.Millisecond, Status: probes.Healthy},
			ErrorSamples: 10, Availability: 1, AvailabilitySamples: 10, P95: 50 * time.Millisecond,
			History: []health.Point{{Start: t0, Status: probes.Healthy}, {Start: t0.Add(time.Second), Status: probes.Healthy}}},
		{Target: fail.Target, Status: probes.Unavailable, Since: fixedNow.Add(-3 * time.Minute), Last: fail, LastFailure: &fail,
			ErrorRatio: 0.5, ErrorSamples: 4, Availability: 0.5, AvailabilitySamples: 4, P95: 1200 * time.Millisecond,
			ErrorMinSamples: 3, AvailabilityMinSamples: 60,
			Conditions: [health.NumKinds]health.Condition{health.KindError: {Failing: true, Active: true}, health.KindUnavailable: {Failing: true}},
			History:    []health.Point{{Start: t0, Status: probes.Healthy}, {Start: fail.Start, Status: probes.Unavailable}}},
		{Target: probes.Target{Service: probes.ServiceKMS, Resource: "alias/new"}, Availability: 1},
	}}
	src.ready.Store(true)
	th := func(probes.Target) (Thresholds, bool) {
		return Thresholds{ResponseTime: time.Second, ErrorRate: 0.05, Availability: 0.99,
			ErrorWindow: 5 * time.Minute, AvailabilityWindow: time.Hour, Schedule: "@every 30s"}, true
	}
	panel := func(now time.Time) Panel {
		return Panel{ID: "compliance", Title: "Encryption compliance", Items: []PanelItem{
			{Name: "bucket_kms", Resource: "audit", State: "fail", Reason: "SSE-S3, not aws:kms", Hint: "set the CMK", At: now,
				Details: map[string]string{"b": "2", "a": "1"}},
			{Name: "rotation", State: "pass", OK: true},
		}}
	}
	s := New(Options{Source: src, Version: "9.9.9", Logger: zerolog.Nop(), Now: func() time.Time { return fixedNow },
		Thresholds: th, Panels: []PanelSource{panel, func(time.Time) Panel { return Panel{ID: "alerts", Title: "Alerts firing"} }}})
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)

	resp, body := do(t, "GET", ts.URL+"/")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET / = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
	for _, want := range []string{
		`<main id="main"`, `<nav aria-label=`, `<header`, `<footer>`, // landmarks
		"2 of 3 resources need attention.",
		"1 unavailable", "1 pending", "1 healthy",
		"UNAVAILABLE", "HEALTHY", "PENDING", "No result yet.",
		"soc&lt;alerts&gt;", // escaped, never markup
		"UNAVAILABLE for 3m,", "AccessDeniedException", "REQ-9", "grant dynamodb:DescribeTable", "auth",
		"50.00%", "threshold 5.00%", "over 5m", "threshold 99.00%", "over 1h", "slow above 1.00 s",
		// The error condition alerts; availability crossed its threshold
		// from too few probes; the p95 is slow but no longer failing.
		"over threshold: alerting", "below threshold, too few probes to alert (4 of 60)", "over threshold, not failing now: no alert",
		`aria-label="Last 2 results, oldest first: 1 healthy, 0 degraded, 1 unavailable"`,
		"Encryption compliance", "✕</span> FAIL", "SSE-S3, not aws:kms", "set the CMK", "✓</span> PASS",
		"<dt>a</dt><dd>1</dd><dt>b</dt><dd>2</dd>",
		"Alerts firing", "Nothing to report.",
		`href="assets/status.css?v=9.9.9"`, `src="assets/refresh.js?v=9.9.9"`,
		`href="metrics"`, `href="api/v1/status"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("status page lacks %q", want)
		}
	}
	if strings.Contains(body, "soc<alerts>") {
		t.Error("a resource name was rendered as markup")
	}
	// The attention list puts the unavailable table before the pending key.
	if a, p := strings.Index(body, "#r0-dynamodb-soc-alerts-"), strings.Index(body, "#r1-kms-alias-new"); a < 0 || p < 0 || a > p {
		t.Errorf("attention order: unavailable at %d, pending at %d", a, p)
	}
}

// TestStatusPageShowsServiceNames: a person reads "Step Functions", not the
// label value stepfunctions, in the section headings and the attention
// list; ids and the API keep the label.
func TestStatusPageShowsServiceNames(t *testing.T) {
	var snaps []health.Snapshot
	for _, svc := range probes.Services() {
		snaps = append(snaps, health.Snapshot{Target: probes.Target{Service: svc, Resource: "r-" + svc}, Status: probes.Unavailable,
			Since: fixedNow, Last: probes.Result{Start: fixedNow, Status: probes.Unavailable}})
	}
	_, body := do(t, "GET", newTestServer(t, &fakeSource{snaps: snaps}, nil).URL+"/")
	text := regexp.MustCompile(`<[^>]*>`).ReplaceAllString(body, " ")
	for _, svc := range probes.Services() {
		name := probes.DisplayName(svc)
		if name == svc {
			t.Errorf("service %s has no display name", svc)
		}
		if !strings.Contains(body, `<h2 id="svc-`+svc+`">`+name+`</h2>`) || !strings.Contains(body, name+" / r-"+svc) {
			t.Errorf("page does not name %s %q in its heading and attention list", svc, name)
		}
		if regexp.MustCompile(`(^|\s)` + svc + `(\s|$)`).MatchString(text) {
			t.Errorf("page shows the label value %q to a person", svc)
		}
	}
}

func TestStatusPageAllHealthyAndNoSource(t *testing.T) {
	src := &fakeSource{snaps: []health.Snapshot{{Target: probes.Target{Service: "s3", Resource: "b"}, Status: probes.Healthy,
		Since: fixedNow, Last: probes.Result{Start: fixedNow, Status: probes.Healthy}, Availability: 1}}}
	_, body := do(t, "GET", newTestServer(t, src, nil).URL+"/")
	for _, want := range []string{"All 1 resources are healthy.", "first probe round still running", "<title>All healthy · socmond</title>"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(body, "Needs attention") {
		t.Error("attention section shown with everything healthy")
	}
	_, body = do(t, "GET", newTestServer(t, nil, nil).URL+"/")
	if !strings.Contains(body, "No health source is configured.") {
		t.Error("nil source not explained")
	}
}

func TestAssets(t *testing.T) {
	ts := newTestServer(t, &fakeSource{}, nil)
	for path, ctype := range map[string]string{"/assets/status.css": "text/css", "/assets/refresh.js": "text/javascript", "/assets/filter.js": "text/javascript"} {
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), ctype) || len(b) == 0 {
			t.Errorf("GET %s = %d %q (%d bytes)", path, resp.StatusCode, resp.Header.Get("Content-Type"), len(b))
		}
	}
	if resp, _ := do(t, "GET", ts.URL+"/assets/nope.css"); resp.StatusCode != 404 {
		t.Errorf("missing asset = %d", resp.StatusCode)
	}
}

func TestHuman(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second: "0s", 1400 * time.Millisecond: "1s", 3*time.Minute + 10*time.Second: "3m10s",
		5 * time.Minute: "5m", time.Hour: "1h", 2*time.Hour + 3*time.Minute + 20*time.Second: "2h3m",
		time.Hour + 10*time.Minute: "1h10m",
	} {
		if got := human(d); got != want {
			t.Errorf("human(%v) = %q, want %q", d, got, want)
		}
	}
}

// TestStatusPageShowsPlaces: the same table in two tenants' accounts is
// two cards, each saying where it is; an unplaced card says nothing new.
func TestStatusPageShowsPlaces(t *testing.T) {
	snap := func(p probes.Place, st probes.Status) health.Snapshot {
		return health.Snapshot{Target: probes.Target{Service: probes.ServiceDynamoDB, Resource: "investigations", Place: p}, Status: st,
			Since: fixedNow, Last: probes.Result{Start: fixedNow, Status: st}}
	}
	acme := probes.Place{Tenant: "acme", Account: "111111111111", Region: "ap-east-1"}
	beta := probes.Place{Tenant: "beta", Account: "222222222222", Region: "eu-west-1"}
	_, body := do(t, "GET", newTestServer(t, &fakeSource{snaps: []health.Snapshot{
		snap(beta, probes.Healthy), snap(acme, probes.Unavailable), snap(probes.Place{}, probes.Healthy)}}, nil).URL+"/")
	for _, want := range []string{
		`<span class="place">tenant acme · account 111111111111 · ap-east-1</span>`,
		`<span class="place">tenant beta · account 222222222222 · eu-west-1</span>`,
		`investigations (tenant acme · account 111111111111 · ap-east-1)</a>`, // needs attention
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if n := strings.Count(body, `class="place"`); n != 2 {
		t.Errorf("%d places shown, want 2 (none on the unplaced card)", n)
	}
}
