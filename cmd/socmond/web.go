package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"github.com/prometheus/exporter-toolkit/web"
	"github.com/rs/zerolog"
)

// listenWeb opens every --web.listen-address and serves h on them through
// exporter-toolkit, so --web.config.file (TLS, client certificates, basic
// auth with bcrypt hashes) guards every endpoint exactly as in other
// Prometheus exporters. It listens before returning, so the caller can
// print the real address (port 0 in tests) and stop the listeners on
// shutdown; serve errors arrive on the returned channel.
func listenWeb(fc *web.FlagConfig, srv *http.Server, log zerolog.Logger) (addrs []string, serveErr <-chan error, err error) {
	slogger := slog.New(zerolog.NewSlogHandler(log))
	errc := make(chan error, 1)
	if fc.WebSystemdSocket != nil && *fc.WebSystemdSocket {
		go func() { errc <- web.ListenAndServe(srv, fc, slogger) }()
		return []string{"systemd-socket"}, errc, nil
	}
	var lns []net.Listener
	for _, a := range *fc.WebListenAddresses {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			for _, l := range lns {
				_ = l.Close()
			}
			return nil, nil, fmt.Errorf("listen on %s: %w", a, err)
		}
		lns = append(lns, ln)
		addrs = append(addrs, ln.Addr().String())
	}
	go func() { errc <- web.ServeMultiple(lns, srv, fc, slogger) }()
	return addrs, errc, nil
}

// checkWebConfig validates --web.config.file up front, so a broken file is
// a configuration error (exit 2) rather than an HTTP server that dies after
// the probes started.
func checkWebConfig(fc *web.FlagConfig) error {
	if err := web.Validate(*fc.WebConfigFile); err != nil {
		return fmt.Errorf("--web.config.file %s: %w", *fc.WebConfigFile, err)
	}
	return nil
}
