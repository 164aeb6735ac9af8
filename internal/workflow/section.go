package workflow

import (
	"context"
	"slices"
	"sync"

	"github.com/socmond/socmond/internal/awsclient"
	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/probes"
	"github.com/socmond/socmond/internal/report"
)

// Section is the "Workflow" section of `socmond validate`: one passive
// round of each pipeline (config.Places), in config order, as rows, each
// with its pipeline's place; none when the passive check is disabled.
// The pipelines run at once, so one whose account cannot be reached does
// not hold the others.
func Section(ctx context.Context, cfg *config.Config, c *awsclient.Clients) []report.Section {
	if !cfg.WorkflowEnabled() {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Workflow.Timeout.D())
	defer cancel()
	places := cfg.Places()
	rows := make([][]report.Row, len(places))
	var wg sync.WaitGroup
	for i, place := range places {
		wg.Go(func() {
			pc, err := cfg.ClientsAt(c, place)
			if err != nil {
				rows[i] = []report.Row{{Name: "Workflow clients", Verdict: report.Fail, Summary: err.Error(), Service: "workflow", Place: place,
					Status: string(probes.Unavailable), Class: string(probes.ClassAuth)}}
				return
			}
			rows[i] = passiveRows(PassiveAt(cfg, pc, place).Run(ctx))
		})
	}
	wg.Wait()
	return []report.Section{{Title: "Workflow", Rows: slices.Concat(rows...)}}
}

// passiveRows are one passive round's rows.
func passiveRows(rep PassiveReport) []report.Row {
	var rows []report.Row
	for _, ck := range rep.Checks {
		v := report.Fail
		if ck.OK {
			v = report.Pass
		}
		rows = append(rows, report.Row{Name: "Workflow " + ck.Name, Resource: ck.Resource, Verdict: v, Summary: ck.Reason,
			Duration: ck.Duration, Service: "workflow", Place: rep.Place, Check: ck.Name, Status: string(ck.Status()), Class: string(ck.Class),
			Code: ck.Code, RequestID: ck.RequestID, Hint: ck.Hint, Start: rep.At})
	}
	for _, row := range report.ProbeRows(slices.Concat(rep.Lambdas, rep.DeadLetters)) {
		row.Name = "Discovered " + row.Name
		rows = append(rows, row)
	}
	return rows
}
