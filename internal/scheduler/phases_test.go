package scheduler

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

func TestPhasesSpacing(t *testing.T) {
	// How keys on a 1 s schedule are placed with a 50 ms tick, as the key
	// count grows: one offset per key while the ticks have room, shared
	// ticks up to MaxPerTick, then offsets between the ticks.
	const tick, span = 50 * time.Millisecond, time.Second
	tests := map[string]struct {
		keys      int
		offsets   int           // distinct offsets used
		most      int           // most keys on one offset
		step      time.Duration // every offset is a multiple of this
		minSpread time.Duration // first to last offset at least this
	}{
		"one key per tick":        {keys: 20, offsets: 20, most: 1, step: tick, minSpread: 950 * time.Millisecond},
		"five per tick":           {keys: 100, offsets: 20, most: 5, step: tick, minSpread: 950 * time.Millisecond},
		"ticks full":              {keys: 20 * MaxPerTick, offsets: 20, most: MaxPerTick, step: tick, minSpread: 950 * time.Millisecond},
		"one past full: midpoint": {keys: 20*MaxPerTick + 1, offsets: 21, most: MaxPerTick, step: tick / 2},
		"1,000 keys":              {keys: 1000, offsets: 160, most: MaxPerTick, step: tick / 8, minSpread: 990 * time.Millisecond},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := newPhases(tick, span)
			per := map[time.Duration]int{}
			first, last := span, time.Duration(-1)
			for i := range tc.keys {
				off, _ := p.claim(Offset(fmt.Sprintf("k%04d", i), span))
				if off < 0 || off >= span {
					t.Fatalf("offset %v outside [0, %v)", off, span)
				}
				if off%tc.step != 0 {
					t.Errorf("offset %v not a multiple of %v", off, tc.step)
				}
				per[off]++
				first, last = min(first, off), max(last, off)
			}
			if len(per) != tc.offsets {
				t.Errorf("%d distinct offsets, want %d", len(per), tc.offsets)
			}
			most := 0
			for _, n := range per {
				most = max(most, n)
			}
			if most != tc.most {
				t.Errorf("at most %d keys on one offset, want %d", most, tc.most)
			}
			if last-first < tc.minSpread {
				t.Errorf("offsets spread over %v, want at least %v", last-first, tc.minSpread)
			}
		})
	}
}

func TestPhasesFinestLevelHasNoCap(t *testing.T) {
	// A 4 ms span with a 2 ms tick has offsets 0, 2 (level 0) and 1, 3
	// (level 1, the millisecond level): 4 offsets, so 4 × MaxPerTick keys
	// fill them and the next key must still get a place.
	p := newPhases(2*time.Millisecond, 4*time.Millisecond)
	per := map[time.Duration]int{}
	for range 4*MaxPerTick + 1 {
		off, _ := p.claim(0)
		per[off]++
	}
	if len(per) != 4 {
		t.Fatalf("offsets %v, want 0, 1, 2 and 3 ms", per)
	}
	if per[time.Millisecond]+per[3*time.Millisecond] != 2*MaxPerTick+1 {
		t.Errorf("the extra key went to level 0: %v", per)
	}
}

func TestPhasesRelease(t *testing.T) {
	p := newPhases(100*time.Millisecond, time.Second)
	claims := map[time.Duration]phaseClaim{}
	for i := range 10 {
		off, c := p.claim(time.Duration(i) * 100 * time.Millisecond)
		claims[off] = c
	}
	claims[300*time.Millisecond].release()
	if off, _ := p.claim(0); off != 300*time.Millisecond {
		t.Errorf("after releasing 300ms the next claim got %v, want the freed 300ms", off)
	}
	phaseClaim{}.release() // a key that was never counted: nothing to give back
}

// BenchmarkAdd10000 places 10,000 keys on one 60 s schedule, as a 10,000
// resource configuration does at start-up and on every reload.
func BenchmarkAdd10000(b *testing.B) {
	for _, tick := range []time.Duration{time.Millisecond, 50 * time.Millisecond} {
		b.Run(tick.String(), func(b *testing.B) {
			for b.Loop() {
				s := New(Options{Stagger: true, Tick: tick, Clock: newFakeClock(t0)})
				for i := range 10000 {
					if err := s.Add(Job{Key: fmt.Sprintf("dynamodb/table-%05d", i), Group: "dynamodb", Schedule: "@every 60s", Run: func(context.Context) {}}); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// TestPhasesBookkeeping runs a random mix of claims and releases and checks
// after each step that every level's running least and atLeast agree with
// a count from scratch, and that each claim went to a least-held offset of
// the first level with room.
func TestPhasesBookkeeping(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	p := newPhases(20*time.Millisecond, 200*time.Millisecond)
	var held []phaseClaim
	for step := range 20000 {
		if len(held) > 0 && rng.IntN(3) == 0 {
			i := rng.IntN(len(held))
			held[i].release()
			held = append(held[:i], held[i+1:]...)
		} else {
			want := -1 // the first level with room before the claim
			for l, lv := range p.levels {
				if lv.least < MaxPerTick || l == len(p.levels)-1 {
					want = l
					break
				}
			}
			leastBefore := p.levels[want].least
			_, c := p.claim(time.Duration(rng.IntN(200)) * time.Millisecond)
			if c.level != want {
				t.Fatalf("step %d: claim on level %d, want %d", step, c.level, want)
			}
			if got := p.levels[c.level].load[c.idx] - 1; got != leastBefore {
				t.Fatalf("step %d: claimed an offset holding %d, the least was %d", step, got, leastBefore)
			}
			held = append(held, c)
		}
		for l, lv := range p.levels {
			least, at := lv.load[0], 0
			for _, n := range lv.load {
				least = min(least, n)
			}
			for _, n := range lv.load {
				if n == least {
					at++
				}
			}
			if lv.least != least || lv.atLeast != at {
				t.Fatalf("step %d, level %d: kept least %d ×%d, counted %d ×%d", step, l, lv.least, lv.atLeast, least, at)
			}
		}
	}
}
