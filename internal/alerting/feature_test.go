package alerting

import (
	"maps"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/probes"
)

// TestPanelPlacesAlerts: a placed resource's alert line carries its
// tenant, account and region, so the status page can filter it; an alert
// of no pipeline (compliance, on the config-wide tenant) carries none.
func TestPanelPlacesAlerts(t *testing.T) {
	cfg, err := config.Parse("t.yaml", []byte("region: us-east-1\ntenant: soc\nservices:\n  s3:\n    resources: [{name: b}]\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	f, err := NewFeature(cfg, prometheus.NewRegistry(), zerolog.Nop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	acme := probes.Place{Tenant: "acme", Account: "111111111111", Region: "ap-east-1"}
	placed := map[string]string{"alertname": "AWSServiceUnavailable", "service": "s3", "resource": "b"}
	PlaceLabels(placed, acme)
	f.Engine().Set(Signal{Labels: placed, Active: true}, now)
	f.Engine().Set(Signal{Labels: map[string]string{"alertname": "ComplianceViolation", "resource": "alias/k", "tenant": "soc"}, Active: true}, now)

	got := map[string]probes.Place{}
	for _, it := range f.Panel(now).Items {
		got[it.Name] = it.Place
	}
	want := map[string]probes.Place{"AWSServiceUnavailable": acme, "ComplianceViolation": {}}
	if !maps.Equal(got, want) {
		t.Errorf("panel places = %v, want %v", got, want)
	}
}
