package probes

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/smithy-go"

	"github.com/socmond/socmond/internal/awsclient"
)

// Observation is what one call saw before timing and classification are applied.
type Observation struct {
	Check     string // AWS operation name, e.g. "DescribeTable"
	Status    Status // from the response when the call succeeded (e.g. degraded for UPDATING)
	Class     Class  // ClassInvalidState when the status comes from a resource state; "" if healthy
	Detail    string // what was seen: "TableStatus UPDATING", "model LEGACY, end of life 2026-…"
	Hint      string // for state-derived problems
	RequestID string
	Backlog   *int64 // items the resource holds that the pipeline could not deliver, for probes that read one (see backlog)
	Err       error  // the SDK error, if the call failed; Run classifies it
}

// Options bound one probe run.
type Options struct {
	Timeout       time.Duration    // the probe's deadline (context.WithTimeout around Check); 0 means none
	SlowThreshold time.Duration    // a successful call slower than this is Degraded with ClassSlow; 0 disables
	Now           func() time.Time // nil → time.Now
}

// Hinter is implemented by probes that know service-specific advice for a
// failure. Run asks it first and falls back to DefaultHint when it has
// nothing to say.
type Hinter interface {
	// place is the probed resource's (Target.Place): a pipeline's resource
	// is looked for in its account and region, not AWS_REGION's.
	Hint(place Place, class Class, code string, err error) string
}

// Run performs one check of p: exactly one attempt under its own deadline,
// timed around the call, classified into a Result. It does not recover
// panics; the scheduler owns that, so a bug is reported once, in one place.
func Run(ctx context.Context, p Probe, o Options) Result {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	growStack() // stack.go
	// The clock starts before the deadline does, so a call that ran into
	// its deadline is never reported shorter than the deadline.
	start := now()
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	var wire wireTimer
	ctx = wire.trace(ctx)
	obs := p.Check(ctx)
	whole := now().Sub(start)
	// What AWS took, not what the call cost socmond (see wireTimer). A
	// caller's own clock (tests) keeps the whole-call timing it controls.
	elapsed := whole
	if d, ok := wire.took(); ok && o.Now == nil {
		elapsed = d
	}

	r := Result{
		Target:    p.Target(),
		Check:     obs.Check,
		Start:     start,
		Duration:  elapsed,
		Status:    obs.Status,
		Class:     obs.Class,
		RequestID: obs.RequestID,
		Hint:      obs.Hint,
		Detail:    obs.Detail,
		Backlog:   obs.Backlog,
	}

	if obs.Err != nil {
		class, code, rid := Classify(obs.Err)
		if rc, ok := unplaced(p).(reclassifier); ok {
			class = rc.reclassify(class, code, obs.Err)
		}
		// When the deadline passes mid-body, the transport closes the
		// connection and the SDK may report only "use of closed network
		// connection" or a body it could not decode, without the deadline
		// error. The deadline is the cause: say timeout. An answer AWS
		// gave (throttled, auth, not found) stands.
		if ctx.Err() != nil && (class == ClassNetwork || class == ClassServer || class == ClassOther) {
			class, code = ClassTimeout, ""
		}
		// A call that timed out took at least its deadline, however early
		// its last byte came (a body trickling in until the deadline): the
		// whole time since the clock started, which was before the deadline.
		if class == ClassTimeout {
			r.Duration = whole
		}
		r.Status = StatusFor(class)
		r.Class = class
		r.Code = code
		if rid != "" {
			r.RequestID = rid
		}
		r.Detail = errorDetail(obs.Err)
		r.Hint = hintFor(p, class, code, obs.Err)
		return r
	}

	if r.Status == "" {
		r.Status = Healthy
	}
	// A probe that reports a bad state without a class still failed for a
	// reason a person can look up; say it was the resource's state.
	if r.Status != Healthy && r.Class == ClassNone {
		r.Class = ClassInvalidState
	}
	if r.Status == Healthy && o.SlowThreshold > 0 && elapsed > o.SlowThreshold {
		r.Status = Degraded
		r.Class = ClassSlow
		slow := fmt.Sprintf("response %s over threshold %s", round(elapsed), o.SlowThreshold)
		if r.Detail != "" {
			slow += "; " + r.Detail
		}
		r.Detail = slow
		r.Hint = ""
	}
	if r.Class != ClassNone && r.Hint == "" {
		r.Hint = hintFor(p, r.Class, "", nil)
	}
	return r
}

// reclassifier is implemented by probes whose service uses a generic code
// in its own way, such as S3 answering HEAD with a bare 503 when it means
// "slow down".
type reclassifier interface {
	reclassify(class Class, code string, err error) Class
}

func hintFor(p Probe, class Class, code string, err error) string {
	var assume *awsclient.AssumeRoleError
	if errors.As(err, &assume) {
		return "socmond could not assume the role of this resource's account, so nothing was sent to it: " + assume.Hint()
	}
	if err != nil && isCredentialError(err) {
		if t := p.Target(); !t.Place.IsZero() {
			// The probe gave up waiting for its account's credentials (an
			// AssumeRole that had not answered yet).
			return fmt.Sprintf("socmond could not obtain the credentials of account %s (%s) before the probe's deadline, so nothing was sent: "+
				"check that STS answers AssumeRole for the account's role from here (VPC endpoint, proxy), and its trust policy", t.Account, t.Region)
		}
		return credentialHint
	}
	if h, ok := unplaced(p).(Hinter); ok {
		if s := h.Hint(p.Target().Place, class, code, err); s != "" {
			return s
		}
	}
	return DefaultHint(p.Target(), class)
}

// credentialHint is the advice when no request could be signed: the
// problem is socmond's identity, not any one service's permissions.
const credentialHint = "socmond could not obtain AWS credentials, so nothing was sent: check the role it runs under " +
	"(on EKS the IRSA web identity token and role ARN, on ECS the task role, elsewhere the instance profile or " +
	"AWS_* variables), that STS is reachable from here (VPC endpoint, proxy), and that the clock is right"

// round keeps durations readable in details: "6.01s", not "6.010234567s".
func round(d time.Duration) time.Duration {
	if d >= time.Second {
		return d.Round(10 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}

// invalid records a state-derived problem seen in a successful response.
func invalid(obs Observation, s Status, detail, hint string) Observation {
	obs.Status = s
	obs.Class = ClassInvalidState
	obs.Detail = detail
	obs.Hint = hint
	return obs
}

// backlog records the items a resource holds that the pipeline could not
// deliver: n of them, more than the resource's allowance when over (then
// DEGRADED with ClassBacklog, the detail and hint saying what they are).
func backlog(obs Observation, n int64, over bool, detail, hint string) Observation {
	obs.Backlog = &n
	obs.Detail = detail
	if !over {
		obs.Status = Healthy
		return obs
	}
	obs.Status = Degraded
	obs.Class = ClassBacklog
	obs.Hint = hint
	return obs
}

// errorDetail is what AWS said, without the SDK's operation and request-id
// wrapping that Result already carries in its own fields.
func errorDetail(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorMessage() != "" {
		return ae.ErrorMessage()
	}
	return err.Error()
}
