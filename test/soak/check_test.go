package soak

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/socmond/socmond/internal/awssim"
	"github.com/socmond/socmond/internal/testenv"
)

// Bounds on growth after the faults stop: broken connections are replaced,
// so a few more idle keep-alive goroutines are normal; a leak per fault is
// hundreds.
const (
	goroutineSlack = 60
	heapSlack      = 32 << 20
)

type statusDoc struct {
	Data struct {
		Resources []resourceStatus `json:"resources"`
	} `json:"data"`
}

type resourceStatus struct {
	Service   string `json:"service"`
	Resource  string `json:"resource"`
	Status    string `json:"status"`
	LastError *struct {
		Class  string `json:"class"`
		Code   string `json:"code"`
		Hint   string `json:"hint"`
		Detail string `json:"detail"`
	} `json:"last_error"`
}

// findResource is r's entry in doc, or nil.
func findResource(doc statusDoc, r resource) *resourceStatus {
	for i, x := range doc.Data.Resources {
		if x.Service == r.service && x.Resource == r.name {
			return &doc.Data.Resources[i]
		}
	}
	return nil
}

func getStatus(t *testing.T, base string) statusDoc {
	t.Helper()
	var doc statusDoc
	testenv.GetJSON(t, base+"/api/v1/status", &doc)
	return doc
}

// checkPhase compares what the daemon reports for each faulted resource with
// the fault the simulator recorded for its calls during the phase.
// A call that started under the previous phase's fault (a 3 s latency) may
// finish in this one; prev says which faults those were, and such calls are
// left out.
func checkPhase(t *testing.T, phase int, plan, prev []planned, doc statusDoc, calls []awssim.Call, tally map[string]*kindTally) {
	t.Helper()
	byRes := map[string][]awssim.Call{}
	for _, c := range calls {
		byRes[c.Service+"/"+c.Resource] = append(byRes[c.Service+"/"+c.Resource], c)
	}
	straddling := map[string]string{}
	for _, p := range prev {
		straddling[p.res.service+"/"+canonical(p.res)] = p.truth
	}
	for _, p := range plan {
		c := tally[p.kind.name]
		if c == nil {
			c = &kindTally{}
			tally[p.kind.name] = c
		}
		c.resources++
		key := p.res.service + "/" + canonical(p.res)
		truthful := 0
		for _, call := range byRes[key] {
			switch {
			case call.Fault == p.truth:
				truthful++
			case call.Fault == straddling[key], call.Fault == "":
				// took its faults before this phase's were installed
			default:
				t.Errorf("phase %d: %s %s: simulator recorded fault %q, planned %q", phase, p.res.service, p.res.name, call.Fault, p.truth)
			}
		}
		c.calls += truthful
		if truthful < 2 {
			t.Errorf("phase %d: %s %s probed %d times under %s in %s (want >= 2: the schedule kept running)", phase, p.res.service, p.res.name, truthful, p.kind.name, phaseLength)
		}
		status, class := find(doc, p.res)
		wantStatus, wantClass := p.kind.want(p.res)
		if status != wantStatus || class != wantClass {
			c.mismatches++
			detail := ""
			if x := findResource(doc, p.res); x != nil && x.LastError != nil {
				detail = x.LastError.Detail
			}
			t.Errorf("phase %d: %s %s under %s: daemon says %s/%s, want %s/%s (%s)", phase, p.res.service, p.res.name, p.kind.name, status, class, wantStatus, wantClass, detail)
		}
	}
}

// canonical is how the simulator names a resource in Call.Resource.
func canonical(r resource) string { return r.name }

func find(doc statusDoc, r resource) (status, class string) {
	for _, x := range doc.Data.Resources {
		if x.Service == r.service && x.Resource == r.name {
			if x.LastError != nil {
				class = x.LastError.Class
			}
			return x.Status, class
		}
	}
	return "missing", ""
}

func unhealthy(doc statusDoc) []string {
	var bad []string
	for _, x := range doc.Data.Resources {
		if x.Status != "healthy" {
			bad = append(bad, x.Service+"/"+x.Resource+"="+x.Status)
		}
	}
	return bad
}

type runtimeStats struct{ goroutines, heapInuse float64 }

// readRuntime reads the Go runtime gauges from the daemon's /metrics.
func readRuntime(t *testing.T, base string) runtimeStats {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, err := drain(resp)
	if err != nil {
		t.Fatal(err)
	}
	var s runtimeStats
	for _, line := range strings.Split(body, "\n") {
		name, val, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil {
			continue
		}
		switch name {
		case "go_goroutines":
			s.goroutines = v
		case "go_memstats_heap_inuse_bytes":
			s.heapInuse = v
		}
	}
	if s.goroutines == 0 || s.heapInuse == 0 {
		t.Fatal("/metrics has no go_goroutines or go_memstats_heap_inuse_bytes")
	}
	return s
}

// settle waits up to 30 s for the goroutine count to come back within the
// bound (idle connections time out), then returns the last reading.
func settle(t *testing.T, base string, before runtimeStats) runtimeStats {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s := readRuntime(t, base)
		if s.goroutines <= before.goroutines+goroutineSlack && s.heapInuse <= 2*before.heapInuse+heapSlack {
			return s
		}
		if time.Now().After(deadline) {
			return s
		}
		time.Sleep(time.Second)
	}
}

// drain reads and closes a response body, failing on a non-200 status.
func drain(resp *http.Response) (string, error) {
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %d", resp.StatusCode)
	}
	return string(b), nil
}
