package main

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// driver asks blackbox_exporter for probes at a fixed rate, as Prometheus
// would scrape /probe. It runs in the benchmark's own process, so its CPU is
// not counted against blackbox_exporter.
type driver struct {
	client *http.Client
	url    string

	completed atomic.Int64 // probes that succeeded (probe_success 1)
	failed    atomic.Int64 // probes that failed or could not be asked for

	mu        sync.Mutex
	record    bool
	durations []float64 // probe_duration_seconds while recording
}

func newDriver(blackboxAddr, module, target string) *driver {
	q := url.Values{"module": {module}, "target": {target}}
	return &driver{
		client: &http.Client{
			Timeout:   30 * time.Second,
			Transport: &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: time.Minute},
		},
		url: "http://" + blackboxAddr + "/probe?" + q.Encode(),
	}
}

// run sends rate probes per second until ctx ends. It counts what is due
// from the elapsed time rather than trusting one tick per probe, so a late
// tick is made up for instead of lowering the rate.
func (d *driver) run(ctx context.Context, rate int) {
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	begin := time.Now()
	sent := int64(0)
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			due := int64(now.Sub(begin).Seconds() * float64(rate))
			for ; sent < due; sent++ {
				wg.Go(d.probe)
			}
		}
	}
}

func (d *driver) probe() {
	resp, err := d.client.Get(d.url)
	if err != nil {
		d.failed.Add(1)
		return
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		d.failed.Add(1)
		return
	}
	samples := parseSamples(string(body))
	if sumOf(samples, "probe_success") != 1 {
		d.failed.Add(1)
		return
	}
	d.completed.Add(1)
	d.mu.Lock()
	if d.record {
		d.durations = append(d.durations, sumOf(samples, "probe_duration_seconds"))
	}
	d.mu.Unlock()
}

// recording turns the collection of probe durations on or off and returns
// what was collected.
func (d *driver) recording(on bool) []float64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.record = on
	out := d.durations
	d.durations = nil
	return out
}
