package main

import (
	"net/http"
	"net/http/pprof"
)

// pprofHandlers are Go's profiling endpoints under /debug/pprof/, mounted
// only with --web.enable-pprof: a profile costs CPU and reveals internals,
// so it is an opt-in for performance work, never on by default.
func pprofHandlers() map[string]http.Handler {
	return map[string]http.Handler{
		"GET /debug/pprof/":        http.HandlerFunc(pprof.Index),
		"GET /debug/pprof/cmdline": http.HandlerFunc(pprof.Cmdline),
		"GET /debug/pprof/profile": http.HandlerFunc(pprof.Profile),
		"GET /debug/pprof/symbol":  http.HandlerFunc(pprof.Symbol),
		"GET /debug/pprof/trace":   http.HandlerFunc(pprof.Trace),
	}
}
