package main

import (
	"math"
	"sort"
	"strconv"
	"strings"
)

// sample is one line of the Prometheus text format.
type sample struct {
	name   string
	labels string // the text between the braces
	value  float64
}

// parseSamples reads the Prometheus text exposition format, enough for the
// counters and histograms the benchmark reads (no timestamps, no escapes
// that contain '}').
func parseSamples(text string) []sample {
	var out []sample
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		var s sample
		rest := line
		if i := strings.IndexAny(line, "{ "); i >= 0 && line[i] == '{' {
			j := strings.LastIndexByte(line, '}')
			if j < i {
				continue
			}
			s.name, s.labels, rest = line[:i], line[i+1:j], line[j+1:]
		} else if i >= 0 {
			s.name, rest = line[:i], line[i:]
		} else {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue
		}
		s.value = v
		out = append(out, s)
	}
	return out
}

// sumOf adds every sample of the metric name, across label sets.
func sumOf(samples []sample, name string) float64 {
	total := 0.0
	for _, s := range samples {
		if s.name == name {
			total += s.value
		}
	}
	return total
}

// sumWhere adds the samples of the metric name whose label key is value.
func sumWhere(samples []sample, name, key, value string) float64 {
	total := 0.0
	for _, s := range samples {
		if s.name == name && label(s.labels, key) == value {
			total += s.value
		}
	}
	return total
}

// label returns the value of key in a label text such as `a="x",le="0.5"`.
func label(labels, key string) string {
	for _, part := range strings.Split(labels, ",") {
		k, v, ok := strings.Cut(part, "=")
		if ok && strings.TrimSpace(k) == key {
			return strings.Trim(strings.TrimSpace(v), `"`)
		}
	}
	return ""
}

// bucket is a cumulative histogram bucket.
type bucket struct {
	le    float64
	count float64
}

// histogram sums the buckets of the histogram name across label sets, in
// ascending order of le.
func histogram(samples []sample, name string) []bucket {
	byLe := map[float64]float64{}
	for _, s := range samples {
		if s.name != name+"_bucket" {
			continue
		}
		le, err := strconv.ParseFloat(label(s.labels, "le"), 64)
		if err != nil {
			continue
		}
		byLe[le] += s.value
	}
	out := make([]bucket, 0, len(byLe))
	for le, c := range byLe {
		out = append(out, bucket{le, c})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].le < out[j].le })
	return out
}

// delta is later minus earlier, bucket by bucket: the observations made
// between two scrapes.
func delta(later, earlier []bucket) []bucket {
	prev := map[float64]float64{}
	for _, b := range earlier {
		prev[b.le] = b.count
	}
	out := make([]bucket, len(later))
	for i, b := range later {
		out[i] = bucket{b.le, b.count - prev[b.le]}
	}
	return out
}

// quantile estimates the q-quantile of cumulative buckets the way
// Prometheus's histogram_quantile does: linear within the bucket, and the
// upper finite bound when it falls in +Inf. NaN without observations.
func quantile(q float64, bs []bucket) float64 {
	if len(bs) == 0 {
		return math.NaN()
	}
	total := bs[len(bs)-1].count
	if total <= 0 {
		return math.NaN()
	}
	rank := q * total
	lower, below := 0.0, 0.0
	for i, b := range bs {
		if b.count >= rank {
			if math.IsInf(b.le, 1) {
				if i > 0 {
					return bs[i-1].le
				}
				return math.NaN()
			}
			in := b.count - below
			if in <= 0 {
				return b.le
			}
			return lower + (b.le-lower)*(rank-below)/in
		}
		lower, below = b.le, b.count
	}
	return bs[len(bs)-1].le
}

// percentile is the nearest-rank p-th percentile of xs (sorted in place).
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	sort.Float64s(xs)
	i := int(math.Ceil(p/100*float64(len(xs)))) - 1
	return xs[max(0, min(i, len(xs)-1))]
}
