package scheduler

import (
	"fmt"
	"testing"
	"time"

	"github.com/robfig/cron/v3"
)

func TestOffset(t *testing.T) {
	tests := map[string]struct {
		interval time.Duration
		span     time.Duration // offsets must lie in [0, span)
	}{
		"30s interval":           {interval: 30 * time.Second, span: 30 * time.Second},
		"hourly capped at 1m":    {interval: time.Hour, span: MaxStagger},
		"1s interval":            {interval: time.Second, span: time.Second},
		"zero interval no shift": {interval: 0, span: 0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			const n = 500
			var tenths [10]int
			for i := range n {
				key := fmt.Sprintf("dynamodb/table-%d", i)
				off := Offset(key, tc.interval)
				if again := Offset(key, tc.interval); again != off {
					t.Fatalf("Offset(%q) not deterministic: %v then %v", key, off, again)
				}
				if tc.span == 0 {
					if off != 0 {
						t.Fatalf("Offset(%q, 0) = %v, want 0", key, off)
					}
					continue
				}
				if off < 0 || off >= tc.span {
					t.Fatalf("Offset(%q) = %v, outside [0, %v)", key, off, tc.span)
				}
				if off%time.Millisecond != 0 {
					t.Fatalf("Offset(%q) = %v, not whole milliseconds", key, off)
				}
				tenths[int(off*10/tc.span)]++
			}
			if tc.span == 0 {
				return
			}
			// 500 keys over 10 tenths: ~50 each; a hash that clumps
			// would leave some tenth nearly empty.
			for i, c := range tenths {
				if c < 20 {
					t.Errorf("tenth %d of the interval holds %d of %d offsets: %v", i, c, n, tenths)
				}
			}
		})
	}
}

func TestStaggeredNext(t *testing.T) {
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	every30 := mustParse(t, "@every 30s")
	cron30 := mustParse(t, "*/30 * * * * *")
	tests := map[string]struct {
		sched cron.Schedule
		off   time.Duration
		from  time.Time
		want  time.Time
	}{
		"every: on the grid after from":     {every30, 7300 * time.Millisecond, t0, t0.Add(7300 * time.Millisecond)},
		"every: exactly on a point is past": {every30, 7300 * time.Millisecond, t0.Add(7300 * time.Millisecond), t0.Add(37300 * time.Millisecond)},
		"every: zero offset":                {every30, 0, t0, t0.Add(30 * time.Second)},
		"every: mid interval":               {every30, time.Second, t0.Add(10 * time.Second), t0.Add(31 * time.Second)},
		"cron: shifted activation":          {cron30, 7300 * time.Millisecond, t0, t0.Add(7300 * time.Millisecond)},
		"cron: next after shifted point":    {cron30, 7300 * time.Millisecond, t0.Add(7300 * time.Millisecond), t0.Add(37300 * time.Millisecond)},
		"cron: zero offset":                 {cron30, 0, t0, t0.Add(30 * time.Second)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := staggered{inner: tc.sched, off: tc.off}.Next(tc.from)
			if !got.Equal(tc.want) {
				t.Errorf("Next(%v) = %v, want %v", tc.from, got, tc.want)
			}
		})
	}
}

func TestInterval(t *testing.T) {
	from := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := map[string]struct {
		spec string
		want time.Duration
	}{
		"every":        {"@every 45s", 45 * time.Second},
		"seconds spec": {"*/15 * * * * *", 15 * time.Second},
		"minute spec":  {"*/5 * * * *", 5 * time.Minute},
		"hourly":       {"@hourly", time.Hour},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := interval(mustParse(t, tc.spec), from); got != tc.want {
				t.Errorf("interval(%q) = %v, want %v", tc.spec, got, tc.want)
			}
		})
	}
}

func mustParse(t *testing.T, spec string) cron.Schedule {
	t.Helper()
	s, err := parser.Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
