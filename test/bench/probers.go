package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/socmond/socmond/internal/awssim"
)

// bench holds what the runs share: the simulator and a scratch directory.
type bench struct {
	o   options
	dir string
	sim *process
	// simURL is the simulator's endpoint, e.g. http://127.0.0.1:40123.
	simURL string
}

// result is one prober's figures over one measurement window.
type result struct {
	prober    string
	resources int
	schedule  string
	rate      int     // probes/s asked for
	probes    float64 // probes completed in the window
	healthy   float64 // of which healthy (socmond only): a run whose probes fail measures failures
	cpu       float64 // CPU seconds of the prober process in the window
	wall      float64 // window length in seconds
	rssMB     float64 // VmRSS at the end of the window
	peakMB    float64 // VmHWM at the end of the window
	// startMB is VmHWM at the start of the window, before the harness's
	// first GET /metrics: the start-up peak, apart from a scrape's.
	startMB float64
	lag     []bucket
	scrapes []scrape
	// scrapeCPU is the CPU seconds of one GET /metrics, from the five
	// after the window (the probes still running meanwhile included).
	// The window holds one, the first sample's.
	scrapeCPU float64
}

// scrape is one timed GET /metrics.
type scrape struct {
	took  time.Duration
	bytes int
}

var httpc = &http.Client{Timeout: time.Minute}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func get(url string) ([]byte, error) {
	resp, err := httpc.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return body, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return body, nil
}

// waitFor polls url until it answers 200 or p exits or timeout passes.
func waitFor(p *process, url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if _, err := get(url); err == nil {
			return nil
		}
		if p.cmd.ProcessState != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s did not answer %s within %s:\n%s", p.name, url, timeout, p.tail())
}

// baseEnv is the environment of the servers: no AWS settings of the
// machine leak in, and the SDK is pointed at the simulator.
func (b *bench) baseEnv() []string { return b.envFor(b.simURL) }

// envFor is baseEnv pointed at the simulator at simURL.
func (b *bench) envFor(simURL string) []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + b.dir,
		"AWS_ENDPOINT_URL=" + simURL,
		"AWS_ACCESS_KEY_ID=bench",
		"AWS_SECRET_ACCESS_KEY=bench",
		"AWS_REGION=" + benchRegion,
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

func (b *bench) writeFile(name, content string) (string, error) {
	path := filepath.Join(b.dir, name)
	return path, os.WriteFile(path, []byte(content), 0o600)
}

// startSim runs `socmond sim` seeded with n tables.
func (b *bench) startSim(n int) error {
	p, url, err := b.startSimOf("sim.yaml", socmondConfig(n, "@every 1m"))
	b.sim, b.simURL = p, url
	return err
}

// startSimOf runs `socmond sim` seeded from config (written to name) and
// returns it with its endpoint once it answers.
func (b *bench) startSimOf(name, config string) (*process, string, error) {
	cfg, err := b.writeFile(name, config)
	if err != nil {
		return nil, "", err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	url := "http://" + addr
	p, err := start("socmond sim", b.envFor(url), b.o.socmond, "sim", "--config.file", cfg, "--sim.listen-address", addr, "--log.level", "warn")
	if err != nil {
		return nil, "", err
	}
	if err := waitFor(p, url+"/_sim/faults", 3*time.Minute); err != nil {
		p.stop()
		return nil, "", err
	}
	return p, url, nil
}

// fault sets (body) or clears (nil) the simulator's faults.
func (b *bench) fault(body []byte) error {
	if body == nil {
		return b.simDelete("/_sim/faults")
	}
	return b.simControl(http.MethodPost, "/_sim/faults", body)
}

// simDelete clears a simulator list (/_sim/faults, /_sim/calls).
func (b *bench) simDelete(path string) error { return b.simControl(http.MethodDelete, path, nil) }

func (b *bench) simControl(method, path string, body []byte) error {
	req, err := http.NewRequest(method, b.simURL+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := httpc.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	return nil
}

// socmond measures `socmond run` probing n tables on schedule: it waits
// until every check has a first result, lets warmup pass, then measures
// window while during (if any) runs against the daemon's address.
func (b *bench) socmond(n int, schedule string, flags []string, warmup, window time.Duration, during func(addr string) error) (result, error) {
	w := workload{file: fmt.Sprintf("socmond-%d.yaml", n), config: socmondConfig(n, schedule), simURL: b.simURL}
	return b.socmondOn(w, n, schedule, flags, warmup, window, during)
}

// workload is what one `socmond run` probes: a config and the simulator
// seeded with its resources.
type workload struct {
	file, config string // the config file's name and text
	simURL       string
}

// socmondOn is socmond for the config and simulator of w, whose config
// names n resources on schedule.
func (b *bench) socmondOn(w workload, n int, schedule string, flags []string, warmup, window time.Duration, during func(addr string) error) (result, error) {
	res := result{prober: "socmond", resources: n, schedule: schedule}
	cfg, err := b.writeFile(w.file, w.config)
	if err != nil {
		return res, err
	}
	addr, err := freeAddr()
	if err != nil {
		return res, err
	}
	args := append([]string{"run", "--config.file", cfg, "--web.listen-address", addr, "--log.level", "warn"}, flags...)
	args = append(args, b.o.extra...)
	p, err := start("socmond run", b.envFor(w.simURL), b.o.socmond, args...)
	if err != nil {
		return res, err
	}
	defer p.stop()
	base := "http://" + addr
	if err := waitFor(p, base+"/-/ready", 3*time.Minute); err != nil {
		return res, err
	}
	time.Sleep(warmup)

	u0, m0, err := b.sampleSocmond(p, base)
	if err != nil {
		return res, err
	}
	var derr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		if during != nil {
			derr = during(base)
		}
	}()
	time.Sleep(window)
	<-done
	u1, m1, err := b.sampleSocmond(p, base)
	if err != nil {
		return res, err
	}
	if derr != nil {
		return res, derr
	}
	res.fill(u0, u1)
	res.probes = sumOf(m1, "socmond_probes_total") - sumOf(m0, "socmond_probes_total")
	res.healthy = sumWhere(m1, "socmond_probes_total", "status", "healthy") - sumWhere(m0, "socmond_probes_total", "status", "healthy")
	res.rate = int(res.probes/res.wall + 0.5)
	res.lag = delta(histogram(m1, "socmond_scheduler_lag_seconds"), histogram(m0, "socmond_scheduler_lag_seconds"))
	// Scrape cost, measured after the window so it is not in the CPU figure.
	before, err := readUsage(p.pid())
	if err != nil {
		return res, err
	}
	for range 5 {
		t0 := time.Now()
		body, err := get(base + "/metrics")
		if err != nil {
			return res, err
		}
		res.scrapes = append(res.scrapes, scrape{took: time.Since(t0), bytes: len(body)})
	}
	after, err := readUsage(p.pid())
	if err != nil {
		return res, err
	}
	res.scrapeCPU = (after.cpu - before.cpu) / float64(len(res.scrapes))
	return res, nil
}

// sampleSocmond reads the process's usage, then its counters. The usage
// time stands for both: the registry is gathered as soon as the request
// arrives, whereas the answer of a large /metrics can take a while to come
// back on a loaded machine, and timing after it would shift the window.
func (b *bench) sampleSocmond(p *process, base string) (usage, []sample, error) {
	u, err := readUsage(p.pid())
	if err != nil {
		return usage{}, nil, err
	}
	body, err := get(base + "/metrics")
	if err != nil {
		return usage{}, nil, err
	}
	return u, parseSamples(string(body)), nil
}

func (r *result) fill(u0, u1 usage) {
	r.cpu = u1.cpu - u0.cpu
	r.wall = u1.at.Sub(u0.at).Seconds()
	r.rssMB = u1.rssMB
	r.peakMB = u1.peakMB
	r.startMB = u0.peakMB
}

// blackboxRun measures blackbox_exporter asked for rate probes/s of the
// simulator's DynamoDB DescribeTable by the driver.
func (b *bench) blackboxRun(rate int, warmup, window time.Duration, during func(d *driver) error) (result, error) {
	res := result{prober: "blackbox_exporter", resources: 1, rate: rate}
	cfg, err := b.writeFile("blackbox.yml", blackboxConfig(tableName(0)))
	if err != nil {
		return res, err
	}
	addr, err := freeAddr()
	if err != nil {
		return res, err
	}
	p, err := start("blackbox_exporter", b.baseEnv(), b.o.blackbox, "--config.file="+cfg, "--web.listen-address="+addr, "--log.level=warn")
	if err != nil {
		return res, err
	}
	defer p.stop()
	if err := waitFor(p, "http://"+addr+"/-/healthy", time.Minute); err != nil {
		return res, err
	}
	d := newDriver(addr, "ddb", b.simURL+"/")
	ctx, cancel := context.WithCancel(context.Background())
	driving := make(chan struct{})
	go func() { defer close(driving); d.run(ctx, rate) }()
	defer func() { cancel(); <-driving }()
	time.Sleep(warmup)

	u0, err := readUsage(p.pid())
	if err != nil {
		return res, err
	}
	c0, f0 := d.completed.Load(), d.failed.Load()
	var derr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		if during != nil {
			derr = during(d)
		}
	}()
	time.Sleep(window)
	<-done
	u1, err := readUsage(p.pid())
	if err != nil {
		return res, err
	}
	if derr != nil {
		return res, derr
	}
	res.fill(u0, u1)
	res.probes = float64(d.completed.Load() - c0)
	if failed := d.failed.Load() - f0; failed > 0 {
		fmt.Fprintf(os.Stderr, "bench: blackbox_exporter: %d probes failed in the window\n", failed)
	}
	return res, nil
}

// statusDurations reads every resource's latest response time and the
// request id of that answer from socmond's status API, keyed by resource and
// check time so that a poll that sees the same result twice counts it once.
func statusDurations(base string, into map[string]reported) error {
	body, err := get(base + "/api/v1/status")
	if err != nil {
		return err
	}
	var doc struct {
		Data struct {
			Resources []struct {
				Resource  string  `json:"resource"`
				LastCheck string  `json:"last_check"`
				Seconds   float64 `json:"last_response_time_seconds"`
				RequestID string  `json:"last_request_id"`
			} `json:"resources"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return fmt.Errorf("status API: %w", err)
	}
	for _, r := range doc.Data.Resources {
		into[r.Resource+"@"+r.LastCheck] = reported{seconds: r.Seconds, requestID: r.RequestID}
	}
	return nil
}

// reported is one response time socmond reported, with the request id of
// the answer it timed.
type reported struct {
	seconds   float64
	requestID string
}

// simHeld is how long the simulator held each answer, by request id
// (awssim.Call.Held): the injected latency as actually slept.
func (b *bench) simHeld() (map[string]time.Duration, error) {
	calls, err := simCalls(b.simURL)
	if err != nil {
		return nil, err
	}
	held := make(map[string]time.Duration, len(calls))
	for _, c := range calls {
		if c.RequestID != "" {
			held[c.RequestID] = c.Held
		}
	}
	return held, nil
}

// simCalls are the calls the simulator at simURL recorded.
func simCalls(simURL string) ([]awssim.Call, error) {
	body, err := get(simURL + "/_sim/calls")
	if err != nil {
		return nil, err
	}
	var calls []awssim.Call
	if err := json.Unmarshal(body, &calls); err != nil {
		return nil, fmt.Errorf("simulator calls: %w", err)
	}
	return calls, nil
}
