// Package server is socmond's HTTP face: /metrics for Prometheus, the
// /-/healthy and /-/ready probes for whatever runs the process, a JSON
// status API for tools and people, and the status page. It only reads:
// health snapshots come in through Source, metrics through a handler.
package server

import (
	"net/http"
	"time"

	"github.com/rs/zerolog"

	"github.com/socmond/socmond/internal/health"
	"github.com/socmond/socmond/internal/probes"
)

// Source is what the server reads the state of socmond from.
type Source interface {
	// Snapshots returns the health of every configured resource at now.
	Snapshots(now time.Time) []health.Snapshot
	// Ready reports whether the config is loaded and the first round of
	// probes has completed, so the status is worth reading.
	Ready() bool
}

// Options configures a Server. Metrics and Source may be nil: /metrics is
// then not served, and the server reports itself not ready.
type Options struct {
	Metrics http.Handler
	Source  Source
	Version string
	Logger  zerolog.Logger
	// Extra mounts more handlers; keys are http.ServeMux patterns such as
	// "POST /-/reload". A key that clashes with a built-in route panics,
	// like any duplicate ServeMux registration.
	Extra map[string]http.Handler
	// Panels add sections (compliance, workflow, alerts) to
	// /api/v1/status and the status page, in this order.
	Panels []PanelSource
	// Now is the clock for generated_at and snapshots; nil means time.Now.
	Now func() time.Time
	// Thresholds tells the status page the settings a resource is judged
	// by; nil (or false) leaves them off its card.
	Thresholds func(probes.Target) (Thresholds, bool)
}

// Server routes socmond's HTTP endpoints.
type Server struct {
	panelSources []PanelSource
	mux          *http.ServeMux
	source       Source
	version      string
	log          zerolog.Logger
	now          func() time.Time
	thresholds   func(probes.Target) (Thresholds, bool)
}

// New builds the routes. Read endpoints are registered for GET only, which
// ServeMux also matches for HEAD and answers with 405 for other methods;
// paths that match nothing get 404.
func New(o Options) *Server {
	s := &Server{
		mux:     http.NewServeMux(),
		source:  o.Source,
		version: o.Version,
		log:     o.Logger,
		now:     o.Now,

		panelSources: o.Panels,
		thresholds:   o.Thresholds,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if o.Metrics != nil {
		s.mux.Handle("GET /metrics", o.Metrics)
	}
	s.mux.HandleFunc("GET /-/healthy", s.healthy)
	s.mux.HandleFunc("GET /-/ready", s.ready)
	s.mux.HandleFunc("GET /api/v1/status", s.status)
	// {$} makes "/" the status page only, not a catch-all.
	s.mux.HandleFunc("GET /{$}", s.statusPage)
	s.mux.Handle("GET /assets/", assetHandler())
	for pattern, h := range o.Extra {
		s.mux.Handle(pattern, h)
	}
	return s
}

// Handler returns the root handler to serve.
func (s *Server) Handler() http.Handler { return s.mux }

// NewHTTPServer wraps h in an http.Server whose timeouts keep a slow or
// malicious client from holding connections or memory indefinitely.
func NewHTTPServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
}

// healthy answers as long as the process can serve HTTP at all, which is
// all a liveness probe should ask.
func (s *Server) healthy(w http.ResponseWriter, _ *http.Request) {
	writeText(w, http.StatusOK, "socmond is Healthy.\n")
}

// ready gates traffic and rollouts on socmond having something true to say.
func (s *Server) ready(w http.ResponseWriter, _ *http.Request) {
	if s.source == nil || !s.source.Ready() {
		writeText(w, http.StatusServiceUnavailable, "socmond is not ready.\n")
		return
	}
	writeText(w, http.StatusOK, "socmond is Ready.\n")
}

func writeText(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(body))
}
