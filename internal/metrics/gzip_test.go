package metrics

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/rs/zerolog"

	"github.com/socmond/socmond/internal/probes"
)

// TestScrapeGzip scrapes as Prometheus does (gzip accepted) and as curl
// does (no Accept-Encoding): both must carry the same families, the
// first compressed and without a stale uncompressed Content-Length.
func TestScrapeGzip(t *testing.T) {
	m := New("test", "abc")
	m.Observe(result(table, probes.Degraded, probes.ClassThrottled, 80*time.Millisecond), snapshot(table, probes.Degraded, 0.5, 1), th)
	srv := httptest.NewServer(m.Handler(zerolog.Nop()))
	defer srv.Close()

	scrape := func(acceptEncoding string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		// Set explicitly, so that the transport does not add gzip and
		// decompress on its own.
		req.Header.Set("Accept-Encoding", acceptEncoding)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body io.Reader = resp.Body
		if resp.Header.Get("Content-Encoding") == "gzip" {
			gz, err := gzip.NewReader(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			body = gz
		}
		b, err := io.ReadAll(body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /metrics = %s", resp.Status)
		}
		return resp, string(b)
	}

	zipped, zbody := scrape("gzip, deflate")
	if got := zipped.Header.Get("Content-Encoding"); got != "gzip" {
		t.Fatalf("Content-Encoding = %q, want gzip", got)
	}
	plain, pbody := scrape("identity")
	if got := plain.Header.Get("Content-Encoding"); got != "" {
		t.Fatalf("Content-Encoding without gzip accepted = %q", got)
	}
	for _, body := range []string{zbody, pbody} {
		p := expfmt.NewTextParser(model.LegacyValidation)
		families, err := p.TextToMetricFamilies(strings.NewReader(body))
		if err != nil {
			t.Fatalf("exposition does not parse: %v", err)
		}
		if mf := families["socmond_probe_failures_total"]; mf == nil || len(mf.GetMetric()) != len(probes.Classes) {
			t.Errorf("socmond_probe_failures_total missing or incomplete: %v", mf)
		}
		if ct := zipped.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
			t.Errorf("Content-Type = %q", ct)
		}
	}
}

func TestAcceptsGzip(t *testing.T) {
	tests := map[string]bool{
		"":                     false,
		"identity":             false,
		"gzip":                 true,
		"GZIP":                 true,
		"deflate, gzip":        true,
		"gzip;q=0.5":           true,
		"gzip; q=0":            false,
		"gzip;q=0.0, identity": false,
		"x-gzip":               false,
	}
	for header, want := range tests {
		if got := acceptsGzip([]string{header}); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", header, got, want)
		}
	}
}
