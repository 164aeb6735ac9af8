package probes

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/socmond/socmond/internal/awsclient"
	"github.com/socmond/socmond/internal/awssim"
)

// SimClients starts a simulator holding seed and builds the clients against
// it with the production factory (awsclient.New), so tests and benchmarks
// in both test packages talk through the daemon's own transport, retry
// policy and connections.
func SimClients(tb testing.TB, seed awssim.Seed) (*awssim.Sim, *awsclient.Clients) {
	tb.Helper()
	sim, url := awssim.Serve(tb, seed)
	c, err := awsclient.New(context.Background(), awsclient.Options{Region: "us-east-1", Endpoint: url,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDSIMCLIENTS", "secret", "")})
	if err != nil {
		tb.Fatal(err)
	}
	return sim, c
}

// HeldFor is how long the simulator held the answer with request id rid.
var HeldFor = heldFor

// Backlog is backlog, for the tests of Run in package probes_test.
var Backlog = backlog
