package soak

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/socmond/socmond/internal/testenv"
)

// maxFiringPerEpisode bounds the firing notifications one alert episode may
// cause at the webhook: one, plus one if Alertmanager's restart raced its
// notification log. More is a duplicate storm.
const maxFiringPerEpisode = 2

// alertmanager is the real Debian prometheus-alertmanager the daemon pages,
// stopped and restarted on the same port and storage during the soak.
type alertmanager struct {
	t    *testing.T
	bin  string
	dir  string
	addr string
	cmd  *exec.Cmd
	runs int
}

// startAlertmanager starts Alertmanager routing every alert, one group per
// alert, to hookURL with second-sized group timers and no repeat within the
// soak, so every notification the webhook gets is a new episode or a
// duplicate.
func startAlertmanager(t *testing.T, hookURL string) *alertmanager {
	t.Helper()
	am := &alertmanager{t: t, bin: testenv.Tool(t, "prometheus-alertmanager"), dir: t.TempDir(), addr: testenv.Addr(testenv.FreePort(t))}
	cfg := fmt.Sprintf(`route:
  receiver: hook
  group_by: [alertname, service, resource]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: %s
        send_resolved: true
`, hookURL)
	if err := os.WriteFile(filepath.Join(am.dir, "am.yml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	am.start()
	return am
}

func (am *alertmanager) start() {
	am.t.Helper()
	am.runs++
	am.cmd = testenv.Start(am.t, am.addr, nil, am.bin, "--config.file="+filepath.Join(am.dir, "am.yml"),
		"--storage.path="+filepath.Join(am.dir, "data"), "--web.listen-address="+am.addr, "--cluster.listen-address=")
}

// stop ends Alertmanager the way a rolling restart does (SIGTERM, so it
// saves its notification log) and waits until the process is gone.
func (am *alertmanager) stop() {
	am.t.Helper()
	pid := am.cmd.Process.Pid
	_ = am.cmd.Process.Signal(syscall.SIGTERM)
	deadline := time.Now().Add(30 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			am.t.Fatal("alertmanager did not stop within 30s of SIGTERM")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// hook is the webhook receiver behind Alertmanager: it counts, per alert
// episode, the notifications that carried it firing.
type hook struct {
	mu     sync.Mutex
	posts  int
	firing map[string]int
}

func newHook() *hook { return &hook{firing: map[string]int{}} }

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var msg struct {
		Alerts []struct {
			Status   string            `json:"status"`
			Labels   map[string]string `json:"labels"`
			StartsAt time.Time         `json:"startsAt"`
		} `json:"alerts"`
	}
	if err := json.NewDecoder(r.Body).Decode(&msg); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.posts++
	for _, a := range msg.Alerts {
		if a.Status == "firing" {
			h.firing[episodeKey(a.Labels["alertname"], a.Labels["service"], a.Labels["resource"], a.StartsAt)]++
		}
	}
}

func (h *hook) count(key string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.firing[key]
}

// episodeKey names one episode of one alert: its identity and when it
// started firing (Alertmanager passes startsAt through unchanged).
func episodeKey(alertname, service, resource string, startsAt time.Time) string {
	return fmt.Sprintf("%s|%s|%s|%d", alertname, service, resource, startsAt.Truncate(time.Millisecond).UnixMilli())
}

// episodes is the ground truth on the daemon's side: every firing alert the
// alerts panel of /api/v1/status showed, polled twice a second (alerts stay
// firing for at least clear_for, far longer), with when it was first seen.
type episodes struct {
	mu    sync.Mutex
	seen  map[string]time.Time
	done  chan struct{}
	wg    sync.WaitGroup
	once  sync.Once
	fails int
}

func watchEpisodes(base string) *episodes {
	e := &episodes{seen: map[string]time.Time{}, done: make(chan struct{})}
	client := &http.Client{Timeout: 10 * time.Second}
	e.wg.Go(func() {
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			e.poll(client, base)
			select {
			case <-e.done:
				return
			case <-tick.C:
			}
		}
	})
	return e
}

func (e *episodes) poll(client *http.Client, base string) {
	var doc struct {
		Data struct {
			Panels []struct {
				ID    string `json:"id"`
				Items []struct {
					Name     string            `json:"name"`
					Resource string            `json:"resource"`
					State    string            `json:"state"`
					At       time.Time         `json:"at"`
					Details  map[string]string `json:"details"`
				} `json:"items"`
			} `json:"panels"`
		} `json:"data"`
	}
	resp, err := client.Get(base + "/api/v1/status")
	if err == nil {
		err = json.NewDecoder(resp.Body).Decode(&doc)
		resp.Body.Close()
	}
	now := time.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	if err != nil {
		e.fails++
		return
	}
	for _, p := range doc.Data.Panels {
		if p.ID != "alerts" {
			continue
		}
		for _, it := range p.Items {
			if it.State != "firing" {
				continue
			}
			k := episodeKey(it.Name, it.Details["service"], it.Resource, it.At)
			if _, ok := e.seen[k]; !ok {
				e.seen[k] = now
			}
		}
	}
}

func (e *episodes) stop() {
	e.once.Do(func() { close(e.done) })
	e.wg.Wait()
}

func (e *episodes) snapshot() map[string]time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]time.Time, len(e.seen))
	for k, v := range e.seen {
		out[k] = v
	}
	return out
}

// amOutage is when Alertmanager was down.
type amOutage struct{ from, to time.Time }

// checkEpisodes waits up to a minute for every episode the daemon fired to
// reach the webhook, then checks none was lost and none was notified more
// than maxFiringPerEpisode times.
func checkEpisodes(t *testing.T, e *episodes, h *hook, down amOutage) {
	t.Helper()
	e.stop()
	truth := e.snapshot()
	if len(truth) == 0 {
		t.Fatal("the daemon fired no alerts during the soak: the Alertmanager check proved nothing")
	}
	var missing []string
	deadline := time.Now().Add(60 * time.Second)
	for {
		missing = missing[:0]
		for k := range truth {
			if h.count(k) == 0 {
				missing = append(missing, k)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	sort.Strings(missing)
	duringOutage, maxSeen, dups := 0, 0, 0
	for k, seen := range truth {
		if !seen.Before(down.from) && seen.Before(down.to) {
			duringOutage++
		}
		n := h.count(k)
		maxSeen = max(maxSeen, n)
		if n > 1 {
			dups++
		}
		if n > maxFiringPerEpisode {
			t.Errorf("alert episode %s reached the webhook firing %d times (duplicate storm; at most %d)", k, n, maxFiringPerEpisode)
		}
	}
	h.mu.Lock()
	posts := h.posts
	h.mu.Unlock()
	t.Logf("alerts: %d episodes fired (%d while Alertmanager was down for %s), %d webhook posts, %d episodes notified twice, at most %d firing notifications per episode; %d status polls failed",
		len(truth), duringOutage, down.to.Sub(down.from).Round(100*time.Millisecond), posts, dups, maxSeen, e.fails)
	if duringOutage == 0 {
		t.Error("no alert fired while Alertmanager was down: the outage proved nothing")
	}
	if len(missing) > 0 {
		t.Errorf("%d of %d alert episodes never reached the webhook, e.g. %v", len(missing), len(truth), missing[:min(5, len(missing))])
	}
}
