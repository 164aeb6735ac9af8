package health

import (
	"strings"
	"testing"
	"time"

	"github.com/socmond/socmond/internal/probes"
)

// shipped are the conditions' settings socmond resolves for a resource on
// the default 30 s schedule (docs/alerting.md): 5 of the 10 results a 5 m
// window should hold, 30 of the 120 of an hour, clear_for 1.5 intervals.
var shipped = Options{
	ErrorWindow: 5 * time.Minute, AvailabilityWindow: time.Hour,
	ErrorRateThreshold: 0.05, AvailabilityThreshold: 0.99,
	ErrorMinSamples: 5, AvailabilityMinSamples: 60,
	ClearFor: [NumKinds]time.Duration{45 * time.Second, 45 * time.Second, 45 * time.Second, 45 * time.Second},
}

// outcome letters of a scenario, one per 30 s probe: . healthy, T throttled
// (degraded, an error), X unavailable (an error), U a table UPDATING
// (degraded, not an error), S slow, B a dead-letter queue holding messages
// (degraded, not an error).
func result(at time.Time, c byte) probes.Result {
	switch c {
	case 'T':
		return res(at, probes.Degraded, probes.ClassThrottled)
	case 'X':
		return res(at, probes.Unavailable, probes.ClassServer)
	case 'U':
		return res(at, probes.Degraded, probes.ClassInvalidState)
	case 'S':
		return res(at, probes.Degraded, probes.ClassSlow)
	case 'B':
		return res(at, probes.Degraded, probes.ClassBacklog)
	}
	return ok(at)
}

// play feeds the results to a window, 30 s apart, and returns after each
// one the active conditions as letters (s slow, e error rate, a
// availability, b backlog, - none) and the status word's first letter.
func play(o Options, results string) (conds, status string) {
	w := NewWindow(tgt, o)
	var c, st strings.Builder
	for i := range len(results) {
		at := t0.Add(time.Duration(i) * 30 * time.Second)
		s := w.full(w.add(result(at, results[i])))
		letters := ""
		for k, name := range []string{"s", "e", "a", "b"} {
			if s.Conditions[k].Active {
				letters += name
			}
		}
		if letters == "" {
			letters = "-"
		}
		if i > 0 {
			c.WriteByte(' ')
		}
		c.WriteString(letters)
		st.WriteByte(string(s.Status)[0])
	}
	return c.String(), st.String()
}

func TestConditions(t *testing.T) {
	warm := strings.Repeat(".", 60) // half an hour of healthy probes: both guards met
	cases := map[string]struct {
		o       Options
		results string
		// want is the active conditions after each result of the tail
		// (after warm), wantStatus the status words' first letters.
		want, wantStatus string
	}{
		"a hard failure pages at its second probe and resolves at the second good one": {
			shipped, warm + "XXXX...",
			"- ea ea ea ea - -", "uuuuuhh",
		},
		"one failed call never pages": {
			shipped, warm + "X.....",
			"- - - - - -", "uhhhhh",
		},
		"throttling is an error but not unavailability": {
			shipped, warm + "TTT..",
			"- e e e -", "ddddh",
		},
		"failure alternating with success is one episode": {
			shipped, warm + "X.X.X.X..",
			"- - ea ea ea ea ea ea -", "uhuuuuuuh",
		},
		"a state the service reports as normal operation never pages": {
			shipped, warm + "UUUUUUUUUU",
			"- - - - - - - - - -", "dddddddddd",
		},
		"two slow answers in the window are a slow response": {
			shipped, warm + "S.S..",
			"- - s s -", "dhddh",
		},
		"a backlog is confirmed by the next probe and clears at the second empty one": {
			shipped, warm + "BBBB..",
			"- b b b b -", "dddddh",
		},
		"a backlog needs no traffic guard and is no error": {
			shipped, "BB..",
			"- b b -", "dddh",
		},
		"a window too empty to trust pages nothing": {
			// 5 results reach the error window's guard, the hour's needs 60.
			shipped, "XXXXXX",
			"- - - - e e", "uuuuuu",
		},
		"clear_for 0 clears at the first good probe": {
			func() Options { o := shipped; o.ClearFor = [NumKinds]time.Duration{}; return o }(), warm + "XX..",
			"- ea - -", "uuhh",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			conds, status := play(tc.o, tc.results)
			warmups := len(tc.results) - len(strings.Fields(tc.want))
			got := strings.Join(strings.Fields(conds)[warmups:], " ")
			if got != tc.want {
				t.Errorf("active conditions\n got %s\nwant %s", got, tc.want)
			}
			if gotSt := status[warmups:]; gotSt != tc.wantStatus {
				t.Errorf("status words\n got %s\nwant %s", gotSt, tc.wantStatus)
			}
		})
	}
}

// After a long outage the hour's availability stays under 99 % for an
// hour, but the alert must not: it resolves once the resource recovers.
func TestAvailabilityResolvesOnRecovery(t *testing.T) {
	results := strings.Repeat(".", 60) + strings.Repeat("X", 20) + strings.Repeat(".", 4)
	conds, status := play(shipped, results)
	c := strings.Fields(conds)
	if c[len(c)-5] != "ea" || c[len(c)-2] != "-" || status[len(status)-1] != 'h' {
		t.Errorf("conditions after recovery: %v, status %q; want active through the outage, clear at the second good probe", c[len(c)-6:], status[len(status)-6:])
	}
	w := NewWindow(tgt, shipped)
	for i := range len(results) {
		w.Add(result(t0.Add(time.Duration(i)*30*time.Second), results[i]))
	}
	if s := w.Snapshot(t0.Add(time.Duration(len(results)) * 30 * time.Second)); s.Availability >= 0.99 {
		t.Fatalf("availability %v: the scenario must keep the hour under the threshold", s.Availability)
	}
}

// The condition is as of the latest result, whenever it is read: a
// snapshot taken between two probes says what the last one said.
func TestConditionsAsOfLatestResult(t *testing.T) {
	o := shipped
	o.ClearFor = [NumKinds]time.Duration{}
	w := NewWindow(tgt, o)
	results := strings.Repeat(".", 60) + "XX"
	var last time.Time
	for i := range len(results) {
		last = t0.Add(time.Duration(i) * 30 * time.Second)
		w.Add(result(last, results[i]))
	}
	for _, later := range []time.Duration{0, 10 * time.Second, 29 * time.Second} {
		s := w.Snapshot(last.Add(later))
		if !s.Conditions[KindError].Active || s.Status != probes.Unavailable {
			t.Errorf("%s after the latest result: error condition %v, status %s; want active, unavailable", later, s.Conditions[KindError].Active, s.Status)
		}
	}
}

func TestKindIs(t *testing.T) {
	for _, tc := range []struct {
		c    byte
		want string
	}{{'.', ""}, {'T', "error"}, {'X', "error unavailable"}, {'U', ""}, {'S', "slow"}} {
		r := result(t0, tc.c)
		var got []string
		for k, name := range []string{"slow", "error", "unavailable"} {
			if Kind(k).Is(r) {
				got = append(got, name)
			}
		}
		if g := strings.Join(got, " "); g != tc.want {
			t.Errorf("%q counts as %q, want %q", tc.c, g, tc.want)
		}
	}
}
