package soak

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socmond/socmond/internal/awssim"
	"github.com/socmond/socmond/internal/testenv"
)

var (
	duration = flag.Duration("soak.duration", 60*time.Second, "how long the fault schedule plays")
	seed     = flag.Uint64("soak.seed", 1, "seed of the random fault schedule")
)

// phaseLength holds each fault long enough for several 2 s probe cycles.
const phaseLength = 8 * time.Second

func TestChaosSoak(t *testing.T) {
	if d := os.Getenv("SOAK_DURATION"); d != "" {
		v, err := time.ParseDuration(d)
		if err != nil {
			t.Fatalf("SOAK_DURATION: %v", err)
		}
		*duration = v
	}
	bin := testenv.BuildSocmond(t)
	res := newResources()
	sim, simURL := awssim.Serve(t, res.seed())

	sim.SetCredentialLifetime(credentialLifetime)

	h := newHook()
	hookSrv := httptest.NewServer(h)
	t.Cleanup(hookSrv.Close)
	am := startAlertmanager(t, hookSrv.URL)

	cfgPath := filepath.Join(t.TempDir(), "soak.yaml")
	if err := os.WriteFile(cfgPath, []byte(res.config(am.addr)), 0o600); err != nil {
		t.Fatal(err)
	}
	port := testenv.FreePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	d := startDaemon(t, bin, cfgPath, webIdentityEnv(t, simURL), port)

	waitReady(t, d, base)
	watch := startWatcher(base)
	t.Cleanup(watch.stop)
	eps := watchEpisodes(base)
	t.Cleanup(eps.stop)

	// Let keep-alive connections and caches settle before the baseline.
	time.Sleep(4 * time.Second)
	before := readRuntime(t, base)
	t.Logf("baseline: %d resources, goroutines %.0f, heap in use %.1f MiB", len(res.all), before.goroutines, before.heapInuse/(1<<20))

	rng := rand.New(rand.NewPCG(*seed, 0xC4A05))
	tally := map[string]*kindTally{}
	// Alertmanager is stopped for phase amDownPhase and started again (same
	// port and storage) when the next begins; the last phase is an STS
	// failure instead of per-resource faults.
	const amDownPhase = 1
	phases := max(4, int(*duration/phaseLength))
	stsPhase := phases - 1
	var outage amOutage
	var prev []planned
	for p := 0; p < phases; p++ {
		switch p {
		case amDownPhase:
			am.stop()
			outage.from = time.Now()
		case amDownPhase + 1:
			am.start()
			outage.to = time.Now()
		}
		if p == stsPhase {
			sim.AddFault(stsFault)
			sim.ResetCalls()
			time.Sleep(phaseLength)
			doc := getStatus(t, base)
			calls := sim.Calls()
			sim.ClearFaults()
			checkCredentialPhase(t, p, res, doc, calls, tally)
			prev = nil
			d.checkAlive(t)
			continue
		}
		plan := res.plan(rng)
		for _, f := range plan {
			sim.AddFault(f.fault)
		}
		sim.ResetCalls()
		time.Sleep(phaseLength)
		doc := getStatus(t, base)
		calls := sim.Calls()
		sim.ClearFaults()
		checkPhase(t, p, plan, prev, doc, calls, tally)
		prev = plan
		d.checkAlive(t)
	}

	// Recovery: every resource healthy again, and the process back near its
	// baseline once the broken connections are gone.
	deadline := time.Now().Add(60 * time.Second)
	for {
		bad := unhealthy(getStatus(t, base))
		if len(bad) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still not healthy a minute after the faults stopped: %v", bad)
		}
		time.Sleep(time.Second)
	}
	after := settle(t, base, before)
	t.Logf("after: goroutines %.0f (baseline %.0f), heap in use %.1f MiB (baseline %.1f MiB)",
		after.goroutines, before.goroutines, after.heapInuse/(1<<20), before.heapInuse/(1<<20))
	if after.goroutines > before.goroutines+goroutineSlack {
		t.Errorf("goroutines grew from %.0f to %.0f", before.goroutines, after.goroutines)
	}
	if after.heapInuse > 2*before.heapInuse+heapSlack {
		t.Errorf("heap in use grew from %.0f to %.0f bytes", before.heapInuse, after.heapInuse)
	}

	watch.stop()
	w := watch.result()
	t.Logf("endpoints: %d /-/healthy and %d /metrics requests, %d failed", w.healthy, w.metrics, w.failed)
	if w.failed > 0 || w.healthy == 0 || w.metrics == 0 {
		t.Errorf("endpoints failed during the soak: %v", w.errors)
	}
	checkEpisodes(t, eps, h, outage)
	d.checkAlive(t)
	report(t, phases, tally)
}

// kindTally counts, per fault kind, the resources checked and the probe
// calls the simulator answered with that fault.
type kindTally struct{ resources, calls, mismatches int }

func report(t *testing.T, phases int, tally map[string]*kindTally) {
	kinds := make([]string, 0, len(tally))
	for k := range tally {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	var b strings.Builder
	fmt.Fprintf(&b, "%d phases of %s, seed %d\n", phases, phaseLength, *seed)
	fmt.Fprintf(&b, "%-10s %10s %10s %10s\n", "fault", "resources", "calls", "mismatches")
	for _, k := range kinds {
		c := tally[k]
		fmt.Fprintf(&b, "%-10s %10d %10d %10d\n", k, c.resources, c.calls, c.mismatches)
	}
	t.Log("\n" + b.String())
}

// daemon is the socmond process under test.
type daemon struct {
	cmd    *exec.Cmd
	logs   *testenv.Buffer
	exited chan error
}

func startDaemon(t *testing.T, bin, cfg string, env []string, port int) *daemon {
	t.Helper()
	d := &daemon{logs: &testenv.Buffer{}, exited: make(chan error, 1)}
	d.cmd = exec.Command(bin, "run", "--config.file", cfg, "--web.listen-address", testenv.Addr(port),
		"--log.level", "info", "--shutdown.grace-period", "5s")
	d.cmd.Env = env
	d.cmd.Stdout, d.cmd.Stderr = d.logs, d.logs
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.exited <- d.cmd.Wait() }()
	t.Cleanup(func() {
		_ = d.cmd.Process.Kill()
		<-d.exited
		if t.Failed() {
			t.Logf("daemon log (tail):\n%s", tail(d.logs.String(), 60))
		}
	})
	return d
}

// checkAlive fails the test if the daemon exited.
func (d *daemon) checkAlive(t *testing.T) {
	t.Helper()
	select {
	case err := <-d.exited:
		d.exited <- err
		t.Fatalf("daemon exited: %v", err)
	default:
	}
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func waitReady(t *testing.T, d *daemon, base string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		d.checkAlive(t)
		resp, err := http.Get(base + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("daemon not ready within a minute")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// watcher asks /-/healthy and /metrics twice a second, each within a
// timeout, for the whole soak.
type watcher struct {
	stopOnce sync.Once
	done     chan struct{}
	wg       sync.WaitGroup
	healthy  atomic.Int64
	metrics  atomic.Int64
	mu       sync.Mutex
	errors   []string
}

type watchResult struct {
	healthy, metrics, failed int64
	errors                   []string
}

func startWatcher(base string) *watcher {
	w := &watcher{done: make(chan struct{})}
	client := &http.Client{Timeout: 10 * time.Second}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-w.done:
				return
			case <-tick.C:
			}
			for _, path := range []string{"/-/healthy", "/metrics"} {
				resp, err := client.Get(base + path)
				if err == nil {
					_, err = drain(resp)
				}
				if err != nil {
					w.mu.Lock()
					w.errors = append(w.errors, path+": "+err.Error())
					w.mu.Unlock()
					continue
				}
				if path == "/metrics" {
					w.metrics.Add(1)
				} else {
					w.healthy.Add(1)
				}
			}
		}
	}()
	return w
}

func (w *watcher) stop() {
	w.stopOnce.Do(func() { close(w.done) })
	w.wg.Wait()
}

func (w *watcher) result() watchResult {
	w.mu.Lock()
	defer w.mu.Unlock()
	return watchResult{healthy: w.healthy.Load(), metrics: w.metrics.Load(), failed: int64(len(w.errors)), errors: w.errors}
}
