package server

import (
	"encoding/json"
	"maps"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/socmond/socmond/internal/health"
	"github.com/socmond/socmond/internal/probes"
)

func TestParseFilter(t *testing.T) {
	tests := map[string]struct {
		query   string
		want    probes.Place
		wantErr string // part of the error; "" for none
	}{
		"none":               {query: ""},
		"one":                {query: "tenant=acme", want: probes.Place{Tenant: "acme"}},
		"all three":          {query: "tenant=acme&account=111111111111&region=ap-east-1", want: probes.Place{Tenant: "acme", Account: "111111111111", Region: "ap-east-1"}},
		"empty is any":       {query: "tenant=&account=&region=eu-west-1", want: probes.Place{Region: "eu-west-1"}},
		"others ignored":     {query: "_=1733000000&tenant=acme", want: probes.Place{Tenant: "acme"}},
		"escaped":            {query: "tenant=a%20b", want: probes.Place{Tenant: "a b"}},
		"unknown value kept": {query: "account=nope", want: probes.Place{Account: "nope"}},
		"repeated":           {query: "region=ap-east-1&region=eu-west-1", wantErr: "region is given 2 times"},
		"repeated empty":     {query: "tenant=&tenant=acme", wantErr: "tenant is given 2 times"},
		"bad escape":         {query: "tenant=%zz", wantErr: "does not parse"},
		"semicolon":          {query: "tenant=acme;region=x", wantErr: "does not parse"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f, err := parseFilter(tc.query)
			switch {
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("parseFilter(%q) = %v, %v; want an error with %q", tc.query, f, err, tc.wantErr)
			case tc.wantErr == "" && err != nil:
				t.Fatalf("parseFilter(%q): %v", tc.query, err)
			case f.Place != tc.want:
				t.Errorf("parseFilter(%q) = %+v, want %+v", tc.query, f.Place, tc.want)
			}
		})
	}
}

var (
	acmeAP = probes.Place{Tenant: "acme", Account: "111111111111", Region: "ap-east-1"}
	acmeEU = probes.Place{Tenant: "acme", Account: "111111111111", Region: "eu-west-1"}
	betaAP = probes.Place{Tenant: "beta", Account: "222222222222", Region: "ap-east-1"}
	betaEU = probes.Place{Tenant: "beta", Account: "222222222222", Region: "eu-west-1"}
)

// placedSource holds two tenants' pipelines, each in its own account, in
// two regions — a table and a bucket each, acme's table in ap-east-1
// unavailable — and one unplaced resource; and a panel with a line in
// each of two pipelines and one of none.
func placedSource() (*fakeSource, PanelSource) {
	src := &fakeSource{}
	for _, p := range []probes.Place{betaEU, acmeAP, betaAP, acmeEU} {
		for _, svc := range []string{probes.ServiceDynamoDB, probes.ServiceS3} {
			st := probes.Healthy
			if p == acmeAP && svc == probes.ServiceDynamoDB {
				st = probes.Unavailable
			}
			src.snaps = append(src.snaps, health.Snapshot{Target: probes.Target{Service: svc, Resource: "r-" + p.Tenant + "-" + p.Region, Place: p},
				Status: st, Since: fixedNow, Last: probes.Result{Start: fixedNow, Status: st}})
		}
	}
	src.snaps = append(src.snaps, health.Snapshot{Target: probes.Target{Service: probes.ServiceKMS, Resource: "alias/top"},
		Status: probes.Healthy, Since: fixedNow, Last: probes.Result{Start: fixedNow, Status: probes.Healthy}})
	panel := func(now time.Time) Panel {
		return Panel{ID: "alerts", Title: "Alerts", Items: []PanelItem{
			{Name: "AWSServiceUnavailable", Resource: "r-acme-ap-east-1", Place: acmeAP, State: "firing", At: now},
			{Name: "AWSServiceHighErrorRate", Resource: "r-beta-eu-west-1", Place: betaEU, State: "pending", At: now},
			{Name: "ComplianceViolation", Resource: "alias/top", State: "firing", At: now},
		}}
	}
	return src, panel
}

func placedServer(t *testing.T) string {
	t.Helper()
	src, panel := placedSource()
	s := New(Options{Source: src, Version: "1.2.3", Logger: zerolog.Nop(), Now: func() time.Time { return fixedNow },
		Panels: []PanelSource{panel}})
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts.URL
}

// TestStatusAPIFilter: the query's tenant, account and region keep only
// their resources and panel lines (lines of no pipeline stay); a value no
// resource has is an empty list; a key given twice is a 400 in the API's
// envelope.
func TestStatusAPIFilter(t *testing.T) {
	base := placedServer(t)
	type doc struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
		Data      struct {
			Filter    map[string]string `json:"filter"`
			Resources []struct {
				Resource string `json:"resource"`
				Tenant   string `json:"tenant"`
				Account  string `json:"account"`
				Region   string `json:"region"`
			} `json:"resources"`
			Panels []Panel `json:"panels"`
		} `json:"data"`
	}
	tests := map[string]struct {
		query      string
		wantCode   int
		wantPlaces []probes.Place // of the resources, each twice (table and bucket) in API order; nil entry = unplaced
		wantItems  []string       // panel lines kept
		wantFilter map[string]string
		wantError  string
	}{
		"everything": {query: "", wantCode: 200, wantPlaces: []probes.Place{acmeAP, acmeEU, betaAP, betaEU, {}, acmeAP, acmeEU, betaAP, betaEU},
			wantItems: []string{"AWSServiceUnavailable", "AWSServiceHighErrorRate", "ComplianceViolation"}},
		"tenant": {query: "?tenant=acme", wantCode: 200, wantPlaces: []probes.Place{acmeAP, acmeEU, acmeAP, acmeEU},
			wantItems: []string{"AWSServiceUnavailable", "ComplianceViolation"}, wantFilter: map[string]string{"tenant": "acme"}},
		"account and region": {query: "?account=222222222222&region=eu-west-1", wantCode: 200, wantPlaces: []probes.Place{betaEU, betaEU},
			wantItems: []string{"AWSServiceHighErrorRate", "ComplianceViolation"}, wantFilter: map[string]string{"account": "222222222222", "region": "eu-west-1"}},
		"region across tenants": {query: "?region=ap-east-1&tenant=", wantCode: 200, wantPlaces: []probes.Place{acmeAP, betaAP, acmeAP, betaAP},
			wantItems: []string{"AWSServiceUnavailable", "ComplianceViolation"}, wantFilter: map[string]string{"region": "ap-east-1"}},
		"contradiction": {query: "?tenant=acme&account=222222222222", wantCode: 200, wantPlaces: []probes.Place{},
			wantItems: []string{"ComplianceViolation"}, wantFilter: map[string]string{"tenant": "acme", "account": "222222222222"}},
		"unknown value": {query: "?tenant=nope", wantCode: 200, wantPlaces: []probes.Place{},
			wantItems: []string{"ComplianceViolation"}, wantFilter: map[string]string{"tenant": "nope"}},
		"repeated": {query: "?tenant=acme&tenant=beta", wantCode: 400, wantError: "tenant is given 2 times"},
		"mangled":  {query: "?tenant=%zz", wantCode: 400, wantError: "does not parse"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			resp, body := do(t, "GET", base+"/api/v1/status"+tc.query)
			var got doc
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatalf("%d %s: %v", resp.StatusCode, body, err)
			}
			if resp.StatusCode != tc.wantCode {
				t.Fatalf("GET %s = %d, want %d: %s", tc.query, resp.StatusCode, tc.wantCode, body)
			}
			if tc.wantCode != 200 {
				if got.Status != "error" || got.ErrorType != "bad_data" || !strings.Contains(got.Error, tc.wantError) {
					t.Errorf("error answer = %s", body)
				}
				return
			}
			var places []probes.Place
			for _, r := range got.Data.Resources {
				places = append(places, probes.Place{Tenant: r.Tenant, Account: r.Account, Region: r.Region})
			}
			if !slices.Equal(places, tc.wantPlaces) || got.Data.Resources == nil {
				t.Errorf("places = %v, want %v (%s)", places, tc.wantPlaces, body)
			}
			var items []string
			for _, it := range got.Data.Panels[0].Items {
				items = append(items, it.Name)
			}
			if !slices.Equal(items, tc.wantItems) {
				t.Errorf("panel lines = %v, want %v", items, tc.wantItems)
			}
			if !maps.Equal(got.Data.Filter, tc.wantFilter) {
				t.Errorf("filter = %v, want %v", got.Data.Filter, tc.wantFilter)
			}
		})
	}
}

// pageCards is each card's resource and place, in page order.
func pageCards(body string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`<span class="res">([^<]*)</span>(?: <span class="place">([^<]*)</span>)?</h3>`).FindAllStringSubmatch(body, -1) {
		out = append(out, m[1]+" @ "+m[2])
	}
	return out
}

// TestStatusPageFilter: the page takes the API's query: the cards, the
// attention list, the counts and the sentence cover what the filter keeps
// and say so; the controls offer every tenant, account and region with the
// chosen one selected; placed panel lines are filtered.
func TestStatusPageFilter(t *testing.T) {
	base := placedServer(t)

	_, body := do(t, "GET", base+"/")
	if n := len(pageCards(body)); n != 9 {
		t.Errorf("unfiltered page shows %d cards, want 9", n)
	}
	for _, want := range []string{
		`<form class="filters" id="filters" method="get" action="./"`,
		`<select id="f-tenant" name="tenant" data-swap><option value="" selected>all tenants</option><option value="acme">acme</option><option value="beta">beta</option></select>`,
		`<select id="f-account" name="account" data-swap><option value="" selected>all accounts</option><option value="111111111111">111111111111</option><option value="222222222222">222222222222</option></select>`,
		`<select id="f-region" name="region" data-swap><option value="" selected>all regions</option><option value="ap-east-1">ap-east-1</option><option value="eu-west-1">eu-west-1</option></select>`,
		"1 of 9 resources need attention.", "1 unavailable", "8 healthy",
		`<p class="filter-note" id="filter-note" data-swap></p>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("unfiltered page lacks %q", want)
		}
	}

	_, body = do(t, "GET", base+"/?tenant=beta&account=&region=")
	wantCards := []string{
		"r-beta-ap-east-1 @ tenant beta · account 222222222222 · ap-east-1", "r-beta-eu-west-1 @ tenant beta · account 222222222222 · eu-west-1",
		"r-beta-ap-east-1 @ tenant beta · account 222222222222 · ap-east-1", "r-beta-eu-west-1 @ tenant beta · account 222222222222 · eu-west-1",
	}
	if got := pageCards(body); !slices.Equal(got, wantCards) {
		t.Errorf("tenant beta's page shows cards %q, want %q", got, wantCards)
	}
	for _, want := range []string{
		"All 4 resources in tenant beta are healthy.", "4 healthy", `aria-label="Resources by status in tenant beta"`,
		"<title>All healthy · tenant beta · socmond</title>",
		"Filtered to tenant beta: the counts and cards cover 4 of 9 resources.", `<a href="./">Show all</a>`,
		`<option value="beta" selected>beta</option>`, `<option value="" selected>all accounts</option>`,
		"AWSServiceHighErrorRate", "ComplianceViolation",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("tenant beta's page lacks %q", want)
		}
	}
	for _, unwanted := range []string{"Needs attention", "unavailable", "AWSServiceUnavailable", "alias/top</span></h3>"} {
		if strings.Contains(body, unwanted) {
			t.Errorf("tenant beta's page shows %q", unwanted)
		}
	}

	_, body = do(t, "GET", base+"/?region=ap-east-1&tenant=acme")
	for _, want := range []string{
		"1 of 2 resources in tenant acme, region ap-east-1 need attention.", "1 unavailable",
		"Filtered to tenant acme, region ap-east-1: the counts and cards cover 2 of 9 resources.",
		`<span class="name">AWSServiceUnavailable</span> <span class="res">r-acme-ap-east-1</span> <span class="place">tenant acme · account 111111111111 · ap-east-1</span>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("acme's ap-east-1 page lacks %q", want)
		}
	}

	_, body = do(t, "GET", base+"/?tenant=nope")
	for _, want := range []string{
		"No resources match tenant nope.", `<option value="nope" selected>nope (no resources)</option>`,
		"Filtered to tenant nope: the counts and cards cover 0 of 9 resources.",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("an unknown tenant's page lacks %q", want)
		}
	}
	if n := len(pageCards(body)); n != 0 {
		t.Errorf("an unknown tenant's page shows %d cards", n)
	}

	resp, body := do(t, "GET", base+"/?region=ap-east-1&region=eu-west-1")
	if resp.StatusCode != 400 || !strings.Contains(body, "region is given 2 times") {
		t.Errorf("a repeated key = %d %q, want 400 saying so", resp.StatusCode, body)
	}
}

// TestStatusPageNoFilterWithoutPlaces: a config without tenants' pipelines
// gets no controls and its page reads as before; a filter in the URL still
// filters, and then the controls show so it can be cleared.
func TestStatusPageNoFilterWithoutPlaces(t *testing.T) {
	src := &fakeSource{snaps: []health.Snapshot{{Target: probes.Target{Service: probes.ServiceS3, Resource: "b"}, Status: probes.Healthy,
		Since: fixedNow, Last: probes.Result{Start: fixedNow, Status: probes.Healthy}}}}
	base := newTestServer(t, src, nil).URL
	_, body := do(t, "GET", base+"/")
	for _, unwanted := range []string{"<form", "<select", "filter-note", "resources in", "Show all"} {
		if strings.Contains(body, unwanted) {
			t.Errorf("a page without places has %q", unwanted)
		}
	}
	if !strings.Contains(body, "All 1 resources are healthy.") {
		t.Error("the sentence changed")
	}
	_, body = do(t, "GET", base+"/?region=eu-west-1")
	for _, want := range []string{"No resources match region eu-west-1.", `<option value="eu-west-1" selected>eu-west-1 (no resources)</option>`, `<a href="./">Show all</a>`} {
		if !strings.Contains(body, want) {
			t.Errorf("a filtered page without places lacks %q", want)
		}
	}
}
