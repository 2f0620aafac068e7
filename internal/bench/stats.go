package bench

import (
	"slices"
	"time"
)

// percentile is the nearest-rank p-th percentile (0 < p <= 100) of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(p/100*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

func mean(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return sum / time.Duration(len(ds))
}

// latencies fills the latency fields of res from the jobs' latencies.
func (res *Result) latencies(ds []time.Duration) {
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	res.P50, res.P90, res.P99 = percentile(sorted, 50), percentile(sorted, 90), percentile(sorted, 99)
	res.Mean = mean(sorted)
	if len(sorted) > 0 {
		res.Max = sorted[len(sorted)-1]
	}
}
