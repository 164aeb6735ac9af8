package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"
)

// healthcheckCommand asks a running socmond whether it is alive. The
// container image has no shell and no curl, so an ECS container health check
// (or a Docker HEALTHCHECK) runs the binary itself: exit 0 when /-/healthy
// answers 200, 1 otherwise.
func healthcheckCommand(app *kingpin.Application, g *globals) (*kingpin.CmdClause, func() int) {
	cmd := app.Command("healthcheck", withExitCodes("Ask the socmond at --web.url whether it is alive (for container health checks: the image has no shell).",
		"0 /-/healthy answered 200, 1 it did not"))
	url := cmd.Flag("web.url", "Base URL of the socmond to check.").Default("http://127.0.0.1:9815").String()
	timeout := cmd.Flag("timeout", "How long to wait for the answer.").Default("3s").Duration()
	insecure := cmd.Flag("tls.insecure-skip-verify", "Do not verify the server certificate (it rarely names 127.0.0.1).").Bool()
	return cmd, func() int {
		if err := healthcheck(*url, *timeout, *insecure); err != nil {
			fmt.Fprintf(g.stderr, "socmond healthcheck: %v\n", err)
			return exitFailed
		}
		fmt.Fprintln(g.stdout, "socmond is healthy")
		return exitOK
	}
}

func healthcheck(base string, timeout time.Duration, insecure bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+"/-/healthy", nil)
	if err != nil {
		return err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // a proxy from the task's environment must not answer for socmond
	if insecure {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // opt-in, loopback health check
	}
	client := &http.Client{Transport: tr}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", req.URL, resp.Status)
	}
	return nil
}
