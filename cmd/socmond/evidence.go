package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/alecthomas/kingpin/v2"

	"github.com/socmond/socmond/internal/awsclient"
	"github.com/socmond/socmond/internal/compliance"
	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/probes"
)

// evidenceCommand is `socmond evidence verify s3://bucket/key`: it reads a
// compliance evidence report back and checks its SHA-256 checksum, its
// SSE-KMS key and its COMPLIANCE retention (exit codes: its help). With
// tenants:, a report is of one tenant's pipeline, read with its account's
// role in its region and checked against its key: the pipeline whose
// audit bucket the URI names, or the one --tenant, --account and --region
// select.
func evidenceCommand(app *kingpin.Application, g *globals) (*kingpin.CmdClause, func() int) {
	cmd := app.Command("evidence", "Work with compliance evidence reports in the audit bucket.")
	verify := cmd.Command("verify", withExitCodes("Verify a report's checksum, encryption and retention.",
		"0 verified, 1 not, 2 usage/config error, 3 unreadable, 4 no AWS credentials"))
	uri := verify.Arg("uri", "The report, as s3://bucket/key.").Required().String()
	var want probes.Place
	verify.Flag("tenant", "With tenants: in the config, the tenant whose pipeline wrote the report.").StringVar(&want.Tenant)
	verify.Flag("account", "With tenants: in the config, the account of the pipeline that wrote the report.").StringVar(&want.Account)
	verify.Flag("region", "With tenants: in the config, the region of the pipeline that wrote the report.").StringVar(&want.Region)
	return verify, func() int {
		cfg, err := g.loadConfig()
		if err != nil {
			return g.configError(err)
		}
		bucket, key, err := compliance.ParseS3URI(*uri)
		if err != nil {
			return g.configError(err)
		}
		place, err := evidencePlace(cfg, want, bucket)
		if err != nil {
			return g.configError(err)
		}
		ctx, cancel := signalContext()
		defer cancel()
		base, err := g.oneShotClients(ctx, cfg)
		if err != nil {
			return g.clientsError(err)
		}
		clients, err := cfg.ClientsAt(base, place)
		if err != nil {
			return g.configError(err)
		}
		return verifyEvidence(ctx, g, clients, cfg.PipelineAt(place).KMSKey,
			compliance.Retention{Years: cfg.Compliance.MinRetention.Years, Days: cfg.Compliance.MinRetention.Days}, bucket, key)
	}
}

// evidencePlace is the pipeline whose report is in bucket: the one
// pipeline of a config without tenants; with tenants, among the pipelines
// --tenant, --account and --region select, the only one, else the only one
// whose audit bucket is bucket. An error says which flags choose.
func evidencePlace(cfg *config.Config, want probes.Place, bucket string) (probes.Place, error) {
	places := cfg.Places()
	if len(places) == 1 && places[0].IsZero() {
		if !want.IsZero() {
			return probes.Place{}, fmt.Errorf("--tenant, --account and --region choose a tenant's pipeline, and the configuration has no tenants:")
		}
		return places[0], nil
	}
	var chosen []probes.Place
	for _, p := range places {
		if (want.Tenant == "" || p.Tenant == want.Tenant) && (want.Account == "" || p.Account == want.Account) &&
			(want.Region == "" || p.Region == want.Region) {
			chosen = append(chosen, p)
		}
	}
	if len(chosen) > 1 {
		var in []probes.Place
		for _, p := range chosen {
			if cfg.PipelineAt(p).AuditBucket == bucket {
				in = append(in, p)
			}
		}
		if len(in) > 0 {
			chosen = in
		}
	}
	switch len(chosen) {
	case 1:
		return chosen[0], nil
	case 0:
		return probes.Place{}, fmt.Errorf("no tenant's pipeline is tenant %q, account %q, region %q: the pipelines are %s",
			want.Tenant, want.Account, want.Region, placeList(places))
	}
	return probes.Place{}, fmt.Errorf("s3://%s is not the audit bucket of exactly one pipeline of %s: give --tenant, --account or --region to choose the pipeline that wrote the report",
		bucket, placeList(chosen))
}

// placeList names places for a person.
func placeList(places []probes.Place) string {
	names := make([]string, len(places))
	for i, p := range places {
		names[i] = fmt.Sprintf("--tenant %s --account %s --region %s", p.Tenant, p.Account, p.Region)
	}
	return strings.Join(names, "; ")
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
	where := ""
	if p := v.Report.Place; !p.IsZero() {
		where = fmt.Sprintf(" of tenant %s, account %s, %s", p.Tenant, p.Account, p.Region)
	}
	fmt.Fprintf(g.stdout, "s3://%s/%s: verified (report%s of %s, %d findings, all passed: %t)\n",
		bucket, key, where, v.Report.GeneratedAt.Format("2006-01-02T15:04:05Z"), len(v.Report.Findings), v.Report.AllPassed)
	return exitOK
}
