package workflow

import (
	"context"
	"slices"

	"github.com/socmond/socmond/internal/awsclient"
	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/report"
)

// Section is the "Workflow" section of `socmond validate`: one passive
// round as rows; none when the passive check is disabled.
func Section(ctx context.Context, cfg *config.Config, c *awsclient.Clients) []report.Section {
	if !cfg.WorkflowEnabled() {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Workflow.Timeout.D())
	defer cancel()
	rep := PassiveFromConfig(cfg, c).Run(ctx)
	var rows []report.Row
	for _, ck := range rep.Checks {
		v := report.Fail
		if ck.OK {
			v = report.Pass
		}
		rows = append(rows, report.Row{Name: "Workflow " + ck.Name, Resource: ck.Resource, Verdict: v, Summary: ck.Reason,
			Duration: ck.Duration, Service: "workflow", Check: ck.Name, Status: string(ck.Status()), Class: string(ck.Class),
			Code: ck.Code, RequestID: ck.RequestID, Start: rep.At})
	}
	for _, row := range report.ProbeRows(slices.Concat(rep.Lambdas, rep.DeadLetters)) {
		row.Name = "Discovered " + row.Name
		rows = append(rows, row)
	}
	return []report.Section{{Title: "Workflow", Rows: rows}}
}
