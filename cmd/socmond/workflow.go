package main

import (
	"context"
	"fmt"
	"time"

	"github.com/socmond/socmond/internal/alerting"
	"github.com/socmond/socmond/internal/awsclient"
	"github.com/socmond/socmond/internal/config"
	"github.com/socmond/socmond/internal/leader"
	"github.com/socmond/socmond/internal/probes"
	"github.com/socmond/socmond/internal/report"
	"github.com/socmond/socmond/internal/server"
	"github.com/socmond/socmond/internal/workflow"
)

// Alert names of the workflow (a contract with deploy/ and the runbooks).
const (
	alertWorkflowExecutionsFailing = "WorkflowExecutionsFailing"
	alertCanaryFailed              = "CanaryFailed"
)

// attachWorkflow runs the passive workflow check on every replica and,
// when the canary is enabled, the scheduled canary on the elected leader:
// metrics, the "workflow" panel, alerts, and discovered Lambda functions
// recorded like probes.
func attachWorkflow(d *daemon) error {
	cfg := d.cfg
	runCanary := cfg.Canary.Enabled && cfg.CanaryLeader()
	if !cfg.WorkflowEnabled() && !runCanary {
		return nil
	}
	r := &workflow.Runner{PassiveSchedule: cfg.Workflow.Schedule, PassiveTimeout: cfg.Workflow.Timeout.D(),
		CanarySchedule: cfg.Canary.Schedule, Metrics: workflow.NewMetrics(d.metrics.Registry(), cfg.Pipeline.StateMachine, *cfg.Workflow.FailureRatio)}
	if cfg.WorkflowEnabled() {
		r.Passive = workflow.PassiveFromConfig(cfg, d.clients)
	}
	if runCanary {
		r.Canary = workflow.CanaryFromConfig(cfg, d.clients)
		r.Leader = d.elector
	}
	// Discovered functions join the Lambda health like configured ones.
	r.SubscribePassive(func(rep workflow.PassiveReport) {
		for _, res := range rep.Lambdas {
			d.monitor.Record(res, lambdaTarget(cfg, res.Resource))
		}
	})
	if d.alerts != nil {
		raise := workflowRaiser(d.alerts)
		r.SubscribePassive(func(rep workflow.PassiveReport) { raise(executionsSignal(cfg, rep)) })
		r.SubscribeCanary(func(rep workflow.CanaryReport) { raise(canarySignal(cfg, rep)) })
	}
	if runCanary {
		// A replica that stops leading runs no more canaries, so it
		// withdraws its last verdict: its CanaryFailed resolves and its
		// canary series go, as when a leader stops for good. The new
		// leader reports at its next scheduled run.
		leading := d.elector.Status().Leading
		d.elector.Subscribe(func(st leader.Status) {
			if leading && !st.Leading {
				r.ForgetCanary()
				if d.alerts != nil {
					s := workflowSignal(alertCanaryFailed, cfg.Pipeline.StateMachine, false, "", "", "")
					workflowRaiser(d.alerts)(s)
				}
			}
			leading = st.Leading
		})
	}
	d.panels = append(d.panels, workflowPanel(r))
	d.background = append(d.background, func(ctx context.Context) {
		if err := r.Run(ctx); err != nil {
			d.log.Error().Err(err).Msg("workflow checks not scheduled")
		}
	})
	return nil
}

func lambdaTarget(cfg *config.Config, fn string) config.Target {
	return cfg.DiscoveredTarget(probes.ServiceLambda, fn, "")
}

// workflowRaiser raises the workflow's alerts under the tenant in force.
// The workflow checks keep the config of the start, but a reload may change
// the tenant, and the engine then moves the alerts in force to it
// (Engine.Reconcile); a signal under the start's tenant would raise a
// second alert beside the moved one, which nothing would evaluate again.
func workflowRaiser(e *alerting.Engine) func(alerting.Signal) {
	return func(s alerting.Signal) {
		s.Labels["tenant"] = e.Settings().Tenant
		e.Set(s, time.Now())
	}
}

// workflowSignal is a workflow alert's signal; workflowRaiser adds the
// tenant label. Both workflow alerts page (docs/alerting.md): investigations
// are being lost. The severity must be one Alertmanager's routing knows
// (config.Severities); any other falls through to the ticket queue.
func workflowSignal(name, resource string, active bool, summary, description, hint string) alerting.Signal {
	return alerting.Signal{
		Labels: map[string]string{"alertname": name, "service": "workflow", "resource": resource,
			"severity": "page"},
		Annotations: map[string]string{"summary": summary, "description": description, "hint": hint},
		Active:      active,
	}
}

func executionsSignal(cfg *config.Config, rep workflow.PassiveReport) alerting.Signal {
	// docs/alerting.md: the ratio breaches, at least two failed, and the
	// newest finished execution failed (so it resolves when one succeeds,
	// not an execution window later).
	x := rep.Executions
	active := x.Failing() && x.FailureRatio > *cfg.Workflow.FailureRatio
	desc := "no executions could be listed"
	if x != nil {
		desc = fmt.Sprintf("%d of %d executions in the last %s failed (threshold %.0f%%)", x.Failed, x.Total, x.Window, 100**cfg.Workflow.FailureRatio)
		if f := x.NewestFailure; f != nil {
			desc += fmt.Sprintf("; newest failure in state %q: %s: %s", f.State, f.Error, f.Cause)
		}
	}
	return workflowSignal(alertWorkflowExecutionsFailing, cfg.Pipeline.StateMachine, active,
		"SOC pipeline executions are failing", desc, "Open the newest failed execution in the Step Functions console and the failing stage's CloudWatch logs.")
}

func canarySignal(cfg *config.Config, rep workflow.CanaryReport) alerting.Signal {
	desc := "all eight steps passed"
	if s, failed := rep.FailedStep(); failed {
		desc = fmt.Sprintf("step %d (%s) failed: %s", s.Number, s.Name, s.Reason)
	}
	return workflowSignal(alertCanaryFailed, cfg.Pipeline.StateMachine, !rep.Passed,
		"The synthetic end-to-end canary failed", desc, "Run `socmond e2e` to reproduce; the failed step names the stage.")
}

// workflowPanel renders the latest passive round and canary run.
func workflowPanel(r *workflow.Runner) server.PanelSource {
	return func(time.Time) server.Panel {
		p := server.Panel{ID: "workflow", Title: "Workflow and canary"}
		passive, canary := r.Latest()
		if passive != nil {
			for _, c := range passive.Checks {
				p.Items = append(p.Items, server.PanelItem{Name: c.Name, Resource: c.Resource, State: passFail(c.OK), OK: c.OK, Reason: c.Reason, At: passive.At})
			}
			for _, l := range passive.Lambdas {
				p.Items = append(p.Items, server.PanelItem{Name: "discovered_function", Resource: l.Resource, State: string(l.Status),
					OK: l.Status == probes.Healthy, Reason: l.Detail, Hint: l.Hint, At: l.Start})
			}
		}
		if canary != nil {
			for _, s := range canary.Steps {
				p.Items = append(p.Items, server.PanelItem{Name: "canary_" + s.Name, Resource: canary.InvestigationID, State: s.Status,
					OK: s.Status == workflow.Passed, Reason: s.Reason, At: canary.Start,
					Details: map[string]string{"step": fmt.Sprint(s.Number), "duration": s.Duration.Round(time.Millisecond).String()}})
			}
		}
		return p
	}
}

func passFail(ok bool) string {
	if ok {
		return "pass"
	}
	return "fail"
}

// workflowSection is the "Workflow" section of `socmond validate`: one
// passive round as rows.
func workflowSection(ctx context.Context, cfg *config.Config, c *awsclient.Clients) []report.Section {
	if !cfg.WorkflowEnabled() {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Workflow.Timeout.D())
	defer cancel()
	rep := workflow.PassiveFromConfig(cfg, c).Run(ctx)
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
	for _, row := range report.ProbeRows(rep.Lambdas) {
		row.Name = "Discovered " + row.Name
		rows = append(rows, row)
	}
	return []report.Section{{Title: "Workflow", Rows: rows}}
}
