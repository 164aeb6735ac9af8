package deploy

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/socmond/socmond/internal/testenv"
)

// TestAlertmanagerRoutesPerTenant asks amtool where the shipped routing
// sends an alert: a tenant with its own route pages its own receiver, its
// tickets and every alert of a config without tenants (one tenant, the
// top-level `tenant:`) keep the severity routes. test/paging sends real
// alerts through it.
func TestAlertmanagerRoutesPerTenant(t *testing.T) {
	amtool := testenv.Tool(t, "amtool")
	for _, c := range []struct {
		labels []string
		want   string
	}{
		{[]string{"tenant=acme", "account=111111111111", "region=us-east-1", "service=dynamodb", "severity=page"}, "acme-oncall-pager"},
		{[]string{"tenant=beta", "account=222222222222", "region=eu-west-1", "service=dynamodb", "severity=page"}, "beta-oncall-pager"},
		{[]string{"tenant=acme", "account=111111111111", "region=us-east-1", "service=dynamodb", "severity=ticket"}, "soc-platform-tickets"},
		{[]string{"tenant=hk-demo", "service=dynamodb", "severity=page"}, "soc-oncall-pager"},
		{[]string{"tenant=hk-demo", "service=bedrock", "severity=ticket"}, "soc-platform-tickets"},
		{[]string{"tenant=acme", "alertname=Watchdog", "severity=none"}, "deadmansswitch"},
	} {
		args := append([]string{"config", "routes", "test", "--config.file=alertmanager/alertmanager.yml"}, c.labels...)
		out, err := exec.Command(amtool, args...).Output()
		if err != nil {
			t.Fatalf("amtool %s: %v", strings.Join(args, " "), err)
		}
		if got := strings.TrimSpace(string(out)); got != c.want {
			t.Errorf("an alert %v goes to %q, want %q", c.labels, got, c.want)
		}
	}
}
