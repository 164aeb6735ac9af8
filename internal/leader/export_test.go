package leader

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"
)

// The sole replica of the none backend leads: socmond_leader is 1 and the
// panel says so with its fencing token.
func TestExportShowsTheLeader(t *testing.T) {
	reg := prometheus.NewRegistry()
	panel, err := Export(NewNone("replica-a"), reg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if n, err := testutil.GatherAndCount(reg, "socmond_leader"); err != nil || n != 1 {
		t.Fatalf("socmond_leader series %d, %v", n, err)
	}
	mfs, _ := reg.Gather()
	if v := mfs[0].GetMetric()[0].GetGauge().GetValue(); v != 1 {
		t.Errorf("socmond_leader = %v, want 1", v)
	}
	p := panel(time.Now())
	if it := p.Items[0]; p.ID != "leader" || it.State != "leading" || !it.OK || it.Details["identity"] != "replica-a" {
		t.Errorf("panel %+v", p)
	}
}
