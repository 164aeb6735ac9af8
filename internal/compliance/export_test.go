package compliance

import "context"

// EvidenceRound runs a round as the evidence schedule does: it writes a
// report whatever changed.
func (r *Runner) EvidenceRound(ctx context.Context) []Finding { return r.round(ctx, true) }
