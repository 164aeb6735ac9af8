package emf

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/socmond/socmond/internal/compliance"
	"github.com/socmond/socmond/internal/probes"
	"github.com/socmond/socmond/internal/testenv"
)

// lines writes what w holds and parses every line against the EMF
// specification.
func lines(t *testing.T, w *Writer, out *bytes.Buffer) []testenv.EMF {
	t.Helper()
	w.Flush()
	var docs []testenv.EMF
	for _, l := range strings.SplitAfter(out.String(), "\n") {
		if l == "" {
			continue
		}
		if !strings.HasSuffix(l, "\n") || strings.Count(l, "\n") != 1 {
			t.Fatalf("not one line: %q", l)
		}
		doc, err := testenv.ParseEMF([]byte(l))
		if err != nil {
			t.Fatalf("%v\n%s", err, l)
		}
		docs = append(docs, doc)
	}
	out.Reset()
	return docs
}

// TestProbeLines: every kind of result becomes one line that follows the
// EMF specification, with the values the CloudWatch alarms read.
func TestProbeLines(t *testing.T) {
	start := time.Now().Add(-time.Second).Truncate(time.Millisecond)
	res := func(status probes.Status, class probes.Class, d time.Duration) probes.Result {
		return probes.Result{Target: probes.Target{Service: "dynamodb", Resource: "AsiaAgenticSocMetrics-dev"}, Check: "DescribeTable",
			Start: start, Duration: d, Status: status, Class: class, RequestID: "req-1"}
	}
	queue := func(status probes.Status, class probes.Class, items int64) probes.Result {
		r := res(status, class, 5*time.Millisecond)
		r.Backlog = &items
		return r
	}
	tests := map[string]struct {
		r            probes.Result
		responseTime float64 // -1: none
		err, unavail float64
		backlog      float64 // -1: none
	}{
		"healthy":       {r: res(probes.Healthy, "", 12345678*time.Nanosecond), responseTime: 12.345, backlog: -1},
		"slow":          {r: res(probes.Degraded, probes.ClassSlow, 6*time.Second), responseTime: 6000, backlog: -1},
		"normal work":   {r: res(probes.Degraded, probes.ClassInvalidState, 3*time.Millisecond), responseTime: 3, backlog: -1},
		"throttled":     {r: res(probes.Degraded, probes.ClassThrottled, 40*time.Millisecond), responseTime: -1, err: 1, backlog: -1},
		"timeout":       {r: res(probes.Unavailable, probes.ClassTimeout, 10*time.Second), responseTime: -1, err: 1, unavail: 1, backlog: -1},
		"bad state":     {r: res(probes.Unavailable, probes.ClassInvalidState, 2*time.Millisecond), responseTime: -1, err: 1, unavail: 1, backlog: -1},
		"empty queue":   {r: queue(probes.Healthy, "", 0), responseTime: 5, backlog: 0},
		"messages held": {r: queue(probes.Degraded, probes.ClassBacklog, 7), responseTime: 5, backlog: 7},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			w := New(&out, "", "hk-demo", zerolog.Nop())
			w.Result(tc.r)
			docs := lines(t, w, &out)
			if len(docs) != 1 {
				t.Fatalf("%d lines, want 1", len(docs))
			}
			doc := docs[0]
			if !doc.Timestamp.Equal(start) {
				t.Errorf("timestamp %v, want the probe's start %v", doc.Timestamp, start)
			}
			if len(doc.Directives) != 1 {
				t.Fatalf("%d directives", len(doc.Directives))
			}
			d := doc.Directives[0]
			if d.Namespace != DefaultNamespace || !reflect.DeepEqual(d.Dimensions, [][]string{{"Service", "Resource", "Tenant"}}) {
				t.Errorf("namespace %q dimensions %v", d.Namespace, d.Dimensions)
			}
			want := map[string]float64{"Error": tc.err, "Unavailable": tc.unavail}
			units := map[string]string{"Error": "Count", "Unavailable": "Count"}
			if tc.responseTime >= 0 {
				want["ResponseTime"] = tc.responseTime
				units["ResponseTime"] = "Milliseconds"
			} else if _, ok := doc.Root["ResponseTime"]; ok {
				t.Error("an error carries a response time")
			}
			if tc.backlog >= 0 {
				want["Backlog"] = tc.backlog
				units["Backlog"] = "Count"
			} else if _, ok := doc.Root["Backlog"]; ok {
				t.Error("a resource without a backlog carries one")
			}
			got := map[string]string{}
			for _, m := range d.Metrics {
				got[m.Name] = m.Unit
				if v, _ := doc.Value(m.Name); v != want[m.Name] {
					t.Errorf("%s = %v, want %v", m.Name, v, want[m.Name])
				}
			}
			if !reflect.DeepEqual(got, units) {
				t.Errorf("metrics and units %v, want %v", got, units)
			}
			for k, v := range map[string]string{"Service": "dynamodb", "Resource": "AsiaAgenticSocMetrics-dev", "Tenant": "hk-demo",
				"Status": string(tc.r.Status), "Class": string(tc.r.Class), "RequestId": "req-1"} {
				if doc.String(k) != v {
					t.Errorf("%s = %q, want %q", k, doc.String(k), v)
				}
			}
		})
	}
}

// TestComplianceLines: FAIL is 1, PASS and NOT_APPLICABLE 0, and UNKNOWN
// repeats the last known verdict, so it neither raises nor clears an alarm
// (docs/alerting.md); never known, it writes nothing.
func TestComplianceLines(t *testing.T) {
	var out bytes.Buffer
	w := New(&out, "SOC/Health", "t1", zerolog.Nop())
	at := time.Now().Truncate(time.Millisecond)
	f := func(check string, v compliance.Verdict) compliance.Finding {
		return compliance.Finding{Check: check, Resource: "alias/AsiaAgenticSoc", Verdict: v, Start: at}
	}
	for _, step := range []struct {
		finding compliance.Finding
		want    float64 // -1: no line
	}{
		{f("kms_key_rotation", compliance.Unknown), -1},
		{f("kms_key_rotation", compliance.Fail), 1},
		{f("kms_key_rotation", compliance.Unknown), 1},
		{f("kms_key_rotation", compliance.Pass), 0},
		{f("kms_key_rotation", compliance.Unknown), 0},
		{f("s3_kms_encryption", compliance.Unknown), -1},
		{f("kms_key_rotation", compliance.NotApplicable), 0},
	} {
		w.Finding(step.finding)
		docs := lines(t, w, &out)
		if step.want < 0 {
			if len(docs) != 0 {
				t.Errorf("%s %s: a line for a verdict never known", step.finding.Check, step.finding.Verdict)
			}
			continue
		}
		if len(docs) != 1 {
			t.Fatalf("%s %s: %d lines", step.finding.Check, step.finding.Verdict, len(docs))
		}
		doc := docs[0]
		d := doc.Directives[0]
		if d.Namespace != "SOC/Health" || !reflect.DeepEqual(d.Dimensions, [][]string{{"Check", "Resource", "Tenant"}}) ||
			len(d.Metrics) != 1 || d.Metrics[0] != (testenv.EMFMetric{Name: "ComplianceFailure", Unit: "Count"}) {
			t.Errorf("directive %+v", d)
		}
		if v, _ := doc.Value("ComplianceFailure"); v != step.want {
			t.Errorf("%s %s: ComplianceFailure %v, want %v", step.finding.Check, step.finding.Verdict, v, step.want)
		}
		if doc.String("Check") != step.finding.Check || doc.String("Tenant") != "t1" || doc.String("Verdict") != string(step.finding.Verdict) {
			t.Errorf("members %v", doc.Root)
		}
	}
	w.SetTenant("t2")
	w.Finding(f("kms_key_rotation", compliance.Pass))
	if docs := lines(t, w, &out); len(docs) != 1 || docs[0].String("Tenant") != "t2" {
		t.Errorf("the tenant a reload set is not on the next line")
	}
}

// blockedWriter is a stdout nobody reads until release is closed.
type blockedWriter struct {
	release chan struct{}
	mu      sync.Mutex
	n       int
}

func (b *blockedWriter) Write(p []byte) (int, error) {
	<-b.release
	b.mu.Lock()
	b.n += bytes.Count(p, []byte("\n"))
	b.mu.Unlock()
	return len(p), nil
}

// TestStalledStdoutCostsLinesNotProbes: while stdout is not read, results
// keep being taken at once, the lines beyond MaxBuffered are dropped, and
// the drop is logged once stdout moves again.
func TestStalledStdoutCostsLinesNotProbes(t *testing.T) {
	out := &blockedWriter{release: make(chan struct{})}
	var logs testenv.Buffer
	w := New(out, "", "t", zerolog.New(&logs))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()

	r := probes.Result{Target: probes.Target{Service: "s3", Resource: "bucket"}, Start: time.Now(), Status: probes.Healthy}
	n := 3 * MaxBuffered / 200 // far more than fits: lines are ~200 bytes
	finished := make(chan struct{})
	go func() {
		for range n {
			w.Result(r)
		}
		close(finished)
	}()
	select {
	case <-finished:
	case <-time.After(10 * time.Second):
		t.Fatal("Result blocked on a stalled stdout")
	}
	close(out.release)
	cancel()
	<-done
	out.mu.Lock()
	written := out.n
	out.mu.Unlock()
	if written == 0 || written >= n {
		t.Errorf("%d of %d lines written: want some dropped, some kept", written, n)
	}
	if !strings.Contains(logs.String(), "CloudWatch EMF lines dropped") {
		t.Errorf("the drop was not logged: %s", logs.String())
	}
}

// TestResultDoesNotAllocate: the probe's goroutine pays for formatting a
// line, not for garbage.
func TestResultDoesNotAllocate(t *testing.T) {
	w := New(io.Discard, "", "hk-demo", zerolog.Nop())
	r := probes.Result{Target: probes.Target{Service: "lambda", Resource: "AsiaAgenticSoc-Ingest-dev"}, Start: time.Now(),
		Duration: 7 * time.Millisecond, Status: probes.Unavailable, Class: probes.ClassServer, Code: "ServiceException", RequestID: "abc"}
	f := compliance.Finding{Check: "kms_key_rotation", Resource: "alias/k", Verdict: compliance.Fail, Start: time.Now()}
	placed := r
	placed.Place = probes.Place{Tenant: "acme", Account: "111111111111", Region: "eu-west-1"}
	pf := f
	pf.Place = placed.Place
	w.Finding(f)
	w.Finding(pf)
	if n := testing.AllocsPerRun(100, func() { w.Result(r); w.Finding(f); w.Result(placed); w.Finding(pf); w.Flush() }); n != 0 {
		t.Errorf("%v allocations per result", n)
	}
}

func BenchmarkResult(b *testing.B) {
	r := probes.Result{Target: probes.Target{Service: "dynamodb", Resource: "AsiaAgenticSocMetrics-dev"}, Start: time.Now(),
		Duration: 12 * time.Millisecond, Status: probes.Healthy, RequestID: "3VJ2M6H3L0T8Q7S9"}
	bench := func(b *testing.B, r probes.Result) {
		w := New(io.Discard, "", "hk-demo", zerolog.Nop())
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			w.Result(r)
			if i%64 == 0 {
				w.Flush()
			}
		}
	}
	b.Run("unplaced", func(b *testing.B) { bench(b, r) })
	r.Place = probes.Place{Tenant: "acme", Account: "111111111111", Region: "eu-west-1"}
	b.Run("placed", func(b *testing.B) { bench(b, r) })
}

// FuzzAppendString: every string comes out as the JSON string encoding/json
// would read back for it.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", `q"uote\back`, "nl\n\r\t\x00\x1f", "héllo ✓", "bad\xff\xfeutf8", "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var got, want string
		if err := json.Unmarshal(appendString(nil, s), &got); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		ref, _ := json.Marshal(s)
		_ = json.Unmarshal(ref, &want)
		if got != want {
			t.Errorf("%q read back as %q, want %q", s, got, want)
		}
	})
}

func TestCheckNamespace(t *testing.T) {
	for ns, ok := range map[string]bool{
		DefaultNamespace: true, "SOC/Health": true, "a b.c-d_e/f#g:h": true, strings.Repeat("x", 255): true,
		"": false, "AWS/Lambda": false, "café": false, "a\nb": false, strings.Repeat("x", 256): false,
	} {
		if err := CheckNamespace(ns); (err == nil) != ok {
			t.Errorf("CheckNamespace(%q) = %v, want ok %v", ns, err, ok)
		}
	}
}

// TestUnplacedLinesUnchanged: a config without tenants writes, byte for
// byte, the lines it wrote before lines had places (taken from that
// version's output).
func TestUnplacedLinesUnchanged(t *testing.T) {
	var out bytes.Buffer
	w := New(&out, "", "hk-demo", zerolog.Nop())
	at := time.UnixMilli(1764806400123)
	n := int64(3)
	w.Result(probes.Result{Target: probes.Target{Service: "dynamodb", Resource: "AsiaAgenticSocMetrics-dev"}, Start: at, Duration: 12345678, Status: probes.Healthy, RequestID: "req-1"})
	w.Result(probes.Result{Target: probes.Target{Service: "lambda", Resource: "fn"}, Start: at, Duration: 7, Status: probes.Unavailable, Class: probes.ClassServer, Code: "ServiceException", RequestID: "abc"})
	w.Result(probes.Result{Target: probes.Target{Service: "sqs", Resource: "dlq"}, Start: at, Duration: 5000000, Status: probes.Degraded, Class: probes.ClassBacklog, Backlog: &n})
	w.Finding(compliance.Finding{Check: "kms_key_rotation", Resource: "alias/k", Verdict: compliance.Fail, Start: at})
	w.Flush()
	const want = "{\"_aws\":{\"CloudWatchMetrics\":[{\"Namespace\":\"socmond\",\"Dimensions\":[[\"Service\",\"Resource\",\"Tenant\"]],\"Metrics\":[{\"Name\":\"ResponseTime\",\"Unit\":\"Milliseconds\"},{\"Name\":\"Error\",\"Unit\":\"Count\"},{\"Name\":\"Unavailable\",\"Unit\":\"Count\"}]}],\"Timestamp\":1764806400123},\"Service\":\"dynamodb\",\"Resource\":\"AsiaAgenticSocMetrics-dev\",\"Tenant\":\"hk-demo\",\"ResponseTime\":12.345,\"Error\":0,\"Unavailable\":0,\"Status\":\"healthy\",\"RequestId\":\"req-1\"}\n" +
		"{\"_aws\":{\"CloudWatchMetrics\":[{\"Namespace\":\"socmond\",\"Dimensions\":[[\"Service\",\"Resource\",\"Tenant\"]],\"Metrics\":[{\"Name\":\"Error\",\"Unit\":\"Count\"},{\"Name\":\"Unavailable\",\"Unit\":\"Count\"}]}],\"Timestamp\":1764806400123},\"Service\":\"lambda\",\"Resource\":\"fn\",\"Tenant\":\"hk-demo\",\"Error\":1,\"Unavailable\":1,\"Status\":\"unavailable\",\"Class\":\"server\",\"Code\":\"ServiceException\",\"RequestId\":\"abc\"}\n" +
		"{\"_aws\":{\"CloudWatchMetrics\":[{\"Namespace\":\"socmond\",\"Dimensions\":[[\"Service\",\"Resource\",\"Tenant\"]],\"Metrics\":[{\"Name\":\"ResponseTime\",\"Unit\":\"Milliseconds\"},{\"Name\":\"Error\",\"Unit\":\"Count\"},{\"Name\":\"Unavailable\",\"Unit\":\"Count\"},{\"Name\":\"Backlog\",\"Unit\":\"Count\"}]}],\"Timestamp\":1764806400123},\"Service\":\"sqs\",\"Resource\":\"dlq\",\"Tenant\":\"hk-demo\",\"ResponseTime\":5,\"Error\":0,\"Unavailable\":0,\"Backlog\":3,\"Status\":\"degraded\",\"Class\":\"backlog\"}\n" +
		"{\"_aws\":{\"CloudWatchMetrics\":[{\"Namespace\":\"socmond\",\"Dimensions\":[[\"Check\",\"Resource\",\"Tenant\"]],\"Metrics\":[{\"Name\":\"ComplianceFailure\",\"Unit\":\"Count\"}]}],\"Timestamp\":1764806400123},\"Check\":\"kms_key_rotation\",\"Resource\":\"alias/k\",\"Tenant\":\"hk-demo\",\"ComplianceFailure\":1,\"Verdict\":\"FAIL\"}\n"
	if got := out.String(); got != want {
		t.Errorf("unplaced lines changed:\n%s\nwant\n%s", got, want)
	}
}

// TestPlacedLines: a tenant's pipeline's resource's lines, of every kind,
// carry its tenant (not the config's), account and region, as dimensions
// and members, so the same name in two accounts is two metrics; a
// finding's last known verdict is its place's alone.
func TestPlacedLines(t *testing.T) {
	var out bytes.Buffer
	w := New(&out, "", "config-tenant", zerolog.Nop())
	at := time.Now().Truncate(time.Millisecond)
	acme := probes.Place{Tenant: "acme", Account: "111111111111", Region: "eu-west-1"}
	beta := probes.Place{Tenant: "beta", Account: "222222222222", Region: "us-east-1"}
	n := int64(2)
	res := func(p probes.Place, status probes.Status, class probes.Class, backlog *int64) probes.Result {
		return probes.Result{Target: probes.Target{Service: "dynamodb", Resource: "investigations", Place: p}, Start: at,
			Duration: time.Millisecond, Status: status, Class: class, Backlog: backlog}
	}
	w.Result(res(acme, probes.Healthy, "", nil))
	w.Result(res(beta, probes.Unavailable, probes.ClassAuth, nil))
	w.Result(res(acme, probes.Degraded, probes.ClassBacklog, &n))
	w.Finding(compliance.Finding{Check: "kms_key_rotation", Resource: "alias/k", Verdict: compliance.Fail, Start: at, Place: acme})
	w.Finding(compliance.Finding{Check: "kms_key_rotation", Resource: "alias/k", Verdict: compliance.Unknown, Start: at, Place: beta}) // nothing known of beta's
	w.Finding(compliance.Finding{Check: "kms_key_rotation", Resource: "alias/k", Verdict: compliance.Unknown, Start: at, Place: acme})
	docs := lines(t, w, &out)
	want := []struct {
		place  probes.Place
		first  string
		metric string
		value  float64
	}{
		{acme, "Service", "Error", 0},
		{beta, "Service", "Error", 1},
		{acme, "Service", "Backlog", 2},
		{acme, "Check", "ComplianceFailure", 1},
		{acme, "Check", "ComplianceFailure", 1}, // UNKNOWN repeats acme's FAIL
	}
	if len(docs) != len(want) {
		t.Fatalf("%d lines, want %d", len(docs), len(want))
	}
	for i, doc := range docs {
		wt := want[i]
		if d := doc.Directives[0].Dimensions; !reflect.DeepEqual(d, [][]string{{wt.first, "Resource", "Tenant", "Account", "Region"}}) {
			t.Errorf("line %d: dimensions %v", i, d)
		}
		for k, v := range map[string]string{"Tenant": wt.place.Tenant, "Account": wt.place.Account, "Region": wt.place.Region} {
			if doc.String(k) != v {
				t.Errorf("line %d: %s = %q, want %q", i, k, doc.String(k), v)
			}
		}
		if v, _ := doc.Value(wt.metric); v != wt.value {
			t.Errorf("line %d: %s = %v, want %v", i, wt.metric, v, wt.value)
		}
	}
}
