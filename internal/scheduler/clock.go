package scheduler

import "time"

// Clock is where the scheduler gets its time from. Production uses the wall
// clock; tests pass a fake they advance by hand, so schedules can be checked
// without sleeping.
type Clock interface {
	Now() time.Time
	// At returns a channel that receives once the clock has reached t
	// (at once if it already has), and a function that releases the timer
	// early. The time is absolute so that a fake clock advanced between
	// Now and At cannot push the deadline back.
	At(t time.Time) (<-chan time.Time, func())
}

// wallClock is the production Clock.
type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

func (wallClock) At(t time.Time) (<-chan time.Time, func()) {
	tm := time.NewTimer(time.Until(t))
	return tm.C, func() { tm.Stop() }
}
