package main

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/alecthomas/kingpin/v2"

	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/testenv"
)

// startDaemon runs serve in this process (the simulator from startSim must
// be running) with the given extra `run` flags, and returns its base URL
// without scheme ("127.0.0.1:port"). The daemon stops with the test.
func startDaemon(t *testing.T, configFile string, flags ...string) (addr string, logs *testenv.Buffer) {
	t.Helper()
	addr, logs, stop := launchDaemon(t, configFile, flags...)
	t.Cleanup(func() {
		if code := stop(); code != exitOK {
			t.Errorf("daemon exited %d", code)
		}
	})
	return addr, logs
}

// launchDaemon is startDaemon for a test that stops the daemon itself:
// stop ends it as SIGTERM does and returns its exit code (at once when it
// has already stopped). The test's end stops it too, logging its output if
// the test failed.
func launchDaemon(t *testing.T, configFile string, flags ...string) (addr string, logs *testenv.Buffer, stop func() int) {
	t.Helper()
	logs = &testenv.Buffer{}
	g := &globals{configFile: configFile, logLevel: "info", logFormat: "json", stdout: logs, stderr: logs}
	app := kingpin.New("socmond", "")
	cmd := app.Command("run", "")
	df := &daemonFlags{}
	addDaemonFlags(cmd, df, "127.0.0.1:0")
	if _, err := app.Parse(append([]string{"run"}, flags...)); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(configFile)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan string, 1)
	exited := make(chan int, 1)
	go func() {
		exited <- serve(ctx, g, df, cfg, clientOptions(cfg, "", nil), nil, func(a string) { started <- a })
	}()
	var once sync.Once
	code := exitOK
	stop = func() int {
		once.Do(func() {
			cancel()
			code = <-exited
		})
		return code
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("daemon log:\n%s", logs.String())
		}
	})
	select {
	case addr = <-started:
	case code := <-exited:
		t.Fatalf("daemon exited %d before listening:\n%s", code, logs.String())
	}
	return addr, logs, stop
}

// waitReady polls /-/ready through client until the first probe round is in.
func waitReady(t *testing.T, client *http.Client, base string) {
	t.Helper()
	poll(t, "/-/ready", func() bool {
		resp, err := client.Get(base + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}
