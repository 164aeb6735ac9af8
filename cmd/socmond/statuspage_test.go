package main

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/socmond/socmond/internal/testenv"
)

// browser starts headless Chromium (Debian's, via testenv) for the test.
// js=false runs it with JavaScript disabled.
func browser(t *testing.T, js bool) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(testenv.Tool(t, "chromium")),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profileDir(t)),
		chromedp.WindowSize(1280, 900),
	}
	if !js {
		opts = append(opts, chromedp.Flag("blink-settings", "scriptEnabled=false"))
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelT(); cancelB(); cancelA() })
	if err := chromedp.Run(ctx); err != nil { // starts the browser
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// profileDir is Chromium's user-data dir. Not t.TempDir: Chromium's helper
// processes can still be writing into it for a moment after the browser is
// cancelled, and t.TempDir fails the test when its removal races them.
func profileDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "socmond-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for i := 0; i < 50; i++ {
			if os.RemoveAll(dir) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("chromium profile %s left behind", dir)
	})
	return dir
}

// artifact returns a path for a test artifact under testdata/artifacts
// (gitignored), so CI can keep screenshots of the page it checked.
func artifact(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join(testenv.RepoRoot(t), "testdata", "artifacts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, name)
}

// cardText returns the text of every resource card, keyed by resource.
func cardTexts(t *testing.T, ctx context.Context) map[string]string {
	t.Helper()
	var cards map[string]string
	err := chromedp.Run(ctx, chromedp.Evaluate(`Object.fromEntries([...document.querySelectorAll("article.card")].map(
		a => [a.querySelector(".res").textContent, a.innerText]))`, &cards))
	if err != nil {
		t.Fatal(err)
	}
	return cards
}

// TestStatusPageInBrowser loads the status page of a daemon running against
// the simulator in headless Chromium: a faulted table shows UNAVAILABLE with
// its hint, everything else HEALTHY, and it recovers when the fault clears.
func TestStatusPageInBrowser(t *testing.T) {
	simURL := startSim(t)
	addr, _ := startDaemon(t, fastConfig(t))
	base := "http://" + addr
	waitReady(t, http.DefaultClient, base)
	const table = "AsiaAgenticSocMetrics-dev"
	addFault(t, simURL, `{"service":"dynamodb","resource":"`+table+`","error":"AccessDeniedException"}`)
	var hint string
	poll(t, "the table to turn unavailable", func() bool {
		for _, r := range getStatus(t, base).Data.Resources {
			if r.Resource == table && r.Status == "unavailable" && r.LastError != nil {
				hint = r.LastError.Hint
				return hint != ""
			}
		}
		return false
	})

	ctx := browser(t, true)
	if err := chromedp.Run(ctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible("#overall", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	cards := cardTexts(t, ctx)
	if len(cards) != exampleResources(t) {
		t.Fatalf("page shows %d resource cards, want %d: %v", len(cards), exampleResources(t), cards)
	}
	for res, text := range cards {
		want := "HEALTHY"
		if res == table {
			want = "UNAVAILABLE"
			for _, s := range []string{"AccessDeniedException", "auth", hint, "threshold 5.00%", "threshold 99.00%"} {
				if !strings.Contains(text, s) {
					t.Errorf("card of %s lacks %q:\n%s", res, s, text)
				}
			}
		}
		if got := headline(text); !strings.Contains(got, want) {
			t.Errorf("card of %s says %q, want %s:\n%s", res, got, want, text)
		}
	}
	var attention, overall string
	var refreshHidden bool
	if err := chromedp.Run(ctx,
		chromedp.Text(".attention", &attention, chromedp.ByQuery),
		chromedp.Text("#overall", &overall, chromedp.ByID),
		chromedp.Evaluate(`document.getElementById("refresh").hidden`, &refreshHidden),
	); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(attention, table) || !strings.Contains(attention, hint) || overall != fmt.Sprintf("1 of %d resources need attention.", exampleResources(t)) {
		t.Errorf("summary: overall %q, attention %q", overall, attention)
	}
	if refreshHidden {
		t.Error("with JavaScript on, the auto-refresh control should show")
	}
	shot(t, ctx, "status-page-fault.png")

	checkPhone(t, ctx, "status-page-phone.png")

	clearFaults(t, simURL)
	poll(t, "recovery on the page", func() bool {
		if err := chromedp.Run(ctx, chromedp.Reload(), chromedp.WaitVisible("#overall", chromedp.ByID)); err != nil {
			t.Fatal(err)
		}
		return strings.Contains(headline(cardTexts(t, ctx)[table]), "HEALTHY")
	})
	for res, text := range cardTexts(t, ctx) {
		if !strings.Contains(headline(text), "HEALTHY") {
			t.Errorf("after recovery %s is not HEALTHY:\n%s", res, text)
		}
	}
	shot(t, ctx, "status-page-recovered.png")
}

// TestStatusPageWithoutJavaScript checks the page is complete with scripts
// off: every card renders and the auto-refresh control stays hidden.
func TestStatusPageWithoutJavaScript(t *testing.T) {
	startSim(t)
	addr, _ := startDaemon(t, fastConfig(t))
	base := "http://" + addr
	waitReady(t, http.DefaultClient, base)
	ctx := browser(t, false)
	var refreshHidden bool
	var overall string
	if err := chromedp.Run(ctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible("#overall", chromedp.ByID),
		chromedp.Text("#overall", &overall, chromedp.ByID),
		chromedp.JavascriptAttribute("#refresh", "hidden", &refreshHidden, chromedp.ByID),
	); err != nil {
		t.Fatal(err)
	}
	if overall != fmt.Sprintf("All %d resources are healthy.", exampleResources(t)) || !refreshHidden {
		t.Errorf("without JavaScript: overall %q, refresh control hidden %v", overall, refreshHidden)
	}
	if n := len(cardTexts(t, ctx)); n != exampleResources(t) {
		t.Errorf("%d cards without JavaScript, want %d", n, exampleResources(t))
	}
}

// checkPhone reloads the page on a phone's screen, checks that it fits
// the width without sideways scrolling, keeps a screenshot, and goes back
// to the desktop size.
func checkPhone(t *testing.T, ctx context.Context, screenshot string) {
	t.Helper()
	var overflow bool
	if err := chromedp.Run(ctx,
		emulation.SetDeviceMetricsOverride(390, 844, 3, true),
		chromedp.Reload(), chromedp.WaitVisible("#overall", chromedp.ByID),
		chromedp.Evaluate(`document.documentElement.scrollWidth > window.innerWidth`, &overflow),
	); err != nil {
		t.Fatal(err)
	}
	if overflow {
		t.Error("on a 390 px wide phone the page scrolls sideways")
	}
	shot(t, ctx, screenshot)
	if err := chromedp.Run(ctx, emulation.ClearDeviceMetricsOverride()); err != nil {
		t.Fatal(err)
	}
}

// headline is a card's first line: its status badge and resource name.
func headline(cardText string) string {
	first, _, _ := strings.Cut(cardText, "\n")
	return first
}

func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	var png []byte
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&png, 100)); err != nil {
		t.Fatal(err)
	}
	path := artifact(t, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

func addFault(t *testing.T, simURL, fault string) {
	t.Helper()
	resp, err := http.Post(simURL+"/_sim/faults", "application/json", strings.NewReader(fault))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("adding fault %s: %s", fault, resp.Status)
	}
}

func clearFaults(t *testing.T, simURL string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodDelete, simURL+"/_sim/faults", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

// tenantsConfig is two tenants' pipelines, each in its own account, in
// two regions: a table and a bucket per pipeline, eight resources.
const tenantsConfig = `
region: us-east-1
tenant: soc
defaults:
  schedule: "@every 1s"
  timeout: 5s
accounts:
  - id: "111111111111"
    role_arn: arn:aws:iam::111111111111:role/socmond-monitor
    external_id: ext-acme
    regions: [ap-east-1, eu-west-1]
  - id: "222222222222"
    role_arn: arn:aws:iam::222222222222:role/socmond-monitor
    regions: [ap-east-1, eu-west-1]
tenants:
  - name: acme
    pipelines: [{account: "111111111111"}]
  - name: beta
    pipelines: [{account: "222222222222"}]
services:
  dynamodb:
    resources: [{name: investigations}]
  s3:
    resources: [{name: "soc-artifacts-${account_id}-${region}"}]
`

// startTenantsDaemon runs the daemon on tenantsConfig against a simulator
// seeded with each pipeline in its account and region, and returns its
// base URL once the first round is in.
func startTenantsDaemon(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tenants.yaml")
	if err := os.WriteFile(path, []byte(tenantsConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	_, url := seededSim(t, path)
	t.Setenv("AWS_ENDPOINT_URL", url)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret-example")
	t.Setenv("AWS_REGION", "us-east-1")
	addr, _ := startDaemon(t, path)
	base := "http://" + addr
	waitReady(t, http.DefaultClient, base)
	return base
}

// filterState is what a reader sees of the filter: the address, the
// selected tenant, the sentence and the note, and the cards' places.
type filterState struct {
	URL, Tenant, Overall, Note string
	Places                     map[string]int // place text → cards
}

// lookAtFilter reads the filter's state off the page; ok is false while a
// page is loading (a form just submitted) and has none yet to read.
func lookAtFilter(ctx context.Context) (st filterState, ok bool) {
	var page *struct {
		URL, Tenant, Overall, Note string
		Places                     []string
	}
	err := chromedp.Run(ctx, chromedp.Evaluate(`(() => {
		const el = id => document.getElementById(id);
		if (document.readyState !== "complete" || !el("filters")) { return null; }
		return {URL: location.href, Tenant: el("f-tenant").value, Overall: el("overall").textContent,
			Note: el("filter-note").textContent,
			Places: [...document.querySelectorAll("article.card")].map(a => (a.querySelector(".place") || {}).textContent || "")};
	})()`, &page))
	if err != nil || page == nil {
		return filterState{}, false
	}
	st = filterState{URL: page.URL, Tenant: page.Tenant, Overall: page.Overall, Note: page.Note, Places: map[string]int{}}
	for _, p := range page.Places {
		st.Places[p]++
	}
	return st, true
}

// readFilterState is lookAtFilter on a page that has loaded.
func readFilterState(t *testing.T, ctx context.Context) filterState {
	t.Helper()
	st, ok := lookAtFilter(ctx)
	if !ok {
		t.Fatal("the page has no filter to read")
	}
	return st
}

// TestStatusPageFiltersInBrowser: with two tenants in two accounts and two
// regions, choosing a tenant in the page's control (the keyboard, as a
// person would) shows only that tenant's cards, with the sentence and
// counts saying so; the address carries the filter, and loading that
// address again — a reload, or the link shared with a colleague — shows
// the same. With JavaScript off the form submits the same query. Back
// returns to every tenant.
func TestStatusPageFiltersInBrowser(t *testing.T) {
	base := startTenantsDaemon(t)
	acme := map[string]int{
		"tenant acme · account 111111111111 · ap-east-1": 2,
		"tenant acme · account 111111111111 · eu-west-1": 2,
	}
	wantAcme := func(st filterState) string {
		switch {
		case !maps.Equal(st.Places, acme):
			return fmt.Sprintf("cards in %v, want %v", st.Places, acme)
		case !strings.HasSuffix(st.URL, "/?tenant=acme"):
			return fmt.Sprintf("address %q does not carry the filter alone", st.URL)
		case st.Tenant != "acme":
			return fmt.Sprintf("tenant control shows %q", st.Tenant)
		case st.Overall != "All 4 resources in tenant acme are healthy.":
			return fmt.Sprintf("sentence %q", st.Overall)
		case !strings.Contains(st.Note, "Filtered to tenant acme: the counts and cards cover 4 of 8 resources."):
			return fmt.Sprintf("note %q", st.Note)
		}
		return ""
	}

	ctx := browser(t, true)
	if err := chromedp.Run(ctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible("#filters", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	all := readFilterState(t, ctx)
	if len(all.Places) != 4 || all.Overall != "All 8 resources are healthy." || all.Note != "" || all.Tenant != "" {
		t.Fatalf("unfiltered page: %+v", all)
	}
	var applyHidden bool
	if err := chromedp.Run(ctx, chromedp.Evaluate(`document.getElementById("filters-apply").hidden`, &applyHidden)); err != nil {
		t.Fatal(err)
	}
	if !applyHidden {
		t.Error("with JavaScript the Filter button should give way to filtering on choice")
	}
	// The first choice after "all tenants" is acme.
	if err := chromedp.Run(ctx, chromedp.Focus("#f-tenant", chromedp.ByID), chromedp.KeyEvent(kb.ArrowDown)); err != nil {
		t.Fatal(err)
	}
	var why string // what the last look found wrong, for a timeout's message
	t.Cleanup(func() {
		if t.Failed() && why != "" {
			t.Logf("tenant acme's page, last look: %s", why)
		}
	})
	poll(t, "tenant acme's cards alone", func() bool {
		st, ok := lookAtFilter(ctx)
		why = wantAcme(st)
		return ok && why == ""
	})
	var focused string
	if err := chromedp.Run(ctx, chromedp.Evaluate(`document.activeElement.id`, &focused)); err != nil {
		t.Fatal(err)
	}
	if focused != "f-tenant" {
		t.Errorf("after filtering, focus is on %q, want the tenant control still", focused)
	}
	shot(t, ctx, "status-page-filtered.png")

	if err := chromedp.Run(ctx, chromedp.Reload(), chromedp.WaitVisible("#filters", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	if why := wantAcme(readFilterState(t, ctx)); why != "" {
		t.Errorf("after a reload: %s", why)
	}

	// The shared link, opened in another browser with JavaScript off.
	var link string
	if err := chromedp.Run(ctx, chromedp.Location(&link)); err != nil {
		t.Fatal(err)
	}
	noJS := browser(t, false)
	if err := chromedp.Run(noJS, chromedp.Navigate(link), chromedp.WaitVisible("#filters", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	if why := wantAcme(readFilterState(t, noJS)); why != "" {
		t.Errorf("the link without JavaScript: %s", why)
	}
	// Without JavaScript, choosing beta and pressing Filter loads beta's page.
	if err := chromedp.Run(noJS,
		chromedp.SetValue("#f-tenant", "beta", chromedp.ByID),
		chromedp.Click("#filters-apply", chromedp.ByID),
	); err != nil {
		t.Fatal(err)
	}
	beta := map[string]int{
		"tenant beta · account 222222222222 · ap-east-1": 2,
		"tenant beta · account 222222222222 · eu-west-1": 2,
	}
	poll(t, "tenant beta's page without JavaScript", func() bool {
		st, ok := lookAtFilter(noJS)
		return ok && maps.Equal(st.Places, beta) && strings.Contains(st.URL, "tenant=beta") && st.Tenant == "beta" &&
			st.Overall == "All 4 resources in tenant beta are healthy."
	})

	// Back, in the first browser: every tenant again.
	if err := chromedp.Run(ctx, chromedp.NavigateBack()); err != nil {
		t.Fatal(err)
	}
	poll(t, "every tenant after going back", func() bool {
		st, ok := lookAtFilter(ctx)
		return ok && maps.Equal(st.Places, all.Places) && st.Tenant == "" && st.Overall == all.Overall
	})

	// On a phone the controls wrap rather than widen the page.
	checkPhone(t, ctx, "status-page-filters-phone.png")
}
