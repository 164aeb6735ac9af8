package probes_test

import (
	"context"
	"testing"
	"time"

	"github.com/socmond/socmond/internal/awsclient"
	"github.com/socmond/socmond/internal/awssim"
	"github.com/socmond/socmond/internal/probes"
)

// BenchmarkRun is one probe run as the daemon makes it: the factory's
// clients, a real SDK call to the simulator over a kept-alive connection,
// and Run's timing on the wire and classification. It is the part of the
// hot path the timing code lives in.
func BenchmarkRun(b *testing.B) {
	for name, mk := range map[string]func(c *awsclient.Clients) probes.Probe{
		"DescribeTable": func(c *awsclient.Clients) probes.Probe { return probes.NewDynamoDBTable(c.DynamoDB, simTable) },
		"HeadBucket":    func(c *awsclient.Clients) probes.Probe { return probes.NewS3Bucket(c.S3, simBucket) },
	} {
		b.Run(name, func(b *testing.B) {
			sim, c := probes.SimClients(b, awssim.Seed{Tables: []string{simTable}, Buckets: []string{simBucket}})
			p := mk(c)
			opts := probes.Options{Timeout: 10 * time.Second, SlowThreshold: 5 * time.Second}
			b.ReportAllocs()
			for b.Loop() {
				if r := probes.Run(context.Background(), p, opts); r.Status != probes.Healthy {
					b.Fatalf("%s: %s %s", r.Status, r.Class, r.Detail)
				}
				// The simulator keeps every call; do not let that grow.
				sim.ResetCalls()
			}
		})
	}
}
