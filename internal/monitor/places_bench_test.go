package monitor_test

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/rs/zerolog"

	"github.com/socmond/socmond/internal/awsclient"
	"github.com/socmond/socmond/internal/awssim"
	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/health"
	"github.com/socmond/socmond/internal/metrics"
	"github.com/socmond/socmond/internal/monitor"
	"github.com/socmond/socmond/internal/probes"
	"github.com/socmond/socmond/internal/simseed"
)

// BenchmarkProbeRoundTripAcrossAccounts is BenchmarkProbeRoundTrip over
// 100 DynamoDB tables, round robin, once in one account and region and
// once spread over 50 accounts (one role each) × 2 regions, through the
// daemon's CheckSet: what a probe costs more when its resource is a
// tenant's in another account (the role's cached credentials, the place's
// clients and labels). `make bench` measures the same at 10,000 resources
// in the daemon.
func BenchmarkProbeRoundTripAcrossAccounts(b *testing.B) {
	const tables = 100
	var one, spread strings.Builder
	one.WriteString("region: us-east-1\ndefaults: {schedule: \"@every 1m\", timeout: 10s}\nservices:\n  dynamodb:\n    resources:\n")
	for i := range tables {
		fmt.Fprintf(&one, "      - name: t%03d\n", i)
	}
	spread.WriteString("region: us-east-1\ndefaults: {schedule: \"@every 1m\", timeout: 10s}\naccounts:\n")
	for i := range 50 {
		fmt.Fprintf(&spread, "  - {id: \"1000000000%02d\", role_arn: \"arn:aws:iam::1000000000%02d:role/socmond\", regions: [us-east-1, eu-west-1]}\n", i, i)
	}
	spread.WriteString("tenants:\n")
	for i := range 50 {
		fmt.Fprintf(&spread, "  - {name: t%02d, pipelines: [{account: \"1000000000%02d\"}]}\n", i, i)
	}
	spread.WriteString("services:\n  dynamodb:\n    resources: [{name: t000}]\n")
	for name, text := range map[string]string{"one account": one.String(), "50 accounts × 2 regions": spread.String()} {
		b.Run(name, func(b *testing.B) {
			mon, keys := placesMonitor(b, text)
			if len(keys) != tables {
				b.Fatalf("%d checks, want %d", len(keys), tables)
			}
			done := make(chan probes.Status, 1)
			mon.Subscribe(func(r probes.Result, _ health.Snapshot, _ config.Target) { done <- r.Status })
			mon.Start()
			for range keys { // the first round, AssumeRole included
				if st := <-done; st != probes.Healthy {
					b.Fatalf("first round: %s", st)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			i := 0
			for b.Loop() {
				k := keys[i%len(keys)]
				i++
				for !mon.RunNow(k) { // the previous run is releasing its slot
					runtime.Gosched()
				}
				<-done
			}
		})
	}
}

// placesMonitor runs the checks of config text, through the daemon's
// CheckSet, against a simulator seeded from the same config; it returns
// the monitor, not started, and its checks' keys.
func placesMonitor(b *testing.B, text string) (*monitor.Monitor, []string) {
	cfg, err := config.Parse("bench.yaml", []byte(text), nil)
	if err != nil {
		b.Fatal(err)
	}
	_, url := awssim.Serve(b, simseed.FromConfig(cfg))
	clients, err := awsclient.New(context.Background(), awsclient.Options{Region: cfg.Region, Endpoint: url,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDSIM", "secret", "")})
	if err != nil {
		b.Fatal(err)
	}
	mon := monitor.New(monitor.Options{Logger: zerolog.New(io.Discard), Metrics: metrics.New("test", "abc")})
	if _, err := monitor.NewCheckSet(monitor.CheckSetOptions{Monitor: mon, Config: cfg, Clients: clients}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = mon.Stop(ctx)
	})
	var keys []string
	for _, t := range cfg.Targets() {
		keys = append(keys, t.ID().String())
	}
	return mon, keys
}
