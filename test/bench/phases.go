package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// fidelityResult compares the response times each prober reported with
// the latency the simulator injected.
type fidelityResult struct {
	socmond, blackbox         result
	socmondErrs, blackboxErrs []float64 // reported minus injected, seconds
	// socmondOwn is socmond's reported time minus what the simulator says it
	// held that very answer (matched by request id): socmond's own error
	// plus loopback, without the simulator's timer lateness. blackbox has no
	// request ids to match, so it has only the figure against the nominal.
	socmondOwn []float64
	unmatched  int // socmond results whose request id the simulator did not record
}

// fidelity injects fidelityLatency into every DynamoDB answer and runs both
// probers at rate, collecting the response time each one reports.
func (b *bench) fidelity(rate int) (fidelityResult, error) {
	var f fidelityResult
	if err := b.fault(fmt.Appendf(nil, `{"service":"dynamodb","latency":%q}`, fidelityLatency.String())); err != nil {
		return f, err
	}
	defer func() { _ = b.fault(nil) }()
	injected := fidelityLatency.Seconds()
	window := b.o.window / 2

	// Only this run's answers are matched below; forget the earlier ones.
	if err := b.simDelete("/_sim/calls"); err != nil {
		return f, err
	}
	seen := map[string]reported{}
	var err error
	f.socmond, err = b.socmond(rate, "@every 1s", rateFlags, b.o.warmup, window, func(base string) error {
		end := time.Now().Add(window - time.Second)
		for time.Now().Before(end) {
			if err := statusDurations(base, seen); err != nil {
				return err
			}
			time.Sleep(time.Second)
		}
		return nil
	})
	if err != nil {
		return f, err
	}
	held, err := b.simHeld()
	if err != nil {
		return f, err
	}
	for _, r := range seen {
		f.socmondErrs = append(f.socmondErrs, r.seconds-injected)
		if h, ok := held[r.requestID]; ok {
			f.socmondOwn = append(f.socmondOwn, r.seconds-h.Seconds())
		} else {
			f.unmatched++
		}
	}

	f.blackbox, err = b.blackboxRun(rate, b.o.warmup, window, func(d *driver) error {
		d.recording(true)
		time.Sleep(window - time.Second)
		for _, s := range d.recording(false) {
			f.blackboxErrs = append(f.blackboxErrs, s-injected)
		}
		return nil
	})
	fmt.Fprintf(os.Stderr, "bench: fidelity done\n")
	return f, err
}

// profile runs socmond at rate with /debug/pprof on and saves a CPU profile
// and heap and allocation profiles, for `go tool pprof`.
func (b *bench) profile(rate int) error {
	flags := append([]string{"--web.enable-pprof"}, rateFlags...)
	_, err := b.socmond(rate, "@every 1s", flags, b.o.warmup, 16*time.Second, func(base string) error {
		return b.saveProfiles(base, "", 15*time.Second)
	})
	if err == nil {
		fmt.Printf("\nprofiles of socmond at %d probes/s written to %s (go tool pprof -top %s)\n", rate, b.o.profile, filepath.Join(b.o.profile, "cpu.pprof"))
	}
	return err
}

// saveProfiles saves to the -profile directory a CPU profile of the daemon
// at base over d, then its heap and allocation profiles, each file's name
// prefixed with prefix.
func (b *bench) saveProfiles(base, prefix string, d time.Duration) error {
	if err := os.MkdirAll(b.o.profile, 0o755); err != nil {
		return err
	}
	for _, p := range []struct{ name, path string }{
		{"cpu.pprof", fmt.Sprintf("/debug/pprof/profile?seconds=%d", int(d.Seconds()))},
		{"heap.pprof", "/debug/pprof/heap"},
		{"allocs.pprof", "/debug/pprof/allocs"},
	} {
		body, err := get(base + p.path)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(b.o.profile, prefix+p.name), body, 0o644); err != nil {
			return err
		}
	}
	return nil
}
