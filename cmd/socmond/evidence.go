package main

import (
	"context"
	"fmt"

	"github.com/alecthomas/kingpin/v2"

	"github.com/socmond/socmond/internal/awsclient"
	"github.com/socmond/socmond/internal/compliance"
)

// evidenceCommand is `socmond evidence verify s3://bucket/key`: it reads a
// compliance evidence report back and checks its SHA-256 checksum, its
// SSE-KMS key and its COMPLIANCE retention (exit codes: its help).
func evidenceCommand(app *kingpin.Application, g *globals) (*kingpin.CmdClause, func() int) {
	cmd := app.Command("evidence", "Work with compliance evidence reports in the audit bucket.")
	verify := cmd.Command("verify", withExitCodes("Verify a report's checksum, encryption and retention.",
		"0 verified, 1 not, 2 usage/config error, 3 unreadable, 4 no AWS credentials"))
	uri := verify.Arg("uri", "The report, as s3://bucket/key.").Required().String()
	return verify, func() int {
		cfg, err := g.loadConfig()
		if err != nil {
			return g.configError(err)
		}
		bucket, key, err := compliance.ParseS3URI(*uri)
		if err != nil {
			return g.configError(err)
		}
		ctx, cancel := signalContext()
		defer cancel()
		clients, err := g.oneShotClients(ctx, cfg)
		if err != nil {
			return g.clientsError(err)
		}
		return verifyEvidence(ctx, g, clients, cfg.Pipeline.KMSKey,
			compliance.Retention{Years: cfg.Compliance.MinRetention.Years, Days: cfg.Compliance.MinRetention.Days}, bucket, key)
	}
}

func verifyEvidence(ctx context.Context, g *globals, c *awsclient.Clients, kmsKey string, min compliance.Retention, bucket, key string) int {
	var want compliance.WantKey
	if kmsKey != "" {
		want = compliance.ResolveKey(ctx, c.KMS, kmsKey)
	}
	v, err := compliance.Verify(ctx, c.S3, bucket, key, want, min)
	if err != nil {
		fmt.Fprintf(g.stderr, "socmond: %v\n", err)
		return exitRuntime
	}
	for _, ck := range v.Checks {
		verdict := "PASS"
		if !ck.OK {
			verdict = "FAIL"
		}
		fmt.Fprintf(g.stdout, "%-4s %-10s %s\n", verdict, ck.Name, ck.Detail)
	}
	if !v.OK() {
		fmt.Fprintf(g.stdout, "s3://%s/%s: NOT VERIFIED\n", bucket, key)
		return exitFailed
	}
	fmt.Fprintf(g.stdout, "s3://%s/%s: verified (report of %s, %d findings, all passed: %t)\n",
		bucket, key, v.Report.GeneratedAt.Format("2006-01-02T15:04:05Z"), len(v.Report.Findings), v.Report.AllPassed)
	return exitOK
}
