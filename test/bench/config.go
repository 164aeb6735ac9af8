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
