package reload

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"
)

type clock struct{ t atomic.Int64 }

func (c *clock) now() time.Time { return time.Unix(c.t.Load(), 0) }
func (c *clock) set(sec int64)  { c.t.Store(sec) }
func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("%s not registered", name)
	return 0
}

func TestReloadOutcomesAndMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	var c clock
	c.set(100)
	var fail atomic.Bool
	var applied atomic.Int32
	r, err := New(reg, zerolog.Nop(), func() error {
		if fail.Load() {
			return errors.New("config.yaml:3: unknown key bogus")
		}
		applied.Add(1)
		return nil
	}, c.now)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := testutil.GatherAndCount(reg); err != nil || n != 2 {
		t.Fatalf("%d metrics registered (%v), want 2", n, err)
	}
	check := func(step string, ok, ts float64) {
		t.Helper()
		if got := gauge(t, reg, "socmond_config_last_reload_successful"); got != ok {
			t.Errorf("%s: successful = %v, want %v", step, got, ok)
		}
		if got := gauge(t, reg, "socmond_config_last_reload_success_timestamp_seconds"); got != ts {
			t.Errorf("%s: timestamp = %v, want %v", step, got, ts)
		}
	}
	check("start", 1, 100)

	ts := httptest.NewServer(r.Handler())
	t.Cleanup(ts.Close)
	c.set(200)
	fail.Store(true)
	resp, err := http.Post(ts.URL, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 500 {
		t.Errorf("failed reload over HTTP = %d, want 500", resp.StatusCode)
	}
	check("failed reload", 0, 100)

	fail.Store(false)
	c.set(300)
	if err := r.Reload("test"); err != nil {
		t.Fatal(err)
	}
	check("good reload", 1, 300)

	// SIGHUP reaches the same path.
	ctx, cancel := context.WithCancel(context.Background())
	stopped := r.WatchSIGHUP(ctx)
	c.set(400)
	before := applied.Load()
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for applied.Load() == before {
		if time.Now().After(deadline) {
			t.Fatal("SIGHUP did not reload")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-stopped
	check("SIGHUP reload", 1, 400)
}

func TestHandlerExplainsFailure(t *testing.T) {
	r, err := New(prometheus.NewRegistry(), zerolog.Nop(), func() error { return errors.New("bad schedule") }, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	r.Handler().ServeHTTP(rec, httptest.NewRequest("POST", "/-/reload", nil))
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), "failed to reload config: bad schedule") {
		t.Errorf("= %d %q", rec.Code, rec.Body.String())
	}
}

// An oversized body is refused with 413 and reloads nothing; a small one is
// ignored as Prometheus does.
func TestHandlerBodyLimit(t *testing.T) {
	var applied atomic.Int32
	r, err := New(prometheus.NewRegistry(), zerolog.Nop(), func() error { applied.Add(1); return nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(r.Handler())
	defer srv.Close()
	resp, err := http.Post(srv.URL, "text/plain", strings.NewReader(strings.Repeat("x", maxReloadBody+1)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || applied.Load() != 0 {
		t.Fatalf("oversized body: %d, applied %d times", resp.StatusCode, applied.Load())
	}
	resp, err = http.Post(srv.URL, "text/plain", strings.NewReader("please"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || applied.Load() != 1 {
		t.Fatalf("small body: %d, applied %d times", resp.StatusCode, applied.Load())
	}
}
