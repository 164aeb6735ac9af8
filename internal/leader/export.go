package leader

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/socmond/socmond/internal/server"
)

// Export shows the election in the daemon: socmond_leader on reg, a log
// line on each change, and the "leader" panel it returns for
// /api/v1/status and the status page.
func Export(e Elector, reg prometheus.Registerer, log zerolog.Logger) (server.PanelSource, error) {
	if err := reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "socmond_leader",
		Help: "1 while this replica holds a valid leader lease and does the singleton work (canary, compliance evidence, Bedrock runtime probe); 0 on the others.",
	}, func() float64 {
		if _, ok := e.Term(); ok {
			return 1
		}
		return 0
	})); err != nil {
		return nil, err
	}
	log = log.With().Str("component", "leader").Str("backend", e.Status().Backend).Str("identity", e.Status().Identity).Logger()
	e.Subscribe(func(st Status) {
		switch {
		case st.Leading:
			log.Info().Int64("token", st.Token).Msg("this replica leads: it runs the canary, writes compliance evidence and probes Bedrock runtime")
		case st.Leader != "":
			log.Info().Str("leader", st.Leader).Msg("another replica leads: this one probes and serves metrics")
		default:
			log.Warn().Msg("no replica is known to lead")
		}
	})
	return panel(e), nil
}

// panel shows who leads in /api/v1/status and on the status page.
func panel(e Elector) server.PanelSource {
	return func(time.Time) server.Panel {
		st := e.Status()
		it := server.PanelItem{Name: "leader", Resource: st.Backend, State: "standby", OK: st.Leader != "", At: st.Since,
			Details: map[string]string{"backend": st.Backend, "identity": st.Identity, "leader": st.Leader}}
		switch {
		case st.Leading:
			it.State, it.OK = "leading", true
			it.Reason = "This replica (" + st.Identity + ") leads: it runs the canary, writes compliance evidence and probes Bedrock runtime."
			it.Details["token"] = fmt.Sprint(st.Token)
		case st.Leader != "":
			it.Reason = st.Leader + " leads; this replica (" + st.Identity + ") probes and serves metrics."
		default:
			it.State = "no_leader"
			it.Reason = "No replica holds the lease: the canary, evidence writes and Bedrock runtime probe wait for one."
			it.Hint = "Check the lease's backend (Kubernetes API and RBAC for leases, or the DynamoDB lease table and its IAM actions); see docs/operations.md."
		}
		return server.Panel{ID: "leader", Title: "Leader election", Items: []server.PanelItem{it}}
	}
}
