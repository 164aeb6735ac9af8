package scheduler

import "time"

// MaxPerTick is how many keys of one schedule start on the same tick
// before further keys are put between the ticks. Starting several probes
// on one wake-up is what saves CPU (Options.Tick); starting many delays
// the last of them, since they all want the CPU at once. Eight keeps a
// burst's last start within a few milliseconds of its plan on two cores
// at 1,000 probes/s, and at 100 probes/s on a 1 s schedule (5 per 50 ms
// tick) the cap is never reached.
const MaxPerTick = 8

// phases places the keys of one schedule spec on its stagger span. The
// candidate offsets come in levels: level 0 is every tick; level 1 the
// midpoints between ticks; level 2 the quarter points not yet used; and so
// on down to a millisecond. Keys fill a level evenly, one round at a time,
// until every offset of it holds MaxPerTick; only then does the next level
// open. The finest level has no cap. So a schedule with few keys gets one
// offset per key, a dense one shares each wake-up among up to MaxPerTick
// keys, and a very dense one halves its spacing rather than growing its
// bursts.
type phases struct {
	tick, span time.Duration
	levels     []phaseLevel
}

// phaseLevel is one level's offsets, first + i*step for i < len(load),
// and how many keys each holds. least is the fewest any offset holds and
// atLeast how many hold that few, kept as keys come and go so that placing
// a key does not scan the level (with a 1 ms tick, 60,000 offsets a level).
type phaseLevel struct {
	first, step time.Duration
	load        []int32
	least       int32
	atLeast     int
}

func newLevel(first, step time.Duration, n int) phaseLevel {
	return phaseLevel{first: first, step: step, load: make([]int32, n), atLeast: n}
}

// add counts a key on offset idx, which holds lv.least keys.
func (lv *phaseLevel) add(idx int) {
	lv.load[idx]++
	if lv.atLeast--; lv.atLeast == 0 {
		// Every offset has had its round: count the next one's.
		lv.least++
		for _, n := range lv.load {
			if n == lv.least {
				lv.atLeast++
			}
		}
	}
}

// remove gives back a key counted on offset idx.
func (lv *phaseLevel) remove(idx int) {
	lv.load[idx]--
	switch n := lv.load[idx]; {
	case n < lv.least: // it was a least one, so now it alone is fewest
		lv.least, lv.atLeast = n, 1
	case n == lv.least:
		lv.atLeast++
	}
}

// phaseClaim says where a key's offset is counted, so it can be given back.
type phaseClaim struct {
	p          *phases
	level, idx int
}

func newPhases(tick, span time.Duration) *phases {
	tick = max(tick, time.Millisecond)
	p := &phases{tick: tick, span: span}
	p.levels = append(p.levels, newLevel(0, tick, count(0, tick, span)))
	for g := tick / 2; g >= time.Millisecond; g /= 2 {
		if n := count(g, 2*g, span); n > 0 {
			p.levels = append(p.levels, newLevel(g, 2*g, n))
		}
	}
	return p
}

// count is how many of first, first+step, … lie below span.
func count(first, step, span time.Duration) int {
	if span <= first {
		return 0
	}
	return int((span - first + step - 1) / step)
}

// claim picks the offset for a key whose hash offset is near: on the
// first level that still has room, the first offset at or after near
// (wrapping around) among those holding the fewest keys.
func (p *phases) claim(near time.Duration) (time.Duration, phaseClaim) {
	last := len(p.levels) - 1
	for l := range p.levels {
		lv := &p.levels[l]
		if lv.least >= MaxPerTick && l < last {
			continue
		}
		n := len(lv.load)
		start := 0
		if near > lv.first {
			start = min(int((near-lv.first)/lv.step), n-1)
		}
		idx := start
		for i := range n {
			if idx = (start + i) % n; lv.load[idx] == lv.least {
				break
			}
		}
		lv.add(idx)
		return lv.first + time.Duration(idx)*lv.step, phaseClaim{p: p, level: l, idx: idx}
	}
	panic("scheduler: phases without levels") // newPhases always makes level 0
}

// release gives a claimed offset back.
func (c phaseClaim) release() {
	if c.p != nil {
		c.p.levels[c.level].remove(c.idx)
	}
}
