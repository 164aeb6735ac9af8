package paging

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/socmond/socmond/internal/awssim"
)

// tenantsConfig is a managed SOC's: two customers, each with its pipeline
// in its own account and region, the same table name in both. Its durations
// are the shipped defaults, for the stack to scale.
const tenantsConfig = `
region: us-east-1
tenant: soc-operator
defaults:
  schedule: "@every 30s"
  timeout: 10s
  windows: {error_rate: 5m, availability: 1h}
accounts:
  - id: "111111111111"
    role_arn: arn:aws:iam::111111111111:role/socmond-monitor
    external_id: ext-acme
    regions: [us-east-1]
  - id: "222222222222"
    role_arn: arn:aws:iam::222222222222:role/socmond-monitor
    regions: [eu-west-1]
tenants:
  - name: acme
    pipelines: [{account: "111111111111"}]
  - name: beta
    pipelines: [{account: "222222222222"}]
services:
  dynamodb:
    resources: [{name: AsiaAgenticSocInvestigations}]
  s3:
    resources: [{name: "asia-agentic-soc-artifacts-${account_id}-${region}"}]
alerting:
  resend_interval: 1m
`

// tenantsPhase breaks the same table in both tenants' accounts at once: the
// shipped routing (deploy/alertmanager/alertmanager.yml, its acme and beta
// routes) pages each tenant's own receiver, once, with the tenant, account
// and region on every alert, and neither hears of the other's.
var tenantsPhase = []scenario{
	{name: "acme's table throttled (acme's pager only)",
		faults: []awssim.Fault{{Service: "dynamodb", Resource: "AsiaAgenticSocInvestigations", Operation: "DescribeTable", Error: "ThrottlingException", Account: "111111111111"}},
		group:  "dynamodb", receiver: "pager-acme", alerts: []string{"AWSServiceHighErrorRate"},
		tenant: "acme", account: "111111111111", region: "us-east-1",
		page: 2*probe + groupWait, resolve: 2*probe + groupIntvl},
	{name: "beta's table in eu-west-1 failing (beta's pager only)",
		faults: []awssim.Fault{{Service: "dynamodb", Resource: "AsiaAgenticSocInvestigations", Operation: "DescribeTable", Error: "InternalServerError", Account: "222222222222", Region: "eu-west-1"}},
		group:  "dynamodb", receiver: "pager-beta", alerts: []string{"AWSServiceHighErrorRate"},
		tenant: "beta", account: "222222222222", region: "eu-west-1",
		page: 2*probe + groupWait, resolve: 2*probe + groupIntvl},
}

// TestPagingTenants: per-tenant paging end to end, on both paths (issue
// #19): a fault in one tenant's pipeline pages that tenant's receiver
// alone, once per incident.
func TestPagingTenants(t *testing.T) {
	for _, direct := range []bool{true, false} {
		name := map[bool]string{true: "direct and Prometheus into one Alertmanager", false: "Prometheus rules"}[direct]
		t.Run(name, func(t *testing.T) {
			s := startStackWith(t, direct, func(amAddr string) string {
				if !direct {
					return tenantsConfig
				}
				return replaceAll(t, tenantsConfig, map[string]string{
					"alerting:\n": fmt.Sprintf("alerting:\n  alertmanagers: [{url: \"http://%s\"}]\n", amAddr),
				})
			})
			figures := s.runPhase(1, tenantsPhase)
			sort.Strings(figures)
			t.Logf("%s, at the shipped timings (measured × %g):\n%s", name, s.k, strings.Join(figures, "\n"))
		})
	}
}
