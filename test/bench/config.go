package main

import (
	"fmt"
	"strings"
)

// benchRegion is the region every generated config and signature scope uses.
const benchRegion = "us-east-1"

// tableName is the i-th generated DynamoDB table.
func tableName(i int) string { return fmt.Sprintf("bench-table-%05d", i) }

// socmondConfig is a socmond configuration probing n DynamoDB tables on one
// schedule: the same call, DescribeTable, that the blackbox module makes.
func socmondConfig(n int, schedule string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "region: %s\ntenant: bench\ndefaults:\n  schedule: %q\n  timeout: 10s\nservices:\n  dynamodb:\n    resources:\n", benchRegion, schedule)
	for i := range n {
		fmt.Fprintf(&b, "      - name: %s\n", tableName(i))
	}
	return b.String()
}

// fakeAuthorization is a SigV4-shaped Authorization header with a made-up
// signature: the simulator checks the shape and scope, not the signature,
// and blackbox_exporter cannot sign.
const fakeAuthorization = "AWS4-HMAC-SHA256 Credential=bench/20260101/" + benchRegion + "/dynamodb/aws4_request, " +
	"SignedHeaders=content-type;host;x-amz-date;x-amz-target, " +
	"Signature=0000000000000000000000000000000000000000000000000000000000000000"

// blackboxConfig is a blackbox_exporter module that POSTs a DescribeTable
// request and, like socmond's probe, fails unless the table is ACTIVE.
func blackboxConfig(table string) string {
	return fmt.Sprintf(`modules:
  ddb:
    prober: http
    timeout: 10s
    http:
      method: POST
      preferred_ip_protocol: ip4
      valid_status_codes: [200]
      headers:
        Content-Type: application/x-amz-json-1.0
        X-Amz-Target: DynamoDB_20120810.DescribeTable
        X-Amz-Date: 20260101T000000Z
        Authorization: %q
      body: '{"TableName":"%s"}'
      fail_if_body_not_matches_regexp:
        - '"TableStatus":"ACTIVE"'
`, fakeAuthorization, table)
}

// The across-accounts scale run: the same DynamoDB tables, spread over
// benchAccounts accounts in each of benchRegions, every account reached
// through its own role (one tenant per account, its pipeline in both
// regions), so what it adds over the one-account run is the accounts:
// machinery alone — role sessions, per-place clients and labels.
const benchAccounts = 50

var benchRegions = []string{benchRegion, "eu-west-1"}

// benchAccountID is the i-th generated account's id.
func benchAccountID(i int) string { return fmt.Sprintf("1000000000%02d", i) }

// benchRoleARN is the role socmond assumes in account id.
func benchRoleARN(id string) string { return "arn:aws:iam::" + id + ":role/socmond-bench" }

// accountsConfig is a socmond configuration probing n DynamoDB tables on
// one schedule, spread evenly over benchAccounts accounts × benchRegions:
// services: is the template every tenant's pipeline instantiates, so each
// account and region holds n/(accounts × regions) tables with the names
// tableName(0…) — another account's table of the same name is another
// resource. `socmond sim` seeded from the same text serves each account's
// role and tables in each region.
func accountsConfig(n int, schedule string) string {
	places := benchAccounts * len(benchRegions)
	var b strings.Builder
	fmt.Fprintf(&b, "region: %s\ntenant: bench\ndefaults:\n  schedule: %q\n  timeout: 10s\naccounts:\n", benchRegion, schedule)
	for i := range benchAccounts {
		id := benchAccountID(i)
		fmt.Fprintf(&b, "  - id: %q\n    role_arn: %s\n    regions: [%s]\n", id, benchRoleARN(id), strings.Join(benchRegions, ", "))
	}
	b.WriteString("tenants:\n")
	for i := range benchAccounts {
		fmt.Fprintf(&b, "  - name: tenant-%02d\n    pipelines: [{account: %q}]\n", i, benchAccountID(i))
	}
	b.WriteString("services:\n  dynamodb:\n    resources:\n")
	for i := range (n + places - 1) / places {
		fmt.Fprintf(&b, "      - name: %s\n", tableName(i))
	}
	return b.String()
}
