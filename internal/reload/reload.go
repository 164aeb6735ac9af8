// Package reload applies a new configuration while socmond runs, on SIGHUP
// or POST /-/reload, one reload at a time, and reports the outcome the way
// Prometheus and Alertmanager do: socmond_config_last_reload_successful and
// socmond_config_last_reload_success_timestamp_seconds. What "apply" means
// (parse, validate, swap checks) is the caller's; this package only makes
// the triggers, the serialisation, the log line and the metrics uniform.
package reload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// Reloader runs an apply function on demand and records how it went.
type Reloader struct {
	mu      sync.Mutex // one reload at a time: SIGHUP and HTTP may race
	apply   func() error
	log     zerolog.Logger
	now     func() time.Time
	success prometheus.Gauge
	lastOK  prometheus.Gauge
}

// New registers the reload gauges on reg and marks the configuration
// loaded at startup as a success, as Prometheus does, so an alert on
// "last reload failed" is quiet until a reload actually fails. apply must
// leave the running configuration untouched when it returns an error.
func New(reg prometheus.Registerer, log zerolog.Logger, apply func() error, now func() time.Time) (*Reloader, error) {
	if now == nil {
		now = time.Now
	}
	r := &Reloader{
		apply: apply,
		log:   log,
		now:   now,
		success: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "socmond_config_last_reload_successful",
			Help: "Whether the last configuration reload attempt was successful.",
		}),
		lastOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "socmond_config_last_reload_success_timestamp_seconds",
			Help: "Timestamp of the last successful configuration reload.",
		}),
	}
	for _, c := range []prometheus.Collector{r.success, r.lastOK} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering reload metrics: %w", err)
		}
	}
	r.success.Set(1)
	r.lastOK.Set(float64(now().UnixNano()) / 1e9)
	return r, nil
}

// Reload applies the configuration now. On failure the error is logged and
// returned, and the running configuration stays in force.
func (r *Reloader) Reload(trigger string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.log.Info().Str("trigger", trigger).Msg("reloading configuration")
	if err := r.apply(); err != nil {
		r.success.Set(0)
		r.log.Error().Err(err).Str("trigger", trigger).Msg("configuration reload failed; the running configuration is kept")
		return err
	}
	r.success.Set(1)
	r.lastOK.Set(float64(r.now().UnixNano()) / 1e9)
	r.log.Info().Str("trigger", trigger).Msg("configuration reloaded")
	return nil
}

// Handler serves POST /-/reload like Prometheus: 200 with an empty body on
// success, 500 with the reason otherwise.
// A reload takes no body; one over maxReloadBody is refused with 413 before
// anything is reloaded, so a client cannot make the daemon read without end.
func (r *Reloader) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, err := io.Copy(io.Discard, http.MaxBytesReader(w, req.Body, maxReloadBody))
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, fmt.Sprintf("reload takes no body (got over %d bytes)", maxReloadBody), http.StatusRequestEntityTooLarge)
			return
		}
		if err := r.Reload("http"); err != nil {
			http.Error(w, fmt.Sprintf("failed to reload config: %s", err), http.StatusInternalServerError)
		}
	})
}

// maxReloadBody bounds what /-/reload reads of a body it does not use.
const maxReloadBody = 4 << 10

// WatchSIGHUP reloads on every SIGHUP until ctx ends. It returns once the
// signal is being watched, so a SIGHUP sent after it returns is never lost
// (nor, as by default, fatal to the process).
func (r *Reloader) WatchSIGHUP(ctx context.Context) (stopped <-chan struct{}) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				_ = r.Reload("SIGHUP") // logged and counted by Reload
			}
		}
	}()
	return done
}
