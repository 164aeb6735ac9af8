package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

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

	// A phone: the page must fit the screen width without sideways scrolling.
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
	shot(t, ctx, "status-page-phone.png")
	if err := chromedp.Run(ctx, emulation.ClearDeviceMetricsOverride()); err != nil {
		t.Fatal(err)
	}

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
