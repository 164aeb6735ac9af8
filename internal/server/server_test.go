package server

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/socmond/socmond/internal/health"
	"github.com/socmond/socmond/internal/probes"
)

// fakeSource returns fixed snapshots and a readiness that tests flip.
type fakeSource struct {
	ready atomic.Bool
	snaps []health.Snapshot

	mu     sync.Mutex
	gotNow time.Time
}

func (f *fakeSource) Snapshots(now time.Time) []health.Snapshot {
	f.mu.Lock()
	f.gotNow = now
	f.mu.Unlock()
	return f.snaps
}

func (f *fakeSource) Ready() bool { return f.ready.Load() }

var fixedNow = time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)

func newTestServer(t *testing.T, src Source, extra map[string]http.Handler) *httptest.Server {
	t.Helper()
	s := New(Options{
		Metrics: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
			_, _ = io.WriteString(w, "socmond_up 1\n")
		}),
		Source:  src,
		Version: "1.2.3",
		Logger:  zerolog.Nop(),
		Extra:   extra,
		Now:     func() time.Time { return fixedNow },
	})
	// httptest.NewServer listens on 127.0.0.1 and goes away with the test.
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts
}

func do(t *testing.T, method, url string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func TestEndpoints(t *testing.T) {
	reload := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "reloaded\n") })
	tests := map[string]struct {
		method, path string
		ready        bool
		wantCode     int
		wantType     string // prefix of Content-Type; "" skips the check
		wantBody     string // exact body; "" with wantIn skips the check
		wantIn       []string
		wantAllow    string
	}{
		"healthy":             {method: "GET", path: "/-/healthy", wantCode: 200, wantType: "text/plain", wantBody: "socmond is Healthy.\n"},
		"healthy head":        {method: "HEAD", path: "/-/healthy", wantCode: 200, wantType: "text/plain"},
		"healthy post":        {method: "POST", path: "/-/healthy", wantCode: 405, wantAllow: "GET, HEAD"},
		"ready":               {method: "GET", path: "/-/ready", ready: true, wantCode: 200, wantType: "text/plain", wantBody: "socmond is Ready.\n"},
		"not ready":           {method: "GET", path: "/-/ready", wantCode: 503, wantType: "text/plain", wantBody: "socmond is not ready.\n"},
		"metrics":             {method: "GET", path: "/metrics", wantCode: 200, wantType: "text/plain; version=0.0.4", wantBody: "socmond_up 1\n"},
		"metrics delete":      {method: "DELETE", path: "/metrics", wantCode: 405, wantAllow: "GET, HEAD"},
		"status":              {method: "GET", path: "/api/v1/status", wantCode: 200, wantType: "application/json", wantIn: []string{`"status":"success"`}},
		"status put":          {method: "PUT", path: "/api/v1/status", wantCode: 405, wantAllow: "GET, HEAD"},
		"landing":             {method: "GET", path: "/", wantCode: 200, wantType: "text/html", wantIn: []string{"1.2.3", `href="metrics"`, `href="api/v1/status"`, `href="-/healthy"`, `href="-/ready"`}},
		"landing post":        {method: "POST", path: "/", wantCode: 405},
		"unknown path":        {method: "GET", path: "/nope", wantCode: 404},
		"unknown under api":   {method: "GET", path: "/api/v1/status/extra", wantCode: 404},
		"extra mounted":       {method: "POST", path: "/-/reload", wantCode: 200, wantBody: "reloaded\n"},
		"extra wrong method":  {method: "GET", path: "/-/reload", wantCode: 405, wantAllow: "POST"},
		"trailing slash 404s": {method: "GET", path: "/metrics/", wantCode: 404},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			src := &fakeSource{}
			src.ready.Store(tc.ready)
			ts := newTestServer(t, src, map[string]http.Handler{"POST /-/reload": reload})

			resp, body := do(t, tc.method, ts.URL+tc.path)
			if resp.StatusCode != tc.wantCode {
				t.Fatalf("%s %s = %d, want %d (body %q)", tc.method, tc.path, resp.StatusCode, tc.wantCode, body)
			}
			if ct := resp.Header.Get("Content-Type"); tc.wantType != "" && !strings.HasPrefix(ct, tc.wantType) {
				t.Errorf("Content-Type = %q, want prefix %q", ct, tc.wantType)
			}
			if tc.wantBody != "" && body != tc.wantBody {
				t.Errorf("body = %q, want %q", body, tc.wantBody)
			}
			if tc.method == http.MethodHead && body != "" {
				t.Errorf("HEAD returned a body: %q", body)
			}
			for _, s := range tc.wantIn {
				if !strings.Contains(body, s) {
					t.Errorf("body lacks %q:\n%s", s, body)
				}
			}
			if tc.wantAllow != "" && resp.Header.Get("Allow") != tc.wantAllow {
				t.Errorf("Allow = %q, want %q", resp.Header.Get("Allow"), tc.wantAllow)
			}
		})
	}
}

func TestReadinessFlips(t *testing.T) {
	src := &fakeSource{}
	ts := newTestServer(t, src, nil)
	for _, step := range []struct {
		ready bool
		want  int
	}{{false, 503}, {true, 200}, {false, 503}} {
		src.ready.Store(step.ready)
		if resp, _ := do(t, "GET", ts.URL+"/-/ready"); resp.StatusCode != step.want {
			t.Errorf("ready=%v: /-/ready = %d, want %d", step.ready, resp.StatusCode, step.want)
		}
	}
}

func TestNilSource(t *testing.T) {
	ts := newTestServer(t, nil, nil)
	tests := map[string]struct {
		path     string
		wantCode int
		wantBody string
	}{
		"ready":  {"/-/ready", 503, "socmond is not ready.\n"},
		"status": {"/api/v1/status", 503, `{"status":"error","errorType":"unavailable","error":"no health source configured"}` + "\n"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			resp, body := do(t, "GET", ts.URL+tc.path)
			if resp.StatusCode != tc.wantCode || body != tc.wantBody {
				t.Errorf("GET %s = %d %q, want %d %q", tc.path, resp.StatusCode, body, tc.wantCode, tc.wantBody)
			}
		})
	}
}

func TestStatusAPI(t *testing.T) {
	t0 := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	failure := probes.Result{
		Target:    probes.Target{Service: probes.ServiceDynamoDB, Resource: "soc-alerts"},
		Check:     "DescribeTable",
		Start:     t0.Add(20 * time.Minute),
		Duration:  5 * time.Second,
		Status:    probes.Unavailable,
		Class:     probes.ClassThrottled,
		Code:      "ThrottlingException",
		RequestID: "REQ-123",
		Hint:      "raise the table's read capacity",
		Detail:    "Rate of requests exceeds the allowed throughput.",
	}
	src := &fakeSource{snaps: []health.Snapshot{
		{ // Listed first but sorts after dynamodb.
			Target: probes.Target{Service: probes.ServiceS3, Resource: "soc-evidence"},
			Status: probes.Healthy, Since: t0,
			Last:       probes.Result{Start: t0.Add(25 * time.Minute), Duration: 250 * time.Millisecond, Status: probes.Healthy, RequestID: "REQ-7"},
			ErrorRatio: 0, ErrorSamples: 12, Availability: 1, AvailabilitySamples: 40,
			P95: 300 * time.Millisecond,
		},
		{
			Target: failure.Target,
			Status: probes.Unavailable, Since: t0.Add(10 * time.Minute),
			Last:        failure,
			LastFailure: &failure,
			ErrorRatio:  0.5, ErrorSamples: 4, Availability: 0.75, AvailabilitySamples: 8,
			ErrorMinSamples: 3, AvailabilityMinSamples: 30,
			Conditions: [health.NumKinds]health.Condition{health.KindError: {Failing: true, Active: true}, health.KindUnavailable: {Failing: true}},
			P95:        4500 * time.Millisecond,
		},
		{ // Configured but not probed yet.
			Target:       probes.Target{Service: probes.ServiceKMS, Resource: "alias/soc"},
			Availability: 1,
		},
	}}
	ts := newTestServer(t, src, nil)

	resp, body := do(t, "GET", ts.URL+"/api/v1/status")
	if resp.StatusCode != 200 {
		t.Fatalf("status = %d", resp.StatusCode)
	}
	if !src.gotNow.Equal(fixedNow) {
		t.Errorf("Snapshots called with %v, want the server clock %v", src.gotNow, fixedNow)
	}

	var got map[string]any
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("decoding %s: %v", body, err)
	}
	want := map[string]any{
		"status": "success",
		"data": map[string]any{
			"generated_at": "2025-03-14T09:26:53Z",
			"panels":       []any{},
			"resources": []any{
				map[string]any{
					"service": "dynamodb", "resource": "soc-alerts", "status": "unavailable",
					"since":                      "2025-03-14T09:10:00Z",
					"last_check":                 "2025-03-14T09:20:00Z",
					"last_response_time_seconds": 5.0,
					"last_request_id":            "REQ-123",
					"p95_seconds":                4.5,
					"error_ratio":                0.5,
					"availability":               0.75,
					"samples":                    4.0,
					"availability_samples":       8.0,
					"samples_min":                3.0,
					"availability_samples_min":   30.0,
					"conditions": map[string]any{
						"slow_response": map[string]any{"failing": false, "active": false}, "high_error_rate": map[string]any{"failing": true, "active": true},
						"low_availability": map[string]any{"failing": true, "active": false}, "backlog": map[string]any{"failing": false, "active": false}},
					"last_error": map[string]any{
						"class":      "throttled",
						"code":       "ThrottlingException",
						"request_id": "REQ-123",
						"hint":       "raise the table's read capacity",
						"detail":     "Rate of requests exceeds the allowed throughput.",
						"at":         "2025-03-14T09:20:00Z",
					},
				},
				map[string]any{
					"service": "kms", "resource": "alias/soc", "status": "",
					"last_response_time_seconds": 0.0,
					"p95_seconds":                0.0,
					"error_ratio":                0.0,
					"availability":               1.0,
					"samples":                    0.0,
					"availability_samples":       0.0,
					"samples_min":                0.0,
					"availability_samples_min":   0.0,
					"conditions": map[string]any{
						"slow_response": map[string]any{"failing": false, "active": false}, "high_error_rate": map[string]any{"failing": false, "active": false},
						"low_availability": map[string]any{"failing": false, "active": false}, "backlog": map[string]any{"failing": false, "active": false}},
				},
				map[string]any{
					"service": "s3", "resource": "soc-evidence", "status": "healthy",
					"since":                      "2025-03-14T09:00:00Z",
					"last_check":                 "2025-03-14T09:25:00Z",
					"last_response_time_seconds": 0.25,
					"last_request_id":            "REQ-7",
					"p95_seconds":                0.3,
					"error_ratio":                0.0,
					"availability":               1.0,
					"samples":                    12.0,
					"availability_samples":       40.0,
					"samples_min":                0.0,
					"availability_samples_min":   0.0,
					"conditions": map[string]any{
						"slow_response": map[string]any{"failing": false, "active": false}, "high_error_rate": map[string]any{"failing": false, "active": false},
						"low_availability": map[string]any{"failing": false, "active": false}, "backlog": map[string]any{"failing": false, "active": false}},
				},
			},
		},
	}
	gotJSON, _ := json.MarshalIndent(got, "", "  ")
	wantJSON, _ := json.MarshalIndent(want, "", "  ")
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("status API:\ngot  %s\nwant %s", gotJSON, wantJSON)
	}
}

func TestStatusAPIEmpty(t *testing.T) {
	ts := newTestServer(t, &fakeSource{}, nil)
	_, body := do(t, "GET", ts.URL+"/api/v1/status")
	// An empty list, not null, so clients can iterate without a nil check.
	want := `{"status":"success","data":{"generated_at":"2025-03-14T09:26:53Z","resources":[],"panels":[]}}` + "\n"
	if body != want {
		t.Errorf("body = %q, want %q", body, want)
	}
}

func TestLandingEscapesVersion(t *testing.T) {
	s := New(Options{Version: `<script>alert(1)</script>`, Logger: zerolog.Nop()})
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if strings.Contains(rec.Body.String(), "<script>") {
		t.Errorf("version rendered unescaped:\n%s", rec.Body.String())
	}
	if !strings.Contains(rec.Body.String(), "&lt;script&gt;") {
		t.Errorf("escaped version missing:\n%s", rec.Body.String())
	}
}

func TestNoMetricsHandler(t *testing.T) {
	s := New(Options{Logger: zerolog.Nop()})
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("/metrics without a handler = %d, want 404", rec.Code)
	}
}

func TestNewHTTPServer(t *testing.T) {
	h := http.NotFoundHandler()
	srv := NewHTTPServer("127.0.0.1:9115", h)
	tests := map[string]struct {
		got, want any
	}{
		"addr":                {srv.Addr, "127.0.0.1:9115"},
		"read header timeout": {srv.ReadHeaderTimeout, 5 * time.Second},
		"read timeout":        {srv.ReadTimeout, 30 * time.Second},
		"write timeout":       {srv.WriteTimeout, 60 * time.Second},
		"idle timeout":        {srv.IdleTimeout, 2 * time.Minute},
		"max header bytes":    {srv.MaxHeaderBytes, 64 * 1024},
	}
	for name, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", name, tc.got, tc.want)
		}
	}
	if srv.Handler == nil {
		t.Error("handler not set")
	}
}

func TestStatusIncludesPanels(t *testing.T) {
	at := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	srv := New(Options{Source: &fakeSource{}, Now: func() time.Time { return at }, Panels: []PanelSource{
		func(now time.Time) Panel {
			return Panel{ID: "compliance", Title: "Encryption compliance", Items: []PanelItem{
				{Name: "kms_key_rotation", Resource: "alias/k", State: "fail", Reason: "rotation disabled", Hint: "enable rotation", At: now},
			}}
		},
		func(time.Time) Panel { return Panel{} }, // a feature switched off: no panel
		func(time.Time) Panel { return Panel{ID: "alerts", Title: "Alerts firing"} },
	}})
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/status", nil))
	var doc struct {
		Data struct {
			Panels []Panel `json:"panels"`
		} `json:"data"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Data.Panels) != 2 || doc.Data.Panels[0].ID != "compliance" || doc.Data.Panels[1].Items == nil {
		t.Fatalf("panels = %+v", doc.Data.Panels)
	}
	it := doc.Data.Panels[0].Items[0]
	if it.State != "fail" || it.OK || it.Reason != "rotation disabled" || !it.At.Equal(at) {
		t.Fatalf("item = %+v", it)
	}
}

// TestStatusAPIPlaces: a resource of a tenant's pipeline says its tenant,
// account and region; the same name in two places is two entries, in a
// stable order; an unplaced one has none of the three keys.
func TestStatusAPIPlaces(t *testing.T) {
	place := func(tenant, account, region string) probes.Place {
		return probes.Place{Tenant: tenant, Account: account, Region: region}
	}
	src := &fakeSource{snaps: []health.Snapshot{
		{Target: probes.Target{Service: probes.ServiceDynamoDB, Resource: "t", Place: place("b", "222222222222", "eu-west-1")}, Status: probes.Healthy},
		{Target: probes.Target{Service: probes.ServiceDynamoDB, Resource: "t", Place: place("a", "111111111111", "ap-east-1")}, Status: probes.Unavailable},
		{Target: probes.Target{Service: probes.ServiceDynamoDB, Resource: "t"}, Status: probes.Healthy},
	}}
	ts := newTestServer(t, src, nil)
	_, body := do(t, "GET", ts.URL+"/api/v1/status")
	var got struct {
		Data struct {
			Resources []map[string]any `json:"resources"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	want := []map[string]any{
		{"status": "healthy"},
		{"status": "unavailable", "tenant": "a", "account": "111111111111", "region": "ap-east-1"},
		{"status": "healthy", "tenant": "b", "account": "222222222222", "region": "eu-west-1"},
	}
	if len(got.Data.Resources) != len(want) {
		t.Fatalf("resources: %s", body)
	}
	for i, w := range want {
		r := got.Data.Resources[i]
		for _, k := range []string{"tenant", "account", "region", "status"} {
			if r[k] != w[k] {
				t.Errorf("resource %d: %s = %v, want %v (%v)", i, k, r[k], w[k], r)
			}
		}
		if _, ok := r["account"]; ok != (w["account"] != nil) {
			t.Errorf("resource %d: account key present %v, want %v", i, ok, w["account"] != nil)
		}
	}
}
