package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHealthcheck(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/-/healthy" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
	}))
	defer srv.Close()

	if code, out, errOut := runCLI(t, "healthcheck", "--web.url", srv.URL); code != exitOK || !strings.Contains(out, "healthy") {
		t.Fatalf("healthy server: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	status = http.StatusServiceUnavailable
	if code, _, errOut := runCLI(t, "healthcheck", "--web.url", srv.URL+"/"); code != exitFailed || !strings.Contains(errOut, "503") {
		t.Fatalf("unhealthy server: exit %d, stderr %q", code, errOut)
	}
	srv.Close()
	if code, _, _ := runCLI(t, "healthcheck", "--web.url", srv.URL, "--timeout", "1s"); code != exitFailed {
		t.Fatalf("no server: exit %d, want %d", code, exitFailed)
	}
}
