package monitor

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/socmond/socmond/internal/awsclient"
	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/probes"
	"github.com/socmond/socmond/internal/testenv"
)

func checkSetConfig(t *testing.T, region, table string) *config.Config {
	t.Helper()
	cfg, err := config.Parse("c.yaml", []byte(`
region: `+region+`
services:
  dynamodb:
    resources: [{name: `+table+`}]
  bedrock:
    resources: [{name: amazon.titan-embed-text-v2:0}]
    runtime: {enabled: true}
`), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func clientsFor(t *testing.T, region string) *awsclient.Clients {
	t.Helper()
	c, err := awsclient.New(context.Background(), awsclient.Options{Region: region, Endpoint: "http://127.0.0.1:1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The checks in force follow a reload (Check, then Apply) and the
// leadership (Lead): the billed runtime check exists only while leading,
// a change of leadership between a reload's Check and its Apply is
// honoured, and another region means new clients.
func TestCheckSetFollowsReloadAndLeadership(t *testing.T) {
	var logs testenv.Buffer
	mon, _ := newMonitor(t, &logs)
	var built []string
	cs, err := NewCheckSet(CheckSetOptions{Monitor: mon, Config: checkSetConfig(t, "us-east-1", "t1"), Clients: clientsFor(t, "us-east-1"),
		NewClients: func(region string) (*awsclient.Clients, error) {
			built = append(built, region)
			return clientsFor(t, region), nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	keys := func() []string {
		mon.mu.RLock()
		defer mon.mu.RUnlock()
		var out []string
		for k := range mon.checks {
			out = append(out, k)
		}
		slices.Sort(out)
		return out
	}
	if got := keys(); !slices.Equal(got, []string{"bedrock/amazon.titan-embed-text-v2:0", "dynamodb/t1"}) {
		t.Fatalf("not leading: %v", got)
	}
	if err := cs.Lead(true); err != nil {
		t.Fatal(err)
	}
	if got := keys(); len(got) != 3 {
		t.Fatalf("leading: %v, want the runtime check too", got)
	}

	next := checkSetConfig(t, "us-east-1", "t2")
	c, err := cs.Clients(next)
	if err != nil || len(built) != 0 {
		t.Fatalf("same region: clients built for %v (%v)", built, err)
	}
	if err := cs.Check(next, c); err != nil {
		t.Fatal(err)
	}
	if err := cs.Lead(false); err != nil { // between the reload's Check and Apply
		t.Fatal(err)
	}
	if err := cs.Apply(next, c); err != nil {
		t.Fatal(err)
	}
	if got := keys(); !slices.Equal(got, []string{"bedrock/amazon.titan-embed-text-v2:0", "dynamodb/t2"}) {
		t.Fatalf("after the reload, no longer leading: %v", got)
	}
	if th, ok := cs.Thresholds(probeTarget("dynamodb", "t2")); !ok || th.Schedule == "" {
		t.Fatalf("thresholds of t2: %+v %t", th, ok)
	}

	other := checkSetConfig(t, "eu-west-1", "t2")
	if c, err = cs.Clients(other); err != nil || !slices.Equal(built, []string{"eu-west-1"}) || c.Config.Region != "eu-west-1" {
		t.Fatalf("another region: built %v, %v", built, err)
	}
}

func probeTarget(service, resource string) probes.Target {
	return probes.Target{Service: service, Resource: resource}
}
