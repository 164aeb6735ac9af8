package main

import (
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/socmond/socmond/internal/testenv"
)

type panelItem struct {
	Name     string `json:"name"`
	Resource string `json:"resource"`
	State    string `json:"state"`
}

// panelItems returns the items of the panel id in /api/v1/status, and
// whether the panel is there at all.
func panelItems(t *testing.T, base, id string) ([]panelItem, bool) {
	t.Helper()
	var doc struct {
		Data struct {
			Panels []struct {
				ID    string      `json:"id"`
				Items []panelItem `json:"items"`
			} `json:"panels"`
		} `json:"data"`
	}
	testenv.GetJSON(t, base+"/api/v1/status", &doc)
	for _, p := range doc.Data.Panels {
		if p.ID == id {
			return p.Items, true
		}
	}
	return nil, false
}

// panelState is the state of the item (name, resource) of panel id, "" when
// there is none.
func panelState(t *testing.T, base, id, name, resource string) string {
	t.Helper()
	items, _ := panelItems(t, base, id)
	for _, it := range items {
		if it.Name == name && it.Resource == resource {
			return it.State
		}
	}
	return ""
}

// TestReloadCompliance runs the real binary with a pipeline naming one
// table and reloads it: an added table gets its compliance finding, its
// series and its ComplianceViolation alert at once (the test sets the
// schedule to every 15 minutes, so only the reload can run them); a bad
// compliance schedule is rejected and changes nothing; removing the table
// again takes its finding, series and alert away; and compliance can be
// disabled and enabled again by reloads.
func TestReloadCompliance(t *testing.T) {
	bin := buildBinary(t)
	simURL := startSim(t)
	full, err := os.ReadFile(fastConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	const (
		t1 = "AsiaAgenticSocInvestigations-dev"
		t2 = "AsiaAgenticSocMetrics-dev"
		dk = "dynamodb_kms_encryption"
	)
	withT2 := strings.Replace(string(full), "compliance:\n  schedule: \"@every 30s\"", "compliance:\n  schedule: \"@every 15m\"", 1)
	withoutT2 := strings.Replace(withT2, "  metrics_table: "+t2+"\n", "", 1)
	if withoutT2 == withT2 || !strings.Contains(withT2, "compliance:\n  schedule: \"@every 15m\"") {
		t.Fatal("config.example.yaml no longer has the lines this test edits")
	}
	cfgPath := fastConfig(t)
	writeFile(t, cfgPath, withoutT2)
	// T2 is encrypted with AWS's key, not the pipeline's: its check FAILs,
	// so it also raises an alert that must clear.
	addFault(t, simURL, `{"service":"dynamodb","resource":"`+t2+`","set":{"KMSMasterKeyArn":"alias/aws/dynamodb"}}`)

	base, _, _ := runDaemon(t, bin, cfgPath)
	waitReady(t, http.DefaultClient, base)
	poll(t, "T1's compliance finding", func() bool { return panelState(t, base, "compliance", dk, t1) == "pass" })
	t2Series := `resource="` + t2 + `"`
	if s := panelState(t, base, "compliance", dk, t2); s != "" || strings.Contains(complianceSeries(t, base), t2Series) {
		t.Fatalf("T2 checked before it was configured: state %q", s)
	}

	// 1. Add T2: checked at once, FAIL, series and alert.
	writeFile(t, cfgPath, withT2)
	if code, body := postReload(t, base); code != http.StatusOK {
		t.Fatalf("reload adding T2 = %d %q", code, body)
	}
	poll(t, "T2's compliance finding", func() bool { return panelState(t, base, "compliance", dk, t2) == "fail" })
	if got := complianceSeries(t, base); !strings.Contains(got, `socmond_compliance_check_passed{check="`+dk+`",`+t2Series+`} 0`) {
		t.Errorf("no failing series for T2:\n%s", got)
	}
	poll(t, "T2's ComplianceViolation", func() bool { return panelState(t, base, "alerts", "ComplianceViolation", t2) == "firing" })

	// 2. A bad compliance schedule: rejected whole, T2 still checked.
	writeFile(t, cfgPath, strings.Replace(withoutT2, `schedule: "@every 15m"`, `schedule: "every quarter hour"`, 1))
	if code, body := postReload(t, base); code != http.StatusInternalServerError || !strings.Contains(body, "compliance.schedule") {
		t.Errorf("reload with a bad compliance schedule = %d %q, want 500 naming compliance.schedule", code, body)
	}
	if s := panelState(t, base, "compliance", dk, t2); s != "fail" {
		t.Errorf("after a rejected reload T2's finding is %q", s)
	}

	// 3. Remove T2: finding, series and alert go; T1 stays.
	writeFile(t, cfgPath, withoutT2)
	if code, body := postReload(t, base); code != http.StatusOK {
		t.Fatalf("reload removing T2 = %d %q", code, body)
	}
	poll(t, "T2's finding to go", func() bool { return panelState(t, base, "compliance", dk, t2) == "" })
	if got := complianceSeries(t, base); strings.Contains(got, t2Series) || !strings.Contains(got, t1) {
		t.Errorf("after removing T2, compliance series:\n%s", got)
	}
	poll(t, "T2's alert to clear", func() bool { return panelState(t, base, "alerts", "ComplianceViolation", t2) == "" })
	if s := panelState(t, base, "compliance", dk, t1); s != "pass" {
		t.Errorf("T1's finding is %q after the reload", s)
	}

	// 4. Disable compliance by reload, then enable it again.
	off := strings.Replace(withoutT2, "compliance:\n", "compliance:\n  enabled: false\n", 1)
	writeFile(t, cfgPath, off)
	if code, body := postReload(t, base); code != http.StatusOK {
		t.Fatalf("reload disabling compliance = %d %q", code, body)
	}
	if _, shown := panelItems(t, base, "compliance"); shown {
		t.Error("the compliance panel is still shown while compliance is disabled")
	}
	poll(t, "the compliance series to go", func() bool { return complianceSeries(t, base) == "" })
	writeFile(t, cfgPath, withT2)
	if code, body := postReload(t, base); code != http.StatusOK {
		t.Fatalf("reload enabling compliance = %d %q", code, body)
	}
	poll(t, "compliance findings again", func() bool { return panelState(t, base, "compliance", dk, t2) == "fail" })
}

// complianceSeries are the socmond_compliance_* sample lines of /metrics.
func complianceSeries(t *testing.T, base string) string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(scrape(t, base), "\n") {
		if strings.HasPrefix(line, "socmond_compliance_") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
