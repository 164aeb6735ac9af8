package workflow

import (
	"context"
	"testing"
	"time"

	"github.com/socmond/socmond/internal/scheduler"
)

// A round cut short because socmond is stopping (the scheduler cancelled
// it at the end of its grace period) saw socmond stop, not the pipeline
// fail: it is not published, so no discovered function's health, no
// metric and no alert comes of it. A round that ran is published.
func TestRunnerDropsRoundsCutShortByStop(t *testing.T) {
	e := startEnv(t, "")
	r := &Runner{
		Passive: &Passive{Events: e.c.EventBridge, SFN: e.c.SFN, Lambda: e.c.Lambda, EventBus: tBus, Rules: []string{tRule},
			StateMachine: tMachine, Window: time.Hour},
		Canary: e.canary(5 * time.Second),
	}
	var passives, canaries int
	r.SubscribePassive(func(PassiveReport) { passives++ })
	r.SubscribeCanary(func(CanaryReport) { canaries++ })

	stopped, cancel := context.WithCancelCause(context.Background())
	cancel(scheduler.ErrStopped)
	r.RunPassive(stopped)
	r.RunCanary(stopped)
	if p, c := r.Latest(); passives != 0 || canaries != 0 || p != nil || c != nil {
		t.Fatalf("rounds cut short by the stop were published: %d passive, %d canary hooks; latest %v %v", passives, canaries, p, c)
	}

	if rep := r.RunPassive(context.Background()); !rep.OK() || passives != 1 {
		t.Fatalf("a round that ran: ok %t, %d hooks; checks %+v", rep.OK(), passives, rep.Checks)
	}
}
